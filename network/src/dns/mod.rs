//! Embedded DNS (docker's 127.0.0.11): names of a network → container addresses; everything
//! else is forwarded to the upstream resolvers.
//!
//! The listening sockets are created *inside* the container's netns ([`bind_in_netns`], the
//! thread trick of [`crate::netns`]); the engine serves them on its own tokio runtime
//! ([`DnsServer::serve`]); forwarded queries leave from the host's namespace, so a resolver on
//! the host's loopback (systemd-resolved, dnsmasq) works as an upstream.

mod resolv;
mod server;

pub use resolv::{container_resolv_conf, upstreams_from_resolv_conf, EMBEDDED_DNS};
pub use server::{bind_in_netns, DnsServer, DnsSockets, DnsTask};

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, PoisonError, RwLock};

/// The names of one network: container names, short ids and aliases → addresses. Cheap to
/// clone (shared); the engine updates it as containers join and leave.
#[derive(Clone, Debug, Default)]
pub struct DnsTable {
    names: Arc<RwLock<HashMap<String, Vec<Ipv4Addr>>>>,
}

fn norm(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl DnsTable {
    pub fn new() -> DnsTable {
        DnsTable::default()
    }

    /// Add `ip` under `name` (several containers may share an alias: all addresses answer).
    pub fn add(&self, name: &str, ip: Ipv4Addr) {
        let mut m = self.names.write().unwrap_or_else(PoisonError::into_inner);
        let v = m.entry(norm(name)).or_default();
        if !v.contains(&ip) {
            v.push(ip);
        }
    }

    /// Remove `ip` from `name`; the name goes when no address is left.
    pub fn remove(&self, name: &str, ip: Ipv4Addr) {
        let mut m = self.names.write().unwrap_or_else(PoisonError::into_inner);
        let key = norm(name);
        if let Some(v) = m.get_mut(&key) {
            v.retain(|x| *x != ip);
            if v.is_empty() {
                m.remove(&key);
            }
        }
    }

    /// Remove every name pointing at `ip` (a container leaving the network).
    pub fn remove_ip(&self, ip: Ipv4Addr) {
        let mut m = self.names.write().unwrap_or_else(PoisonError::into_inner);
        m.retain(|_, v| {
            v.retain(|x| *x != ip);
            !v.is_empty()
        });
    }

    /// Addresses of `name` (case-insensitive, trailing dot ignored).
    pub fn lookup(&self, name: &str) -> Option<Vec<Ipv4Addr>> {
        let m = self.names.read().unwrap_or_else(PoisonError::into_inner);
        m.get(&norm(name)).cloned()
    }
}
