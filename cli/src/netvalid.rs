//! docker's validators for network flag values (docker/cli opts/opts.go, opts/hosts.go):
//! IP addresses, DNS search domains, `--add-host` entries, MAC addresses. Each returns
//! the value docker sends to the daemon, or docker's error text.

use std::net::IpAddr;

/// Go's net.ParseIP after TrimSpace, printed in canonical form (opts.ValidateIPAddress).
pub fn validate_ip(val: &str) -> Result<String, String> {
    val.trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| format!("IP address is not correctly formatted: {val}"))
}

/// The special `--add-host` address the daemon replaces with the host's gateway address.
const HOST_GATEWAY: &str = "host-gateway";

/// opts.ValidateExtraHost: `name:ip`, `name=ip`, `name:[ipv6]`, several names joined by
/// nothing else; normalised to `name:ip` for the API.
pub fn validate_extra_host(val: &str) -> Result<String, String> {
    let (k, v) = match val.split_once('=') {
        Some(kv) => kv,
        None => val.split_once(':').unwrap_or((val, "")),
    };
    let has_sep = val.contains('=') || val.contains(':');
    if !has_sep || k.is_empty() || k.contains(':') {
        return Err(format!("bad format for add-host: {}", go_quote(val)));
    }
    let mut v = v;
    if v != HOST_GATEWAY {
        if v.len() > 2 && v.starts_with('[') && v.ends_with(']') {
            v = &v[1..v.len() - 1];
        }
        validate_ip(v).map_err(|_| format!("invalid IP address in add-host: {}", go_quote(v)))?;
    }
    Ok(format!("{k}:{v}"))
}

/// Go's `%q` for the plain strings flags carry.
pub fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn is_label(l: &str) -> bool {
    let b = l.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// opts.ValidateDNSSearch: `.` (no search domain) or a domain name with a letter in it,
/// a trailing dot and trailing white space dropped.
pub fn validate_dns_search(val: &str) -> Result<String, String> {
    let val = val.trim_matches(' ');
    if val == "." {
        return Ok(val.into());
    }
    let bad = || format!("{val} is not a valid domain");
    if !val.bytes().any(|c| c.is_ascii_alphabetic()) {
        return Err(bad());
    }
    let name = val.trim_end();
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.len() >= 255 || !name.split('.').all(is_label) {
        return Err(bad());
    }
    Ok(name.to_string())
}

/// Go's net.ParseMAC: 6, 8 or 20 bytes as `xx:xx…`, `xx-xx…` or `xxxx.xxxx…`.
pub fn valid_mac(s: &str) -> bool {
    let hex = |g: &str, n: usize| g.len() == n && g.bytes().all(|c| c.is_ascii_hexdigit());
    let sizes = [6usize, 8, 20];
    if s.contains('.') {
        let groups: Vec<&str> = s.split('.').collect();
        return sizes.contains(&(groups.len() * 2)) && groups.iter().all(|g| hex(g, 4));
    }
    let sep = if s.contains('-') { '-' } else { ':' };
    let groups: Vec<&str> = s.split(sep).collect();
    sizes.contains(&groups.len()) && groups.iter().all(|g| hex(g, 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    // docker/cli opts/hosts_test.go TestValidateExtraHosts.
    #[test]
    fn extra_hosts() {
        let ok = [
            ("myhost:192.168.0.1", "myhost:192.168.0.1"),
            ("thathost:10.0.2.1", "thathost:10.0.2.1"),
            ("anipv6host:2003:ab34:e::1", "anipv6host:2003:ab34:e::1"),
            ("ipv6local:::1", "ipv6local:::1"),
            (
                "host.docker.internal:host-gateway",
                "host.docker.internal:host-gateway",
            ),
            ("myhost=192.168.0.1", "myhost:192.168.0.1"),
            ("anipv6host=[2003:ab34:e::1]", "anipv6host:2003:ab34:e::1"),
            ("ipv6local:[::1]", "ipv6local:::1"),
        ];
        for (i, want) in ok {
            assert_eq!(validate_extra_host(i).unwrap(), want, "{i}");
        }
        let bad = [
            (
                "myhost:192.notanipaddress.1",
                "invalid IP address in add-host: \"192.notanipaddress.1\"",
            ),
            (
                "thathost-nosemicolon10.0.0.1",
                "bad format for add-host: \"thathost-nosemicolon10.0.0.1\"",
            ),
            (
                "anipv6host:::::1",
                "invalid IP address in add-host: \"::::1\"",
            ),
            (
                "ipv6local:::0::",
                "invalid IP address in add-host: \"::0::\"",
            ),
            (":192.168.0.1", "bad format for add-host: \":192.168.0.1\""),
            ("=192.168.0.1", "bad format for add-host: \"=192.168.0.1\""),
            (
                "ho:st=192.168.0.1",
                "bad format for add-host: \"ho:st=192.168.0.1\"",
            ),
            (
                "myhost:[192.168.0.1",
                "invalid IP address in add-host: \"[192.168.0.1\"",
            ),
        ];
        for (i, want) in bad {
            assert_eq!(validate_extra_host(i).unwrap_err(), want, "{i}");
        }
    }

    #[test]
    fn ips_and_domains() {
        assert_eq!(validate_ip(" 1.1.1.1 ").unwrap(), "1.1.1.1");
        assert_eq!(validate_ip("0:0:0:0:0:0:0:1").unwrap(), "::1");
        assert_eq!(
            validate_ip("[::1]").unwrap_err(),
            "IP address is not correctly formatted: [::1]"
        );
        assert_eq!(validate_dns_search(".").unwrap(), ".");
        assert_eq!(validate_dns_search("example.com.").unwrap(), "example.com");
        assert_eq!(validate_dns_search("a-b.c").unwrap(), "a-b.c");
        assert_eq!(
            validate_dns_search("123").unwrap_err(),
            "123 is not a valid domain"
        );
        assert_eq!(
            validate_dns_search("-x.com").unwrap_err(),
            "-x.com is not a valid domain"
        );
    }

    #[test]
    fn macs() {
        assert!(valid_mac("92:d0:c6:0a:29:33"));
        assert!(valid_mac("92-d0-c6-0a-29-33"));
        assert!(valid_mac("92d0.c60a.2933"));
        assert!(!valid_mac("92:d0:c6:0a:29"));
        assert!(!valid_mac("zz:d0:c6:0a:29:33"));
    }
}
