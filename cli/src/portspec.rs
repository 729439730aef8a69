//! `-p/--publish` and `--expose` as docker's CLI parses them: the long syntax
//! (`published=8080,target=80`) folded into the short one (cli/command/container/opts.go
//! convertToStandardNotation), then go-connections' nat.ParsePortSpec, whose error texts
//! docker prints as they are (`invalid containerPort: 99999`).

use std::collections::BTreeMap;
use std::net::IpAddr;

/// One container port (`80/tcp`) bound to a host address and port (either may be empty:
/// any address, a port the daemon picks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    pub port: String,
    pub host_ip: String,
    pub host_port: String,
}

/// The exposed ports (`80/tcp`) and their bindings, in docker's PortMap shape.
pub type Bindings = BTreeMap<String, Vec<(String, String)>>;

/// Go's strconv.ParseUint(raw, 10, 16), with its error text.
fn parse_uint16(raw: &str) -> Result<u16, String> {
    let err = |why: &str| format!("strconv.ParseUint: parsing {raw:?}: {why}");
    if raw.is_empty() || !raw.bytes().all(|c| c.is_ascii_digit()) {
        return Err(err("invalid syntax"));
    }
    raw.parse::<u16>().map_err(|_| err("value out of range"))
}

/// nat.ParsePortRange as docker 28 vendors it: `80` or `8000-8010` (fields after a
/// second `-` are ignored, as there).
pub fn port_range(ports: &str) -> Result<(u16, u16), String> {
    if ports.is_empty() {
        return Err("empty string specified for ports".into());
    }
    let Some((start, rest)) = ports.split_once('-') else {
        let p = parse_uint16(ports)?;
        return Ok((p, p));
    };
    let end = rest.split('-').next().unwrap_or(rest);
    let s = parse_uint16(start)?;
    let e = parse_uint16(end)?;
    if e < s {
        return Err(format!("invalid range specified for port: {ports}"));
    }
    Ok((s, e))
}

/// nat.SplitProtoPort: `80/udp` → ("udp", "80"); no protocol means tcp; no port, nothing.
pub fn split_proto_port(raw: &str) -> (String, String) {
    let (port, proto) = raw.split_once('/').unwrap_or((raw, ""));
    if port.is_empty() {
        return (String::new(), String::new());
    }
    let proto = if proto.is_empty() { "tcp" } else { proto };
    (proto.to_string(), port.to_string())
}

/// nat's splitParts: the last two `:`-separated fields are the ports, the rest the address.
fn split_parts(raw: &str) -> (String, String, String) {
    let parts: Vec<&str> = raw.split(':').collect();
    match parts.as_slice() {
        [c] => (String::new(), String::new(), c.to_string()),
        [h, c] => (String::new(), h.to_string(), c.to_string()),
        [ip @ .., h, c] => (ip.join(":"), h.to_string(), c.to_string()),
        [] => (String::new(), String::new(), String::new()),
    }
}

/// nat.ParsePortSpec: `[ip:][hostPort:]containerPort[/proto]`, each port possibly a range.
pub fn parse_port_spec(raw: &str) -> Result<Vec<PortMapping>, String> {
    let (mut ip, host_port, container_port) = split_parts(raw);
    let (proto, container_port) = split_proto_port(&container_port);
    if container_port.is_empty() {
        return Err(format!("no port specified: {raw}<empty>"));
    }
    let proto = proto.to_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    if ip.starts_with('[') {
        // Go's net.SplitHostPort(ip + ":") strips the brackets of an IPv6 address.
        match ip.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            Some(inner) if !inner.contains(['[', ']']) => ip = inner.to_string(),
            _ => {
                return Err(format!(
                    "invalid IP address {ip}: address {ip}:: missing ']' in address"
                ))
            }
        }
    }
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    let (start, end) = port_range(&container_port)
        .map_err(|_| format!("invalid containerPort: {container_port}"))?;
    let (mut hstart, mut hend) = (0u16, 0u16);
    if !host_port.is_empty() {
        (hstart, hend) =
            port_range(&host_port).map_err(|_| format!("invalid hostPort: {host_port}"))?;
        // A host range with a single container port is the range to pick a port from.
        if end - start != hend - hstart && end != start {
            return Err(format!(
                "invalid ranges specified for container and host Ports: {container_port} and {host_port}"
            ));
        }
    }
    let count = u32::from(end - start) + 1;
    Ok((0..count)
        .map(|i| {
            let mut h = String::new();
            if !host_port.is_empty() {
                h = (u32::from(hstart) + i).to_string();
                if count == 1 && hstart != hend {
                    h = format!("{h}-{hend}");
                }
            }
            PortMapping {
                port: format!("{}/{proto}", u32::from(start) + i),
                host_ip: ip.clone(),
                host_port: h,
            }
        })
        .collect())
}

