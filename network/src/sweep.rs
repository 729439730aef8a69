//! Cleanup after a daemon crash: remove what belongs to containers that are gone.

use std::net::Ipv4Addr;
use std::path::Path;

use crate::endpoint::ALIAS_PREFIX;
use crate::error::Result;
use crate::firewall::Firewall;
use crate::ipam::Ipam;
use crate::netns::{list_dir, Netns};
use crate::ports::PortMapping;
use crate::rtnl::{link_alias, link_name, Rtnl};

/// What a sweep removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub veths: Vec<String>,
    pub netns: Vec<String>,
    pub leases: Vec<(Ipv4Addr, String)>,
    pub ports: Vec<PortMapping>,
}

/// Where our per-container leftovers can be.
pub struct SweepScope<'a> {
    /// The engine's netns directory (files named by container id or id prefix).
    pub netns_dir: &'a Path,
    /// The IPAM of every network (their leases are owned by container ids).
    pub ipams: &'a mut [&'a mut Ipam],
    /// Our nftables table, if the engine manages one.
    pub firewall: Option<&'a Firewall>,
    /// Only veths whose owner id starts with this are considered ("" in production; tests use a
    /// prefix of their own so that they never touch a running engine's veths).
    pub owner_prefix: &'a str,
}

/// `owner` (a full id, or a prefix of one such as a netns file name) belongs to a kept container.
pub fn kept(keep: &[String], owner: &str) -> bool {
    !owner.is_empty()
        && keep
            .iter()
            .any(|k| !k.is_empty() && (k.starts_with(owner) || owner.starts_with(k.as_str())))
}

/// Remove veths (found by their `rdocker:<id>` alias, never anything else), netns files, IP
/// leases and published ports of every container not in `keep`. Safe to run at each start.
pub async fn sweep(host: &Rtnl, scope: SweepScope<'_>, keep: &[String]) -> Result<SweepReport> {
    let mut report = SweepReport::default();
    for link in host.links().await? {
        let (Some(name), Some(alias)) = (link_name(&link), link_alias(&link)) else {
            continue;
        };
        let Some(owner) = alias.strip_prefix(ALIAS_PREFIX) else {
            continue;
        };
        if !owner.starts_with(scope.owner_prefix) {
            continue;
        }
        if !kept(keep, owner) {
            host.del_link(name).await?;
            report.veths.push(name.to_string());
        }
    }
    for name in list_dir(scope.netns_dir)? {
        if !kept(keep, &name) {
            Netns::remove(&scope.netns_dir.join(&name))?;
            report.netns.push(name);
        }
    }
    let mut live = Vec::new();
    for ipam in scope.ipams.iter_mut() {
        report
            .leases
            .extend(ipam.release_unless(|o| kept(keep, o))?);
        live.extend(ipam.leases().keys().copied());
    }
    if let Some(fw) = scope.firewall {
        let stale: Vec<PortMapping> = fw
            .list()
            .await?
            .ports
            .into_iter()
            .filter(|p| !live.contains(&p.container_ip))
            .collect();
        fw.remove_ports(&stale).await?;
        report.ports = stale;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::kept;

    #[test]
    fn keep_matching() {
        let keep = vec!["abcdef0123456789".to_string()];
        assert!(kept(&keep, "abcdef012345"));
        assert!(kept(&keep, "abcdef0123456789"));
        assert!(!kept(&keep, "bbcdef012345"));
        assert!(!kept(&keep, ""));
        assert!(!kept(&[], "abc"));
    }
}
