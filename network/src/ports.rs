//! Published ports: the types shared with the firewall, and the host-port reservation.
//!
//! Before a container's ports are wired, every host port is *bound* (TCP and UDP sockets on the
//! host ip:port, TCP not listening so no connection can ever land on it). The engine keeps the
//! [`PortReservation`] for as long as the container runs: nobody else can take the port, and a
//! port already in use fails early with docker's message, before anything is wired.

use std::net::{Ipv4Addr, SocketAddrV4};

use serde::{Deserialize, Serialize};
use socket2::{Domain, Socket, Type};

use crate::error::{Error, Result};

/// Transport protocol of a published port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// One `-p` flag: `[host_ip:][host_ports:]container_ports[/proto]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    pub proto: Proto,
    /// `0.0.0.0` = every host address.
    pub host_ip: Ipv4Addr,
    /// Inclusive range; `None` = one ephemeral port per container port, chosen by the kernel.
    pub host_ports: Option<(u16, u16)>,
    /// Inclusive range.
    pub container_ports: (u16, u16),
}

fn parse_range(s: &str, what: &str) -> Result<(u16, u16)> {
    let bad = || Error::BadPortMapping(format!("invalid {what} port {s:?}"));
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.trim().parse().map_err(|_| bad())?;
    let b: u16 = b.trim().parse().map_err(|_| bad())?;
    if a == 0 || b < a {
        return Err(bad());
    }
    Ok((a, b))
}

impl PortSpec {
    /// From the Docker API's `PortBindings`: key `"80/tcp"` (or `"8000-8010/udp"`), binding
    /// `HostIp` (`""` = all) and `HostPort` (`""` or `"0"` = ephemeral, `"8080"`, `"8080-8090"`).
    pub fn from_binding(container: &str, host_ip: &str, host_port: &str) -> Result<PortSpec> {
        let (ports, proto) = container.split_once('/').unwrap_or((container, "tcp"));
        let proto = match proto {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            p => return Err(Error::BadPortMapping(format!("unsupported protocol {p:?}"))),
        };
        let container_ports = parse_range(ports, "container")?;
        let host_ip = if host_ip.is_empty() {
            Ipv4Addr::UNSPECIFIED
        } else {
            host_ip
                .parse()
                .map_err(|_| Error::BadPortMapping(format!("invalid host ip {host_ip:?}")))?
        };
        let host_ports = match host_port {
            "" | "0" => None,
            p => Some(parse_range(p, "host")?),
        };
        Ok(PortSpec {
            proto,
            host_ip,
            host_ports,
            container_ports,
        })
    }
}

/// One wired port: host ip:port/proto → container ip:port.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortMapping {
    pub proto: Proto,
    /// `0.0.0.0` = every local address.
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
}

/// Sockets holding the host ports, and the mappings they stand for. Drop it to free the ports.
#[derive(Debug)]
pub struct PortReservation {
    pub mappings: Vec<PortMapping>,
    sockets: Vec<Socket>,
}

impl PortReservation {
    /// Number of sockets held (one per mapping).
    pub fn held(&self) -> usize {
        self.sockets.len()
    }
}

fn bind(proto: Proto, ip: Ipv4Addr, port: u16) -> Result<(Socket, u16)> {
    let ty = match proto {
        Proto::Tcp => Type::STREAM,
        Proto::Udp => Type::DGRAM,
    };
    // socket2 sets CLOEXEC. No SO_REUSEADDR: a second reservation of the same port must fail.
    let s = Socket::new(Domain::IPV4, ty, None).map_err(|e| Error::sys("socket", e))?;
    let addr = SocketAddrV4::new(ip, port);
    match s.bind(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            return Err(Error::PortAllocated { addr: ip, port });
        }
        Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {
            return Err(Error::BadPortMapping(format!(
                "{ip} is not a local address"
            )));
        }
        Err(e) => return Err(Error::sys("bind host port", e)),
    }
    let got = s
        .local_addr()
        .map_err(|e| Error::sys("getsockname", e))?
        .as_socket_ipv4()
        .map(|a| a.port())
        .unwrap_or(port);
    Ok((s, got))
}

