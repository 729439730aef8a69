//! `rdocker port CONTAINER [PRIVATE_PORT[/PROTO]]`: the container's published ports from
//! its inspect data (NetworkSettings.Ports), as docker's cli/command/container/port.go.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::Args;
use serde::Deserialize;

use super::volume::natural_cmp;
use super::{check_args, status_err, Arity, Ctx};
use crate::client::api_path;
use crate::portsfmt::join_host_port;
use crate::url::path_escape;

#[derive(Args, Debug, Default)]
pub struct PortArgs {
    #[arg(value_name = "CONTAINER [PRIVATE_PORT[/PROTO]]")]
    pub args: Vec<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct Binding {
    #[serde(rename = "HostIp")]
    pub host_ip: String,
    #[serde(rename = "HostPort")]
    pub host_port: String,
}

/// `"80/tcp": [bindings] | null`, as the daemon's NetworkSettings.Ports.
pub type PortMap = BTreeMap<String, Option<Vec<Binding>>>;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Inspect {
    #[serde(rename = "NetworkSettings")]
    network_settings: Option<Settings>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Settings {
    #[serde(rename = "Ports")]
    ports: Option<PortMap>,
}

pub fn run(ctx: &Ctx, name: &str, a: PortArgs) -> Result<()> {
    check_args(&a.args, Arity::Range(1, 2), name)?;
    let container = &a.args[0];
    let path = api_path(&format!("/containers/{}/json", path_escape(container)));
    let inspect: Inspect = ctx.client.get_json(&path)?;
    let ports = inspect
        .network_settings
        .and_then(|s| s.ports)
        .unwrap_or_default();
    let out = render(&ports, container, a.args.get(1).map(String::as_str))
        .map_err(|e| status_err(1, e))?;
    print!("{out}");
    Ok(())
}

/// The lines docker prints (naturally sorted), or its error for a missing port.
pub fn render(ports: &PortMap, container: &str, want: Option<&str>) -> Result<String, String> {
    let mut out: Vec<String> = Vec::new();
    match want {
        Some(spec) => {
            let (port, proto) = spec.split_once('/').unwrap_or((spec, ""));
            let proto = if proto.is_empty() { "tcp" } else { proto };
            if let Err(e) = port.parse::<u16>() {
                let why = match e.kind() {
                    std::num::IntErrorKind::PosOverflow => "value out of range",
                    _ => "invalid syntax",
                };
                return Err(format!(
                    "Error: invalid port ({port}): strconv.ParseUint: parsing \"{port}\": {why}"
                ));
            }
            let frontends = ports
                .get(&format!("{port}/{proto}"))
                .and_then(Option::as_ref)
                .filter(|f| !f.is_empty())
                .ok_or_else(|| {
                    format!("Error: No public port '{spec}' published for {container}")
                })?;
            for f in frontends {
                out.push(join_host_port(&f.host_ip, &f.host_port));
            }
        }
        None => {
            for (from, frontends) in ports {
                for f in frontends.iter().flatten() {
                    out.push(format!(
                        "{from} -> {}",
                        join_host_port(&f.host_ip, &f.host_port)
                    ));
                }
            }
        }
    }
    if out.is_empty() {
        return Ok(String::new());
    }
    out.sort_by(|a, b| natural_cmp(a, b));
    Ok(out.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports() -> PortMap {
        serde_json::from_str(
            r#"{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
                "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
                "9000/tcp": null}"#,
        )
        .unwrap()
    }

    #[test]
    fn all_mappings() {
        assert_eq!(
            render(&ports(), "c", None).unwrap(),
            "53/udp -> 127.0.0.1:5353\n80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n"
        );
        assert_eq!(render(&PortMap::new(), "c", None).unwrap(), "");
    }

    #[test]
    fn one_port() {
        assert_eq!(
            render(&ports(), "c", Some("80")).unwrap(),
            "0.0.0.0:8080\n[::]:8080\n"
        );
        assert_eq!(
            render(&ports(), "c", Some("53/udp")).unwrap(),
            "127.0.0.1:5353\n"
        );
        assert_eq!(
            render(&ports(), "x", Some("81/tcp")).unwrap_err(),
            "Error: No public port '81/tcp' published for x"
        );
        assert_eq!(
            render(&ports(), "x", Some("9000")).unwrap_err(),
            "Error: No public port '9000' published for x"
        );
        assert_eq!(
            render(&ports(), "x", Some("http")).unwrap_err(),
            "Error: invalid port (http): strconv.ParseUint: parsing \"http\": invalid syntax"
        );
        assert_eq!(
            render(&ports(), "x", Some("99999")).unwrap_err(),
            "Error: invalid port (99999): strconv.ParseUint: parsing \"99999\": value out of range"
        );
    }
}
