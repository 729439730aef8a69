//! Published ports: `HostConfig.PortBindings` and `-P` to the library's port specs, and the
//! API views of what was published (`NetworkSettings.Ports`, the summary's `Ports`).

use std::collections::{BTreeSet, HashMap};

use bollard_stubs::models::{PortBinding, PortMap, PortSummary, PortSummaryTypeEnum};
use rdocker_network::ports::{PortMapping, PortSpec, Proto};

use super::NetError;
use crate::containers::record::Container;

/// `80`, `80/tcp`, `53/udp` → `80/tcp`, `53/udp` (docker's nat.Port keys).
fn key(k: &str) -> String {
    if k.contains('/') {
        k.to_string()
    } else {
        format!("{k}/tcp")
    }
}

/// Exposed ports of the container (image + config, as create merged them) and bound ones.
fn exposed(c: &Container) -> BTreeSet<String> {
    let mut s: BTreeSet<String> = c
        .config
        .exposed_ports
        .iter()
        .flatten()
        .map(|k| key(k))
        .collect();
    if let Some(pb) = &c.host_config.port_bindings {
        s.extend(pb.keys().map(|k| key(k)));
    }
    s
}

/// What to reserve at start: every binding, and with `-P` every exposed port without one on
/// a free host port.
pub fn specs(c: &Container) -> Result<Vec<PortSpec>, NetError> {
    let bad = |e: rdocker_network::Error| NetError::Invalid(e.to_string());
    let mut out = Vec::new();
    let bindings = c.host_config.port_bindings.clone().unwrap_or_default();
    let mut keys: Vec<&String> = bindings.keys().collect();
    keys.sort();
    for k in keys {
        let list = bindings.get(k).cloned().flatten().unwrap_or_default();
        if list.is_empty() {
            if c.host_config.publish_all_ports.unwrap_or(false) {
                out.push(PortSpec::from_binding(&key(k), "", "").map_err(bad)?);
            }
            continue;
        }
        for b in list {
            let ip = b.host_ip.as_deref().unwrap_or("");
            // The docker CLI sends "::" or "[::]" only for IPv6 bindings we do not serve.
            if ip.contains(':') {
                continue;
            }
            let port = b.host_port.as_deref().unwrap_or("");
            out.push(PortSpec::from_binding(&key(k), ip, port).map_err(bad)?);
        }
    }
    if c.host_config.publish_all_ports.unwrap_or(false) {
        for k in exposed(c) {
            if !bindings.keys().any(|b| key(b) == k) {
                out.push(PortSpec::from_binding(&k, "", "").map_err(bad)?);
            }
        }
    }
    Ok(out)
}

/// `PortBindings` that make no sense are refused at create (docker: 400 "invalid port …").
pub fn validate(c: &Container) -> Result<(), NetError> {
    specs(c).map(|_| ())
}

/// `NetworkSettings.Ports`: every exposed port, with its bindings while running (null when
/// not published).
pub fn port_map(c: &Container, mappings: &[PortMapping], running: bool) -> PortMap {
    if !running {
        return PortMap::new();
    }
    let mut m: PortMap = exposed(c).into_iter().map(|k| (k, None)).collect();
    for p in mappings {
        let k = format!("{}/{}", p.container_port, p.proto.as_str());
        m.entry(k)
            .or_default()
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: Some(p.host_ip.to_string()),
                host_port: Some(p.host_port.to_string()),
            });
    }
    m
}

