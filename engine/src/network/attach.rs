//! A container's endpoints: planned at create (`<bundle>/network.json`), wired at start
//! (IPs, published ports, netns, veths, nftables elements, DNS names), unwired at exit.
//! Every undo step is idempotent: a failed start and a repeated teardown are both safe.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use bollard_stubs::models::{EndpointSettings, HostConfig, NetworkingConfig};
use rdocker_network::dns::{self, DnsServer, DnsTask};
use rdocker_network::endpoint::{self, Endpoint, EndpointConfig};
use rdocker_network::netns::Netns;
use rdocker_network::ports::{PortMapping, PortReservation};
use serde::{Deserialize, Serialize};

use super::manager::NetworkManager;
use super::NetError;
use crate::containers::record::Container;
use crate::fsutil::{random_hex, replace_file, write_atomic};

/// The per-container file in the bundle.
pub const STATE_FILE: &str = "network.json";

/// One network a container is on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointRec {
    pub network_id: String,
    pub network_name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `--ip`: the address asked for.
    pub ipv4_wanted: Option<Ipv4Addr>,
    /// While wired: the endpoint's id, address and veth.
    #[serde(default)]
    pub endpoint_id: String,
    pub ip: Option<Ipv4Addr>,
    pub link: Option<Endpoint>,
}

/// `<bundle>/network.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerNet {
    /// In attach order: the first is `eth0` with the default route.
    pub endpoints: Vec<EndpointRec>,
    /// While wired.
    pub netns: Option<PathBuf>,
    #[serde(default)]
    pub ports: Vec<PortMapping>,
}

impl ContainerNet {
    pub fn load(bundle: &Path) -> Option<ContainerNet> {
        let b = std::fs::read(bundle.join(STATE_FILE)).ok()?;
        serde_json::from_slice(&b).ok()
    }

    /// Anything of a start still recorded (addresses, veths, namespace, ports)?
    pub fn is_wired(&self) -> bool {
        self.netns.is_some()
            || !self.ports.is_empty()
            || self
                .endpoints
                .iter()
                .any(|e| e.ip.is_some() || e.link.is_some())
    }

    /// Durable (fsync): the plan written at create, connect and disconnect.
    pub fn save(&self, bundle: &Path) -> Result<(), NetError> {
        let b = serde_json::to_vec(self).map_err(|e| NetError::Internal(e.to_string()))?;
        write_atomic(&bundle.join(STATE_FILE), &b).map_err(NetError::io("save network.json"))
    }

    /// Without fsync, on the start and exit paths: what it records (veths, netns, ports)
    /// lives in the kernel and /run, which a host crash clears anyway, while a daemon crash
    /// keeps the page cache; the sweep handles whatever is older.
    pub fn save_fast(&self, bundle: &Path) -> Result<(), NetError> {
        let b = serde_json::to_vec(self).map_err(|e| NetError::Internal(e.to_string()))?;
        replace_file(&bundle.join(STATE_FILE), &b).map_err(NetError::io("save network.json"))
    }
}

/// What a running container holds in the daemon's memory (not persisted: rebuilt by restore).
#[derive(Default)]
pub struct Live {
    pub ports: Option<PortReservation>,
    pub dns: Option<DnsTask>,
    /// Kept to change the tables on connect/disconnect.
    pub server: Option<DnsServer>,
}

#[derive(Default)]
pub struct LiveTable(Mutex<HashMap<String, Live>>);

impl LiveTable {
    pub fn put(&self, id: &str, l: Live) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_string(), l);
    }
    /// Runs `f` on a container's live state (made empty when missing).
    pub fn with<T>(&self, id: &str, f: impl FnOnce(&mut Live) -> T) -> T {
        let mut m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(m.entry(id.to_string()).or_default())
    }

    pub fn take(&self, id: &str) -> Option<Live> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
    }
}

/// Deletes host veth `name` if it still carries `id`'s alias (the name may have been reused).
async fn delete_if_owned(rtnl: &rdocker_network::rtnl::Rtnl, name: &str, id: &str) {
    let owned = match rtnl.link_by_name(name).await {
        Ok(Some(l)) => rdocker_network::rtnl::link_alias(&l)
            .and_then(|a| a.strip_prefix(endpoint::ALIAS_PREFIX))
            .is_some_and(|o| o == id),
        _ => false,
    };
    if owned {
        if let Err(e) = endpoint::detach(rtnl, name).await {
            tracing::warn!("removing veth {name} of {id}: {e}");
        }
    }
}

/// `--network` modes that are not a list of networks.
pub fn special_mode(mode: &str) -> bool {
    matches!(mode, "host" | "none") || mode.starts_with("container:")
}

