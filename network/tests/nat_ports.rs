//! Outbound NAT, published ports (loopback, gateway, other container, hairpin, UDP), isolation,
//! internal networks and a taken port, on the real kernel in our own table. Needs root.

mod common;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use common::*;
use rdocker_network::bridge::ensure_bridge;
use rdocker_network::endpoint::{attach, EndpointConfig};
use rdocker_network::error::Error;
use rdocker_network::firewall::{Firewall, NetworkRules};
use rdocker_network::netns::Netns;
use rdocker_network::ports::{reserve, PortSpec, Proto};
use rdocker_network::rtnl::Rtnl;

struct Net {
    bridge: String,
    rules: NetworkRules,
    _guard: LinkGuard,
}

async fn net(host: &Rtnl, fw: &Firewall, third: u8, internal: bool) -> Net {
    let bridge = format!("rdt-{}", uniq());
    let guard = LinkGuard(bridge.clone());
    ensure_bridge(host, &bridge, Ipv4Addr::new(10, 231, third, 1), 24)
        .await
        .unwrap();
    let rules = NetworkRules {
        bridge: bridge.clone(),
        subnet: format!("10.231.{third}.0/24").parse().unwrap(),
        internal,
    };
    fw.add_network(&rules).await.unwrap();
    Net {
        bridge,
        rules,
        _guard: guard,
    }
}

async fn container(
    host: &Rtnl,
    dir: &std::path::Path,
    name: &str,
    net: &Net,
    third: u8,
    last: u8,
    internal: bool,
) -> (Netns, NsGuard, LinkGuard) {
    let (ns, g) = new_netns(dir, name);
    let ep = attach(
        host,
        &ns,
        &net.bridge,
        &EndpointConfig {
            container_id: format!("test-{name}"),
            ifname: "eth0".into(),
            ip: Ipv4Addr::new(10, 231, third, last),
            prefix: 24,
            gateway: (!internal).then_some(Ipv4Addr::new(10, 231, third, 1)),
            mac: None,
        },
    )
    .await
    .unwrap();
    (ns, g, LinkGuard(ep.host_veth))
}

