//! The bridge device of a network.

use std::net::Ipv4Addr;

use rtnetlink::LinkBridge;

use crate::error::{Error, Result};
use crate::rtnl::{check_ifname, Rtnl};
use crate::sysctl;

/// MTU of our bridges and veths.
pub const MTU: u32 = 1500;

/// Make sure bridge `name` exists, is up, has `gateway/prefix` and `route_localnet=1`.
/// Idempotent (a daemon restart calls it again for every network). Returns the ifindex.
pub async fn ensure_bridge(rtnl: &Rtnl, name: &str, gateway: Ipv4Addr, prefix: u8) -> Result<u32> {
    check_ifname(name)?;
    let index = match rtnl.link_index(name).await? {
        Some(i) => i,
        None => {
            let res = rtnl
                .handle()
                .link()
                .add(LinkBridge::new(name).mtu(MTU).build())
                .execute()
                .await;
            match res {
                Ok(()) => {}
                // Lost a race with another ensure: fine.
                Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => {}
                Err(e) => return Err(Error::netlink(format!("add bridge {name}"), e)),
            }
            rtnl.link_index(name)
                .await?
                .ok_or_else(|| Error::LinkNotFound(name.to_string()))?
        }
    };
    rtnl.add_addr(index, gateway, prefix).await?;
    rtnl.set_up(index).await?;
    sysctl::enable_route_localnet(name)?;
    Ok(index)
}

/// Delete bridge `name`; a missing bridge is fine.
pub async fn delete_bridge(rtnl: &Rtnl, name: &str) -> Result<()> {
    rtnl.del_link(name).await
}
