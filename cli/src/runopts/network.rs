//! `run`/`create` networking flags into the create body, as docker 28's CLI builds it
//! (cli/command/container/opts.go parse + parseNetworkOpts, opts/network.go): published
//! and exposed ports, network mode and endpoints, DNS, extra hosts.

use std::collections::HashMap;

use bollard_stubs::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, NetworkingConfig,
    PortBinding,
};
use clap::Args;

use super::netopt::{is_user_defined, parse_network_opt, Attachment};
use super::{flag_err, plain, OptsError};
use crate::netvalid::{valid_mac, validate_dns_search, validate_extra_host, validate_ip};
use crate::portspec::{parse_expose, parse_port_specs};

#[derive(Args, Debug, Default, Clone)]
pub struct NetworkOpts {
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host", value_name = "list")]
    pub add_host: Vec<String>,
    /// Set custom DNS servers
    #[arg(long, value_name = "list")]
    pub dns: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", alias = "dns-opt", value_name = "list")]
    pub dns_option: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search", value_name = "list")]
    pub dns_search: Vec<String>,
    /// Expose a port or a range of ports
    #[arg(long, value_name = "list")]
    pub expose: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long, value_name = "string")]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33)
    #[arg(long, value_name = "string")]
    pub ip6: Option<String>,
    /// Container IPv4/IPv6 link-local addresses
    #[arg(long = "link-local-ip", value_name = "list")]
    pub link_local_ip: Vec<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long = "mac-address", value_name = "string")]
    pub mac_address: Option<String>,
    /// Connect a container to a network
    #[arg(long = "network", alias = "net", value_name = "network")]
    pub network: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", alias = "net-alias", value_name = "list")]
    pub network_alias: Vec<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish", value_name = "list")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
}

impl NetworkOpts {
    fn attachments(&self) -> Result<Vec<Attachment>, OptsError> {
        self.network
            .iter()
            .map(|n| parse_network_opt(n).map_err(|e| flag_err("--network", n, e)))
            .collect()
    }

    /// applyContainerOptions: the single-network flags go to the first network.
    fn apply_flags(&self, n: &mut Attachment) -> Result<(), OptsError> {
        let conflict =
            |what: &str| plain(format!("conflicting options: cannot specify both {what}"));
        if !n.aliases.is_empty() && !self.network_alias.is_empty() {
            return Err(conflict("--network-alias and per-network alias"));
        }
        if n.ipv4.is_some() && self.ip.is_some() {
            return Err(conflict("--ip and per-network IPv4 address"));
        }
        if n.ipv6.is_some() && self.ip6.is_some() {
            return Err(conflict("--ip6 and per-network IPv6 address"));
        }
        if n.mac.is_some() && self.mac_address.is_some() {
            return Err(conflict("--mac-address and per-network MAC address"));
        }
        if !n.link_local_ips.is_empty() && !self.link_local_ip.is_empty() {
            return Err(conflict(
                "--link-local-ip and per-network link-local IP addresses",
            ));
        }
        if !self.network_alias.is_empty() {
            n.aliases = self.network_alias.clone();
        }
        // Docker 28 passes the addresses as given; the daemon validates them.
        if let Some(ip) = self.ip.as_ref().filter(|ip| !ip.is_empty()) {
            n.ipv4 = Some(ip.clone());
        }
        if let Some(ip) = self.ip6.as_ref().filter(|ip| !ip.is_empty()) {
            n.ipv6 = Some(ip.clone());
        }
        if let Some(m) = &self.mac_address {
            n.mac = Some(m.clone());
        }
        if !self.link_local_ip.is_empty() {
            n.link_local_ips = self.link_local_ip.clone();
        }
        Ok(())
    }

    /// parseNetworkOpts: the EndpointsConfig docker sends.
    fn endpoints(&self) -> Result<HashMap<String, EndpointSettings>, OptsError> {
        let nets = self.attachments()?;
        let mut endpoints = HashMap::new();
        if nets.is_empty() {
            let mut n = Attachment {
                target: "default".into(),
                ..Default::default()
            };
            self.apply_flags(&mut n)?;
            endpoints.insert("default".to_string(), endpoint(&n)?);
        }
        let (mut user, mut non_user) = (false, false);
        let single = nets.len() == 1;
        for (i, mut n) in nets.into_iter().enumerate() {
            if is_user_defined(&n.target) {
                user = true;
            } else {
                non_user = true;
            }
            if i == 0 {
                self.apply_flags(&mut n)?;
            }
            let ep = endpoint(&n)?;
            if endpoints.contains_key(&n.target) {
                return Err(plain(format!(
                    "network \"{}\" is specified multiple times",
                    n.target
                )));
            }
            // As docker: one network without options sends no endpoint configuration.
            if i == 0 && single && ep == EndpointSettings::default() {
                continue;
            }
            endpoints.insert(n.target.clone(), ep);
        }
        if user && non_user {
            return Err(plain("conflicting options: cannot attach both user-defined and non-user-defined network-modes"));
        }
        Ok(endpoints)
    }

