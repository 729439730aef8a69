//! The stock docker CLI (DOCKER_HOST=unix://<rdockerd>) with networks and published ports:
//! `network create/ls/inspect/connect/disconnect/rm/prune`, `run -p`, `port`, `ps`. Expected
//! output is docker 28's. Fails without a docker CLI when CI is set.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rdocker_tests::e2e::{docker_cli, registry_and_daemon, Checks};
use rdocker_tests::util::{free_port, wait_for};
use rdocker_tests::{require_root, CliOutput, RegistryAuth, TestDaemon};

fn docker_or_skip(test: &str) -> Option<PathBuf> {
    let d = docker_cli();
    if d.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: no docker CLI and CI is set (scripts/install-deps installs docker.io)"
        );
        eprintln!("SKIP {test}: no docker CLI");
    }
    d
}

const HTTPD: &str =
    "mkdir -p /www && echo served-$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www";

fn get(port: u16) -> Option<String> {
    let mut s = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out.split_once("\r\n\r\n")?.1.to_string())
}

struct Dk<'a> {
    d: &'a TestDaemon,
    docker: &'a Path,
}

impl Dk<'_> {
    fn run(&self, args: &[&str]) -> CliOutput {
        self.d.docker(self.docker, args)
    }
}

#[test]
fn docker_network_commands() {
    require_root!();
    let Some(docker) = docker_or_skip("docker_network_commands") else {
        return;
    };
    let (_reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    let dk = Dk {
        d: &d,
        docker: &docker,
    };
    dk.run(&["pull", "busybox"]).assert_ok();
    let mut c = Checks::default();

    let out = dk.run(&["network", "create", "--label", "team=a", "dnet"]);
    let id = out.stdout.trim().to_string();
    c.check(
        out.success() && id.len() == 64,
        format!("create prints the id: {out}"),
    );
    let out = dk.run(&["network", "ls"]);
    let header: Vec<&str> = out
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    c.check(
        header == ["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
        format!("ls header: {out}"),
    );
    for (name, driver) in [
        ("bridge", "bridge"),
        ("host", "host"),
        ("none", "null"),
        ("dnet", "bridge"),
    ] {
        c.check(
            out.stdout.lines().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() == 4 && f[1] == name && f[2] == driver && f[3] == "local"
            }),
            format!("ls lists {name} ({driver}, local): {out}"),
        );
    }
    let out = dk.run(&["network", "ls", "-q", "--filter", "label=team=a"]);
    c.check(
        id.len() == 64 && out.stdout == format!("{}\n", &id[..12]),
        format!("ls --filter label: {out}"),
    );
    let out = dk.run(&["network", "inspect", "dnet"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
    let n = &v[0];
    c.check(
        n["Name"] == "dnet"
            && n["Id"] == id.as_str()
            && n["Driver"] == "bridge"
            && n["Scope"] == "local"
            && n["Internal"] == false
            && n["Labels"]["team"] == "a"
            && n["IPAM"]["Config"][0]["Subnet"].is_string()
            && n["IPAM"]["Config"][0]["Gateway"].is_string(),
        format!("inspect: {out}"),
    );

    dk.run(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "dnet",
        "busybox",
        "sh",
        "-c",
        HTTPD,
    ])
    .assert_ok();
    dk.run(&["run", "-d", "--name", "box", "busybox", "sleep", "300"])
        .assert_ok();
    let out = dk.run(&["network", "connect", "--alias", "pal", "dnet", "box"]);
    c.check(
        out.success() && out.stdout.is_empty(),
        format!("connect: {out}"),
    );
    // Docker starts the embedded DNS for a container once it joins a user network, even one
    // started on the default bridge (its resolv.conf then names 127.0.0.11).
    let fetched = wait_for(Duration::from_secs(10), || {
        let o = dk.run(&["exec", "box", "timeout", "3", "wget", "-qO-", "http://web/"]);
        o.stdout.starts_with("served-").then_some(o)
    });
    if fetched.is_none() {
        let o = dk.run(&["exec", "box", "timeout", "3", "wget", "-qO-", "http://web/"]);
        let r = dk.run(&["exec", "box", "cat", "/etc/resolv.conf"]);
        c.check(
            false,
            format!("box reaches web by name after connect: {o}{r}"),
        );
    }
    let out = dk.run(&[
        "network",
        "inspect",
        "-f",
        "{{range .Containers}}{{.Name}} {{end}}",
        "dnet",
    ]);
    let mut names: Vec<&str> = out.stdout.split_whitespace().collect();
    names.sort();
    c.check(names == ["box", "web"], format!("Containers: {out}"));
    let out = dk.run(&[
        "inspect",
        "-f",
        "{{json .NetworkSettings.Networks.dnet.Aliases}}",
        "box",
    ]);
    c.check(out.stdout.contains("\"pal\""), format!("alias: {out}"));
    let out = dk.run(&["network", "disconnect", "dnet", "box"]);
    c.check(out.success(), format!("disconnect: {out}"));
    let out = dk.run(&["exec", "box", "timeout", "3", "wget", "-qO-", "http://web/"]);
    c.check(
        !out.success(),
        format!("web unreachable after disconnect: {out}"),
    );

    let out = dk.run(&["network", "rm", "dnet"]);
    c.check(
        out.code == Some(1) && out.stderr.contains("has active endpoints"),
        format!("rm in use: {out}"),
    );
    dk.run(&["rm", "-f", "web"]).assert_ok();
    let out = dk.run(&["network", "rm", "dnet"]);
    c.check(out.stdout == "dnet\n", format!("rm: {out}"));
    let out = dk.run(&["network", "inspect", "dnet"]);
    c.check(out.code == Some(1), format!("inspect after rm: {out}"));

    dk.run(&["network", "create", "unused"]).assert_ok();
    let out = dk.run(&["network", "prune", "-f"]);
    c.check(
        out.stdout == "Deleted Networks:\nunused\n\n"
            || out.stdout == "Deleted Networks:\nunused\n",
        format!("prune: {out}"),
    );
    c.finish();
}

#[test]
fn docker_run_publish_and_port() {
    require_root!();
    let Some(docker) = docker_or_skip("docker_run_publish_and_port") else {
        return;
    };
    let (_reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    let dk = Dk {
        d: &d,
        docker: &docker,
    };
    dk.run(&["pull", "busybox"]).assert_ok();
    let mut c = Checks::default();
    let p = free_port().unwrap();
    let spec = format!("127.0.0.1:{p}:80");
    dk.run(&[
        "run", "-d", "--name", "pub", "-p", &spec, "busybox", "sh", "-c", HTTPD,
    ])
    .assert_ok();
    dk.run(&[
        "run", "-d", "--name", "rnd", "-p", "80", "busybox", "sh", "-c", HTTPD,
    ])
    .assert_ok();
    let body = wait_for(Duration::from_secs(10), || {
        get(p).filter(|b| b.starts_with("served-"))
    });
    c.check(body.is_some(), format!("127.0.0.1:{p} serves\n{}", d.log()));
    let out = dk.run(&["port", "pub"]);
    c.check(
        out.stdout == format!("80/tcp -> 127.0.0.1:{p}\n"),
        format!("port: {out}"),
    );
    let out = dk.run(&["port", "rnd", "80/tcp"]);
    let rp: Option<u16> = out
        .stdout
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("0.0.0.0:"))
        .and_then(|p| p.parse().ok());
    c.check(rp.is_some(), format!("port rnd 80/tcp: {out}"));
    if let Some(rp) = rp {
        let body = wait_for(Duration::from_secs(10), || {
            get(rp).filter(|b| b.starts_with("served-"))
        });
        c.check(body.is_some(), format!("random port {rp} serves"));
    }
    let out = dk.run(&["port", "pub", "81"]);
    c.check(
        out.code == Some(1) && out.stderr.contains("No public port '81' published for pub"),
        format!("port of an unpublished port: {out}"),
    );
    let out = dk.run(&["ps", "--format", "{{.Names}}\t{{.Ports}}"]);
    c.check(
        out.stdout
            .lines()
            .any(|l| l == format!("pub\t127.0.0.1:{p}->80/tcp")),
        format!("ps Ports: {out}"),
    );
    let out = dk.run(&["run", "--rm", "-p", "99999:80", "busybox", "true"]);
    c.check(
        out.code == Some(125) && out.stderr.contains("invalid hostPort: 99999"),
        format!("bad port: {out}"),
    );
    let out = dk.run(&[
        "run", "-d", "--name", "clash", "-p", &spec, "busybox", "true",
    ]);
    c.check(
        out.code == Some(125)
            && out.stderr.contains(&format!(
                "Bind for 127.0.0.1:{p} failed: port is already allocated"
            )),
        format!("port clash: {out}"),
    );
    c.finish();
}
