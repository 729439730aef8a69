//! docker's formatter.DisplayablePorts, the PORTS column of `ps`: ports published on the
//! same number inside and out fold into ranges per address and protocol
//! (`0.0.0.0:8000-8001->8000-8001/tcp`), unpublished ones per protocol (`80-81/tcp`);
//! other mappings follow one by one.

use std::collections::HashMap;

/// One entry of a container summary's `Ports`; an empty `ip` means not published.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PortEntry {
    pub ip: String,
    pub private_port: u16,
    pub public_port: u16,
    pub typ: String,
}

/// Go's net.JoinHostPort.
pub fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn form_group(key: &str, first: u16, last: u16) -> String {
    let (ip, typ) = match key.split_once('/') {
        Some((ip, t)) => (ip, t),
        None => ("", key),
    };
    let mut group = first.to_string();
    if first != last {
        group = format!("{group}-{last}");
    }
    if !ip.is_empty() {
        group = format!("{}->{group}", join_host_port(ip, &group));
    }
    format!("{group}/{typ}")
}

pub fn displayable_ports(ports: &[PortEntry]) -> String {
    let mut ports = ports.to_vec();
    ports.sort_by(|a, b| {
        a.private_port
            .cmp(&b.private_port)
            .then_with(|| a.ip.cmp(&b.ip))
            .then_with(|| a.public_port.cmp(&b.public_port))
            .then_with(|| a.typ.cmp(&b.typ))
    });
    let mut groups: HashMap<String, (u16, u16)> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut result = Vec::new();
    let mut host_mappings = Vec::new();
    for p in &ports {
        let current = p.private_port;
        let mut key = p.typ.clone();
        if !p.ip.is_empty() {
            if p.public_port != current {
                host_mappings.push(format!(
                    "{}->{}/{}",
                    join_host_port(&p.ip, &p.public_port.to_string()),
                    p.private_port,
                    p.typ
                ));
                continue;
            }
            key = format!("{}/{}", p.ip, p.typ);
        }
        match groups.get_mut(&key) {
            None => {
                groups.insert(key.clone(), (current, current));
                order.push(key);
            }
            Some(g) if u32::from(current) == u32::from(g.1) + 1 => g.1 = current,
            Some(g) => {
                result.push(form_group(&key, g.0, g.1));
                *g = (current, current);
            }
        }
    }
    for key in &order {
        if let Some((first, last)) = groups.get(key) {
            result.push(form_group(key, *first, *last));
        }
    }
    result.extend(host_mappings);
    result.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ip: &str, private: u16, public: u16, typ: &str) -> PortEntry {
        PortEntry {
            ip: ip.into(),
            private_port: private,
            public_port: public,
            typ: typ.into(),
        }
    }

    // docker/cli cli/command/formatter/container_test.go TestDisplayablePorts.
    #[test]
    fn docker_cases() {
        let cases: Vec<(Vec<PortEntry>, &str)> = vec![
            (vec![p("", 9988, 0, "tcp")], "9988/tcp"),
            (vec![p("", 9988, 0, "udp")], "9988/udp"),
            (vec![p("0.0.0.0", 9988, 0, "tcp")], "0.0.0.0:0->9988/tcp"),
            (vec![p("::", 9988, 0, "tcp")], "[::]:0->9988/tcp"),
            (vec![p("", 9988, 8899, "tcp")], "9988/tcp"),
            (vec![p("4.3.2.1", 9988, 8899, "tcp")], "4.3.2.1:8899->9988/tcp"),
            (vec![p("4.3.2.1", 9988, 9988, "tcp")], "4.3.2.1:9988->9988/tcp"),
            (
                vec![p("", 9988, 0, "udp"), p("", 9988, 0, "udp")],
                "9988/udp, 9988/udp",
            ),
            (
                vec![p("1.2.3.4", 9998, 9998, "udp"), p("1.2.3.4", 9999, 9999, "udp")],
                "1.2.3.4:9998-9999->9998-9999/udp",
            ),
            (
                vec![p("1.2.3.4", 9998, 8887, "udp"), p("1.2.3.4", 9999, 8888, "udp")],
                "1.2.3.4:8887->9998/udp, 1.2.3.4:8888->9999/udp",
            ),
            (
                vec![p("", 9998, 0, "udp"), p("", 9999, 0, "udp")],
                "9998-9999/udp",
            ),
            (
                vec![p("1.2.3.4", 6677, 7766, "tcp"), p("", 9988, 8899, "udp")],
                "9988/udp, 1.2.3.4:7766->6677/tcp",
            ),
            (
                vec![
                    p("1.2.3.4", 9988, 8899, "udp"),
                    p("1.2.3.4", 9988, 8899, "tcp"),
                    p("4.3.2.1", 2233, 3322, "tcp"),
                ],
                "4.3.2.1:3322->2233/tcp, 1.2.3.4:8899->9988/tcp, 1.2.3.4:8899->9988/udp",
            ),
            (
                vec![
                    p("", 9988, 8899, "udp"),
                    p("1.2.3.4", 6677, 7766, "tcp"),
                    p("4.3.2.1", 2233, 3322, "tcp"),
                ],
                "9988/udp, 4.3.2.1:3322->2233/tcp, 1.2.3.4:7766->6677/tcp",
            ),
            (
                vec![
                    p("", 80, 0, "tcp"),
                    p("", 1024, 0, "tcp"),
                    p("", 80, 0, "udp"),
                    p("", 1024, 0, "udp"),
                    p("1.1.1.1", 1024, 80, "tcp"),
                    p("1.1.1.1", 1024, 80, "udp"),
                    p("1.1.1.1", 80, 1024, "tcp"),
                    p("1.1.1.1", 80, 1024, "udp"),
                    p("2.1.1.1", 1024, 80, "tcp"),
                    p("2.1.1.1", 1024, 80, "udp"),
                    p("2.1.1.1", 80, 1024, "tcp"),
                    p("2.1.1.1", 80, 1024, "udp"),
                    p("", 12345, 0, "sctp"),
                ],
                "80/tcp, 80/udp, 1024/tcp, 1024/udp, 12345/sctp, 1.1.1.1:1024->80/tcp, 1.1.1.1:1024->80/udp, 2.1.1.1:1024->80/tcp, 2.1.1.1:1024->80/udp, 1.1.1.1:80->1024/tcp, 1.1.1.1:80->1024/udp, 2.1.1.1:80->1024/tcp, 2.1.1.1:80->1024/udp",
            ),
        ];
        for (ports, want) in cases {
            assert_eq!(displayable_ports(&ports), want, "{ports:?}");
        }
    }

    #[test]
    fn both_families() {
        let ports = [p("0.0.0.0", 80, 8080, "tcp"), p("::", 80, 8080, "tcp")];
        assert_eq!(
            displayable_ports(&ports),
            "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"
        );
    }
}
