//! IPAM: persistence across a reload, release, exhaustion, --ip-range, --ip, bad input.
//! Needs no root.

use std::net::Ipv4Addr;

use rdocker_network::error::Error;
use rdocker_network::ipam::{Ipam, IpamConfig};
use rdocker_network::subnet::check_overlap;

fn cfg(subnet: &str) -> IpamConfig {
    IpamConfig {
        subnet: subnet.parse().unwrap(),
        gateway: None,
        ip_range: None,
    }
}

#[test]
fn allocations_survive_a_reload_and_release_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net1.json");
    let mut ipam = Ipam::create(&path, &cfg("10.231.20.0/24")).unwrap();
    assert_eq!(ipam.gateway(), Ipv4Addr::new(10, 231, 20, 1));
    let a = ipam.allocate("a", None).unwrap();
    let b = ipam.allocate("b", None).unwrap();
    assert_eq!(a, Ipv4Addr::new(10, 231, 20, 2));
    assert_eq!(b, Ipv4Addr::new(10, 231, 20, 3));
    drop(ipam);

    let mut ipam = Ipam::load(&path).unwrap();
    assert_eq!(ipam.leases().len(), 2);
    assert_eq!(ipam.leases()[&a], "a");
    // Round-robin: a released address is not handed out again at once.
    ipam.release(a).unwrap();
    ipam.release(a).unwrap();
    assert_eq!(
        ipam.allocate("c", None).unwrap(),
        Ipv4Addr::new(10, 231, 20, 4)
    );
    let again = Ipam::load(&path).unwrap();
    assert_eq!(again.leases().len(), 2);
    assert!(!again.leases().contains_key(&a));
    // Creating over an existing state file is refused.
    assert!(Ipam::create(&path, &cfg("10.231.20.0/24")).is_err());
    Ipam::destroy(&path).unwrap();
    Ipam::destroy(&path).unwrap();
    assert!(!path.exists());
}

#[test]
fn exhaustion_specific_ip_and_range() {
    let dir = tempfile::tempdir().unwrap();
    // /29: 8 addresses, minus network, broadcast, gateway = 5.
    let mut ipam = Ipam::create(&dir.path().join("n.json"), &cfg("10.231.21.0/29")).unwrap();
    for i in 0..5 {
        ipam.allocate(&format!("c{i}"), None).unwrap();
    }
    let e = ipam.allocate("x", None).unwrap_err();
    assert!(matches!(e, Error::PoolExhausted(_)), "{e}");
    ipam.release(Ipv4Addr::new(10, 231, 21, 4)).unwrap();
    assert_eq!(
        ipam.allocate("x", None).unwrap(),
        Ipv4Addr::new(10, 231, 21, 4)
    );

    let mut ipam = Ipam::create(
        &dir.path().join("r.json"),
        &IpamConfig {
            subnet: "10.231.22.0/24".parse().unwrap(),
            gateway: Some(Ipv4Addr::new(10, 231, 22, 254)),
            ip_range: Some("10.231.22.128/25".parse().unwrap()),
        },
    )
    .unwrap();
    assert_eq!(
        ipam.allocate("a", None).unwrap(),
        Ipv4Addr::new(10, 231, 22, 128)
    );
    // --ip may be anywhere in the subnet; taken, reserved and outside addresses are refused.
    let want = Ipv4Addr::new(10, 231, 22, 7);
    assert_eq!(ipam.allocate("b", Some(want)).unwrap(), want);
    assert_eq!(ipam.allocate("b", Some(want)).unwrap(), want);
    assert!(matches!(
        ipam.allocate("c", Some(want)),
        Err(Error::AddressInUse(_))
    ));
    assert!(matches!(
        ipam.allocate("c", Some(Ipv4Addr::new(10, 231, 22, 254))),
        Err(Error::AddressInUse(_))
    ));
    assert!(matches!(
        ipam.allocate("c", Some(Ipv4Addr::new(10, 231, 23, 7))),
        Err(Error::AddressOutsideSubnet { .. })
    ));
    let gone = ipam.release_unless(|o| o == "a").unwrap();
    assert_eq!(gone, vec![(want, "b".to_string())]);
}

#[test]
fn bad_input_is_refused_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.json");
    let e = Ipam::create(
        &p,
        &IpamConfig {
            subnet: "10.231.24.0/24".parse().unwrap(),
            gateway: Some(Ipv4Addr::new(10, 231, 25, 1)),
            ip_range: None,
        },
    )
    .unwrap_err();
    assert!(matches!(e, Error::GatewayOutsideSubnet { .. }), "{e}");
    let e = Ipam::create(
        &p,
        &IpamConfig {
            subnet: "10.231.24.0/24".parse().unwrap(),
            gateway: None,
            ip_range: Some("10.231.0.0/16".parse().unwrap()),
        },
    )
    .unwrap_err();
    assert!(matches!(e, Error::RangeOutsideSubnet { .. }), "{e}");
    assert!(!p.exists());
    let e = check_overlap(
        &"10.231.24.0/24".parse().unwrap(),
        &["10.231.0.0/16".parse().unwrap()],
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Pool overlaps with other one on this address space: 10.231.24.0/24 overlaps 10.231.0.0/16"
    );
}
