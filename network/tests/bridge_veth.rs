//! Bridge + endpoints in two namespaces: TCP between them; detach cleans up. Needs root.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use common::*;
use rdocker_network::bridge::{delete_bridge, ensure_bridge};
use rdocker_network::endpoint::{attach, detach, EndpointConfig};
use rdocker_network::netns::Netns;
use rdocker_network::rtnl::Rtnl;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_namespaces_talk_over_a_bridge() {
    require_root();
    let u = uniq();
    let br = format!("rdt-{u}");
    let _bg = LinkGuard(br.clone());
    let dir = tempfile::tempdir().unwrap();
    let host = Rtnl::host().unwrap();
    let gw = Ipv4Addr::new(10, 231, 1, 1);
    ensure_bridge(&host, &br, gw, 24).await.unwrap();
    // Idempotent.
    ensure_bridge(&host, &br, gw, 24).await.unwrap();

    let (a, _ga) = new_netns(dir.path(), "a");
    let (b, _gb) = new_netns(dir.path(), "b");
    let cfg = |ip: [u8; 4]| EndpointConfig {
        container_id: format!("test-{u}"),
        ifname: "eth0".into(),
        ip: ip.into(),
        prefix: 24,
        gateway: Some(gw),
        mac: None,
    };
    let t = Instant::now();
    let ea = attach(&host, &a, &br, &cfg([10, 231, 1, 2])).await.unwrap();
    let took = t.elapsed();
    let _va = LinkGuard(ea.host_veth.clone());
    let eb = attach(&host, &b, &br, &cfg([10, 231, 1, 3])).await.unwrap();
    let _vb = LinkGuard(eb.host_veth.clone());
    println!("attach took {took:?}");
    let hp = std::fs::read_to_string(format!(
        "/sys/class/net/{}/brport/hairpin_mode",
        ea.host_veth
    ))
    .unwrap();
    assert_eq!(hp.trim(), "1");
    let alias =
        std::fs::read_to_string(format!("/sys/class/net/{}/ifalias", ea.host_veth)).unwrap();
    assert_eq!(alias.trim(), format!("rdocker:test-{u}"));

    tcp_echo_in(&a, Ipv4Addr::new(10, 231, 1, 2), 7777, 2);
    let got = tcp_ping(Some(&b), SocketAddr::from(([10, 231, 1, 2], 7777))).unwrap();
    assert_eq!(got, "ping from 10.231.1.3");
    // The host reaches the container through the bridge address.
    let got = tcp_ping(None, SocketAddr::from(([10, 231, 1, 2], 7777))).unwrap();
    assert_eq!(got, "ping from 10.231.1.1");

    detach(&host, &ea.host_veth).await.unwrap();
    detach(&host, &ea.host_veth).await.unwrap();
    assert!(host.link_index(&ea.host_veth).await.unwrap().is_none());
    detach(&host, &eb.host_veth).await.unwrap();
    for p in [a.path().to_path_buf(), b.path().to_path_buf()] {
        Netns::remove(&p).unwrap();
        Netns::remove(&p).unwrap();
        assert!(!p.exists());
    }
    delete_bridge(&host, &br).await.unwrap();
    assert!(host.link_index(&br).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subnet_choice_sees_the_hosts_networks() {
    use rdocker_network::subnet::{host_networks, pick_subnet, AddressPool};
    require_root();
    let host = Rtnl::host().unwrap();
    let br = format!("rdt-{}", uniq());
    let _bg = LinkGuard(br.clone());
    ensure_bridge(&host, &br, Ipv4Addr::new(10, 231, 30, 1), 24)
        .await
        .unwrap();
    let used = host_networks(&host).await.unwrap();
    assert!(
        used.contains(&"10.231.30.0/24".parse().unwrap()),
        "{used:?}"
    );
    assert!(
        !used.iter().any(|n| n.prefix_len() == 0),
        "no default route"
    );
    let pools = [AddressPool {
        base: "10.231.30.0/23".parse().unwrap(),
        size: 24,
    }];
    assert_eq!(
        pick_subnet(&pools, &used).unwrap(),
        "10.231.31.0/24".parse().unwrap()
    );
    // Docker's defaults never hand out a network the host already has (eth0's, for one).
    let picked = pick_subnet(&rdocker_network::subnet::default_pools(), &used).unwrap();
    assert!(!used
        .iter()
        .any(|u| u.contains(&picked.network()) || picked.contains(&u.network())));
}
