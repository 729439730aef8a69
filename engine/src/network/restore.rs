//! Daemon start (kernel side, bridges, crash sweep), live restore of running containers, and
//! the clean-shutdown cleanup.
//!
//! The sweep is ours rather than `rdocker_network::sweep::sweep`: that one considers every
//! `rdocker:`-aliased veth on the host, and several daemons share a host (tests run many at
//! once), so ours only touches veths enslaved to this daemon's own bridges.

use std::collections::HashSet;
use std::path::Path;

use rdocker_network::dns::{self, DnsServer};
use rdocker_network::endpoint::ALIAS_PREFIX;
use rdocker_network::firewall::Firewall;
use rdocker_network::netns::{list_dir, Netns};
use rdocker_network::ports::{reserve, PortSpec};
use rdocker_network::rtnl::{link_alias, link_controller, link_name, Rtnl};
use rdocker_network::{subnet, sysctl};

use super::attach::{ContainerNet, Live};
use super::manager::{HostLock, Kernel, NetworkManager};
use super::NetError;
use crate::containers::record::Container;

use rdocker_network::sweep::kept;

impl NetworkManager {
    /// Daemon start: netlink, our nftables table, every network's bridge, then removal of
    /// what containers not in `running` left behind (after a crash).
    pub async fn init(&self, running: &[String]) -> Result<(), NetError> {
        let rtnl = Rtnl::host()?;
        let fw = if self.cfg.iptables {
            let fw = Firewall::new(&self.cfg.nft_table)?;
            // Creates the table once (or after a schema change) and enables ip_forward.
            fw.ensure().await?;
            Some(fw)
        } else {
            if self.cfg.ip_forward {
                sysctl::enable_ip_forward()?;
            }
            None
        };
        self.set_kernel(Kernel { rtnl, fw });
        let lock = HostLock::take().await?;
        if let Some(k) = self.kernel() {
            if let Err(e) = super::stale::collect(&k.rtnl, &self.cfg.nft_table).await {
                tracing::warn!("removing what stopped daemons left: {e}");
            }
        }
        self.check_default_bridge().await?;
        for n in self.all() {
            if let Err(e) = self.wire_network(&n).await {
                tracing::warn!("network {}: {e}", n.rec.name);
            }
        }
        drop(lock);
        self.sweep(running).await
    }

    /// The default bridge's subnet was picked without looking at the host (records are made
    /// before the kernel is reachable): re-pick it while its device does not exist yet and it
    /// collides, or when `--bridge`/`--bip` changed, as long as no container holds an address.
    async fn check_default_bridge(&self) -> Result<(), NetError> {
        let (Some(b), Some(k), Some(dev)) = (
            self.default_bridge(),
            self.kernel(),
            self.cfg.bridge.clone(),
        ) else {
            return Ok(());
        };
        let leases = b.with_ipam(|i| Ok(i.leases().len())).unwrap_or(0);
        if leases > 0 {
            return Ok(());
        }
        let bip_changed = match &self.cfg.bip {
            Some(bip) => {
                let (g, s) = subnet::parse_bip(bip)?;
                b.rec.gateway != Some(g) || b.rec.subnet != Some(s)
            }
            None => false,
        };
        let dev_changed = b.rec.bridge != dev;
        let exists = k.rtnl.link_index(&dev).await?.is_some();
        let host = subnet::host_networks(&k.rtnl).await?;
        let collides = !exists
            && self.cfg.bip.is_none()
            && b.rec
                .subnet
                .is_some_and(|s| subnet::check_overlap(&s, &host).is_err());
        if bip_changed || dev_changed || collides {
            if dev_changed {
                self.unwire_network(&b).await;
            }
            self.remake_default_bridge(&b, &host)?;
        }
        Ok(())
    }

