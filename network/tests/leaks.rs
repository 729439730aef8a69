//! No leaks: 100 attach/detach cycles leave nothing behind and the per-attach time does not
//! grow; sweep removes what belonged to containers that are gone and keeps the rest. Needs root.

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::*;
use rdocker_network::bridge::{delete_bridge, ensure_bridge};
use rdocker_network::endpoint::{attach, detach, EndpointConfig, ALIAS_PREFIX};
use rdocker_network::firewall::{Firewall, NetworkRules};
use rdocker_network::ipam::{Ipam, IpamConfig};
use rdocker_network::netns::Netns;
use rdocker_network::ports::{reserve, PortSpec, Proto};
use rdocker_network::rtnl::{link_alias, Rtnl};
use rdocker_network::sweep::{sweep, SweepScope};

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn our_veths(host: &Rtnl, prefix: &str) -> Vec<String> {
    host.links()
        .await
        .unwrap()
        .iter()
        .filter_map(|l| link_alias(l).map(str::to_string))
        .filter(|a| a.starts_with(&format!("{ALIAS_PREFIX}{prefix}")))
        .collect()
}

struct Setup {
    host: Rtnl,
    fw: Firewall,
    bridge: String,
    rules: NetworkRules,
    gw: Ipv4Addr,
    _tg: TableGuard,
    _bg: LinkGuard,
}

