//! The container side's entry points: plan at create, wire before the shim starts, unwire
//! at exit and rm, and what inspect and `ps` show.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bollard_stubs::models::{EndpointIpamConfig, EndpointSettings, NetworkSettings, PortSummary};
use rdocker_network::dns;
use rdocker_network::endpoint::format_mac;

use super::attach::{special_mode, ContainerNet};
use super::hosts::{render_hosts, render_resolv, DEFAULT_HOSTS};
use crate::containers::record::Container;
use crate::containers::{ContainerError, ContainerManager};

/// The network namespace the runtime gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsChoice {
    /// The host's (no network namespace entry in the spec).
    Host,
    /// A fresh one with only `lo` (the shim makes it).
    New,
    /// Join this one (`linux.namespaces` entry with a path).
    Path(PathBuf),
}

/// What start needs from networking: the namespace and the /etc files.
#[derive(Debug, Clone)]
pub struct Wired {
    pub ns: NsChoice,
    pub hosts: String,
    pub resolv: String,
}

fn host_resolv() -> String {
    std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()
}

impl ContainerManager {
    /// Docker's defaults for a container on no network of ours.
    fn unwired(&self, c: &Container, ns: NsChoice) -> Wired {
        let cfg = &self.network.cfg;
        let hc = &c.host_config;
        let pick = |own: &Option<Vec<String>>, daemon: &Vec<String>| {
            own.clone()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| daemon.clone())
        };
        let resolv = render_resolv(
            &host_resolv(),
            &pick(&hc.dns, &cfg.dns),
            &pick(&hc.dns_search, &cfg.dns_search),
            &pick(&hc.dns_options, &cfg.dns_opts),
        );
        let hosts = if ns == NsChoice::Host {
            std::fs::read_to_string("/etc/hosts").unwrap_or_else(|_| DEFAULT_HOSTS.to_string())
        } else {
            render_hosts(hc.extra_hosts.as_deref().unwrap_or_default(), None, None)
        };
        Wired { ns, hosts, resolv }
    }

    /// Before the shim starts: the namespace, addresses, ports, veths, DNS, /etc files.
    pub(crate) async fn net_up(&self, c: &Container) -> Result<Wired, ContainerError> {
        let mode = c.host_config.network_mode.clone().unwrap_or_default();
        if mode == "host" {
            let mut w = self.unwired(c, NsChoice::Host);
            w.resolv = host_resolv();
            return Ok(w);
        }
        if mode == "none" {
            return Ok(self.unwired(c, NsChoice::New));
        }
        if let Some(other) = mode.strip_prefix("container:") {
            return self.join_container(other);
        }
        let bundle = self.bundle(&c.id);
        let mut st = match ContainerNet::load(&bundle) {
            Some(st) => st,
            None => self.network.plan(&c.host_config, None)?,
        };
        if st.endpoints.is_empty() {
            return Ok(self.unwired(c, NsChoice::New));
        }
        // Leftovers of a start that never finished its exit handling (daemon crash).
        if st.is_wired() {
            self.network.unwire(&c.id, &mut st).await;
        }
        self.network.wire(c, &mut st).await?;
        if let Err(e) = st.save_fast(&bundle) {
            self.network.unwire(&c.id, &mut st).await;
            return Err(e.into());
        }
        let hc = &c.host_config;
        let first = &st.endpoints[0];
        let gw = self.network.default_bridge().and_then(|n| n.rec.gateway);
        let hostname = c.config.hostname.clone().unwrap_or_default();
        let domain = c.config.domainname.clone().unwrap_or_default();
        let hosts = render_hosts(
            hc.extra_hosts.as_deref().unwrap_or_default(),
            gw,
            first.ip.map(|ip| (ip, hostname.as_str(), domain.as_str())),
        );
        let on_user_net = st.endpoints.iter().any(|e| {
            self.network
                .find(&e.network_id)
                .is_ok_and(|n| !n.rec.is_default_bridge())
        });
        let ns = match &st.netns {
            Some(p) => NsChoice::Path(p.clone()),
            None => NsChoice::New,
        };
        let mut w = self.unwired(c, ns);
        w.hosts = hosts;
        if on_user_net {
            let cfg = &self.network.cfg;
            let search = hc.dns_search.clone().filter(|v| !v.is_empty());
            let opts = hc.dns_options.clone().filter(|v| !v.is_empty());
            w.resolv = dns::container_resolv_conf(
                search.as_ref().unwrap_or(&cfg.dns_search),
                opts.as_ref().unwrap_or(&cfg.dns_opts),
            );
        }
        Ok(w)
    }

    /// `--network container:<name|id>`: that running container's namespace and /etc files.
    fn join_container(&self, other: &str) -> Result<Wired, ContainerError> {
        let o = self.get(other)?;
        let oc = o.rec();
        if !oc.running() || oc.state.pid <= 0 {
            return Err(ContainerError::Conflict(format!(
                "cannot join network namespace of a non running container: {}",
                oc.id
            )));
        }
        let obundle = self.bundle(&oc.id);
        let read = |f: &str| std::fs::read_to_string(obundle.join(f)).unwrap_or_default();
        let ns = if oc.host_config.network_mode.as_deref() == Some("host") {
            NsChoice::Host
        } else {
            match ContainerNet::load(&obundle).and_then(|s| s.netns) {
                Some(p) => NsChoice::Path(p),
                // Its namespace is the one the shim made: reach it through its init.
                None => NsChoice::Path(PathBuf::from(format!("/proc/{}/ns/net", oc.state.pid))),
            }
        };
        Ok(Wired {
            ns,
            hosts: read("hosts"),
            resolv: read("resolv.conf"),
        })
    }

    /// After the exit, on rm and after a failed start: unwire (idempotent).
    pub(crate) async fn net_down(&self, id: &str) {
        let bundle = self.bundle(id);
        let Some(mut st) = ContainerNet::load(&bundle) else {
            return;
        };
        if !st.is_wired() {
            // Nothing persisted; only live state (in-process, no kernel) may remain.
            self.network.live.take(id);
            return;
        }
        self.network.unwire(id, &mut st).await;
        if let Err(e) = st.save_fast(&bundle) {
            tracing::warn!("recording the network teardown of {id}: {e}");
        }
    }

    /// At create: the planned endpoints (validated), written with the record.
    pub(crate) fn net_plan(
        &self,
        hc: &bollard_stubs::models::HostConfig,
        nc: Option<&bollard_stubs::models::NetworkingConfig>,
    ) -> Result<ContainerNet, ContainerError> {
        let mode = hc.network_mode.as_deref().unwrap_or("");
        if let Some(other) = mode.strip_prefix("container:") {
            self.get(other)?;
        }
        Ok(self.network.plan(hc, nc)?)
    }
}