fn check_range((a, b): (u16, u16), what: &str) -> Result<u32> {
    if a == 0 || b < a {
        return Err(Error::BadPortMapping(format!(
            "invalid {what} port range {a}-{b}"
        )));
    }
    Ok(u32::from(b - a) + 1)
}

/// Reserve the host ports of `specs` for a container at `container_ip`: all or nothing.
///
/// A host range as long as the container range maps 1:1; a host range with a single container
/// port takes the first free port of the range (docker's `-p 8000-8010:80`); no host port takes a
/// kernel-chosen ephemeral port per container port.
pub fn reserve(specs: &[PortSpec], container_ip: Ipv4Addr) -> Result<PortReservation> {
    let mut res = PortReservation {
        mappings: Vec::new(),
        sockets: Vec::new(),
    };
    for spec in specs {
        let n = check_range(spec.container_ports, "container")?;
        let (c0, _) = spec.container_ports;
        match spec.host_ports {
            None => {
                for cp in spec.container_ports.0..=spec.container_ports.1 {
                    let (s, hp) = bind(spec.proto, spec.host_ip, 0)?;
                    res.push(spec, hp, container_ip, cp, s);
                }
            }
            Some(hr) => {
                let hn = check_range(hr, "host")?;
                if hn == n {
                    for i in 0..n {
                        // i < n ≤ 65535 and both ranges were checked: the sums stay in u16.
                        let off = u16::try_from(i).unwrap_or(0);
                        let (s, hp) = bind(spec.proto, spec.host_ip, hr.0 + off)?;
                        res.push(spec, hp, container_ip, c0 + off, s);
                    }
                } else if n == 1 {
                    let mut last = None;
                    for hp in hr.0..=hr.1 {
                        match bind(spec.proto, spec.host_ip, hp) {
                            Ok((s, hp)) => {
                                last = Some((s, hp));
                                break;
                            }
                            Err(Error::PortAllocated { .. }) => continue,
                            Err(e) => return Err(e),
                        }
                    }
                    let Some((s, hp)) = last else {
                        return Err(Error::PortAllocated {
                            addr: spec.host_ip,
                            port: hr.0,
                        });
                    };
                    res.push(spec, hp, container_ip, c0, s);
                } else {
                    return Err(Error::BadPortMapping(format!(
                        "host range {}-{} and container range {}-{} differ in length",
                        hr.0, hr.1, spec.container_ports.0, spec.container_ports.1
                    )));
                }
            }
        }
    }
    Ok(res)
}

impl PortReservation {
    fn push(&mut self, spec: &PortSpec, hp: u16, cip: Ipv4Addr, cp: u16, s: Socket) {
        self.mappings.push(PortMapping {
            proto: spec.proto,
            host_ip: spec.host_ip,
            host_port: hp,
            container_ip: cip,
            container_port: cp,
        });
        self.sockets.push(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings() {
        let s = PortSpec::from_binding("80/tcp", "", "8080").unwrap();
        assert_eq!(s.host_ports, Some((8080, 8080)));
        assert_eq!(s.host_ip, Ipv4Addr::UNSPECIFIED);
        let s = PortSpec::from_binding("53/udp", "127.0.0.1", "").unwrap();
        assert_eq!((s.proto, s.host_ports), (Proto::Udp, None));
        assert_eq!(s.host_ip, Ipv4Addr::LOCALHOST);
        let s = PortSpec::from_binding("8000-8001", "", "9000-9001").unwrap();
        assert_eq!(
            (s.container_ports, s.host_ports),
            ((8000, 8001), Some((9000, 9001)))
        );
        assert!(PortSpec::from_binding("0/tcp", "", "").is_err());
        assert!(PortSpec::from_binding("70000/tcp", "", "").is_err());
        assert!(PortSpec::from_binding("80/sctp", "", "").is_err());
        assert!(PortSpec::from_binding("80", "", "9-8").is_err());
        assert!(PortSpec::from_binding("80", "x", "").is_err());
    }
}
