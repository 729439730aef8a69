//! `POST /networks/{id}/connect` and `/disconnect`: a stopped container's plan changes (applied
//! at its next start); a running one gets or loses a veth in its namespace at once.

use std::sync::Arc;

use bollard_stubs::models::EndpointSettings;
use rdocker_network::dns::{self, DnsServer};
use rdocker_network::endpoint::{self, EndpointConfig};
use rdocker_network::netns::Netns;

use super::attach::{special_mode, ContainerNet, EndpointRec};
use super::manager::{Net, NetworkManager};
use super::NetError;
use crate::containers::record::Container;
use crate::containers::{ContainerError, ContainerManager};
use crate::fsutil::random_hex;

fn no_container(e: ContainerError) -> NetError {
    match e {
        ContainerError::NotFound(n) => NetError::NoContainer(n),
        e => NetError::Invalid(e.to_string()),
    }
}

impl NetworkManager {
    /// The DNS tables of the user networks `st` is wired on.
    fn user_tables(&self, st: &ContainerNet) -> Vec<rdocker_network::dns::DnsTable> {
        st.endpoints
            .iter()
            .filter(|e| e.ip.is_some())
            .filter_map(|e| self.find(&e.network_id).ok())
            .filter(|n| !n.rec.is_default_bridge())
            .map(|n| n.dns.clone())
            .collect()
    }

    /// Point the container's embedded DNS at its current networks (started on first need).
    fn refresh_dns(&self, c: &Container, st: &ContainerNet, ns: &Netns) -> Result<(), NetError> {
        let tables = self.user_tables(st);
        let upstreams = self.upstreams(c);
        self.live.with(&c.id, |l| -> Result<(), NetError> {
            match &l.server {
                Some(s) => s.set_tables(tables),
                None if !tables.is_empty() => {
                    let server = DnsServer::new(tables, upstreams);
                    l.dns = Some(server.serve(dns::bind_in_netns(ns)?)?);
                    l.server = Some(server);
                }
                None => {}
            }
            Ok(())
        })
    }

    /// As libnetwork on a container's first user network: its resolv.conf now names the
    /// embedded DNS server. Written in place (truncate + write), not renamed: the container
    /// sees the file through a bind mount of this inode.
    fn point_resolv_at_embedded_dns(
        &self,
        c: &Container,
        bundle: &std::path::Path,
    ) -> Result<(), NetError> {
        let path = bundle.join("resolv.conf");
        let now = std::fs::read_to_string(&path).unwrap_or_default();
        if now.lines().any(|l| l.trim() == "nameserver 127.0.0.11") {
            return Ok(());
        }
        let hc = &c.host_config;
        let search = hc.dns_search.clone().filter(|v| !v.is_empty());
        let opts = hc.dns_options.clone().filter(|v| !v.is_empty());
        let text = dns::container_resolv_conf(
            search.as_ref().unwrap_or(&self.cfg.dns_search),
            opts.as_ref().unwrap_or(&self.cfg.dns_opts),
        );
        std::fs::write(&path, text).map_err(NetError::io("rewrite the container's resolv.conf"))
    }

    /// A new endpoint in a running container's namespace.
    async fn connect_live(
        &self,
        c: &Container,
        st: &mut ContainerNet,
        n: &Net,
        mut ep: EndpointRec,
    ) -> Result<(), NetError> {
        let (Some(k), Some(path)) = (self.kernel(), st.netns.clone()) else {
            st.endpoints.push(ep);
            return Ok(());
        };
        let ns = Netns::open(&path)?;
        let ip = n.with_ipam(|i| i.allocate(&c.id, ep.ipv4_wanted))?;
        let used: Vec<String> = st
            .endpoints
            .iter()
            .filter_map(|e| e.link.as_ref().map(|l| l.ifname.clone()))
            .collect();
        let ifname = (0..)
            .map(|i| format!("eth{i}"))
            .find(|n| !used.contains(n))
            .unwrap_or_else(|| "eth9".into());
        let link = endpoint::attach(
            &k.rtnl,
            &ns,
            &n.rec.bridge,
            &EndpointConfig {
                container_id: c.id.clone(),
                ifname,
                ip,
                prefix: n.prefix(),
                gateway: if n.rec.internal { None } else { n.rec.gateway },
                mac: None,
            },
        )
        .await;
        let link = match link {
            Ok(l) => l,
            Err(e) => {
                let _ = n.with_ipam(|i| i.release(ip));
                return Err(e.into());
            }
        };
        ep.ip = Some(ip);
        ep.link = Some(link);
        ep.endpoint_id = random_hex(32);
        if !n.rec.is_default_bridge() {
            let mut names = vec![
                c.name.trim_start_matches('/').to_string(),
                c.short_id().to_string(),
            ];
            names.extend(ep.aliases.iter().cloned());
            for name in names {
                n.dns.add(&name, ip);
            }
        }
        st.endpoints.push(ep);
        self.refresh_dns(c, st, &ns)
    }
}

