//! The `since`/`until` values of `/events` and `/containers/{id}/logs`: what the docker CLI
//! sends (unix seconds with an optional nanosecond fraction) and what people type with curl
//! (RFC 3339, a date, or a Go duration such as `10m` meaning that long ago).

/// Nanoseconds since the epoch, or Docker's error text for a value that is none of the above.
pub fn parse(value: &str, now_nanos: i64) -> Result<i64, String> {
    let value = value.trim();
    let bad = || format!("failed to parse value as time or duration: \"{value}\"");
    if let Some(n) = parse_unix(value) {
        return n.ok_or_else(bad);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return t.timestamp_nanos_opt().ok_or_else(bad);
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(value, fmt) {
            return t.and_utc().timestamp_nanos_opt().ok_or_else(bad);
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let t = d.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
        return t.and_utc().timestamp_nanos_opt().ok_or_else(bad);
    }
    match parse_duration(value) {
        Some(d) => Ok(now_nanos.saturating_sub(d)),
        None => Err(bad()),
    }
}

/// `1700000000` or `1700000000.123` (Docker's `timetypes.ParseTimestamps`: the fraction is
/// scaled to nanoseconds). `None` when the value is not of that shape; `Some(None)` when it is
/// but overflows.
fn parse_unix(value: &str) -> Option<Option<i64>> {
    let (secs, frac) = match value.split_once('.') {
        Some((s, f)) => (s, Some(f)),
        None => (value, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = secs.strip_prefix('-').unwrap_or(secs);
    if !digits(unsigned) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    let Ok(secs) = secs.parse::<i64>() else {
        return Some(None);
    };
    let nanos = match frac {
        None => 0,
        Some(f) => {
            let f9: String = f.chars().chain(std::iter::repeat('0')).take(9).collect();
            f9.parse::<i64>().unwrap_or(0)
        }
    };
    Some(
        secs.checked_mul(1_000_000_000)
            .and_then(|s| s.checked_add(nanos)),
    )
}

/// Go's `time.ParseDuration` for non-negative values: `1h30m`, `10s`, `1.5h`, `300ms`.
fn parse_duration(value: &str) -> Option<i64> {
    if value.is_empty() || value == "0" {
        return (value == "0").then_some(0);
    }
    let mut total: f64 = 0.0;
    let mut rest = value;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += num * scale;
    }
    (total < i64::MAX as f64).then_some(total as i64)
}

/// Now, in nanoseconds since the epoch.
pub fn now_nanos() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000_000_000;

    #[test]
    fn unix_seconds_and_fractions() {
        assert_eq!(parse("0", NOW), Ok(0));
        assert_eq!(parse("1700000000", NOW), Ok(1_700_000_000_000_000_000));
        assert_eq!(parse("1700000000.5", NOW), Ok(1_700_000_000_500_000_000));
        assert_eq!(
            parse("1700000000.000000001", NOW),
            Ok(1_700_000_000_000_000_001)
        );
    }

    #[test]
    fn rfc3339_and_dates() {
        assert_eq!(
            parse("2023-11-14T22:13:20Z", NOW),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(
            parse("2023-11-14T23:13:20.25+01:00", NOW),
            Ok(1_700_000_000_250_000_000)
        );
        assert_eq!(parse("1970-01-02", NOW), Ok(86_400_000_000_000));
    }

    #[test]
    fn durations_count_back_from_now() {
        assert_eq!(parse("10s", NOW), Ok(NOW - 10_000_000_000));
        assert_eq!(parse("1h30m", NOW), Ok(NOW - 5_400_000_000_000));
        assert_eq!(parse("1.5s", NOW), Ok(NOW - 1_500_000_000));
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in ["", "abc", "10x", "1.2.3", "2023-13-45"] {
            assert!(parse(bad, NOW).is_err(), "{bad}");
        }
        assert_eq!(
            parse("abc", NOW).unwrap_err(),
            "failed to parse value as time or duration: \"abc\""
        );
    }
}
