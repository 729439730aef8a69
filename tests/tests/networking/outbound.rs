//! Outbound NAT against a test host in a namespace of its own (never a real outside address):
//! the server sees the host-side address of its link (masquerade), never the container's.
//! An `--internal` network has no route out.

use std::time::{Duration, Instant};

use rdocker_tests::e2e::Checks;
use rdocker_tests::netns_host::TestHost;
use rdocker_tests::require_root;

use crate::common::*;

#[test]
fn outbound_traffic_is_masqueraded() {
    require_root!();
    let th = TestHost::start().expect("test host");
    let n = Net::start();
    let mut c = Checks::default();
    n.cli(&["network", "create", "outnet"]).assert_ok();
    n.sleeper("bb", &[]);
    n.sleeper("uu", &["--network", "outnet"]);
    let url = format!("http://{}/", th.server());
    for (name, net) in [("bb", "bridge"), ("uu", "outnet")] {
        let ip = n.ip(name, net);
        let out = n.wget(name, &url, 3);
        c.check(
            out.stdout == format!("seen {}\n", th.host_addr),
            format!(
                "{name} ({ip}) → test host: the server saw {:?} (masquerade gives {}): {out}",
                out.stdout, th.host_addr
            ),
        );
        c.check(
            !th.peers().contains(&ip),
            format!("the container's own address {ip} left the host unmasqueraded"),
        );
    }
    c.check(
        th.peers().iter().all(|p| *p == th.host_addr),
        format!("sources seen: {:?}", th.peers()),
    );
    c.finish();
}

#[test]
fn internal_network_has_no_route_out() {
    require_root!();
    let th = TestHost::start().expect("test host");
    let n = Net::start();
    n.cli(&["network", "create", "--internal", "sealed"])
        .assert_ok();
    let (code, body) = n.d.api("GET", "/networks/sealed");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["Internal"], true, "{v}");
    n.httpd("in1", &["--network", "sealed"], &[]);
    n.sleeper("in2", &["--network", "sealed"]);
    // Inside the network containers still reach each other (by name too).
    let out = n.wget_until("in2", "http://in1/", MARK);
    assert_eq!(out.stdout, format!("{MARK} in1\n"), "{out}");
    let routes = n.exec("in2", &["ip", "route"]);
    assert!(
        !routes.stdout.contains("default"),
        "no default route: {routes}"
    );
    let t = Instant::now();
    let out = n.wget("in2", &format!("http://{}/", th.server()), 2);
    assert!(!out.success(), "reached the test host: {out}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "fails fast (no route): {:?}",
        t.elapsed()
    );
    assert!(th.peers().is_empty(), "the test host saw {:?}", th.peers());
}

#[test]
fn test_host_sees_the_host_side_address() {
    require_root!();
    let th = TestHost::start().expect("test host");
    let body = http_get(th.server()).expect("the test host answers");
    assert_eq!(body, format!("seen {}\n", th.host_addr));
    assert_eq!(th.peers(), [th.host_addr]);
    let (ns, veth) = (
        th.ns_name().to_string(),
        format!("rdth{}", &th.ns_name()[7..]),
    );
    drop(th);
    assert!(!std::path::Path::new(&format!("/run/netns/{ns}")).exists());
    assert!(!rdocker_tests::netcensus::link_exists(&veth));
}
