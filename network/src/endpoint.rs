//! A container's endpoint on a bridge: a veth pair, the host side enslaved to the bridge, the
//! container side created directly inside the container's netns as `eth0`.

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;

use rtnetlink::packet_route::link::{InfoData, InfoKind, InfoVeth};
use rtnetlink::{LinkBridgePort, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder};
use serde::{Deserialize, Serialize};

use crate::bridge::MTU;
use crate::error::{Error, Result};
use crate::netns::Netns;
use crate::rtnl::{check_ifname, Rtnl};

/// Prefix of the alias (`IFLA_IFALIAS`) we put on every host-side veth: `rdocker:<container id>`.
/// [`crate::sweep`] finds our veths by it.
pub const ALIAS_PREFIX: &str = "rdocker:";

/// What to wire.
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    /// Owner, recorded in the host veth's alias for the sweep after a crash.
    pub container_id: String,
    /// Interface name inside the container (`eth0`, `eth1` for a second network…).
    pub ifname: String,
    /// Address and prefix length of the container.
    pub ip: Ipv4Addr,
    pub prefix: u8,
    /// Default route via this gateway; `None` for an internal network (no route out).
    pub gateway: Option<Ipv4Addr>,
    /// MAC of the container side; `None` = docker's derivation from the IP ([`mac_for_ip`]).
    pub mac: Option<[u8; 6]>,
}

/// What was wired (persist it with the container; `host_veth` is what [`detach`] needs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub host_veth: String,
    pub ifname: String,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
    pub mac: [u8; 6],
}

/// Docker's MAC for an IPv4 address: `02:42:` followed by the four address bytes.
pub fn mac_for_ip(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// Format a MAC as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A fresh host-side veth name: `veth` + 7 random hex digits (docker's shape).
pub fn random_veth_name() -> Result<String> {
    let mut b = [0u8; 4];
    // SAFETY: getrandom writes at most `b.len()` bytes into the valid, exclusively borrowed buffer.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != b.len() as isize {
        return Err(Error::sys("getrandom", std::io::Error::last_os_error()));
    }
    let v = u32::from_be_bytes(b) & 0x0fff_ffff;
    Ok(format!("veth{v:07x}"))
}

/// Wire a container: veth pair (host side `vethXXXXXXX` in `bridge`, up; container side
/// `cfg.ifname` created inside `netns`), address, `lo` up and the default route inside.
/// On error nothing is left behind (the host veth is deleted, which removes its peer).
pub async fn attach(
    host: &Rtnl,
    netns: &Netns,
    bridge: &str,
    cfg: &EndpointConfig,
) -> Result<Endpoint> {
    check_ifname(&cfg.ifname)?;
    let bridge_index = host
        .link_index(bridge)
        .await?
        .ok_or_else(|| Error::LinkNotFound(bridge.to_string()))?;
    let mac = cfg.mac.unwrap_or_else(|| mac_for_ip(cfg.ip));
    let mut host_veth = random_veth_name()?;
    let mut tries = 0;
    loop {
        let peer = LinkMessageBuilder::<LinkUnspec>::new()
            .name(cfg.ifname.clone())
            .mtu(MTU)
            .address(mac.to_vec())
            .setns_by_fd(netns.fd().as_raw_fd())
            // Not `.up()` here: the kernel answers ENOTCONN for a peer created up in another
            // netns; it is brought up from inside.
            .build();
        let msg = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
            .name(host_veth.clone())
            .mtu(MTU)
            .controller(bridge_index)
            .up()
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
            .build();
        match host.handle().link().add(msg).execute().await {
            Ok(()) => break,
            Err(rtnetlink::Error::NetlinkError(e))
                if e.raw_code() == -libc::EEXIST && tries < 3 =>
            {
                // Random name taken on the host: draw another one. (A duplicate ifname inside the
                // netns gives EEXIST too; after 3 tries we report it.)
                tries += 1;
                host_veth = random_veth_name()?;
            }
            Err(e) => return Err(Error::netlink(format!("add veth {host_veth}"), e)),
        }
    }
    let ep = Endpoint {
        host_veth,
        ifname: cfg.ifname.clone(),
        ip: cfg.ip,
        prefix: cfg.prefix,
        gateway: cfg.gateway,
        mac,
    };
    let wired = async {
        set_port_options(host, &ep.host_veth, &cfg.container_id).await?;
        configure_inside(netns, &ep).await
    };
    if let Err(e) = wired.await {
        let _ = host.del_link(&ep.host_veth).await;
        return Err(e);
    }
    Ok(ep)
}

/// One request on the fresh host veth (the kernel ignores both attributes in a creation message):
/// - the alias `rdocker:<container id>`, by which [`crate::sweep`] recognises our veths;
/// - hairpin mode on the bridge port: with br_netfilter loaded (as on our hosts), a container
///   reaching its own published port is DNATed back out of the very port it came in by.
async fn set_port_options(host: &Rtnl, veth: &str, container_id: &str) -> Result<()> {
    let index = host
        .link_index(veth)
        .await?
        .ok_or_else(|| Error::LinkNotFound(veth.to_string()))?;
    host.handle()
        .link()
        .set_port(
            LinkBridgePort::new(index)
                .hairpin(true)
                .alias(format!("{ALIAS_PREFIX}{container_id}"))
                .build(),
        )
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("set alias and hairpin on {veth}"), e))
}

/// Address, lo up, default route: done over a netlink socket created inside the netns.
async fn configure_inside(netns: &Netns, ep: &Endpoint) -> Result<()> {
    let ns = Rtnl::in_netns(netns)?;
    let index = ns
        .link_index(&ep.ifname)
        .await?
        .ok_or_else(|| Error::LinkNotFound(ep.ifname.clone()))?;
    ns.add_addr(index, ep.ip, ep.prefix).await?;
    ns.set_up(index).await?;
    // The loopback device is always ifindex 1 in a network namespace.
    ns.set_up(1).await?;
    if let Some(gw) = ep.gateway {
        let route = RouteMessageBuilder::<Ipv4Addr>::new()
            .gateway(gw)
            .output_interface(index)
            .build();
        match ns.handle().route().add(route).execute().await {
            Ok(()) => {}
            // A second network of the same container: the first one keeps the default route.
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => {}
            Err(e) => return Err(Error::netlink(format!("default route via {gw}"), e)),
        }
    }
    Ok(())
}

/// Unwire: delete the host veth (its peer in the netns goes with it). Idempotent.
pub async fn detach(host: &Rtnl, host_veth: &str) -> Result<()> {
    host.del_link(host_veth).await
}
