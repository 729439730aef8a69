//! Hairpin through a host port, and the network modes host, none and container:<other>.

use rdocker_tests::e2e::Checks;
use rdocker_tests::require_root;

use crate::common::*;

#[test]
fn hairpin_through_the_host_port() {
    require_root!();
    let n = Net::start();
    let mut c = Checks::default();
    let p = free_port();
    n.httpd("hp", &["-p", &format!("{p}:80")], &[]);
    n.sleeper("other", &[]);
    n.cli(&["network", "create", "elsewhere"]).assert_ok();
    n.sleeper("far", &["--network", "elsewhere"]);
    let gw = n.gateway("hp", "bridge");
    let url = format!("http://{gw}:{p}/");
    let want = format!("{MARK} hp\n");
    // The container reaches itself through the host's port …
    let out = n.wget_until("hp", &url, MARK);
    c.check(out.stdout == want, format!("itself via {url}: {out}"));
    // … a second container on the same bridge does too …
    let out = n.wget_until("other", &url, MARK);
    c.check(out.stdout == want, format!("other via {url}: {out}"));
    // … and one on another network: a published port is public.
    let out = n.wget_until("far", &url, MARK);
    c.check(out.stdout == want, format!("far via {url}: {out}"));
    c.finish();
}

fn link_names(ip_link: &str) -> Vec<String> {
    // `ip -o link` lines: "1: lo: <LOOPBACK,…"; veth peers print as "eth0@if12".
    ip_link
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect()
}

#[test]
fn network_host_none_and_container_modes() {
    require_root!();
    let n = Net::start();
    let mut c = Checks::default();
    let out = n.cli(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    let names = link_names(&out.stdout);
    let host_out = std::process::Command::new("ip")
        .args(["-o", "link"])
        .output()
        .unwrap();
    let host_names = link_names(&String::from_utf8_lossy(&host_out.stdout));
    c.check(
        out.success() && names.contains(&"lo".into()) && names.contains(&"eth0".into()),
        format!("host mode sees lo and eth0: {out}"),
    );
    // Other tests add and remove bridges and veths meanwhile: compare the links that stay.
    let stable =
        |l: &String| !l.starts_with("rdt") && !l.starts_with("veth") && !l.starts_with("br-");
    c.check(
        host_names.contains(&"eth0".into())
            && host_names
                .iter()
                .filter(|l| stable(l))
                .all(|x| names.contains(x)),
        format!("host mode sees the host's links: {names:?} vs {host_names:?}"),
    );
    let v = {
        let id = n.sleeper("hostmode", &["--network", "host"]);
        n.inspect(&id)
    };
    c.check(
        v["HostConfig"]["NetworkMode"] == "host"
            && v["NetworkSettings"]["Networks"]["host"].is_object(),
        format!("inspect of a host-mode container: {}", v["NetworkSettings"]),
    );

    let out = n.cli(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    c.check(
        out.success() && link_names(&out.stdout) == ["lo"],
        format!("none mode has only lo: {out}"),
    );

    n.sleeper("base", &[]);
    let ip = n.ip("base", "bridge");
    let out = n.cli(&[
        "run",
        "--rm",
        "--network",
        "container:base",
        "busybox",
        "ip",
        "-o",
        "-4",
        "addr",
    ]);
    c.check(
        out.success() && out.stdout.contains(&format!("inet {ip}/")),
        format!("container:base shares {ip}: {out}"),
    );
    // Ports of a joined namespace are the other container's: docker refuses -p with it.
    let out = n.cli(&[
        "run",
        "--rm",
        "--network",
        "container:base",
        "-p",
        "80",
        "busybox",
        "true",
    ]);
    c.check(
        !out.success() && out.code == Some(125),
        format!("-p with container: mode is refused: {out}"),
    );
    c.finish();
}