async fn firewall() -> (Firewall, TableGuard) {
    let fw = Firewall::new(&format!("rdocker-t{}", uniq())).unwrap();
    let g = TableGuard(fw.table().to_string());
    assert!(fw.ensure().await.unwrap());
    assert!(!fw.ensure().await.unwrap(), "second ensure keeps the table");
    (fw, g)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_nat_masquerades_to_a_test_host() {
    require_root();
    let host = Rtnl::host().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (fw, _tg) = firewall().await;
    let n = net(&host, &fw, 2, false).await;
    let (outside, _og, _ol) = outside_host(&host, dir.path(), 2).await;
    let (c, _cg, _cl) = container(&host, dir.path(), "c", &n, 2, 2, false).await;
    tcp_echo_in(&outside, Ipv4Addr::new(198, 18, 2, 2), 8080, 1);
    let got = tcp_ping(Some(&c), SocketAddr::from(([198, 18, 2, 2], 8080))).unwrap();
    // Masqueraded: the test host sees the host's address on its link, not 10.231.2.2.
    assert_eq!(got, "ping from 198.18.2.1");
    fw.remove_network(&n.rules).await.unwrap();
    fw.remove_network(&n.rules).await.unwrap();
    assert!(fw.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_ports_reach_the_container_from_everywhere() {
    require_root();
    let host = Rtnl::host().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (fw, _tg) = firewall().await;
    let n = net(&host, &fw, 3, false).await;
    let (a, _ag, _al) = container(&host, dir.path(), "a", &n, 3, 2, false).await;
    let (b, _bg, _bl) = container(&host, dir.path(), "b", &n, 3, 3, false).await;
    let (outside, _og, _ol) = outside_host(&host, dir.path(), 3).await;
    tcp_echo_in(&a, Ipv4Addr::UNSPECIFIED, 80, 7);
    let udp = a
        .run(|| UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 53)))
        .unwrap()
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok((k, peer)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(&buf[..k], peer);
        }
    });

    let cip = Ipv4Addr::new(10, 231, 3, 2);
    let specs = [
        PortSpec {
            proto: Proto::Tcp,
            host_ip: Ipv4Addr::UNSPECIFIED,
            host_ports: None,
            container_ports: (80, 80),
        },
        PortSpec {
            proto: Proto::Udp,
            host_ip: Ipv4Addr::UNSPECIFIED,
            host_ports: None,
            container_ports: (53, 53),
        },
        PortSpec {
            proto: Proto::Tcp,
            host_ip: Ipv4Addr::LOCALHOST,
            host_ports: None,
            container_ports: (80, 80),
        },
    ];
    let res = reserve(&specs, cip).unwrap();
    let t = std::time::Instant::now();
    fw.add_ports(&res.mappings).await.unwrap();
    println!(
        "add_ports ({} mappings) took {:?}",
        res.mappings.len(),
        t.elapsed()
    );
    let tcp_port = res.mappings[0].host_port;
    let udp_port = res.mappings[1].host_port;
    let lo_port = res.mappings[2].host_port;
    let gw = Ipv4Addr::new(10, 231, 3, 1);

    let to = |ip: Ipv4Addr, p: u16| SocketAddr::from((ip, p));
    assert_eq!(
        tcp_ping(None, to(Ipv4Addr::LOCALHOST, tcp_port)).unwrap(),
        "ping from 10.231.3.1",
        "host loopback"
    );
    assert_eq!(
        tcp_ping(None, to(gw, tcp_port)).unwrap(),
        "ping from 10.231.3.1",
        "host via the gateway address"
    );
    assert_eq!(
        tcp_ping(Some(&b), to(gw, tcp_port)).unwrap(),
        "ping from 10.231.3.1",
        "other container via the host port"
    );
    assert_eq!(
        tcp_ping(Some(&a), to(gw, tcp_port)).unwrap(),
        "ping from 10.231.3.1",
        "hairpin"
    );
    assert_eq!(
        tcp_ping(Some(&outside), to(Ipv4Addr::new(198, 18, 3, 1), tcp_port)).unwrap(),
        "ping from 198.18.3.2",
        "a client elsewhere, through the host's address on its link: its address is kept"
    );
    assert_eq!(
        tcp_ping(None, to(Ipv4Addr::LOCALHOST, lo_port)).unwrap(),
        "ping from 10.231.3.1",
        "port published on 127.0.0.1 only"
    );
    // UDP from the host's loopback.
    let u = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    u.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    u.send_to(b"hello", (Ipv4Addr::LOCALHOST, udp_port))
        .unwrap();
    let mut buf = [0u8; 16];
    let (k, _) = u.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..k], b"hello");

    let st = fw.list().await.unwrap();
    let mut want = res.mappings.clone();
    want.sort();
    let mut got = st.ports.clone();
    got.sort();
    assert_eq!(got, want);

    fw.remove_ports(&res.mappings).await.unwrap();
    fw.remove_ports(&res.mappings).await.unwrap();
    drop(res);
    assert!(tcp_ping(None, to(gw, tcp_port)).is_err(), "unpublished");
    fw.remove_network(&n.rules).await.unwrap();
    assert!(fw.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networks_are_isolated_and_internal_has_no_way_out() {
    require_root();
    let host = Rtnl::host().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (fw, _tg) = firewall().await;
    let n1 = net(&host, &fw, 4, false).await;
    let n2 = net(&host, &fw, 5, false).await;
    let n3 = net(&host, &fw, 6, true).await;
    let (outside, _og, _ol) = outside_host(&host, dir.path(), 4).await;
    let (a, _ag, _al) = container(&host, dir.path(), "a", &n1, 4, 2, false).await;
    let (b, _bg, _bl) = container(&host, dir.path(), "b", &n2, 5, 2, false).await;
    let (c, _cg, _cl) = container(&host, dir.path(), "c", &n3, 6, 2, true).await;
    tcp_echo_in(&b, Ipv4Addr::UNSPECIFIED, 80, 4);
    tcp_echo_in(&outside, Ipv4Addr::UNSPECIFIED, 80, 4);
    // Sanity: both reach the outside; the host reaches b.
    assert!(tcp_ping(Some(&a), SocketAddr::from(([198, 18, 4, 2], 80))).is_ok());
    assert!(tcp_ping(None, SocketAddr::from(([10, 231, 5, 2], 80))).is_ok());
    // a (net 1) cannot reach b (net 2).
    assert!(tcp_ping(Some(&a), SocketAddr::from(([10, 231, 5, 2], 80))).is_err());
    // Internal: no route out, and not to another network either.
    let e = tcp_ping(Some(&c), SocketAddr::from(([198, 18, 4, 2], 80))).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NetworkUnreachable, "{e}");
    assert!(tcp_ping(Some(&c), SocketAddr::from(([10, 231, 5, 2], 80))).is_err());
    // But b's published port is public: a reaches it through the host port, like anyone.
    let res = reserve(
        &[PortSpec {
            proto: Proto::Tcp,
            host_ip: Ipv4Addr::UNSPECIFIED,
            host_ports: None,
            container_ports: (80, 80),
        }],
        Ipv4Addr::new(10, 231, 5, 2),
    )
    .unwrap();
    fw.add_ports(&res.mappings).await.unwrap();
    let hp = res.mappings[0].host_port;
    assert_eq!(
        tcp_ping(Some(&a), SocketAddr::from(([10, 231, 4, 1], hp))).unwrap(),
        "ping from 10.231.5.1"
    );
    fw.remove_ports(&res.mappings).await.unwrap();
    for n in [&n1, &n2, &n3] {
        fw.remove_network(&n.rules).await.unwrap();
    }
    assert!(fw.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_fails_with_dockers_message_and_holds_nothing() {
    require_root();
    let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let free = std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let free_port = free.local_addr().unwrap().port();
    drop(free);
    let specs = [
        PortSpec {
            proto: Proto::Tcp,
            host_ip: Ipv4Addr::UNSPECIFIED,
            host_ports: Some((free_port, free_port)),
            container_ports: (80, 80),
        },
        PortSpec {
            proto: Proto::Tcp,
            host_ip: Ipv4Addr::UNSPECIFIED,
            host_ports: Some((port, port)),
            container_ports: (81, 81),
        },
    ];
    let err = reserve(&specs, Ipv4Addr::new(10, 231, 9, 2)).unwrap_err();
    assert!(matches!(err, Error::PortAllocated { .. }));
    assert_eq!(
        err.to_string(),
        format!("Bind for 0.0.0.0:{port} failed: port is already allocated")
    );
    // The first port was released with the failed reservation.
    let again = reserve(&specs[..1], Ipv4Addr::new(10, 231, 9, 2)).unwrap();
    assert_eq!(again.held(), 1);
    // And a second reservation of a held port fails too.
    assert!(reserve(&specs[..1], Ipv4Addr::new(10, 231, 9, 3)).is_err());
    // A range with one container port takes the next free one.
    let r = reserve(
        &[PortSpec {
            proto: Proto::Tcp,
            host_ip: Ipv4Addr::UNSPECIFIED,
            host_ports: Some((free_port, free_port.saturating_add(5))),
            container_ports: (80, 80),
        }],
        Ipv4Addr::new(10, 231, 9, 3),
    )
    .unwrap();
    assert_ne!(r.mappings[0].host_port, free_port);
}
