//! The networks of the daemon: predefined `bridge`/`host`/`none`, user bridge networks, their
//! IPAM and DNS tables; create, remove, look-up. Per-container wiring is in `attach.rs`.

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use ipnet::Ipv4Net;
use rdocker_network::dns::DnsTable;
use rdocker_network::firewall::{Firewall, NetworkRules};
use rdocker_network::ipam::{Ipam, IpamConfig};
use rdocker_network::rtnl::Rtnl;
use rdocker_network::{bridge, subnet};

use super::options::NetConfig;
use super::store::{NetworkRecord, Store};
use super::NetError;
use crate::events::Events;
use crate::fsutil::{now_rfc3339, random_hex};

/// Host-wide lock serialising subnet choice and bridge creation across daemons.
const HOST_LOCK: &str = "/run/rdocker-network.lock";

/// One network in memory.
pub struct Net {
    pub rec: NetworkRecord,
    /// Bridge networks only.
    pub ipam: Option<Mutex<Ipam>>,
    /// Names on this network for the embedded DNS (user networks).
    pub dns: DnsTable,
}

impl Net {
    /// Runs `f` on the IPAM (bridge networks); a poisoned lock is recovered (each IPAM call
    /// persists before it returns, so the state stays consistent).
    pub fn with_ipam<T>(
        &self,
        f: impl FnOnce(&mut Ipam) -> Result<T, rdocker_network::Error>,
    ) -> Result<T, NetError> {
        let Some(m) = &self.ipam else {
            return Err(NetError::Internal(format!(
                "network {} has no address management",
                self.rec.name
            )));
        };
        Ok(f(&mut m.lock().unwrap_or_else(PoisonError::into_inner))?)
    }

    pub fn prefix(&self) -> u8 {
        self.rec.subnet.map(|s| s.prefix_len()).unwrap_or(0)
    }

    pub fn rules(&self) -> Option<NetworkRules> {
        Some(NetworkRules {
            bridge: self.rec.bridge.clone(),
            subnet: self.rec.subnet?,
            internal: self.rec.internal,
        })
    }
}

/// The kernel side, present once the daemon initialised networking.
pub struct Kernel {
    pub rtnl: Rtnl,
    /// `None` with `--iptables=false`.
    pub fw: Option<Firewall>,
}

/// What a user asks for in `POST /networks/create`.
#[derive(Debug, Default, Clone)]
pub struct CreateSpec {
    pub name: String,
    pub driver: String,
    pub internal: bool,
    pub attachable: bool,
    pub labels: HashMap<String, String>,
    pub options: HashMap<String, String>,
    pub subnet: Option<Ipv4Net>,
    pub gateway: Option<std::net::Ipv4Addr>,
    pub ip_range: Option<Ipv4Net>,
}

pub struct NetworkManager {
    pub cfg: NetConfig,
    pub(crate) store: Store,
    /// `<exec-root>/netns`: one file per container with a namespace of its own.
    pub netns_dir: PathBuf,
    nets: RwLock<Vec<Arc<Net>>>,
    kernel: OnceLock<Kernel>,
    pub(crate) events: Arc<Events>,
    /// Network create/remove one at a time (name checks, subnet choice).
    pub(crate) op: tokio::sync::Mutex<()>,
    pub(crate) live: super::attach::LiveTable,
}

/// An exclusive `flock` on the host-wide lock file, held while alive.
pub struct HostLock {
    _file: std::fs::File,
}

impl HostLock {
    pub async fn take() -> Result<HostLock, NetError> {
        tokio::task::spawn_blocking(|| {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(HOST_LOCK)?;
            // SAFETY: flock on a descriptor we own for the lifetime of the returned guard.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(HostLock { _file: f })
        })
        .await
        .map_err(|e| NetError::Internal(e.to_string()))?
        .map_err(NetError::io("lock /run/rdocker-network.lock"))
    }
}

fn predefined(name: &str, driver: &str) -> NetworkRecord {
    NetworkRecord {
        id: random_hex(32),
        name: name.into(),
        created: now_rfc3339(),
        driver: driver.into(),
        internal: false,
        attachable: false,
        labels: HashMap::new(),
        options: HashMap::new(),
        bridge: String::new(),
        subnet: None,
        gateway: None,
        ip_range: None,
        predefined: true,
    }
}

