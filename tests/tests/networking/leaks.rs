//! `rm` and `network rm` leave no veth, netns file, nftables element or IP lease; `network
//! connect`/`disconnect` of a running container add and remove its endpoint live.

use std::time::Duration;

use rdocker_tests::netcensus::{self, NetCensus};
use rdocker_tests::require_root;
use rdocker_tests::util::wait_for;

use crate::common::*;

#[test]
fn rm_and_network_rm_leave_nothing() {
    require_root!();
    let n = Net::start();
    // The default bridge exists from the start; its elements belong to the baseline.
    let before = NetCensus::take(&n.d);
    n.cli(&["network", "create", "tmpnet"]).assert_ok();
    let (_, body) = n.d.api("GET", "/networks/tmpnet");
    let net: serde_json::Value = serde_json::from_str(&body).unwrap();
    let br = format!("br-{}", &net["Id"].as_str().unwrap()[..12]);
    assert!(netcensus::link_exists(&br), "bridge {br} made by create");
    let a = n.httpd("aa", &["--network", "tmpnet", "-p", "127.0.0.1::80"], &[]);
    let b = n.httpd("bb", &["-p", &format!("{}:80", free_port())], &[]);
    let live = NetCensus::take(&n.d);
    let seen = before.leaks(&live);
    for what in ["veth", "netns file", "nft element", "ip lease"] {
        assert!(
            seen.iter().any(|l| l.starts_with(what)),
            "the census misses the {what} of a running container: {seen:?}"
        );
    }
    for id in [&a, &b] {
        assert_eq!(netcensus::veths_owned_by(id).len(), 1, "one veth for {id}");
    }
    n.cli(&["rm", "-f", "aa", "bb"]).assert_ok();
    n.cli(&["network", "rm", "tmpnet"]).assert_ok();
    let settled = wait_for(Duration::from_secs(5), || {
        let now = NetCensus::take(&n.d);
        before.leaks(&now).is_empty().then_some(())
    });
    let now = NetCensus::take(&n.d);
    assert!(
        settled.is_some(),
        "left behind: {:?}\n{}",
        before.leaks(&now),
        n.log_tail()
    );
    assert_eq!(now.nft, before.nft, "the table's elements are back");
    assert!(!netcensus::link_exists(&br), "bridge {br} removed");
    for id in [&a, &b] {
        assert!(netcensus::veths_owned_by(id).is_empty());
    }
}

#[test]
fn connect_and_disconnect_a_running_container() {
    require_root!();
    let n = Net::start();
    n.cli(&["network", "create", "extra"]).assert_ok();
    n.httpd("web", &["--network", "extra"], &[]);
    n.sleeper("joiner", &[]);
    let web_ip = n.ip("web", "extra");
    let out = n.wget("joiner", &format!("http://{web_ip}/"), 2);
    assert!(!out.success(), "not yet on extra: {out}");
    n.cli(&["network", "connect", "--alias", "joined", "extra", "joiner"])
        .assert_ok();
    let links = n.exec("joiner", &["ip", "-o", "-4", "addr"]);
    let ip = n.ip("joiner", "extra");
    assert!(
        links.stdout.contains(&format!("inet {ip}/")),
        "a second interface with {ip}: {links}"
    );
    let out = n.wget_until("joiner", &format!("http://{web_ip}/"), MARK);
    assert_eq!(out.stdout, format!("{MARK} web\n"), "{out}");
    // Its alias resolves for the others on extra.
    let out = n.exec("web", &["nslookup", "joined"]);
    assert!(out.stdout.contains(&ip.to_string()), "{out}");
    let (_, body) = n.d.api("GET", "/networks/extra");
    assert!(
        body.contains("\"Name\":\"joiner\""),
        "listed in Containers: {body}"
    );

    n.cli(&["network", "disconnect", "extra", "joiner"])
        .assert_ok();
    let links = n.exec("joiner", &["ip", "-o", "-4", "addr"]);
    assert!(
        !links.stdout.contains(&format!("inet {ip}/")),
        "interface gone: {links}"
    );
    let v = n.inspect("joiner");
    assert!(
        v["NetworkSettings"]["Networks"]["extra"].is_null(),
        "{}",
        v["NetworkSettings"]
    );
    assert!(
        !NetCensus::take(&n.d)
            .leases
            .iter()
            .any(|l| l.contains(&format!(" {ip} "))),
        "lease of {ip} released"
    );
}
