//! The value parsers behind docker's resource flags, with Go's error texts: go-units'
//! RAMInBytes (`-m 64m`), docker's ParseCPUs (`--cpus 1.5`), strconv's ParseInt and
//! ParseUint with base 0 (pflag's int flags).

/// go-units RAMInBytes (v0.5 parser): a decimal number, an optional space, and an
/// optional binary suffix (k, m, g, t, p; optionally followed by "b" or "ib"; any case).
pub fn ram_in_bytes(s: &str) -> Result<i64, String> {
    let invalid = || format!("invalid size: '{s}'");
    let Some(sep) = s.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ') else {
        return Err(invalid());
    };
    let (num, sfx) = if s.as_bytes()[sep] == b' ' {
        (&s[..sep], &s[sep + 1..])
    } else {
        (&s[..=sep], &s[sep + 1..])
    };
    let size = go_parse_float(num)?;
    if size < 0.0 {
        return Err(invalid());
    }
    if sfx.is_empty() {
        return Ok(size as i64);
    }
    let lower = sfx.to_lowercase();
    let bad = || format!("invalid suffix: '{lower}'");
    if lower.len() > 3 {
        return Err(bad());
    }
    let b = lower.as_bytes();
    if b[0] == b'b' {
        return if b.len() > 1 {
            Err(bad())
        } else {
            Ok(size as i64)
        };
    }
    let mul: f64 = match b[0] {
        b'k' => 1024.0,
        b'm' => 1024.0 * 1024.0,
        b'g' => 1024.0 * 1024.0 * 1024.0,
        b't' => 1024.0f64.powi(4),
        b'p' => 1024.0f64.powi(5),
        _ => return Err(bad()),
    };
    match b.len() {
        2 if b[1] != b'b' => return Err(bad()),
        3 if &lower[1..] != "ib" => return Err(bad()),
        _ => {}
    }
    // Go converts out-of-range floats to the minimum int64; saturate instead of
    // wrapping, which gives the daemon a value it refuses in the same way.
    Ok((size * mul) as i64)
}

/// Go's strconv.ParseFloat for the decimal forms a size can take.
fn go_parse_float(num: &str) -> Result<f64, String> {
    let ok = !num.is_empty()
        && num
            .trim_start_matches(['+', '-'])
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    match num.parse::<f64>() {
        Ok(v) if ok => Ok(v),
        _ => Err(format!(
            "strconv.ParseFloat: parsing \"{num}\": invalid syntax"
        )),
    }
}

/// docker's opts.ParseCPUs: a rational number (`1.5`, `3/2`, `1e-1`) times 1e9, which
/// must come out whole.
pub fn parse_cpus(s: &str) -> Result<i64, String> {
    let not_rational = || format!("failed to parse {s} as a rational number");
    let (num, den) = parse_rational(s).ok_or_else(not_rational)?;
    let nano = num
        .checked_mul(1_000_000_000)
        .ok_or_else(|| "value is too precise".to_string())?;
    if nano % den != 0 {
        return Err("value is too precise".into());
    }
    // big.Rat's Int64 of an out-of-range value is undefined; refuse it plainly.
    i64::try_from(nano / den).map_err(|_| not_rational())
}

/// A big.Rat SetString subset: `a/b`, or a decimal with optional sign, fraction and
/// exponent; returned as numerator and positive denominator.
fn parse_rational(s: &str) -> Option<(i128, i128)> {
    if let Some((a, b)) = s.split_once('/') {
        let a: i128 = a.parse().ok()?;
        let b: i128 = b.parse().ok()?;
        if b == 0 {
            return None;
        }
        return Some(if b < 0 { (-a, -b) } else { (a, b) });
    }
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (neg, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int_part, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let all = format!("{int_part}{frac}");
    let mut num: i128 = all.parse().ok()?;
    let scale = exp - i32::try_from(frac.len()).ok()?;
    let mut den: i128 = 1;
    if scale >= 0 {
        num = num.checked_mul(10i128.checked_pow(scale.unsigned_abs())?)?;
    } else {
        den = 10i128.checked_pow(scale.unsigned_abs())?;
    }
    Some((if neg { -num } else { num }, den))
}

/// The digits and radix of a Go base-0 integer literal (`0x1f`, `0o17`, `017`, `0b1`).
fn go_radix(digits: &str) -> (&str, u32) {
    let lower = digits.get(..2).map(str::to_ascii_lowercase);
    match lower.as_deref() {
        Some("0x") => (&digits[2..], 16),
        Some("0o") => (&digits[2..], 8),
        Some("0b") => (&digits[2..], 2),
        _ if digits.len() > 1 && digits.starts_with('0') => (&digits[1..], 8),
        _ => (digits, 10),
    }
}

/// Go's strconv.ParseInt(s, 0, 64), as pflag's Int64 flags use it.
pub fn parse_int(s: &str) -> Result<i64, String> {
    let err = |what: &str| format!("strconv.ParseInt: parsing \"{s}\": {what}");
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (digits, radix) = go_radix(rest);
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(err("invalid syntax"));
    }
    let mag = u128::from_str_radix(digits, radix).map_err(|_| err("value out of range"))?;
    let v = if neg { -(mag as i128) } else { mag as i128 };
    i64::try_from(v).map_err(|_| err("value out of range"))
}