fn ipv4_of(es: &EndpointSettings) -> Result<Option<Ipv4Addr>, NetError> {
    match es
        .ipam_config
        .as_ref()
        .and_then(|c| c.ipv4_address.as_deref())
        .filter(|s| !s.is_empty())
    {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| NetError::Invalid(format!("invalid IPv4 address: {s}"))),
    }
}

impl NetworkManager {
    /// The endpoints of a new container from `HostConfig.NetworkMode` and
    /// `NetworkingConfig.EndpointsConfig` (docker's checks: `--ip` and aliases only on user
    /// networks; an unknown network is a 404).
    pub fn plan(
        &self,
        hc: &HostConfig,
        nc: Option<&NetworkingConfig>,
    ) -> Result<ContainerNet, NetError> {
        let mode = hc.network_mode.as_deref().unwrap_or("");
        let mut configs = nc
            .and_then(|n| n.endpoints_config.clone())
            .unwrap_or_default();
        if let Some(h) = hc
            .extra_hosts
            .iter()
            .flatten()
            .find(|h| !super::hosts::valid_extra_host(h))
        {
            return Err(NetError::Invalid(format!(
                "invalid IP address in add-host: {h:?}"
            )));
        }
        if special_mode(mode) {
            if mode.starts_with("container:")
                && hc.port_bindings.as_ref().is_some_and(|p| !p.is_empty())
            {
                return Err(NetError::Invalid(
                    "conflicting options: port publishing and the container type network mode"
                        .into(),
                ));
            }
            return Ok(ContainerNet::default());
        }
        let first = match mode {
            "" | "default" | "bridge" => match self.default_bridge() {
                Some(n) => Some(n),
                None if self.cfg.bridge.is_none() => None,
                None => return Err(NetError::NotFound("bridge".into())),
            },
            name => Some(self.find(name)?),
        };
        let mut out = ContainerNet::default();
        let mut order = Vec::new();
        if let Some(n) = first {
            let es = configs
                .remove(&n.rec.name)
                .or_else(|| configs.remove(&n.rec.id))
                .or_else(|| (mode != n.rec.name).then(|| configs.remove(mode)).flatten())
                .unwrap_or_default();
            order.push((n, es));
        }
        let mut rest: Vec<(String, EndpointSettings)> = configs.into_iter().collect();
        rest.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, es) in rest {
            let n = self.find(&name)?;
            if !order.iter().any(|(o, _)| o.rec.id == n.rec.id) {
                order.push((n, es));
            }
        }
        for (n, es) in order {
            out.endpoints.push(self.endpoint_rec(&n, &es)?);
        }
        Ok(out)
    }

    /// One endpoint's plan on `n` (create and connect).
    pub fn endpoint_rec(
        &self,
        n: &super::manager::Net,
        es: &EndpointSettings,
    ) -> Result<EndpointRec, NetError> {
        let ip = ipv4_of(es)?;
        let aliases: Vec<String> = es.aliases.clone().unwrap_or_default();
        if n.rec.is_default_bridge() {
            if ip.is_some() {
                return Err(NetError::Invalid(
                    "user specified IP address is supported on user defined networks only".into(),
                ));
            }
            if !aliases.is_empty() {
                return Err(NetError::Invalid(
                    "network-scoped alias is supported only for containers in user defined networks"
                        .into(),
                ));
            }
        }
        if let (Some(ip), Some(sn)) = (ip, n.rec.subnet) {
            if !sn.contains(&ip) {
                return Err(NetError::Invalid(format!(
                    "no configured subnet or ip-range contain the IP address {ip}"
                )));
            }
        }
        Ok(EndpointRec {
            network_id: n.rec.id.clone(),
            network_name: n.rec.name.clone(),
            aliases,
            ipv4_wanted: ip,
            ..Default::default()
        })
    }

    pub fn netns_path(&self, id: &str) -> PathBuf {
        self.netns_dir.join(&id[..12.min(id.len())])
    }

    /// DNS names of a container on a user network: name, short id, aliases (docker's).
    fn dns_names(c: &Container, ep: &EndpointRec) -> Vec<String> {
        let mut v = vec![
            c.name.trim_start_matches('/').to_string(),
            c.short_id().to_string(),
        ];
        v.extend(ep.aliases.iter().cloned());
        v
    }

    /// The embedded DNS's upstreams: `--dns-upstream`, else the container's or daemon's
    /// `--dns`, else the host's resolv.conf.
    pub fn upstreams(&self, c: &Container) -> Vec<std::net::SocketAddr> {
        if !self.cfg.dns_upstreams.is_empty() {
            return self.cfg.dns_upstreams.clone();
        }
        let own: Vec<String> = c.host_config.dns.clone().unwrap_or_default();
        let list = if own.is_empty() { &self.cfg.dns } else { &own };
        if !list.is_empty() {
            return list
                .iter()
                .filter_map(|d| d.parse().ok())
                .map(|ip| std::net::SocketAddr::new(ip, 53))
                .collect();
        }
        dns::upstreams_from_resolv_conf(
            &std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
        )
    }

    /// Wires `st`'s endpoints for container `c` (bridge-type modes). On error everything done
    /// so far is undone before returning.
    pub async fn wire(&self, c: &Container, st: &mut ContainerNet) -> Result<(), NetError> {
        let r = self.wire_steps(c, st).await;
        if r.is_err() {
            self.unwire(&c.id, st).await;
        }
        r
    }

    async fn wire_steps(&self, c: &Container, st: &mut ContainerNet) -> Result<(), NetError> {
        // 1. addresses
        for ep in st.endpoints.iter_mut() {
            let n = self.find(&ep.network_id)?;
            ep.ip = Some(n.with_ipam(|i| i.allocate(&c.id, ep.ipv4_wanted))?);
            ep.endpoint_id = random_hex(32);
        }
        let Some(first_ip) = st.endpoints.first().and_then(|e| e.ip) else {
            return Ok(());
        };
        // 2. host ports, before anything is wired: "port is already allocated" leaves nothing.
        let specs = super::ports::specs(c)?;
        let res = rdocker_network::ports::reserve(&specs, first_ip)?;
        st.ports = res.mappings.clone();
        let mut live = Live {
            ports: Some(res),
            ..Default::default()
        };
        let Some(k) = self.kernel() else {
            // In-process tests: addresses and ports only, no kernel objects.
            self.live.put(&c.id, live);
            return Ok(());
        };
        // 3. netns, 4. veths
        let path = self.netns_path(&c.id);
        st.netns = Some(path.clone());
        let ns = Netns::create(&path)?;
        let mut tables = Vec::new();
        for (i, ep) in st.endpoints.iter_mut().enumerate() {
            let n = self.find(&ep.network_id)?;
            let ip = ep.ip.unwrap_or(first_ip);
            let link = endpoint::attach(
                &k.rtnl,
                &ns,
                &n.rec.bridge,
                &EndpointConfig {
                    container_id: c.id.clone(),
                    ifname: format!("eth{i}"),
                    ip,
                    prefix: n.prefix(),
                    gateway: if n.rec.internal { None } else { n.rec.gateway },
                    mac: None,
                },
            )
            .await?;
            ep.link = Some(link);
            if !n.rec.is_default_bridge() {
                for name in Self::dns_names(c, ep) {
                    n.dns.add(&name, ip);
                }
                tables.push(n.dns.clone());
            }
        }
        // 5. nftables port elements
        if let Some(fw) = &k.fw {
            if !st.ports.is_empty() {
                fw.add_ports(&st.ports).await?;
            }
        }
        // 6. the embedded DNS (user networks)
        if !tables.is_empty() {
            let server = DnsServer::new(tables, self.upstreams(c));
            live.dns = Some(server.serve(dns::bind_in_netns(&ns)?)?);
            live.server = Some(server);
        }
        self.live.put(&c.id, live);
        Ok(())
    }

    /// Undo of [`wire`](Self::wire), from whatever `st` records. Errors are logged: the
    /// caller cannot do better, and a later call retries.
    pub async fn unwire(&self, id: &str, st: &mut ContainerNet) {
        let t0 = std::time::Instant::now();
        let live = self.live.take(id);
        for ep in &st.endpoints {
            if let (Some(ip), Ok(n)) = (ep.ip, self.find(&ep.network_id)) {
                n.dns.remove_ip(ip);
            }
        }
        if let Some(k) = self.kernel() {
            if let Some(fw) = &k.fw {
                if !st.ports.is_empty() {
                    if let Err(e) = fw.remove_ports(&st.ports).await {
                        tracing::warn!("removing the ports of {id}: {e}");
                    }
                }
            }
            let veths: Vec<String> = st
                .endpoints
                .iter_mut()
                .filter_map(|ep| ep.link.take().map(|l| l.host_veth))
                .collect();
            if st.netns.is_some() {
                // Deleting a veth waits for an RCU grace period (10–40 ms here); the kernel
                // deletes the pair by itself, batched, when the namespace goes (below, once
                // the container's processes are gone). A late check catches a namespace that
                // something still held.
                let (rtnl, owner) = (k.rtnl.clone(), id.to_string());
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    for v in veths {
                        delete_if_owned(&rtnl, &v, &owner).await;
                    }
                });
            } else {
                for v in veths {
                    delete_if_owned(&k.rtnl, &v, id).await;
                }
            }
        }
        let t_links = t0.elapsed();
        // The DNS tasks and port sockets go after the rules that point at them.
        drop(live);
        if let Some(p) = st.netns.take() {
            if let Err(e) = Netns::remove(&p) {
                tracing::warn!("removing netns {}: {e}", p.display());
            }
        }
        for ep in st.endpoints.iter_mut() {
            if let Some(ip) = ep.ip.take() {
                if let Ok(n) = self.find(&ep.network_id) {
                    if let Err(e) = n.with_ipam(|i| i.release(ip)) {
                        tracing::warn!("releasing {ip} of {id}: {e}");
                    }
                }
            }
            ep.endpoint_id.clear();
        }
        st.ports.clear();
        tracing::debug!(
            "network teardown of {}: rules={:.2}ms total={:.2}ms",
            &id[..12.min(id.len())],
            t_links.as_secs_f64() * 1e3,
            t0.elapsed().as_secs_f64() * 1e3
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bollard_stubs::models::{
        EndpointIpamConfig, EndpointSettings, HostConfig, NetworkingConfig,
    };

    use super::*;
    use crate::network::manager::CreateSpec;
    use crate::network::options::NetConfig;

    fn hc(mode: &str) -> HostConfig {
        HostConfig {
            network_mode: Some(mode.into()),
            ..Default::default()
        }
    }

    fn nc(net: &str, ip: Option<&str>, aliases: &[&str]) -> NetworkingConfig {
        NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                net.to_string(),
                EndpointSettings {
                    ipam_config: ip.map(|i| EndpointIpamConfig {
                        ipv4_address: Some(i.into()),
                        ..Default::default()
                    }),
                    aliases: Some(aliases.iter().map(|a| a.to_string()).collect()),
                    ..Default::default()
                },
            )])),
        }
    }

    #[tokio::test]
    async fn plans_as_docker_checks_them() {
        let dir = tempfile::tempdir().unwrap();
        let m = NetworkManager::new(
            NetConfig::default(),
            dir.path(),
            &dir.path().join("run"),
            Arc::new(crate::events::Events::new()),
        );
        let user = m
            .create(CreateSpec {
                name: "u1".into(),
                subnet: Some("10.77.0.0/24".parse().unwrap()),
                ..Default::default()
            })
            .await
            .unwrap();
        let p = m.plan(&hc("bridge"), None).unwrap();
        assert_eq!(p.endpoints.len(), 1);
        assert_eq!(p.endpoints[0].network_name, "bridge");
        for mode in ["host", "none"] {
            assert!(m.plan(&hc(mode), None).unwrap().endpoints.is_empty());
        }
        let err = m
            .plan(&hc("bridge"), Some(&nc("bridge", Some("172.17.0.9"), &[])))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "user specified IP address is supported on user defined networks only"
        );
        assert!(m
            .plan(&hc("bridge"), Some(&nc("bridge", None, &["a"])))
            .is_err());
        let p = m
            .plan(&hc("u1"), Some(&nc("u1", Some("10.77.0.9"), &["db"])))
            .unwrap();
        assert_eq!(p.endpoints[0].network_id, user.rec.id);
        assert_eq!(
            p.endpoints[0].ipv4_wanted,
            Some(Ipv4Addr::new(10, 77, 0, 9))
        );
        assert_eq!(p.endpoints[0].aliases, ["db"]);
        let err = m
            .plan(&hc("u1"), Some(&nc("u1", Some("10.78.0.9"), &[])))
            .unwrap_err();
        assert!(matches!(err, NetError::Invalid(_)), "{err}");
        // A second network at create (API ≥ 1.44): attached after the first.
        let p = m.plan(&hc("bridge"), Some(&nc("u1", None, &[]))).unwrap();
        let names: Vec<&str> = p
            .endpoints
            .iter()
            .map(|e| e.network_name.as_str())
            .collect();
        assert_eq!(names, ["bridge", "u1"]);
        assert!(matches!(
            m.plan(&hc("nosuch"), None),
            Err(NetError::NotFound(n)) if n == "nosuch"
        ));
        let mut bad = hc("bridge");
        bad.extra_hosts = Some(vec!["x:notanip".into()]);
        assert!(matches!(m.plan(&bad, None), Err(NetError::Invalid(_))));
        let mut ports = hc("container:abc");
        ports.port_bindings = Some(HashMap::from([("80/tcp".to_string(), None)]));
        assert!(matches!(m.plan(&ports, None), Err(NetError::Invalid(_))));
    }
}