impl NetworkManager {
    /// Loads the records; makes the predefined networks that are missing. No kernel access.
    pub fn new(cfg: NetConfig, data_root: &Path, exec_root: &Path, events: Arc<Events>) -> Self {
        let store = Store::new(data_root);
        let m = NetworkManager {
            cfg,
            netns_dir: exec_root.join("netns"),
            nets: RwLock::new(Vec::new()),
            kernel: OnceLock::new(),
            events,
            op: tokio::sync::Mutex::new(()),
            live: Default::default(),
            store,
        };
        let mut recs = m.store.load_all();
        for (name, driver) in [("host", "host"), ("none", "null")] {
            if !recs.iter().any(|r| r.predefined && r.name == name) {
                let r = predefined(name, driver);
                if let Err(e) = m.store.save(&r) {
                    tracing::warn!("saving network {name}: {e}");
                }
                recs.push(r);
            }
        }
        for r in recs {
            if r.is_default_bridge() && m.cfg.bridge.is_none() {
                // `--bridge none`: no default bridge network.
                let _ = m.store.remove(&r.id);
                let _ = Ipam::destroy(&m.store.ipam_path(&r.id));
                continue;
            }
            let ipam = if r.is_bridge() {
                match Ipam::load(&m.store.ipam_path(&r.id)) {
                    Ok(i) => Some(Mutex::new(i)),
                    Err(e) => {
                        tracing::warn!("network {}: {e}", r.name);
                        continue;
                    }
                }
            } else {
                None
            };
            m.insert(Net {
                rec: r,
                ipam,
                dns: DnsTable::new(),
            });
        }
        if m.cfg.bridge.is_some() && m.default_bridge().is_none() {
            if let Err(e) = m.make_default_bridge(&[]) {
                tracing::warn!("default bridge network: {e}");
            }
        }
        m
    }

    fn insert(&self, n: Net) -> Arc<Net> {
        let n = Arc::new(n);
        let mut w = self.nets.write().unwrap_or_else(PoisonError::into_inner);
        w.retain(|x| x.rec.id != n.rec.id);
        w.push(n.clone());
        n
    }

    fn drop_net(&self, id: &str) {
        let mut w = self.nets.write().unwrap_or_else(PoisonError::into_inner);
        w.retain(|x| x.rec.id != id);
    }