/// `Ports` of `GET /containers/json`.
pub fn summary(c: &Container, mappings: &[PortMapping], running: bool) -> Vec<PortSummary> {
    let typ = |p: &str| match p {
        "udp" => PortSummaryTypeEnum::UDP,
        "sctp" => PortSummaryTypeEnum::SCTP,
        _ => PortSummaryTypeEnum::TCP,
    };
    let mut out: Vec<PortSummary> = Vec::new();
    let published: HashMap<(u16, &str), ()> = if running {
        mappings
            .iter()
            .map(|p| ((p.container_port, p.proto.as_str()), ()))
            .collect()
    } else {
        HashMap::new()
    };
    if running {
        for p in mappings {
            out.push(PortSummary {
                ip: Some(p.host_ip.to_string()),
                private_port: p.container_port,
                public_port: Some(p.host_port),
                typ: Some(typ(p.proto.as_str())),
            });
        }
    }
    for k in exposed(c) {
        let (port, proto) = k.split_once('/').unwrap_or((&k, "tcp"));
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        if !published.contains_key(&(port, proto)) {
            out.push(PortSummary {
                ip: None,
                private_port: port,
                public_port: None,
                typ: Some(typ(proto)),
            });
        }
    }
    out
}

/// For tests and logs: `0.0.0.0:8080->80/tcp`, as `docker ps` prints a mapping.
pub fn display(p: &PortMapping) -> String {
    let proto = match p.proto {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
    };
    format!(
        "{}:{}->{}/{proto}",
        p.host_ip, p.host_port, p.container_port
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn container(bindings: &[(&str, &str, &str)], exposed: &[&str], all: bool) -> Container {
        let mut pb: PortMap = HashMap::new();
        for (k, ip, port) in bindings {
            pb.entry(k.to_string())
                .or_default()
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: Some(ip.to_string()),
                    host_port: Some(port.to_string()),
                });
        }
        let exposed: serde_json::Map<String, serde_json::Value> = exposed
            .iter()
            .map(|k| (k.to_string(), serde_json::json!({})))
            .collect();
        let v = serde_json::json!({
            "id": "a".repeat(64), "name": "/x", "created": "", "image_id": "", "path": "sh",
            "args": [], "config": {"ExposedPorts": exposed},
            "host_config": {"PortBindings": pb, "PublishAllPorts": all},
            "mounts": [], "state": {"status": "running", "pid": 1, "exit_code": 0, "error": "",
            "started_at": null, "finished_at": null, "oom_killed": false}
        });
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn specs_from_bindings() {
        let c = container(
            &[("80/tcp", "", "8080"), ("53/udp", "127.0.0.1", "")],
            &[],
            false,
        );
        let s = specs(&c).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].proto, Proto::Udp);
        assert_eq!(s[0].host_ip, Ipv4Addr::LOCALHOST);
        assert_eq!(s[1].host_ports, Some((8080, 8080)));
        let c = container(&[("80", "::", "8080")], &[], false);
        assert!(specs(&c).unwrap().is_empty(), "IPv6 bindings are skipped");
        let c = container(&[("70000/tcp", "", "1")], &[], false);
        assert!(matches!(validate(&c), Err(NetError::Invalid(_))));
        let c = container(&[("80/tcp", "", "8080")], &["80/tcp", "443/tcp"], true);
        let s = specs(&c).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].container_ports, (443, 443));
        assert_eq!(s[1].host_ports, None);
    }

    #[test]
    fn views() {
        let c = container(&[("80/tcp", "", "8080")], &["80/tcp", "9000/udp"], false);
        let m = vec![PortMapping {
            proto: Proto::Tcp,
            host_ip: Ipv4Addr::UNSPECIFIED,
            host_port: 8080,
            container_ip: Ipv4Addr::new(172, 17, 0, 2),
            container_port: 80,
        }];
        let pm = port_map(&c, &m, true);
        assert_eq!(pm["9000/udp"], None);
        let b = pm["80/tcp"].clone().unwrap();
        assert_eq!(b[0].host_ip.as_deref(), Some("0.0.0.0"));
        assert_eq!(b[0].host_port.as_deref(), Some("8080"));
        assert!(port_map(&c, &m, false).is_empty());
        let s = summary(&c, &m, true);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].public_port, Some(8080));
        assert_eq!(s[1].private_port, 9000);
        assert_eq!(display(&m[0]), "0.0.0.0:8080->80/tcp");
    }
}
