//! Choosing a network's subnet: docker's default address pools, minus what the host and our
//! other networks use.

use std::net::Ipv4Addr;

use futures_util::TryStreamExt;
use ipnet::Ipv4Net;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute};
use rtnetlink::RouteMessageBuilder;

use crate::error::{Error, Result};
use crate::rtnl::Rtnl;

/// One entry of `default-address-pools`: carve `base` into subnets of length `size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AddressPool {
    pub base: Ipv4Net,
    pub size: u8,
}

/// Docker's defaults: 172.17.0.0/16 … 172.31.0.0/16, then 192.168.0.0/16 in /20s.
pub fn default_pools() -> Vec<AddressPool> {
    vec![
        AddressPool {
            base: Ipv4Net::new(Ipv4Addr::new(172, 17, 0, 0), 16).unwrap_or_default(),
            size: 16,
        },
        AddressPool {
            base: Ipv4Net::new(Ipv4Addr::new(172, 18, 0, 0), 15).unwrap_or_default(),
            size: 16,
        },
        AddressPool {
            base: Ipv4Net::new(Ipv4Addr::new(172, 20, 0, 0), 14).unwrap_or_default(),
            size: 16,
        },
        AddressPool {
            base: Ipv4Net::new(Ipv4Addr::new(172, 24, 0, 0), 14).unwrap_or_default(),
            size: 16,
        },
        AddressPool {
            base: Ipv4Net::new(Ipv4Addr::new(172, 28, 0, 0), 14).unwrap_or_default(),
            size: 16,
        },
        AddressPool {
            base: Ipv4Net::new(Ipv4Addr::new(192, 168, 0, 0), 16).unwrap_or_default(),
            size: 20,
        },
    ]
}

fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The first subnet of `pools` that overlaps nothing in `in_use` (host addresses and routes, see
/// [`host_networks`], plus the subnets of our other networks). 172.31/16 is skipped when
/// 172.17/16 is a docker0 on the host, and so on: anything present on the host counts.
pub fn pick_subnet(pools: &[AddressPool], in_use: &[Ipv4Net]) -> Result<Ipv4Net> {
    for pool in pools {
        let Ok(subnets) = pool.base.subnets(pool.size) else {
            continue;
        };
        for s in subnets {
            if !in_use.iter().any(|u| overlaps(&s, u)) {
                return Ok(s);
            }
        }
    }
    Err(Error::NoFreeSubnet)
}

/// Error if `subnet` overlaps one of `ours` (a user-given `--subnet` or `bip`).
pub fn check_overlap(subnet: &Ipv4Net, ours: &[Ipv4Net]) -> Result<()> {
    match ours.iter().find(|o| overlaps(subnet, o)) {
        Some(o) => Err(Error::SubnetOverlap(*subnet, *o)),
        None => Ok(()),
    }
}

/// `bip` (`--bip 10.200.0.1/24`): the bridge's address is the gateway, its network the subnet.
pub fn parse_bip(bip: &str) -> Result<(Ipv4Addr, Ipv4Net)> {
    let n: Ipv4Net = bip.parse().map_err(|_| Error::BadBip(bip.to_string()))?;
    let subnet = n.trunc();
    if n.addr() == subnet.network() || n.addr() == subnet.broadcast() || n.prefix_len() > 30 {
        return Err(Error::BadBip(bip.to_string()));
    }
    Ok((n.addr(), subnet))
}

/// Every IPv4 network the host uses: addresses (with their prefix) and routes of the main
/// table, except default routes (which "overlap" everything).
pub async fn host_networks(rtnl: &Rtnl) -> Result<Vec<Ipv4Net>> {
    let mut out = Vec::new();
    let mut addrs = rtnl.handle().address().get().execute();
    while let Some(m) = addrs
        .try_next()
        .await
        .map_err(|e| Error::netlink("dump addresses", e))?
    {
        for a in &m.attributes {
            if let AddressAttribute::Address(std::net::IpAddr::V4(ip)) = a {
                if let Ok(n) = Ipv4Net::new(*ip, m.header.prefix_len) {
                    out.push(n.trunc());
                }
            }
        }
    }
    let mut routes = rtnl
        .handle()
        .route()
        .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
        .execute();
    while let Some(m) = routes
        .try_next()
        .await
        .map_err(|e| Error::netlink("dump routes", e))?
    {
        if m.header.destination_prefix_length == 0 {
            continue;
        }
        for a in &m.attributes {
            if let RouteAttribute::Destination(RouteAddress::Inet(ip)) = a {
                if let Ok(n) = Ipv4Net::new(*ip, m.header.destination_prefix_length) {
                    out.push(n.trunc());
                }
            }
        }
    }
    // Loopback is in every host's address list; it never collides with a pool.
    out.retain(|n| !n.contains(&Ipv4Addr::LOCALHOST));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn first_free_pool() {
        let pools = default_pools();
        assert_eq!(pick_subnet(&pools, &[]).unwrap(), n("172.17.0.0/16"));
        let used = [n("172.17.0.1/16"), n("172.18.5.0/24")];
        let used: Vec<_> = used.iter().map(|u| u.trunc()).collect();
        assert_eq!(pick_subnet(&pools, &used).unwrap(), n("172.19.0.0/16"));
        let all: Vec<_> = (17..=31).map(|i| n(&format!("172.{i}.0.0/16"))).collect();
        assert_eq!(pick_subnet(&pools, &all).unwrap(), n("192.168.0.0/20"));
        let mut full = all.clone();
        full.push(n("192.168.0.0/16"));
        assert!(matches!(
            pick_subnet(&pools, &full),
            Err(Error::NoFreeSubnet)
        ));
        // A bigger route covering a pool counts too.
        assert_eq!(
            pick_subnet(&pools, &[n("172.16.0.0/12")]).unwrap(),
            n("192.168.0.0/20")
        );
    }

    #[test]
    fn bip() {
        assert_eq!(
            parse_bip("10.200.0.1/24").unwrap(),
            (Ipv4Addr::new(10, 200, 0, 1), n("10.200.0.0/24"))
        );
        assert!(parse_bip("10.200.0.0/24").is_err());
        assert!(parse_bip("10.200.0.1").is_err());
    }

    #[test]
    fn overlap() {
        assert!(check_overlap(&n("10.1.0.0/16"), &[n("10.1.2.0/24")]).is_err());
        assert!(check_overlap(&n("10.1.2.0/24"), &[n("10.0.0.0/8")]).is_err());
        assert!(check_overlap(&n("10.2.0.0/16"), &[n("10.1.0.0/16")]).is_ok());
    }
}
