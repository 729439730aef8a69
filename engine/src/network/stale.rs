//! Bridges and nftables tables left by daemons that died without cleaning up (SIGKILL, a
//! crashed test): every bridge we make carries the alias `rdocker-daemon:<pid>:<table>`, and
//! a starting daemon removes the bridges of dead owners that no container uses any more, and
//! their tables. A dead owner restarted later makes both again (init re-wires every network;
//! live restore re-adds the ports of running containers). Only links with our alias are ever
//! considered; our own table's bridges are left to us.

use std::collections::{HashMap, HashSet};

use rdocker_network::firewall::Firewall;
use rdocker_network::rtnl::{link_alias, link_controller, link_name, Rtnl};
use rtnetlink::LinkUnspec;

use super::NetError;

const OWNER_PREFIX: &str = "rdocker-daemon:";

/// The alias of a bridge made by this daemon.
pub fn owner_alias(table: &str) -> String {
    format!("{OWNER_PREFIX}{}:{table}", std::process::id())
}

/// `(pid, table)` of an owner alias.
fn parse(alias: &str) -> Option<(u32, &str)> {
    let (pid, table) = alias.strip_prefix(OWNER_PREFIX)?.split_once(':')?;
    Some((pid.parse().ok()?, table))
}

/// A live rdockerd has this pid (a reused pid of another program counts as dead).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|c| c.trim_end().starts_with("rdockerd"))
}

/// Marks bridge `name` as ours.
pub async fn mark(rtnl: &Rtnl, name: &str, table: &str) -> Result<(), NetError> {
    let Some(index) = rtnl.link_index(name).await? else {
        return Ok(());
    };
    let msg = LinkUnspec::new_with_index(index)
        .alias(owner_alias(table))
        .build();
    rtnl.handle()
        .link()
        .set(msg)
        .execute()
        .await
        .map_err(|e| NetError::Internal(format!("set alias on {name}: {e}")))
}

/// Removes unused bridges and tables of dead daemons (call under the host lock).
pub async fn collect(rtnl: &Rtnl, own_table: &str) -> Result<(), NetError> {
    let links = rtnl.links().await?;
    let mut used: HashSet<u32> = HashSet::new();
    for l in &links {
        if let Some(c) = link_controller(l) {
            used.insert(c);
        }
    }
    // table → does any of its bridges stay?
    let mut tables: HashMap<String, bool> = HashMap::new();
    for l in &links {
        let (Some(name), Some((pid, table))) = (link_name(l), link_alias(l).and_then(parse)) else {
            continue;
        };
        if table == own_table {
            continue;
        }
        let stays = alive(pid) || used.contains(&l.header.index);
        let e = tables.entry(table.to_string()).or_insert(false);
        *e |= stays;
        if !stays {
            tracing::info!("removing bridge {name} of stopped daemon {pid}");
            rtnl.del_link(name).await?;
        }
    }
    for (table, stays) in tables {
        if stays || table.is_empty() {
            continue;
        }
        if let Ok(fw) = Firewall::new(&table) {
            tracing::info!("removing nftables table {table} of a stopped daemon");
            fw.delete_table().await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases() {
        let a = owner_alias("rdocker_abc");
        let (pid, table) = parse(&a).unwrap();
        assert_eq!(pid, std::process::id());
        assert_eq!(table, "rdocker_abc");
        assert_eq!(parse("rdocker-daemon:12:"), Some((12, "")));
        assert_eq!(parse("rdocker:abc"), None);
        assert_eq!(parse("rdocker-daemon:x:t"), None);
        assert!(!alive(u32::MAX));
    }
}
