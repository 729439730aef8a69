//! Bad input gets Docker's status codes and messages and leaves nothing half-created:
//! overlapping subnets, a gateway outside its subnet, `network rm` of a network in use,
//! unknown networks, ports out of range, a host port already in use.

use std::net::TcpListener;

use rdocker_tests::e2e::Checks;
use rdocker_tests::netcensus::{self, NetCensus};
use rdocker_tests::netns_host::rand_hex;
use rdocker_tests::require_root;
use serde_json::json;

use crate::common::*;

/// A /24 of 10.0.0.0/8 unlikely to be taken by a concurrent test: "10.a.b".
fn random_net24() -> String {
    let r = u32::from_str_radix(&rand_hex(4), 16).unwrap();
    format!("10.{}.{}", 100 + (r >> 8) % 50, r & 0xff)
}

#[test]
fn bad_network_create_leaves_nothing() {
    require_root!();
    let n = Net::start();
    let mut c = Checks::default();
    let base = random_net24();
    let subnet = format!("{base}.0/24");
    n.cli(&["network", "create", "--subnet", &subnet, "first"])
        .assert_ok();
    let before = NetCensus::take(&n.d);

    let out = n.cli(&[
        "network",
        "create",
        "--subnet",
        &format!("{base}.128/25"),
        "inner",
    ]);
    c.check(
        out.code == Some(1)
            && out
                .stderr
                .contains("Pool overlaps with other one on this address space"),
        format!("overlapping subnet: {out}"),
    );
    let (code, body) = n.d.api_json(
        "POST",
        "/networks/create",
        &json!({"Name": "inner2", "IPAM": {"Config": [{"Subnet": subnet}]}}),
    );
    c.check(
        code == 400 && body.contains("overlaps"),
        format!("API, same subnet: {code} {body}"),
    );
    let other = random_net24();
    let (code, body) = n.d.api_json(
        "POST",
        "/networks/create",
        &json!({"Name": "gw", "IPAM": {"Config": [{"Subnet": format!("{other}.0/24"), "Gateway": "192.0.2.77"}]}}),
    );
    c.check(code == 400, format!("API, gateway outside: {code} {body}"));
    let out = n.cli(&[
        "network",
        "create",
        "--subnet",
        &format!("{other}.0/24"),
        "--gateway",
        "192.0.2.77",
        "gw2",
    ]);
    c.check(out.code == Some(1), format!("CLI, gateway outside: {out}"));
    let (code, body) =
        n.d.api_json("POST", "/networks/create", &json!({"Name": "first"}));
    c.check(
        code == 409 && body.contains("network with name first already exists"),
        format!("duplicate name: {code} {body}"),
    );
    let ls = n.cli(&["network", "ls", "--format", "{{.Name}}"]);
    let mut names: Vec<&str> = ls.stdout.lines().collect();
    names.sort();
    c.check(
        names == ["bridge", "first", "host", "none"],
        format!("only the good network was made: {ls}"),
    );
    // No link got an address of a refused network (the accepted one's bridge holds .1).
    let addrs = std::process::Command::new("ip")
        .args(["-o", "-4", "addr"])
        .output()
        .unwrap();
    let addrs = String::from_utf8_lossy(&addrs.stdout).into_owned();
    c.check(
        !addrs.contains(&format!("inet {other}."))
            && addrs.matches(&format!("inet {base}.")).count() == 1,
        format!("a refused create made a bridge: {addrs}"),
    );
    let after = NetCensus::take(&n.d);
    c.check(
        before.leaks(&after).is_empty(),
        format!("refused creates left {:?}", before.leaks(&after)),
    );
    c.finish();
}

