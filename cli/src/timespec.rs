//! docker's timetypes.GetTimestamp for `logs --since/--until`: a relative Go duration
//! ("10m", "1h30m") counts back from now, an RFC 3339 date or time is converted, and a
//! unix timestamp ("1700000000", "1700000000.5") passes as is. The daemon gets
//! "seconds.nanoseconds".

/// Go's time.ParseDuration, in nanoseconds (units ns us µs ms s m h).
pub fn parse_go_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n_end == 0 {
            return None;
        }
        let n: f64 = rest[..n_end].parse().ok()?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[u_end..];
        total += n * mult;
    }
    let v = total as i128;
    Some(if neg { -v } else { v })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 3339 (and the shorter forms docker accepts: a date, or a time without zone
/// taken as UTC) → (seconds, nanoseconds).
fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let num = |t: &str| -> Option<i64> {
        t.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let (y, mo, d) = (num(dp.next()?)?, num(dp.next()?)?, num(dp.next()?)?);
    if dp.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    let mut nanos = 0u32;
    if let Some(t) = time {
        let (clock, offset) = match t.find(['Z', 'z', '+', '-']) {
            Some(i) => (&t[..i], &t[i..]),
            None => (t, ""),
        };
        let (hms, frac) = match clock.split_once('.') {
            Some((a, f)) => (a, Some(f)),
            None => (clock, None),
        };
        let mut p = hms.split(':');
        let h = num(p.next()?)?;
        let mi = num(p.next().unwrap_or("0"))?;
        let se = num(p.next().unwrap_or("0"))?;
        secs += h * 3600 + mi * 60 + se;
        if let Some(f) = frac {
            let digits: String = f.chars().chain("000000000".chars()).take(9).collect();
            nanos = u32::try_from(num(&digits)?).ok()?;
        }
        if let Some(off) = offset.strip_prefix(['+', '-']) {
            let (oh, om) = off.split_once(':').unwrap_or((off, "0"));
            let o = num(oh)? * 3600 + num(om)? * 60;
            secs -= if offset.starts_with('-') { -o } else { o };
        }
    }
    Some((secs, nanos))
}

/// The daemon's form of a `--since`/`--until` value, relative to `now` (unix s).
pub fn get_timestamp(value: &str, now: f64) -> Result<String, String> {
    if value.is_empty() {
        return Ok(String::new());
    }
    if let Some(d) = parse_go_duration(value) {
        let now_ns = (now * 1e9) as i128;
        let t = now_ns - d;
        return Ok(format!(
            "{}.{:09}",
            t.div_euclid(1_000_000_000),
            t.rem_euclid(1_000_000_000)
        ));
    }
    let is_number = value
        .split_once('.')
        .map_or(value, |(a, _)| a)
        .bytes()
        .all(|b| b.is_ascii_digit())
        && value.bytes().filter(|b| *b == b'.').count() <= 1;
    if is_number {
        return Ok(value.to_string());
    }
    match parse_rfc3339(value) {
        Some((s, n)) => Ok(format!("{s}.{n:09}")),
        None => Err(format!(
            "invalid value for \"since\"/\"until\": failed to parse value as time or duration: \"{value}\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_count_back_from_now() {
        assert_eq!(get_timestamp("10m", 1000.0).unwrap(), "400.000000000");
        assert_eq!(get_timestamp("1h1.5s", 10_000.0).unwrap(), "6398.500000000");
        assert_eq!(parse_go_duration("1x"), None);
    }

    #[test]
    fn numbers_and_dates() {
        assert_eq!(get_timestamp("1700000000", 0.0).unwrap(), "1700000000");
        assert_eq!(
            get_timestamp("1700000000.25", 0.0).unwrap(),
            "1700000000.25"
        );
        assert_eq!(
            get_timestamp("2023-11-14T22:13:20Z", 0.0).unwrap(),
            "1700000000.000000000"
        );
        assert_eq!(
            get_timestamp("2023-11-14T23:13:20.5+01:00", 0.0).unwrap(),
            "1700000000.500000000"
        );
        assert_eq!(get_timestamp("1970-01-02", 0.0).unwrap(), "86400.000000000");
        assert!(get_timestamp("yesterday", 0.0).is_err());
    }
}
