//! User-defined networks: containers find each other by name, network alias and short id
//! through the embedded DNS at 127.0.0.11; another network cannot reach them; the default
//! bridge has no name resolution; other names go to the configured upstream only.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use rdocker_tests::dnsstub::DnsStub;
use rdocker_tests::e2e::Checks;
use rdocker_tests::require_root;

use crate::common::*;

#[test]
fn user_network_by_name_alias_and_short_id_isolated_from_others() {
    require_root!();
    let n = Net::start();
    let mut c = Checks::default();
    n.cli(&["network", "create", "front"]).assert_ok();
    n.cli(&["network", "create", "back"]).assert_ok();
    let id = n.httpd(
        "srv",
        &["--network", "front", "--network-alias", "web"],
        &[],
    );
    n.sleeper("client", &["--network", "front"]);
    n.sleeper("stranger", &["--network", "back"]);
    let want = format!("{MARK} srv\n");
    for host in ["srv", "web", &id[..12]] {
        let out = n.wget_until("client", &format!("http://{host}/"), MARK);
        c.check(out.stdout == want, format!("by {host}: {out}"));
    }
    // The alias and names show in inspect, as docker lists them.
    let v = n.inspect("srv");
    let ep = &v["NetworkSettings"]["Networks"]["front"];
    let aliases = ep["Aliases"].to_string();
    c.check(aliases.contains("\"web\""), format!("Aliases: {ep}"));
    let dns_names = ep["DNSNames"].to_string();
    for name in ["srv", "web", &id[..12]] {
        c.check(
            dns_names.contains(&format!("\"{name}\"")),
            format!("DNSNames lacks {name}: {ep}"),
        );
    }

    // Another network: not by name, not by address (wget -T 2 gives up fast).
    let ip = n.ip("srv", "front");
    let out = n.wget("stranger", "http://srv/", 2);
    c.check(
        !out.success(),
        format!("name resolved across networks: {out}"),
    );
    let t = Instant::now();
    let out = n.wget("stranger", &format!("http://{ip}/"), 2);
    c.check(
        !out.success() && !out.stdout.contains(MARK),
        format!("reached {ip} from another network: {out}"),
    );
    c.check(
        t.elapsed() < Duration::from_secs(8),
        format!("isolation should fail fast, took {:?}", t.elapsed()),
    );
    // The other network's containers are not in this one's DNS either.
    let out = n.exec("client", &["nslookup", "stranger"]);
    c.check(
        !out.stdout.contains(&n.ip("stranger", "back").to_string()),
        format!("stranger resolved on front: {out}"),
    );
    c.finish();
}

#[test]
fn default_bridge_has_no_name_resolution() {
    require_root!();
    let n = Net::start();
    n.httpd("b1", &[], &[]);
    n.sleeper("b2", &[]);
    let ip = n.ip("b1", "bridge");
    // By address it works (same bridge) …
    let out = n.wget_until("b2", &format!("http://{ip}/"), MARK);
    assert_eq!(out.stdout, format!("{MARK} b1\n"), "{out}");
    // … by name it does not, as on docker's default bridge (no embedded DNS there).
    let out = n.wget("b2", "http://b1/", 2);
    assert!(!out.success(), "b1 resolved on the default bridge: {out}");
    let resolv = n.exec("b2", &["cat", "/etc/resolv.conf"]);
    assert!(
        !resolv.stdout.contains("127.0.0.11"),
        "the default bridge has no embedded DNS: {resolv}"
    );
}

#[test]
fn embedded_dns_forwards_other_names_to_the_upstream_only() {
    require_root!();
    let up_ip = Ipv4Addr::new(198, 18, 250, 7);
    let stub = DnsStub::start(&[("up.rdocker.test", up_ip)]).expect("dns stub");
    let addr = stub.addr();
    let n = Net::start_with(&["--dns-upstream", &addr]);
    n.cli(&["network", "create", "dnsnet"]).assert_ok();
    n.sleeper("qq", &["--network", "dnsnet"]);
    n.sleeper("peer", &["--network", "dnsnet"]);
    let resolv = n.exec("qq", &["cat", "/etc/resolv.conf"]);
    let ns: Vec<&str> = resolv
        .stdout
        .lines()
        .filter(|l| l.starts_with("nameserver"))
        .collect();
    assert_eq!(ns, ["nameserver 127.0.0.11"], "{resolv}");

    let out = n.exec("qq", &["nslookup", "up.rdocker.test"]);
    assert!(
        out.stdout.contains(&up_ip.to_string()),
        "forwarded answer: {out}\nasked upstream: {:?}\n{}",
        stub.asked(),
        n.log_tail()
    );
    assert!(
        stub.asked().iter().any(|q| q == "up.rdocker.test"),
        "the upstream saw the query: {:?}",
        stub.asked()
    );
    // An unknown name: NXDOMAIN from the upstream, passed on.
    let out = n.exec("qq", &["nslookup", "nowhere.rdocker.test"]);
    assert!(!out.stdout.contains("198.18."), "{out}");
    // A container name is answered locally, never forwarded.
    let before = stub.asked().len();
    let out = n.exec("qq", &["nslookup", "peer"]);
    let peer_ip = n.ip("peer", "dnsnet").to_string();
    assert!(out.stdout.contains(&peer_ip), "{out}");
    assert!(
        !stub.asked()[before..].iter().any(|q| q == "peer"),
        "container name forwarded: {:?}",
        stub.asked()
    );
}