    pub fn all(&self) -> Vec<Arc<Net>> {
        self.nets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn kernel(&self) -> Option<&Kernel> {
        self.kernel.get()
    }

    pub fn set_kernel(&self, k: Kernel) {
        let _ = self.kernel.set(k);
    }

    pub fn default_bridge(&self) -> Option<Arc<Net>> {
        self.all().into_iter().find(|n| n.rec.is_default_bridge())
    }

    /// Docker's look-up: full id, exact name, then a unique id prefix.
    pub fn find(&self, key: &str) -> Result<Arc<Net>, NetError> {
        let all = self.all();
        if key.is_empty() {
            return Err(NetError::NotFound(key.into()));
        }
        if let Some(n) = all.iter().find(|n| n.rec.id == key) {
            return Ok(n.clone());
        }
        if let Some(n) = all.iter().find(|n| n.rec.name == key) {
            return Ok(n.clone());
        }
        let mut it = all.iter().filter(|n| n.rec.id.starts_with(key));
        match (it.next(), it.next()) {
            (Some(n), None) => Ok(n.clone()),
            (Some(_), Some(_)) => Err(NetError::Invalid(format!(
                "network {key} is ambiguous ({} matches found based on ID prefix)",
                all.iter().filter(|n| n.rec.id.starts_with(key)).count()
            ))),
            _ => Err(NetError::NotFound(key.into())),
        }
    }

    fn our_subnets(&self, except: Option<&str>) -> Vec<Ipv4Net> {
        self.all()
            .iter()
            .filter(|n| Some(n.rec.id.as_str()) != except)
            .filter_map(|n| n.rec.subnet)
            .collect()
    }

    /// The default bridge's record and IPAM: `--bip`, else the first free pool subnet.
    pub(crate) fn make_default_bridge(&self, host_nets: &[Ipv4Net]) -> Result<Arc<Net>, NetError> {
        let Some(dev) = self.cfg.bridge.clone() else {
            return Err(NetError::Internal("no default bridge".into()));
        };
        let (gateway, subnet) = match &self.cfg.bip {
            Some(b) => {
                let (g, s) = subnet::parse_bip(b)?;
                (Some(g), s)
            }
            None => {
                let mut used = self.our_subnets(None);
                used.extend_from_slice(host_nets);
                (None, subnet::pick_subnet(&self.cfg.pools, &used)?)
            }
        };
        let mut rec = predefined("bridge", "bridge");
        rec.bridge = dev.clone();
        rec.options = HashMap::from([
            (
                "com.docker.network.bridge.default_bridge".into(),
                "true".into(),
            ),
            ("com.docker.network.bridge.name".into(), dev),
            (
                "com.docker.network.bridge.enable_ip_masquerade".into(),
                "true".into(),
            ),
        ]);
        let path = self.store.ipam_path(&rec.id);
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/")))
            .map_err(NetError::io("mkdir ipam"))?;
        let ipam = Ipam::create(
            &path,
            &IpamConfig {
                subnet,
                gateway,
                ip_range: None,
            },
        )?;
        rec.subnet = Some(ipam.subnet());
        rec.gateway = Some(ipam.gateway());
        if let Err(e) = self.store.save(&rec) {
            let _ = Ipam::destroy(&path);
            return Err(NetError::io("save network")(e));
        }
        Ok(self.insert(Net {
            rec,
            ipam: Some(Mutex::new(ipam)),
            dns: DnsTable::new(),
        }))
    }

    /// Replaces the default bridge network (its subnet collides with the host, or `--bip`
    /// or `--bridge` changed). Only while it has no leases.
    pub(crate) fn remake_default_bridge(
        &self,
        old: &Net,
        host_nets: &[Ipv4Net],
    ) -> Result<Arc<Net>, NetError> {
        self.drop_net(&old.rec.id);
        let _ = self.store.remove(&old.rec.id);
        let _ = Ipam::destroy(&self.store.ipam_path(&old.rec.id));
        self.make_default_bridge(host_nets)
    }

    /// `POST /networks/create`.
    pub async fn create(&self, spec: CreateSpec) -> Result<Arc<Net>, NetError> {
        let _op = self.op.lock().await;
        if spec.name.is_empty() {
            return Err(NetError::Invalid("network name must not be empty".into()));
        }
        if self.all().iter().any(|n| n.rec.name == spec.name) {
            return Err(NetError::Conflict(format!(
                "network with name {} already exists",
                spec.name
            )));
        }
        match spec.driver.as_str() {
            "" | "bridge" => {}
            "host" | "null" => {
                return Err(NetError::Forbidden(format!(
                    "only one instance of \"{}\" network is allowed",
                    spec.driver
                )))
            }
            d => {
                return Err(NetError::Invalid(format!(
                    "could not find plugin {d} in v1 plugin registry: plugin not found"
                )))
            }
        }
        let id = random_hex(32);
        let dev = format!("br-{}", &id[..12]);
        // Subnet choice and bridge creation hold the host-wide lock: another daemon picking
        // at the same moment would see neither our bridge nor our choice.
        let lock = match self.kernel() {
            Some(_) => Some(HostLock::take().await?),
            None => None,
        };
        let ours = self.our_subnets(None);
        let subnet = match spec.subnet {
            Some(s) => {
                subnet::check_overlap(&s.trunc(), &ours)?;
                s
            }
            None => {
                let mut used = ours;
                if let Some(k) = self.kernel() {
                    used.extend(subnet::host_networks(&k.rtnl).await?);
                }
                subnet::pick_subnet(&self.cfg.pools, &used)?
            }
        };
        let path = self.store.ipam_path(&id);
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/")))
            .map_err(NetError::io("mkdir ipam"))?;
        let ipam = Ipam::create(
            &path,
            &IpamConfig {
                subnet,
                gateway: spec.gateway,
                ip_range: spec.ip_range,
            },
        )?;
        let rec = NetworkRecord {
            id: id.clone(),
            name: spec.name,
            created: now_rfc3339(),
            driver: "bridge".into(),
            internal: spec.internal,
            attachable: spec.attachable,
            labels: spec.labels,
            options: spec.options,
            bridge: dev,
            subnet: Some(ipam.subnet()),
            gateway: Some(ipam.gateway()),
            ip_range: ipam.ip_range(),
            predefined: false,
        };
        let net = Net {
            rec,
            ipam: Some(Mutex::new(ipam)),
            dns: DnsTable::new(),
        };
        let wired = async {
            self.wire_network(&net).await?;
            self.store
                .save(&net.rec)
                .map_err(NetError::io("save network"))
        };
        if let Err(e) = wired.await {
            self.unwire_network(&net).await;
            let _ = Ipam::destroy(&path);
            return Err(e);
        }
        drop(lock);
        let net = self.insert(net);
        self.publish(&net, "create", &[]);
        Ok(net)
    }

    /// Bridge device and nftables elements of a network (idempotent; nothing without kernel).
    pub(crate) async fn wire_network(&self, net: &Net) -> Result<(), NetError> {
        let Some(k) = self.kernel() else {
            return Ok(());
        };
        if !net.rec.is_bridge() {
            return Ok(());
        }
        let (Some(gw), Some(sn)) = (net.rec.gateway, net.rec.subnet) else {
            return Ok(());
        };
        bridge::ensure_bridge(&k.rtnl, &net.rec.bridge, gw, sn.prefix_len()).await?;
        let table = k.fw.as_ref().map(|f| f.table()).unwrap_or("");
        super::stale::mark(&k.rtnl, &net.rec.bridge, table).await?;
        if let (Some(fw), Some(rules)) = (&k.fw, net.rules()) {
            fw.add_network(&rules).await?;
        }
        Ok(())
    }

    /// Undo [`wire_network`](Self::wire_network); errors are logged (idempotent, best effort).
    pub(crate) async fn unwire_network(&self, net: &Net) {
        let Some(k) = self.kernel() else {
            return;
        };
        if !net.rec.is_bridge() {
            return;
        }
        if let (Some(fw), Some(rules)) = (&k.fw, net.rules()) {
            if let Err(e) = fw.remove_network(&rules).await {
                tracing::warn!("removing the rules of network {}: {e}", net.rec.name);
            }
        }
        if let Err(e) = bridge::delete_bridge(&k.rtnl, &net.rec.bridge).await {
            tracing::warn!("deleting bridge {}: {e}", net.rec.bridge);
        }
    }

    /// `DELETE /networks/{id}`. `in_use`: names of containers with an endpoint on it.
    pub async fn remove(&self, net: &Arc<Net>, in_use: &[String]) -> Result<(), NetError> {
        let _op = self.op.lock().await;
        if net.rec.predefined {
            return Err(NetError::Forbidden(format!(
                "{} is a pre-defined network and cannot be removed",
                net.rec.name
            )));
        }
        let leases = net.with_ipam(|i| Ok(i.leases().len())).unwrap_or(0);
        if !in_use.is_empty() || leases > 0 {
            return Err(NetError::Conflict(format!(
                "error while removing network: network {} id {} has active endpoints",
                net.rec.name, net.rec.id
            )));
        }
        self.unwire_network(net).await;
        self.store
            .remove(&net.rec.id)
            .map_err(NetError::io("remove network"))?;
        let _ = Ipam::destroy(&self.store.ipam_path(&net.rec.id));
        self.drop_net(&net.rec.id);
        self.publish(net, "destroy", &[]);
        Ok(())
    }

    pub fn publish(&self, net: &Net, action: &str, extra: &[(&str, String)]) {
        let mut a = HashMap::from([
            ("name".to_string(), net.rec.name.clone()),
            ("type".to_string(), net.rec.driver.clone()),
        ]);
        for (k, v) in extra {
            a.insert(k.to_string(), v.clone());
        }
        self.events.publish("network", action, &net.rec.id, a);
    }
}