    async fn sweep(&self, running: &[String]) -> Result<(), NetError> {
        let Some(k) = self.kernel() else {
            return Ok(());
        };
        let mut ours = HashSet::new();
        for n in self.all().iter().filter(|n| n.rec.is_bridge()) {
            if let Some(i) = k.rtnl.link_index(&n.rec.bridge).await? {
                ours.insert(i);
            }
        }
        for link in k.rtnl.links().await? {
            let (Some(name), Some(alias)) = (link_name(&link), link_alias(&link)) else {
                continue;
            };
            let Some(owner) = alias.strip_prefix(ALIAS_PREFIX) else {
                continue;
            };
            let mine = link_controller(&link).is_some_and(|c| ours.contains(&c));
            if mine && !kept(running, owner) {
                tracing::info!("sweep: removing veth {name} of container {owner}");
                k.rtnl.del_link(name).await?;
            }
        }
        for name in list_dir(&self.netns_dir)? {
            if !kept(running, &name) {
                tracing::info!("sweep: removing netns {name}");
                Netns::remove(&self.netns_dir.join(&name))?;
            }
        }
        let mut live_ips = HashSet::new();
        for n in self.all().iter().filter(|n| n.ipam.is_some()) {
            for (ip, owner) in n.with_ipam(|i| i.release_unless(|o| kept(running, o)))? {
                tracing::info!("sweep: released {ip} of container {owner}");
            }
            live_ips.extend(n.with_ipam(|i| Ok(i.leases().keys().copied().collect::<Vec<_>>()))?);
        }
        if let Some(fw) = &k.fw {
            let stale: Vec<_> = fw
                .list()
                .await?
                .ports
                .into_iter()
                .filter(|p| !live_ips.contains(&p.container_ip))
                .collect();
            if !stale.is_empty() {
                fw.remove_ports(&stale).await?;
            }
        }
        Ok(())
    }

    /// Live restore of a running container: its host ports held again, its port elements
    /// re-added (the table may be new), its names registered, its DNS sockets re-bound.
    pub async fn restore_container(&self, c: &Container, bundle: &Path) -> Result<(), NetError> {
        let Some(st) = ContainerNet::load(bundle) else {
            return Ok(());
        };
        let Some(path) = st.netns.clone() else {
            return Ok(());
        };
        let mut live = Live::default();
        if let Some(ip) = st.ports.first().map(|p| p.container_ip) {
            let specs: Vec<PortSpec> = st
                .ports
                .iter()
                .map(|p| PortSpec {
                    proto: p.proto,
                    host_ip: p.host_ip,
                    host_ports: Some((p.host_port, p.host_port)),
                    container_ports: (p.container_port, p.container_port),
                })
                .collect();
            live.ports = Some(reserve(&specs, ip)?);
            if let Some(fw) = self.kernel().and_then(|k| k.fw.as_ref()) {
                fw.add_ports(&st.ports).await?;
            }
        }
        let mut tables = Vec::new();
        for ep in &st.endpoints {
            let (Some(ip), Ok(n)) = (ep.ip, self.find(&ep.network_id)) else {
                continue;
            };
            if n.rec.is_default_bridge() {
                continue;
            }
            let mut names = vec![
                c.name.trim_start_matches('/').to_string(),
                c.short_id().to_string(),
            ];
            names.extend(ep.aliases.iter().cloned());
            for name in names {
                n.dns.add(&name, ip);
            }
            tables.push(n.dns.clone());
        }
        if !tables.is_empty() && self.kernel().is_some() {
            let ns = Netns::open(&path)?;
            let server = DnsServer::new(tables, self.upstreams(c));
            live.dns = Some(server.serve(dns::bind_in_netns(&ns)?)?);
            live.server = Some(server);
        }
        self.live.put(&c.id, live);
        Ok(())
    }

    /// Clean shutdown with no container running: our bridges and nftables table go (the next
    /// start makes them again), so stopped test daemons leave nothing on the host.
    pub async fn shutdown(&self, any_running: bool) {
        if any_running {
            return;
        }
        let Some(k) = self.kernel() else {
            return;
        };
        for n in self.all() {
            self.unwire_network(&n).await;
        }
        if let Some(fw) = &k.fw {
            if let Err(e) = fw.delete_table().await {
                tracing::warn!("deleting nftables table {}: {e}", fw.table());
            }
        }
    }
}
