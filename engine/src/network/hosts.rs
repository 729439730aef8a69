//! The container's `/etc/hosts` and `/etc/resolv.conf`, in docker's formats.

use std::net::{IpAddr, Ipv4Addr};

/// docker's default lines.
pub const DEFAULT_HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// `/etc/hosts`: the defaults, `--add-host` entries (`name:ip`, `host-gateway` = the default
/// bridge's gateway), then the container's own address with its hostname (docker's order).
pub fn render_hosts(
    extra_hosts: &[String],
    host_gateway: Option<Ipv4Addr>,
    own: Option<(Ipv4Addr, &str, &str)>,
) -> String {
    let mut s = DEFAULT_HOSTS.to_string();
    for e in extra_hosts {
        // `name:ip` (the ip may be IPv6 with colons) or the newer `name=ip`.
        let Some((name, ip)) = e.split_once('=').or_else(|| e.split_once(':')) else {
            continue;
        };
        let ip = match ip {
            "host-gateway" => match host_gateway {
                Some(g) => g.to_string(),
                None => continue,
            },
            ip => ip.trim_matches(|c| c == '[' || c == ']').to_string(),
        };
        s.push_str(&format!("{ip}\t{name}\n"));
    }
    if let Some((ip, hostname, domain)) = own {
        if domain.is_empty() {
            s.push_str(&format!("{ip}\t{hostname}\n"));
        } else {
            s.push_str(&format!("{ip}\t{hostname}.{domain} {hostname}\n"));
        }
    }
    s
}

/// An `--add-host` value that docker accepts: `name:ip` with a valid ip or `host-gateway`.
pub fn valid_extra_host(e: &str) -> bool {
    match e.split_once('=').or_else(|| e.split_once(':')) {
        Some((name, ip)) => {
            !name.is_empty()
                && (ip == "host-gateway"
                    || ip
                        .trim_matches(|c| c == '[' || c == ']')
                        .parse::<IpAddr>()
                        .is_ok())
        }
        None => false,
    }
}

fn is_local_nameserver(line: &str) -> bool {
    let mut it = line.split_whitespace();
    if it.next() != Some("nameserver") {
        return false;
    }
    match it
        .next()
        .and_then(|a| a.split('%').next()?.parse::<IpAddr>().ok())
    {
        Some(ip) => ip.is_loopback(),
        None => false,
    }
}

/// resolv.conf on a network without the embedded DNS (default bridge, none): the given
/// servers/search/options, or the host's file without loopback nameservers (unreachable from
/// a container), as docker.
pub fn render_resolv(host: &str, dns: &[String], search: &[String], opts: &[String]) -> String {
    if dns.is_empty() && search.is_empty() && opts.is_empty() {
        let mut s: String = host
            .lines()
            .filter(|l| !is_local_nameserver(l))
            .map(|l| format!("{l}\n"))
            .collect();
        if !s.lines().any(|l| l.trim_start().starts_with("nameserver")) {
            // docker's fallback; only reached when the host resolves through loopback only.
            s.push_str("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
        }
        return s;
    }
    let mut s = String::new();
    if dns.is_empty() {
        for l in host
            .lines()
            .filter(|l| l.starts_with("nameserver") && !is_local_nameserver(l))
        {
            s.push_str(&format!("{l}\n"));
        }
    }
    for d in dns {
        s.push_str(&format!("nameserver {d}\n"));
    }
    if !search.is_empty() {
        s.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !opts.is_empty() {
        s.push_str(&format!("options {}\n", opts.join(" ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file() {
        let h = render_hosts(
            &[
                "db:10.0.0.5".into(),
                "gw:host-gateway".into(),
                "v6:::1".into(),
            ],
            Some(Ipv4Addr::new(172, 17, 0, 1)),
            Some((Ipv4Addr::new(172, 17, 0, 2), "abc123", "")),
        );
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.ends_with("10.0.0.5\tdb\n172.17.0.1\tgw\n::1\tv6\n172.17.0.2\tabc123\n"));
        let h = render_hosts(
            &[],
            None,
            Some((Ipv4Addr::new(10, 0, 0, 2), "web", "example.org")),
        );
        assert!(h.ends_with("10.0.0.2\tweb.example.org web\n"));
        assert_eq!(render_hosts(&[], None, None), DEFAULT_HOSTS);
        assert!(valid_extra_host("a:1.2.3.4"));
        assert!(valid_extra_host("a:host-gateway"));
        assert!(!valid_extra_host("a"));
        assert!(!valid_extra_host("a:nope"));
    }

    #[test]
    fn resolv_file() {
        let host = "# generated\nnameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch lan\n";
        assert_eq!(
            render_resolv(host, &[], &[], &[]),
            "# generated\nnameserver 192.0.2.1\nsearch lan\n"
        );
        assert_eq!(
            render_resolv("nameserver 127.0.0.1\n", &[], &[], &[]),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        assert_eq!(
            render_resolv(
                host,
                &["127.0.0.1".into()],
                &["a.b".into()],
                &["ndots:2".into()]
            ),
            "nameserver 127.0.0.1\nsearch a.b\noptions ndots:2\n"
        );
        assert_eq!(
            render_resolv(host, &[], &["x".into()], &[]),
            "nameserver 192.0.2.1\nsearch x\n"
        );
    }
}