/// Go's strconv.ParseUint(s, 0, 16), as pflag's Uint16 flags use it.
pub fn parse_u16(s: &str) -> Result<u16, String> {
    let err = |what: &str| format!("strconv.ParseUint: parsing \"{s}\": {what}");
    let (digits, radix) = go_radix(s);
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(err("invalid syntax"));
    }
    let v = u128::from_str_radix(digits, radix).map_err(|_| err("value out of range"))?;
    u16::try_from(v).map_err(|_| err("value out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_go_units_reads_them() {
        assert_eq!(ram_in_bytes("64m"), Ok(64 << 20));
        assert_eq!(ram_in_bytes("1k"), Ok(1024));
        assert_eq!(ram_in_bytes("1K"), Ok(1024));
        assert_eq!(ram_in_bytes("1kb"), Ok(1024));
        assert_eq!(ram_in_bytes("1KiB"), Ok(1024));
        assert_eq!(ram_in_bytes("1.5g"), Ok(3 << 29));
        assert_eq!(ram_in_bytes("32"), Ok(32));
        assert_eq!(ram_in_bytes("32b"), Ok(32));
        assert_eq!(ram_in_bytes("10 m"), Ok(10 << 20));
        assert_eq!(ram_in_bytes("2t"), Ok(2 << 40));
        assert_eq!(ram_in_bytes("xx"), Err("invalid size: 'xx'".into()));
        assert_eq!(ram_in_bytes(""), Err("invalid size: ''".into()));
        assert_eq!(ram_in_bytes("-1"), Err("invalid size: '-1'".into()));
        assert_eq!(ram_in_bytes("1x"), Err("invalid suffix: 'x'".into()));
        assert_eq!(ram_in_bytes("1MX"), Err("invalid suffix: 'mx'".into()));
        assert_eq!(ram_in_bytes("1kibb"), Err("invalid suffix: 'kibb'".into()));
        assert_eq!(ram_in_bytes("1bb"), Err("invalid suffix: 'bb'".into()));
        assert_eq!(
            ram_in_bytes("1.2.3m"),
            Err("strconv.ParseFloat: parsing \"1.2.3\": invalid syntax".into())
        );
    }

    #[test]
    fn cpus_as_nano_cpus() {
        assert_eq!(parse_cpus("1.5"), Ok(1_500_000_000));
        assert_eq!(parse_cpus("2"), Ok(2_000_000_000));
        assert_eq!(parse_cpus("0.01"), Ok(10_000_000));
        assert_eq!(parse_cpus(".5"), Ok(500_000_000));
        assert_eq!(parse_cpus("3/2"), Ok(1_500_000_000));
        assert_eq!(parse_cpus("1e-1"), Ok(100_000_000));
        assert_eq!(parse_cpus("-1"), Ok(-1_000_000_000));
        assert_eq!(
            parse_cpus("0.0000000001"),
            Err("value is too precise".into())
        );
        assert_eq!(
            parse_cpus("abc"),
            Err("failed to parse abc as a rational number".into())
        );
        assert_eq!(
            parse_cpus(""),
            Err("failed to parse  as a rational number".into())
        );
    }

    #[test]
    fn go_integers() {
        assert_eq!(parse_int("512"), Ok(512));
        assert_eq!(parse_int("-1"), Ok(-1));
        assert_eq!(parse_int("0x10"), Ok(16));
        assert_eq!(parse_int("010"), Ok(8));
        assert_eq!(parse_int("0"), Ok(0));
        assert_eq!(
            parse_int("abc"),
            Err("strconv.ParseInt: parsing \"abc\": invalid syntax".into())
        );
        assert_eq!(
            parse_int("99999999999999999999"),
            Err("strconv.ParseInt: parsing \"99999999999999999999\": value out of range".into())
        );
        assert_eq!(parse_u16("500"), Ok(500));
        assert_eq!(
            parse_u16("70000"),
            Err("strconv.ParseUint: parsing \"70000\": value out of range".into())
        );
        assert_eq!(
            parse_u16("-1"),
            Err("strconv.ParseUint: parsing \"-1\": invalid syntax".into())
        );
    }
}
