//! `linux.sysctl`: `HostConfig.Sysctls` over docker's defaults, validated at create the way
//! runc validates them (only keys the container's own namespaces isolate).

use std::collections::HashMap;

use bollard_stubs::models::HostConfig;

use rdocker_runtime::sysctl::{key_namespace, KeyNamespace};

fn host(mode: &Option<String>) -> bool {
    mode.as_deref() == Some("host")
}

/// Docker's `NetworkMode.IsPrivate()`: a network namespace of the container's own.
fn private_net(hc: &HostConfig) -> bool {
    let m = hc.network_mode.as_deref().unwrap_or("");
    m != "host" && !m.starts_with("container:")
}

/// runc's checks, at create instead of as an OCI runtime error at start.
pub fn validate(hc: &HostConfig) -> Result<(), String> {
    let Some(sysctls) = &hc.sysctls else {
        return Ok(());
    };
    let mut keys: Vec<&String> = sysctls.keys().collect();
    keys.sort();
    for k in keys {
        match key_namespace(k) {
            KeyNamespace::Ipc if host(&hc.ipc_mode) => {
                return Err(format!(
                    "sysctl {k:?} is not allowed in the hosts ipc namespace"
                ));
            }
            KeyNamespace::Net if !private_net(hc) => {
                return Err(format!(
                    "sysctl {k:?} not allowed in host network namespace"
                ));
            }
            KeyNamespace::Ipc | KeyNamespace::Net => {}
            KeyNamespace::Domainname if !host(&hc.uts_mode) => {}
            KeyNamespace::Hostname => {
                return Err(format!(
                    "sysctl {k:?} is not allowed as it conflicts with the OCI \"hostname\" field"
                ));
            }
            KeyNamespace::Domainname | KeyNamespace::None => {
                return Err(format!(
                    "sysctl {k:?} is not in a separate kernel namespace"
                ));
            }
        }
    }
    Ok(())
}

/// moby's `WithSysctls`: in a network namespace of its own a container gets
/// `ip_unprivileged_port_start=0` and (outside a user namespace) `ping_group_range`, so ports
/// below 1024 and ping work without capabilities; the user's values win.
pub fn for_container(hc: &HostConfig, userns: bool) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if private_net(hc) {
        if !userns {
            out.insert(
                "net.ipv4.ping_group_range".to_string(),
                "0 2147483647".to_string(),
            );
        }
        out.insert(
            "net.ipv4.ip_unprivileged_port_start".to_string(),
            "0".to_string(),
        );
    }
    if let Some(user) = &hc.sysctls {
        out.extend(user.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc(net: &str, kv: &[(&str, &str)]) -> HostConfig {
        HostConfig {
            network_mode: Some(net.into()),
            sysctls: Some(
                kv.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_unless_host_network() {
        let s = for_container(&hc("bridge", &[]), false);
        assert_eq!(s["net.ipv4.ip_unprivileged_port_start"], "0");
        assert_eq!(s["net.ipv4.ping_group_range"], "0 2147483647");
        let s = for_container(&hc("bridge", &[]), true);
        assert!(!s.contains_key("net.ipv4.ping_group_range"));
        assert!(for_container(&hc("host", &[]), false).is_empty());
        let s = for_container(
            &hc("none", &[("net.ipv4.ip_unprivileged_port_start", "80")]),
            false,
        );
        assert_eq!(s["net.ipv4.ip_unprivileged_port_start"], "80");
    }

    #[test]
    fn validation_messages() {
        assert!(validate(&hc(
            "bridge",
            &[("net.ipv4.ip_forward", "1"), ("kernel.shmmax", "1")]
        ))
        .is_ok());
        assert_eq!(
            validate(&hc("host", &[("net.ipv4.ip_forward", "1")])).unwrap_err(),
            r#"sysctl "net.ipv4.ip_forward" not allowed in host network namespace"#
        );
        assert_eq!(
            validate(&hc("bridge", &[("vm.swappiness", "1")])).unwrap_err(),
            r#"sysctl "vm.swappiness" is not in a separate kernel namespace"#
        );
        let mut h = hc("bridge", &[("fs.mqueue.msg_max", "1")]);
        h.ipc_mode = Some("host".into());
        assert_eq!(
            validate(&h).unwrap_err(),
            r#"sysctl "fs.mqueue.msg_max" is not allowed in the hosts ipc namespace"#
        );
    }
}
