//! resolv.conf: the container's, and the host's upstreams.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Where the embedded server answers inside a container.
pub const EMBEDDED_DNS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);

/// The container's `/etc/resolv.conf` on a network with embedded DNS (docker's shape).
pub fn container_resolv_conf(search: &[String], extra_options: &[String]) -> String {
    let mut s = format!("nameserver {EMBEDDED_DNS}\n");
    if !search.is_empty() {
        s.push_str(&format!("search {}\n", search.join(" ")));
    }
    let mut opts = vec!["ndots:0".to_string()];
    opts.extend(extra_options.iter().cloned());
    s.push_str(&format!("options {}\n", opts.join(" ")));
    s
}

/// The `nameserver` lines of a resolv.conf (the host's, in production) as upstreams on port 53.
pub fn upstreams_from_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some("nameserver"))
                .then(|| it.next())
                .flatten()
        })
        .filter_map(|a| a.split('%').next()?.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf() {
        assert_eq!(
            container_resolv_conf(&[], &[]),
            "nameserver 127.0.0.11\noptions ndots:0\n"
        );
        let up = upstreams_from_resolv_conf(
            "# x\nnameserver 192.0.2.53\nsearch a\nnameserver fe80::1%eth0\nnameserver bad\n",
        );
        assert_eq!(
            up,
            vec![
                "192.0.2.53:53".parse().unwrap(),
                "[fe80::1]:53".parse().unwrap()
            ]
        );
    }
}