/// docker's convertToStandardNotation: `published=8080,target=80,protocol=udp` →
/// `8080:80/udp`; anything without `=` is already short syntax.
pub fn to_standard_notation(publish: &str) -> Result<String, String> {
    if !publish.contains('=') {
        return Ok(publish.to_string());
    }
    let mut params: BTreeMap<&str, &str> = BTreeMap::from([("protocol", "tcp")]);
    for param in publish.split(',') {
        match param.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                params.insert(k, v);
            }
            _ => {
                return Err(format!(
                    "invalid publish opts format (should be name=value but got '{param}')"
                ))
            }
        }
    }
    let get = |k: &str| params.get(k).copied().unwrap_or_default();
    Ok(format!(
        "{}:{}/{}",
        get("published"),
        get("target"),
        get("protocol")
    ))
}

/// nat.ParsePortSpecs over every `-p` value: the exposed ports and their bindings.
pub fn parse_port_specs(publish: &[String]) -> Result<Bindings, String> {
    let mut bindings = Bindings::new();
    for p in publish {
        let p = to_standard_notation(p)?;
        for m in parse_port_spec(&p)? {
            bindings
                .entry(m.port)
                .or_default()
                .push((m.host_ip, m.host_port));
        }
    }
    Ok(bindings)
}

/// `--expose 80`, `--expose 8000-8010/udp`: the ports it exposes.
pub fn parse_expose(e: &str) -> Result<Vec<String>, String> {
    if e.contains(':') {
        return Err(format!("invalid port format for --expose: {e}"));
    }
    let (proto, port) = split_proto_port(e);
    let (start, end) = port_range(&port)
        .map_err(|err| format!("invalid range format for --expose: {e}, error: {err}"))?;
    Ok((u32::from(start)..=u32::from(end))
        .map(|p| format!("{p}/{proto}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(port: &str, ip: &str, hp: &str) -> PortMapping {
        PortMapping {
            port: port.into(),
            host_ip: ip.into(),
            host_port: hp.into(),
        }
    }

    // The cases of go-connections' nat_test.go TestParsePortSpecFull / TestParsePortSpecs.
    #[test]
    fn short_syntax() {
        assert_eq!(
            parse_port_spec("0.0.0.0:1234-1235:3333-3334/tcp").unwrap(),
            [
                m("3333/tcp", "0.0.0.0", "1234"),
                m("3334/tcp", "0.0.0.0", "1235")
            ]
        );
        assert_eq!(parse_port_spec("1234").unwrap(), [m("1234/tcp", "", "")]);
        assert_eq!(
            parse_port_spec("2345/udp").unwrap(),
            [m("2345/udp", "", "")]
        );
        assert_eq!(
            parse_port_spec("3456/sctp").unwrap(),
            [m("3456/sctp", "", "")]
        );
        assert_eq!(
            parse_port_spec("8080:80").unwrap(),
            [m("80/tcp", "", "8080")]
        );
        assert_eq!(
            parse_port_spec("127.0.0.1::80").unwrap(),
            [m("80/tcp", "127.0.0.1", "")]
        );
        assert_eq!(
            parse_port_spec("[::1]:8080:80/UDP").unwrap(),
            [m("80/udp", "::1", "8080")]
        );
        assert_eq!(
            parse_port_spec("::1:8080:80").unwrap(),
            [m("80/tcp", "::1", "8080")]
        );
        assert_eq!(
            parse_port_spec("[::]:80:80").unwrap(),
            [m("80/tcp", "::", "80")]
        );
        // A host range for one container port: the daemon picks a port in it.
        assert_eq!(
            parse_port_spec("8000-8010:80").unwrap(),
            [m("80/tcp", "", "8000-8010")]
        );
        assert_eq!(
            parse_port_spec("80-81").unwrap(),
            [m("80/tcp", "", ""), m("81/tcp", "", "")]
        );
        assert_eq!(parse_port_spec("0").unwrap(), [m("0/tcp", "", "")]);
    }

    #[test]
    fn errors_as_docker() {
        let e = |s: &str| parse_port_spec(s).unwrap_err();
        assert_eq!(e("99999"), "invalid containerPort: 99999");
        assert_eq!(e("8080:99999"), "invalid containerPort: 99999");
        assert_eq!(e("99999:80"), "invalid hostPort: 99999");
        assert_eq!(e("localhost:80:80"), "invalid IP address: localhost");
        assert_eq!(e("1.2.3:80:80"), "invalid IP address: 1.2.3");
        assert_eq!(e("80/xyz"), "invalid proto: xyz");
        assert_eq!(e("8080:"), "no port specified: 8080:<empty>");
        assert_eq!(e(""), "no port specified: <empty>");
        assert_eq!(e("/tcp"), "no port specified: /tcp<empty>");
        assert_eq!(e("abc"), "invalid containerPort: abc");
        assert_eq!(e("90-80"), "invalid containerPort: 90-80");
        assert_eq!(e("80-"), "invalid containerPort: 80-");
        assert_eq!(e("+80"), "invalid containerPort: +80");
        assert_eq!(
            e("8000-8001:80-82"),
            "invalid ranges specified for container and host Ports: 80-82 and 8000-8001"
        );
        assert_eq!(
            e("[::1:80:80"),
            "invalid IP address [::1: address [::1:: missing ']' in address"
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(port_range("80").unwrap(), (80, 80));
        assert_eq!(port_range("80-80").unwrap(), (80, 80));
        assert_eq!(port_range("8000-8010").unwrap(), (8000, 8010));
        // As docker 28 (checked against its CLI): a third field is ignored.
        assert_eq!(port_range("1-2-3").unwrap(), (1, 2));
        assert_eq!(
            port_range("8010-8000").unwrap_err(),
            "invalid range specified for port: 8010-8000"
        );
        assert_eq!(
            port_range("65536").unwrap_err(),
            "strconv.ParseUint: parsing \"65536\": value out of range"
        );
        assert_eq!(
            port_range("1-x").unwrap_err(),
            "strconv.ParseUint: parsing \"x\": invalid syntax"
        );
        assert!(port_range("").is_err());
        assert!(port_range("-80").is_err());
        assert!(port_range("80-").is_err());
        assert!(port_range("+80").is_err());
    }

    #[test]
    fn long_syntax_and_specs() {
        assert_eq!(
            to_standard_notation("published=8080,target=80").unwrap(),
            "8080:80/tcp"
        );
        assert_eq!(
            to_standard_notation("target=53,protocol=udp").unwrap(),
            ":53/udp"
        );
        assert_eq!(
            to_standard_notation("target=80,bogus").unwrap_err(),
            "invalid publish opts format (should be name=value but got 'bogus')"
        );
        let b = parse_port_specs(&[
            "8080:80".into(),
            "127.0.0.1:8081:80".into(),
            "53/udp".into(),
        ])
        .unwrap();
        assert_eq!(
            b["80/tcp"],
            [
                ("".to_string(), "8080".to_string()),
                ("127.0.0.1".to_string(), "8081".to_string())
            ]
        );
        assert_eq!(b["53/udp"], [(String::new(), String::new())]);
    }

    #[test]
    fn expose() {
        assert_eq!(parse_expose("80").unwrap(), ["80/tcp"]);
        assert_eq!(parse_expose("53/udp").unwrap(), ["53/udp"]);
        assert_eq!(
            parse_expose("8000-8002").unwrap(),
            ["8000/tcp", "8001/tcp", "8002/tcp"]
        );
        assert_eq!(
            parse_expose("1:2").unwrap_err(),
            "invalid port format for --expose: 1:2"
        );
        // The texts docker 28's CLI prints for these.
        assert_eq!(
            parse_expose("x").unwrap_err(),
            "invalid range format for --expose: x, error: strconv.ParseUint: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            parse_expose("90-80").unwrap_err(),
            "invalid range format for --expose: 90-80, error: invalid range specified for port: 90-80"
        );
        assert_eq!(
            parse_expose("99999").unwrap_err(),
            "invalid range format for --expose: 99999, error: strconv.ParseUint: parsing \"99999\": value out of range"
        );
    }
}