#[test]
fn network_rm_in_use_and_unknown_networks() {
    require_root!();
    let n = Net::start();
    let mut c = Checks::default();
    n.cli(&["network", "create", "busy"]).assert_ok();
    n.sleeper("user", &["--network", "busy"]);
    let out = n.cli(&["network", "rm", "busy"]);
    c.check(
        out.code == Some(1) && out.stderr.contains("has active endpoints"),
        format!("rm of a network in use: {out}"),
    );
    let (code, body) = n.d.api("DELETE", "/networks/busy");
    c.check(
        code == 409 && body.contains("has active endpoints"),
        format!("DELETE in use: {code} {body}"),
    );
    let (code, body) = n.d.api("DELETE", "/networks/bridge");
    c.check(
        code == 403 && body.contains("bridge is a pre-defined network and cannot be removed"),
        format!("DELETE bridge: {code} {body}"),
    );
    let (code, body) = n.d.api("GET", "/networks/nosuch");
    c.check(
        code == 404 && body.contains("network nosuch not found"),
        format!("GET unknown: {code} {body}"),
    );
    let out = n.cli(&["network", "inspect", "nosuch"]);
    c.check(
        out.code == Some(1) && out.stderr.contains("nosuch"),
        format!("network inspect unknown: {out}"),
    );
    let out = n.cli(&["run", "--rm", "--network", "nosuch", "busybox", "true"]);
    c.check(
        out.code == Some(125) && out.stderr.contains("network nosuch not found"),
        format!("run on an unknown network: {out}"),
    );
    let (code, body) = n.d.api_json(
        "POST",
        "/containers/create",
        &json!({"Image": "busybox", "HostConfig": {"NetworkMode": "nosuch"}}),
    );
    c.check(
        code == 404 && body.contains("network nosuch not found"),
        format!("create on an unknown network: {code} {body}"),
    );
    n.cli(&["rm", "-f", "user"]).assert_ok();
    let out = n.cli(&["network", "rm", "busy"]);
    c.check(
        out.success() && out.stdout == "busy\n",
        format!("rm once unused: {out}"),
    );
    c.finish();
}

#[test]
fn port_out_of_range_is_refused() {
    require_root!();
    let n = Net::start();
    let mut c = Checks::default();
    for spec in ["99999:80", "80:99999", "0-70000:80"] {
        let out = n.cli(&["run", "--rm", "-p", spec, "busybox", "true"]);
        c.check(
            out.code == Some(125) && out.stderr.contains("invalid"),
            format!("-p {spec}: {out}"),
        );
    }
    let (code, body) = n.d.api_json(
        "POST",
        "/containers/create",
        &json!({"Image": "busybox",
                "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "99999"}]}}}),
    );
    c.check(code == 400, format!("API, host port 99999: {code} {body}"));
    let ps = n.cli(&["ps", "-aq"]);
    c.check(
        ps.stdout.trim().is_empty(),
        format!("nothing created: {ps}"),
    );
    c.finish();
}

/// After a failed start: no veth, no netns file, no lease, no nft element of the container.
fn assert_unwired(n: &Net, id: &str, before: &NetCensus, what: &str) {
    let now = NetCensus::take(&n.d);
    let leaks = before.leaks(&now);
    assert!(leaks.is_empty(), "{what}: left {leaks:?}\n{}", n.log_tail());
    let v = netcensus::veths_owned_by(id);
    assert!(v.is_empty(), "{what}: veths of {id} remain: {v:?}");
    assert!(
        !now.leases.iter().any(|l| l.contains(&id[..12])),
        "{what}: lease remains: {:?}",
        now.leases
    );
}

#[test]
fn host_port_in_use_fails_start_and_leaves_nothing() {
    require_root!();
    let n = Net::start();
    let p = free_port();
    n.httpd("holder", &["-p", &format!("{p}:80")], &[]);
    let before = NetCensus::take(&n.d);

    // Held by another container: docker's message, exit 125, the container stays Created.
    let out = n.cli(&[
        "run",
        "-d",
        "--name",
        "second",
        "-p",
        &format!("{p}:80"),
        "busybox",
        "sleep",
        "60",
    ]);
    assert_eq!(out.code, Some(125), "{out}");
    assert!(
        out.stderr.contains(&format!(
            "Bind for 0.0.0.0:{p} failed: port is already allocated"
        )),
        "{out}"
    );
    let v = n.inspect("second");
    assert_eq!(v["State"]["Status"], "created", "{}", v["State"]);
    let id = v["Id"].as_str().unwrap().to_string();
    assert_unwired(&n, &id, &before, "port held by a container");

    // Held by a host process (not a container): fails too, nothing wired.
    let q = free_port();
    let _hold = TcpListener::bind(("0.0.0.0", q)).expect("hold a host port");
    let out = n.cli(&[
        "run",
        "-d",
        "--name",
        "third",
        "-p",
        &format!("{q}:80"),
        "busybox",
        "sleep",
        "60",
    ]);
    assert_eq!(out.code, Some(125), "{out}");
    assert!(
        out.stderr.contains("address already in use")
            || out.stderr.contains("port is already allocated"),
        "{out}"
    );
    let id3 = n.inspect("third")["Id"].as_str().unwrap().to_string();
    assert_unwired(&n, &id3, &before, "port held by a host process");

    // Once the port is free the same container starts and serves.
    n.cli(&["rm", "-f", "holder"]).assert_ok();
    let out = n.cli(&["start", "second"]);
    assert!(out.success(), "{out}\n{}", n.log_tail());
    assert!(n.inspect("second")["State"]["Running"] == true);
    let v = n.inspect("second");
    assert_eq!(
        v["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"],
        p.to_string()
    );
}