impl ContainerManager {
    /// `POST /networks/{id}/connect`.
    pub async fn network_connect(
        &self,
        n: &Arc<Net>,
        container: &str,
        es: EndpointSettings,
    ) -> Result<(), NetError> {
        let e = self.get(container).map_err(no_container)?;
        let _op = e.op.lock().await;
        let c = e.rec();
        let mode = c.host_config.network_mode.clone().unwrap_or_default();
        if !n.rec.is_bridge() {
            return Err(NetError::Invalid(
                "container cannot be disconnected from host network or connected to host network"
                    .into(),
            ));
        }
        if special_mode(&mode) {
            return Err(NetError::Invalid(
                "container sharing network namespace with another container or host cannot be connected to any other network".into(),
            ));
        }
        let bundle = self.bundle(&c.id);
        let mut st = match ContainerNet::load(&bundle) {
            Some(s) => s,
            None => self.network.plan(&c.host_config, None)?,
        };
        if st.endpoints.iter().any(|x| x.network_id == n.rec.id) {
            return Err(NetError::Forbidden(format!(
                "endpoint with name {} already exists in network {}",
                c.name.trim_start_matches('/'),
                n.rec.name
            )));
        }
        let ep = self.network.endpoint_rec(n, &es)?;
        if c.running() {
            self.network.connect_live(&c, &mut st, n, ep).await?;
            if !n.rec.is_default_bridge() {
                self.network.point_resolv_at_embedded_dns(&c, &bundle)?;
            }
        } else {
            st.endpoints.push(ep);
        }
        st.save(&bundle)?;
        self.network
            .publish(n, "connect", &[("container", c.id.clone())]);
        Ok(())
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn network_disconnect(&self, n: &Arc<Net>, container: &str) -> Result<(), NetError> {
        let e = self.get(container).map_err(no_container)?;
        let _op = e.op.lock().await;
        let c = e.rec();
        let bundle = self.bundle(&c.id);
        let mut st = ContainerNet::load(&bundle).unwrap_or_default();
        let Some(i) = st.endpoints.iter().position(|x| x.network_id == n.rec.id) else {
            return Err(NetError::Forbidden(format!(
                "container {} is not connected to network {}",
                c.id, n.rec.name
            )));
        };
        let ep = st.endpoints.remove(i);
        if let Some(ip) = ep.ip {
            n.dns.remove_ip(ip);
            if let (Some(k), Some(l)) = (self.network.kernel(), &ep.link) {
                endpoint::detach(&k.rtnl, &l.host_veth).await?;
            }
            n.with_ipam(|i| i.release(ip))?;
            if let Some(path) = &st.netns {
                if let Ok(ns) = Netns::open(path) {
                    self.network.refresh_dns(&c, &st, &ns)?;
                }
            }
        }
        st.save(&bundle)?;
        self.network
            .publish(n, "disconnect", &[("container", c.id.clone())]);
        Ok(())
    }

    /// Names of the containers with an endpoint (planned or wired) on `n`.
    pub fn network_users(&self, n: &Net) -> Vec<(Container, EndpointRec)> {
        let mut out = Vec::new();
        for e in self.all() {
            let c = e.rec();
            let Some(st) = ContainerNet::load(&self.bundle(&c.id)) else {
                continue;
            };
            if let Some(ep) = st.endpoints.into_iter().find(|x| x.network_id == n.rec.id) {
                out.push((c, ep));
            }
        }
        out
    }
}