/// `NetworkSettings` and the summary's `Ports` of a container, from its bundle's state.
pub fn view(c: &Container, bundle: &Path) -> (NetworkSettings, Vec<PortSummary>) {
    let st = ContainerNet::load(bundle).unwrap_or_default();
    let running = c.running();
    let mut networks: HashMap<String, EndpointSettings> = HashMap::new();
    let mode = c.host_config.network_mode.clone().unwrap_or_default();
    if special_mode(&mode) || st.endpoints.is_empty() {
        let name = if mode.is_empty() || mode == "default" {
            "bridge".to_string()
        } else {
            mode
        };
        if !name.starts_with("container:") {
            networks.insert(name, EndpointSettings::default());
        }
    }
    for ep in &st.endpoints {
        let link = ep.link.as_ref().filter(|_| running);
        let ip = ep.ip.filter(|_| running);
        let mut names = vec![
            c.name.trim_start_matches('/').to_string(),
            c.short_id().to_string(),
        ];
        names.extend(ep.aliases.iter().cloned());
        networks.insert(
            ep.network_name.clone(),
            EndpointSettings {
                ipam_config: ep.ipv4_wanted.map(|ip| EndpointIpamConfig {
                    ipv4_address: Some(ip.to_string()),
                    ..Default::default()
                }),
                links: None,
                aliases: (!ep.aliases.is_empty()).then(|| ep.aliases.clone()),
                mac_address: Some(link.map(|l| format_mac(&l.mac)).unwrap_or_default()),
                driver_opts: None,
                gw_priority: Some(0),
                network_id: Some(ep.network_id.clone()),
                endpoint_id: Some(if running {
                    ep.endpoint_id.clone()
                } else {
                    String::new()
                }),
                gateway: Some(
                    link.and_then(|l| l.gateway)
                        .map(|g| g.to_string())
                        .unwrap_or_default(),
                ),
                ip_address: Some(ip.map(|i| i.to_string()).unwrap_or_default()),
                ip_prefix_len: Some(link.map(|l| i64::from(l.prefix)).unwrap_or(0)),
                ipv6_gateway: Some(String::new()),
                global_ipv6_address: Some(String::new()),
                global_ipv6_prefix_len: Some(0),
                dns_names: (!ep.network_name.eq("bridge")).then_some(names),
            },
        );
    }
    let ports = super::ports::port_map(c, &st.ports, running);
    let summary = super::ports::summary(c, &st.ports, running);
    let key = st
        .netns
        .as_ref()
        .filter(|_| running)
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let settings = NetworkSettings {
        sandbox_id: Some(if key.is_empty() {
            String::new()
        } else {
            c.id.clone()
        }),
        sandbox_key: Some(key),
        ports: Some(ports),
        networks: Some(networks),
    };
    (settings, summary)
}

/// Docker's legacy top-level `NetworkSettings` fields (API < 1.48 still sends them), filled
/// from the default bridge's endpoint as dockerd does, empty otherwise. `v` is the inspect
/// document.
pub fn add_legacy_fields(v: &mut serde_json::Value) {
    let Some(ns) = v.get_mut("NetworkSettings").and_then(|n| n.as_object_mut()) else {
        return;
    };
    let ep = ns
        .get("Networks")
        .and_then(|n| n.get("bridge"))
        .cloned()
        .unwrap_or_default();
    let s = |k: &str| ep.get(k).cloned().unwrap_or(serde_json::json!(""));
    let n = |k: &str| ep.get(k).cloned().unwrap_or(serde_json::json!(0));
    let fields = [
        ("Bridge", serde_json::json!("")),
        ("HairpinMode", serde_json::json!(false)),
        ("LinkLocalIPv6Address", serde_json::json!("")),
        ("LinkLocalIPv6PrefixLen", serde_json::json!(0)),
        ("SecondaryIPAddresses", serde_json::Value::Null),
        ("SecondaryIPv6Addresses", serde_json::Value::Null),
        ("EndpointID", s("EndpointID")),
        ("Gateway", s("Gateway")),
        ("GlobalIPv6Address", s("GlobalIPv6Address")),
        ("GlobalIPv6PrefixLen", n("GlobalIPv6PrefixLen")),
        ("IPAddress", s("IPAddress")),
        ("IPPrefixLen", n("IPPrefixLen")),
        ("IPv6Gateway", s("IPv6Gateway")),
        ("MacAddress", s("MacAddress")),
    ];
    for (k, val) in fields {
        ns.insert(k.to_string(), val);
    }
}
