//! /etc/hosts, /etc/hostname and /etc/resolv.conf inside containers: `--add-host`,
//! `--hostname`, `--dns`, `--dns-search`, `--dns-option`, and the user network's
//! `nameserver 127.0.0.11`. Nothing is resolved here: the addresses only land in files.

use rdocker_tests::e2e::Checks;
use rdocker_tests::require_root;

use crate::common::*;

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn hosts_hostname_and_resolv_conf() {
    require_root!();
    let n = Net::start();
    let mut c = Checks::default();
    n.sleeper(
        "etc",
        &[
            "--hostname",
            "myhost",
            "--add-host",
            "foo.test:198.18.1.1",
            "--add-host",
            "bar.test:198.18.1.2",
            "--dns",
            "198.18.0.53",
            "--dns-search",
            "a.test",
            "--dns-search",
            "b.test",
            "--dns-option",
            "ndots:2",
        ],
    );
    let ip = n.ip("etc", "bridge");
    let hosts = lines(&n.exec("etc", &["cat", "/etc/hosts"]).stdout);
    for want in [
        "127.0.0.1 localhost".to_string(),
        "198.18.1.1 foo.test".into(),
        "198.18.1.2 bar.test".into(),
        format!("{ip} myhost"),
    ] {
        c.check(
            hosts.contains(&want),
            format!("/etc/hosts lacks {want:?}: {hosts:#?}"),
        );
    }
    let out = n.exec("etc", &["hostname"]);
    c.check(out.stdout == "myhost\n", format!("hostname: {out}"));
    let resolv = lines(&n.exec("etc", &["cat", "/etc/resolv.conf"]).stdout);
    let ns: Vec<&String> = resolv
        .iter()
        .filter(|l| l.starts_with("nameserver"))
        .collect();
    c.check(
        ns == ["nameserver 198.18.0.53"],
        format!("nameservers: {resolv:#?}"),
    );
    c.check(
        resolv.contains(&"search a.test b.test".into()),
        format!("search: {resolv:#?}"),
    );
    c.check(
        resolv.contains(&"options ndots:2".into()),
        format!("options: {resolv:#?}"),
    );
    let v = n.inspect("etc");
    c.check(
        v["HostConfig"]["ExtraHosts"]
            .to_string()
            .contains("foo.test:198.18.1.1")
            && v["HostConfig"]["Dns"][0] == "198.18.0.53"
            && v["HostConfig"]["DnsSearch"][1] == "b.test"
            && v["Config"]["Hostname"] == "myhost",
        format!("inspect: {} {}", v["HostConfig"], v["Config"]["Hostname"]),
    );

    // A user network: the embedded DNS server is the only nameserver; search domains stay.
    n.cli(&["network", "create", "etcnet"]).assert_ok();
    n.sleeper(
        "etc2",
        &[
            "--network",
            "etcnet",
            "--dns-search",
            "x.test",
            "--add-host",
            "gw.test:198.18.1.3",
        ],
    );
    let resolv = lines(&n.exec("etc2", &["cat", "/etc/resolv.conf"]).stdout);
    let ns: Vec<&String> = resolv
        .iter()
        .filter(|l| l.starts_with("nameserver"))
        .collect();
    c.check(
        ns == ["nameserver 127.0.0.11"],
        format!("user network nameservers: {resolv:#?}"),
    );
    c.check(
        resolv.contains(&"search x.test".into()),
        format!("user network search: {resolv:#?}"),
    );
    let id = n.inspect("etc2")["Id"].as_str().unwrap().to_string();
    let ip2 = n.ip("etc2", "etcnet");
    let hosts = lines(&n.exec("etc2", &["cat", "/etc/hosts"]).stdout);
    for want in [format!("{ip2} {}", &id[..12]), "198.18.1.3 gw.test".into()] {
        c.check(
            hosts.contains(&want),
            format!("/etc/hosts lacks {want:?}: {hosts:#?}"),
        );
    }
    c.finish();
}