    /// Fills the networking parts of the create body.
    pub fn apply(&self, body: &mut ContainerCreateBody) -> Result<(), OptsError> {
        if let Some(mac) = &self.mac_address {
            if !valid_mac(mac.trim()) {
                return Err(plain(format!("{mac} is not a valid mac address")));
            }
        }
        let mut dns = Vec::new();
        for d in &self.dns {
            dns.push(validate_ip(d).map_err(|e| flag_err("--dns", d, e))?);
        }
        let mut search = Vec::new();
        for s in &self.dns_search {
            search.push(validate_dns_search(s).map_err(|e| flag_err("--dns-search", s, e))?);
        }
        let mut hosts = Vec::new();
        for h in &self.add_host {
            hosts.push(validate_extra_host(h).map_err(|e| flag_err("--add-host", h, e))?);
        }
        let bindings = parse_port_specs(&self.publish).map_err(plain)?;
        let mut exposed: Vec<String> = bindings.keys().cloned().collect();
        for e in &self.expose {
            exposed.extend(parse_expose(e).map_err(plain)?);
        }
        exposed.sort();
        exposed.dedup();
        let port_bindings = bindings
            .into_iter()
            .map(|(port, list)| {
                let list = list
                    .into_iter()
                    .map(|(ip, hp)| PortBinding {
                        host_ip: Some(ip),
                        host_port: Some(hp),
                    })
                    .collect();
                (port, Some(list))
            })
            .collect();
        let endpoints = self.endpoints()?;
        let mode = self
            .attachments()?
            .first()
            .map_or_else(|| "default".to_string(), |a| a.target.clone());
        let host = body.host_config.get_or_insert_with(HostConfig::default);
        host.network_mode = Some(mode);
        host.port_bindings = Some(port_bindings);
        host.publish_all_ports = Some(self.publish_all);
        // As docker: never null, so the daemon does not fall back to older defaults.
        host.dns = Some(dns);
        host.dns_search = Some(search);
        host.dns_options = Some(self.dns_option.clone());
        host.extra_hosts = (!hosts.is_empty()).then_some(hosts);
        // As docker: no ExposedPorts at all rather than an empty set.
        body.exposed_ports = (!exposed.is_empty()).then_some(exposed);
        body.networking_config = Some(NetworkingConfig {
            endpoints_config: Some(endpoints),
        });
        Ok(())
    }
}