async fn setup(third: u8) -> Setup {
    let host = Rtnl::host().unwrap();
    let fw = Firewall::new(&format!("rdocker-t{}", uniq())).unwrap();
    let tg = TableGuard(fw.table().to_string());
    fw.ensure().await.unwrap();
    let bridge = format!("rdt-{}", uniq());
    let bg = LinkGuard(bridge.clone());
    let gw = Ipv4Addr::new(10, 231, third, 1);
    ensure_bridge(&host, &bridge, gw, 24).await.unwrap();
    let rules = NetworkRules {
        bridge: bridge.clone(),
        subnet: format!("10.231.{third}.0/24").parse().unwrap(),
        internal: false,
    };
    fw.add_network(&rules).await.unwrap();
    Setup {
        host,
        fw,
        bridge,
        rules,
        gw,
        _tg: tg,
        _bg: bg,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_cycles_leave_nothing_and_do_not_slow_down() {
    require_root();
    let s = setup(7).await;
    let dir = tempfile::tempdir().unwrap();
    let nsdir = dir.path().join("netns");
    let owner_prefix = format!("test-{}-", uniq());
    let mut ipam = Ipam::create(
        &dir.path().join("net.json"),
        &IpamConfig {
            subnet: s.rules.subnet,
            gateway: Some(s.gw),
            ip_range: None,
        },
    )
    .unwrap();
    let (mut t_ipam, mut t_ns, mut t_attach, mut t_ports, mut t_total) =
        (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..100 {
        let id = format!("{owner_prefix}{i:03}");
        let t0 = Instant::now();
        let ip = ipam.allocate(&id, None).unwrap();
        let ta = Instant::now();
        let path = nsdir.join(&id);
        let ns = Netns::create(&path).unwrap();
        let _ng = NsGuard(path.clone());
        let t1 = Instant::now();
        let ep = attach(
            &s.host,
            &ns,
            &s.bridge,
            &EndpointConfig {
                container_id: id.clone(),
                ifname: "eth0".into(),
                ip,
                prefix: 24,
                gateway: Some(s.gw),
                mac: None,
            },
        )
        .await
        .unwrap();
        let _vg = LinkGuard(ep.host_veth.clone());
        let t2 = Instant::now();
        let res = reserve(
            &[PortSpec {
                proto: Proto::Tcp,
                host_ip: Ipv4Addr::UNSPECIFIED,
                host_ports: None,
                container_ports: (80, 80),
            }],
            ip,
        )
        .unwrap();
        s.fw.add_ports(&res.mappings).await.unwrap();
        let t3 = Instant::now();
        t_ipam.push(ta - t0);
        t_ns.push(t1 - ta);
        t_attach.push(t2 - t1);
        t_ports.push(t3 - t2);
        t_total.push(t3 - t0);

        s.fw.remove_ports(&res.mappings).await.unwrap();
        drop(res);
        detach(&s.host, &ep.host_veth).await.unwrap();
        Netns::remove(&path).unwrap();
        ipam.release(ip).unwrap();
    }
    let first: Vec<Duration> = t_attach[..10].to_vec();
    let last: Vec<Duration> = t_attach[90..].to_vec();
    println!(
        "per container (median of 100): ipam allocate {:?}, netns create {:?}, attach {:?}, \
         reserve+publish 1 port (nfnetlink) {:?}, total {:?}",
        median(&mut t_ipam),
        median(&mut t_ns),
        median(&mut t_attach.clone()),
        median(&mut t_ports),
        median(&mut t_total)
    );
    println!(
        "attach median: first 10 {:?}, last 10 {:?}; min {:?}",
        median(&mut first.clone()),
        median(&mut last.clone()),
        t_attach.iter().min().unwrap()
    );
    assert!(
        our_veths(&s.host, &owner_prefix).await.is_empty(),
        "veths left"
    );
    assert!(
        std::fs::read_dir(&nsdir).unwrap().next().is_none(),
        "netns files left"
    );
    assert!(ipam.leases().is_empty(), "leases left");
    let st = s.fw.list().await.unwrap();
    assert!(st.ports.is_empty(), "port rules left: {:?}", st.ports);
    s.fw.remove_network(&s.rules).await.unwrap();
    assert!(s.fw.list().await.unwrap().is_empty());
    // The kernel's refusal is an error, not a panic (a table that does not exist).
    let missing = Firewall::new(&format!("rdocker-t{}", uniq())).unwrap();
    let res = reserve(
        &[PortSpec {
            proto: Proto::Tcp,
            host_ip: Ipv4Addr::UNSPECIFIED,
            host_ports: None,
            container_ports: (80, 80),
        }],
        Ipv4Addr::new(10, 231, 7, 2),
    )
    .unwrap();
    assert!(missing.add_ports(&res.mappings).await.is_err());
    delete_bridge(&s.host, &s.bridge).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_removes_what_is_gone_and_keeps_the_rest() {
    require_root();
    let s = setup(10).await;
    let dir = tempfile::tempdir().unwrap();
    let nsdir = dir.path().join("netns");
    let owner_prefix = format!("test-{}-", uniq());
    let mut ipam = Ipam::create(
        &dir.path().join("net.json"),
        &IpamConfig {
            subnet: s.rules.subnet,
            gateway: None,
            ip_range: None,
        },
    )
    .unwrap();
    let mut guards = Vec::new();
    let mut ids = Vec::new();
    let mut reservations = Vec::new();
    for i in 0..3 {
        let id = format!("{owner_prefix}{i}");
        let ip = ipam.allocate(&id, None).unwrap();
        let path = nsdir.join(&id);
        let ns = Netns::create(&path).unwrap();
        guards.push(NsGuard(path));
        let ep = attach(
            &s.host,
            &ns,
            &s.bridge,
            &EndpointConfig {
                container_id: id.clone(),
                ifname: "eth0".into(),
                ip,
                prefix: 24,
                gateway: Some(s.gw),
                mac: None,
            },
        )
        .await
        .unwrap();
        let res = reserve(
            &[PortSpec {
                proto: Proto::Udp,
                host_ip: Ipv4Addr::UNSPECIFIED,
                host_ports: None,
                container_ports: (53, 53),
            }],
            ip,
        )
        .unwrap();
        s.fw.add_ports(&res.mappings).await.unwrap();
        reservations.push(res);
        // Crash simulation: nothing is detached; the guards clean up if the test fails.
        std::mem::forget(LinkGuard(ep.host_veth.clone()));
        guards.push(NsGuard(nsdir.join(format!("{id}.unused"))));
        ids.push((id, ep));
    }
    let keep = vec![ids[1].0.clone()];
    let report = sweep(
        &s.host,
        SweepScope {
            netns_dir: &nsdir,
            ipams: &mut [&mut ipam],
            firewall: Some(&s.fw),
            owner_prefix: &owner_prefix,
        },
        &keep,
    )
    .await
    .unwrap();
    assert_eq!(report.veths.len(), 2, "{report:?}");
    assert_eq!(report.netns.len(), 2);
    assert_eq!(report.leases.len(), 2);
    let raw = std::process::Command::new("nft")
        .args(["-j", "list", "table", "ip", s.fw.table()])
        .output()
        .map(|o| {
            format!(
                "{} {}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .unwrap_or_default();
    assert_eq!(
        report.ports.len(),
        2,
        "{report:?}\nleases {:?}\nnft: {raw}",
        ipam.leases()
    );
    let left = our_veths(&s.host, &owner_prefix).await;
    assert_eq!(left, vec![format!("{ALIAS_PREFIX}{}", ids[1].0)]);
    assert_eq!(ipam.leases().len(), 1);
    assert_eq!(s.fw.list().await.unwrap().ports, reservations[1].mappings);
    assert!(nsdir.join(&ids[1].0).exists());
    // The kept one's veth goes at the end.
    detach(&s.host, &ids[1].1.host_veth).await.unwrap();
}