/// parseNetworkAttachmentOpt: one endpoint's settings.
fn endpoint(n: &Attachment) -> Result<EndpointSettings, OptsError> {
    if n.target.trim().is_empty() {
        return Err(plain("no name set for network"));
    }
    if !is_user_defined(&n.target) && !n.aliases.is_empty() {
        return Err(plain(
            "network-scoped aliases are only supported for user-defined networks",
        ));
    }
    let mut ep = EndpointSettings {
        aliases: (!n.aliases.is_empty()).then(|| n.aliases.clone()),
        gw_priority: n.gw_priority,
        ..Default::default()
    };
    if !n.driver_opts.is_empty() {
        ep.driver_opts = Some(n.driver_opts.clone().into_iter().collect());
    }
    if n.ipv4.is_some() || n.ipv6.is_some() || !n.link_local_ips.is_empty() {
        ep.ipam_config = Some(EndpointIpamConfig {
            ipv4_address: n.ipv4.clone(),
            ipv6_address: n.ipv6.clone(),
            link_local_ips: (!n.link_local_ips.is_empty()).then(|| n.link_local_ips.clone()),
        });
    }
    if let Some(mac) = &n.mac {
        if !valid_mac(mac.trim()) {
            return Err(plain(format!("{mac} is not a valid mac address")));
        }
        ep.mac_address = Some(mac.trim().to_string());
    }
    Ok(ep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use serde_json::{json, Value};

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        o: NetworkOpts,
    }

    fn body(args: &[&str]) -> Result<Value, OptsError> {
        let o = T::try_parse_from(std::iter::once("run").chain(args.iter().copied()))
            .unwrap()
            .o;
        let mut b = ContainerCreateBody::default();
        o.apply(&mut b)?;
        Ok(serde_json::to_value(b).unwrap())
    }

    #[test]
    fn defaults_as_docker() {
        let b = body(&[]).unwrap();
        let h = &b["HostConfig"];
        assert_eq!(h["NetworkMode"], "default");
        assert_eq!(h["PortBindings"], json!({}));
        assert_eq!(h["PublishAllPorts"], false);
        assert_eq!(h["Dns"], json!([]));
        assert_eq!(h["DnsSearch"], json!([]));
        assert_eq!(h["DnsOptions"], json!([]));
        assert!(h.get("ExtraHosts").is_none());
        assert!(b.get("ExposedPorts").is_none());
        assert_eq!(
            b["NetworkingConfig"],
            json!({"EndpointsConfig": {"default": {}}})
        );
    }

    #[test]
    fn ports_dns_hosts() {
        let b = body(&[
            "-p",
            "127.0.0.1::80",
            "-p",
            "8080:80",
            "-p",
            "53/udp",
            "--expose",
            "9000-9001",
            "-P",
            "--dns",
            "1.1.1.1",
            "--dns-search",
            "example.com",
            "--dns-opt",
            "ndots:2",
            "--add-host",
            "h=10.0.0.1",
            "--add-host",
            "gw:host-gateway",
        ])
        .unwrap();
        let h = &b["HostConfig"];
        assert_eq!(
            h["PortBindings"],
            json!({
                "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}, {"HostIp": "", "HostPort": "8080"}],
                "53/udp": [{"HostIp": "", "HostPort": ""}],
            })
        );
        assert_eq!(h["PublishAllPorts"], true);
        assert_eq!(h["Dns"], json!(["1.1.1.1"]));
        assert_eq!(h["DnsSearch"], json!(["example.com"]));
        assert_eq!(h["DnsOptions"], json!(["ndots:2"]));
        assert_eq!(h["ExtraHosts"], json!(["h:10.0.0.1", "gw:host-gateway"]));
        assert_eq!(
            b["ExposedPorts"],
            json!({"53/udp": {}, "80/tcp": {}, "9000/tcp": {}, "9001/tcp": {}})
        );
    }

    #[test]
    fn networks_and_endpoints() {
        let b = body(&["--network", "none"]).unwrap();
        assert_eq!(b["HostConfig"]["NetworkMode"], "none");
        assert_eq!(b["NetworkingConfig"], json!({"EndpointsConfig": {}}));
        let b = body(&[
            "--net",
            "mynet",
            "--network-alias",
            "web",
            "--ip",
            "10.1.0.5",
        ])
        .unwrap();
        assert_eq!(b["HostConfig"]["NetworkMode"], "mynet");
        assert_eq!(
            b["NetworkingConfig"]["EndpointsConfig"],
            json!({"mynet": {"Aliases": ["web"], "IPAMConfig": {"IPv4Address": "10.1.0.5"}}})
        );
        let b = body(&[
            "--network",
            "name=n1,alias=a1,ip=10.2.0.9",
            "--network",
            "n2",
        ])
        .unwrap();
        assert_eq!(b["HostConfig"]["NetworkMode"], "n1");
        assert_eq!(
            b["NetworkingConfig"]["EndpointsConfig"],
            json!({"n1": {"Aliases": ["a1"], "IPAMConfig": {"IPv4Address": "10.2.0.9"}}, "n2": {}})
        );
        let b = body(&["--network", "container:abc"]).unwrap();
        assert_eq!(b["HostConfig"]["NetworkMode"], "container:abc");
        let b = body(&["--mac-address", "92:d0:c6:0a:29:33"]).unwrap();
        assert_eq!(
            b["NetworkingConfig"]["EndpointsConfig"]["default"]["MacAddress"],
            "92:d0:c6:0a:29:33"
        );
    }

    #[test]
    fn refused() {
        let e = |a: &[&str]| body(a).unwrap_err().to_string();
        assert_eq!(e(&["-p", "99999"]), "invalid containerPort: 99999");
        assert_eq!(e(&["-p", "8080:80/xyz"]), "invalid proto: xyz");
        assert_eq!(
            e(&["--add-host", "nohost"]),
            "invalid argument \"nohost\" for \"--add-host\" flag: bad format for add-host: \"nohost\""
        );
        assert_eq!(
            e(&["--dns", "x"]),
            "invalid argument \"x\" for \"--dns\" flag: IP address is not correctly formatted: x"
        );
        assert_eq!(
            e(&["--network-alias", "x"]),
            "network-scoped aliases are only supported for user-defined networks"
        );
        assert_eq!(
            e(&["--network", "bridge", "--network-alias", "x"]),
            "network-scoped aliases are only supported for user-defined networks"
        );
        assert_eq!(
            e(&["--network", "a", "--network", "host"]),
            "conflicting options: cannot attach both user-defined and non-user-defined network-modes"
        );
        assert_eq!(
            e(&["--network", "a", "--network", "a"]),
            "network \"a\" is specified multiple times"
        );
        assert_eq!(e(&["--mac-address", "zz"]), "zz is not a valid mac address");
        assert_eq!(
            e(&["--network", "name=a,bogus=1"]),
            "invalid argument \"name=a,bogus=1\" for \"--network\" flag: invalid field key bogus"
        );
        assert_eq!(
            e(&["--network", "name=a,alias=x", "--network-alias", "y"]),
            "conflicting options: cannot specify both --network-alias and per-network alias"
        );
    }
}
