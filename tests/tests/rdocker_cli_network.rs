//! The rdocker CLI's networking commands end to end (issue 5): `network
//! create/ls/inspect/connect/disconnect/rm/prune`, `run -p` with `port` and the `ps` PORTS
//! column, `--network none`, and docker's errors for bad flag values.
//!
//! Traffic goes only to 127.0.0.1 (the published port); every network a test creates is
//! removed before it ends.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rdocker_tests::e2e::{registry_and_daemon, Checks};
use rdocker_tests::{require_root, RegistryAuth, TestDaemon, TestRegistry};
use serde_json::Value;

fn setup() -> (TestRegistry, TestDaemon) {
    let (reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    d.cli(&["pull", "busybox"]).assert_ok();
    (reg, d)
}

fn inspect(d: &TestDaemon, args: &[&str]) -> Value {
    let out = d.cli(args);
    out.assert_ok();
    let v: Value = serde_json::from_str(&out.stdout).expect("inspect prints JSON");
    v[0].clone()
}

/// A /24 of our own outside the daemons' default pools, different per test process so
/// that test runs side by side do not ask for the same one.
fn private_subnet() -> (String, String) {
    let n = std::process::id() % 200 + 20;
    (format!("10.231.{n}.0/24"), format!("10.231.{n}.1"))
}

#[test]
fn rdocker_network_commands() {
    require_root!();
    let (_reg, d) = setup();
    let mut c = Checks::default();
    let (subnet, gateway) = private_subnet();

    // create prints the id; ls, inspect and --format show the network as docker does.
    let out = d.cli(&[
        "network",
        "create",
        "--subnet",
        &subnet,
        "--gateway",
        &gateway,
        "--label",
        "k=v",
        "tnet",
    ]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    c.check(
        id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        format!("create prints the id: {out}"),
    );
    let ls = d.cli(&["network", "ls"]);
    ls.assert_ok();
    let header = ls.stdout.lines().next().unwrap_or_default();
    c.check(
        header.split_whitespace().collect::<Vec<_>>()
            == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"],
        format!("ls header: {ls}"),
    );
    c.check(
        ls.stdout.lines().any(|l| {
            l.split_whitespace().collect::<Vec<_>>() == [&id[..12], "tnet", "bridge", "local"]
        }),
        format!("ls row of tnet: {ls}"),
    );
    let q = d.cli(&["network", "ls", "-q", "--no-trunc"]);
    c.check(
        q.stdout.lines().any(|l| l == id),
        format!("ls -q --no-trunc: {q}"),
    );
    let f = d.cli(&[
        "network",
        "ls",
        "--filter",
        "name=tnet",
        "--format",
        "{{.Name}} {{.Driver}} {{.Internal}}",
    ]);
    c.check(
        f.stdout == "tnet bridge false\n",
        format!("ls --format: {f}"),
    );
    let n = inspect(&d, &["network", "inspect", "tnet"]);
    c.check(
        n["Name"] == "tnet" && n["Id"] == id.as_str(),
        format!("inspect: {n}"),
    );
    c.check(
        n["IPAM"]["Config"][0]["Subnet"] == subnet.as_str()
            && n["IPAM"]["Config"][0]["Gateway"] == gateway.as_str(),
        format!("inspect IPAM: {n}"),
    );
    c.check(n["Labels"]["k"] == "v", format!("inspect labels: {n}"));
    let f = d.cli(&["network", "inspect", "-f", "{{.Name}} {{.Driver}}", "tnet"]);
    c.check(f.stdout == "tnet bridge\n", format!("inspect -f: {f}"));

    // A container on it, another network connected and disconnected.
    d.cli(&[
        "run",
        "-d",
        "--name",
        "c1",
        "--network",
        "tnet",
        "--network-alias",
        "web",
        "busybox",
        "sleep",
        "300",
    ])
    .assert_ok();
    let n = inspect(&d, &["network", "inspect", "tnet"]);
    c.check(
        n["Containers"].as_object().is_some_and(|m| m.len() == 1),
        format!("tnet lists c1: {n}"),
    );
    let ctr = inspect(&d, &["inspect", "c1"]);
    let aliases = &ctr["NetworkSettings"]["Networks"]["tnet"]["Aliases"];
    c.check(
        aliases
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "web")),
        format!("c1's alias on tnet: {aliases}"),
    );
    d.cli(&["network", "create", "tnet2"]).assert_ok();
    let con = d.cli(&["network", "connect", "--alias", "extra", "tnet2", "c1"]);
    c.check(
        con.success() && con.stdout.is_empty(),
        format!("connect: {con}"),
    );
    let ctr = inspect(&d, &["inspect", "c1"]);
    c.check(
        ctr["NetworkSettings"]["Networks"]["tnet2"]["Aliases"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "extra")),
        format!("c1 on tnet2 with its alias: {}", ctr["NetworkSettings"]),
    );
    let dis = d.cli(&["network", "disconnect", "tnet2", "c1"]);
    c.check(
        dis.success() && dis.stdout.is_empty(),
        format!("disconnect: {dis}"),
    );
    let ctr = inspect(&d, &["inspect", "c1"]);
    c.check(
        ctr["NetworkSettings"]["Networks"].get("tnet2").is_none(),
        format!("c1 left tnet2: {}", ctr["NetworkSettings"]),
    );

    // rm: in use and unknown networks fail (exit 1, the daemon's words); the names removed
    // are printed.
    let busy = d.cli(&["network", "rm", "tnet"]);
    c.check(
        busy.code == Some(1) && busy.stderr.starts_with("Error response from daemon: "),
        format!("rm of a network in use: {busy}"),
    );
    let none = d.cli(&["network", "rm", "nosuchnet"]);
    c.check(
        none.code == Some(1)
            && none.stderr.starts_with("Error response from daemon: ")
            && none.stderr.contains("nosuchnet"),
        format!("rm of an unknown network: {none}"),
    );
    let forced = d.cli(&["network", "rm", "-f", "nosuchnet"]);
    c.check(
        forced.success(),
        format!("rm -f of an unknown network: {forced}"),
    );
    d.cli(&["rm", "-f", "c1"]).assert_ok();
    let rm = d.cli(&["network", "rm", "tnet"]);
    c.check(rm.success() && rm.stdout == "tnet\n", format!("rm: {rm}"));

    // prune removes the unused ones and lists them.
    d.cli(&["network", "create", "tnet3"]).assert_ok();
    let p = d.cli(&["network", "prune", "-f"]);
    c.check(
        p.success()
            && p.stdout.starts_with("Deleted Networks:\n")
            && p.stdout.lines().any(|l| l == "tnet2")
            && p.stdout.lines().any(|l| l == "tnet3"),
        format!("prune: {p}"),
    );
    let ls = d.cli(&["network", "ls", "--format", "{{.Name}}"]);
    c.check(
        !ls.stdout.lines().any(|l| l.starts_with("tnet")),
        format!("ls after prune: {ls}"),
    );

    // Refused before the daemon is asked, as docker's CLI refuses them.
    let bad = d.cli(&[
        "network",
        "create",
        "--subnet",
        "10.232.0.0/24",
        "--gateway",
        "10.233.0.1",
        "x",
    ]);
    c.check(
        bad.code == Some(1) && bad.stderr == "no matching subnet for gateway 10.233.0.1\n",
        format!("gateway outside the subnet: {bad}"),
    );
    let bad = d.cli(&["network", "create"]);
    c.check(
        bad.code == Some(1)
            && bad
                .stderr
                .starts_with("rdocker: 'rdocker network create' requires 1 argument"),
        format!("create without a name: {bad}"),
    );
    c.finish();
}

/// GET / on 127.0.0.1:port, retried while the server starts; the whole answer.
fn http_get(port: u16) -> String {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
            let mut buf = String::new();
            s.read_to_string(&mut buf)?;
            Ok(buf)
        })();
        match attempt {
            Ok(body) if !body.is_empty() => return body,
            _ if Instant::now() > deadline => return format!("no answer: {attempt:?}"),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
fn rdocker_publish_port_and_ps() {
    require_root!();
    let (_reg, d) = setup();
    let mut c = Checks::default();

    d.cli(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        "127.0.0.1::80",
        "busybox",
        "sh",
        "-c",
        "echo hello-from-httpd > /tmp/index.html && exec httpd -f -p 80 -h /tmp",
    ])
    .assert_ok();
    let port = d.cli(&["port", "web"]);
    port.assert_ok();
    let host_port: Option<u16> = port
        .stdout
        .strip_prefix("80/tcp -> 127.0.0.1:")
        .and_then(|p| p.trim_end().parse().ok());
    c.check(
        host_port.is_some() && port.stdout.lines().count() == 1,
        format!("port lists the mapping: {port}"),
    );
    let hp = host_port.unwrap_or(0);
    let one = d.cli(&["port", "web", "80"]);
    c.check(
        one.stdout == format!("127.0.0.1:{hp}\n"),
        format!("port web 80: {one}"),
    );
    let same = d.cli(&["container", "port", "web", "80/tcp"]);
    c.check(same.stdout == one.stdout, format!("container port: {same}"));
    let missing = d.cli(&["port", "web", "81/tcp"]);
    c.check(
        missing.code == Some(1)
            && missing.stderr == "Error: No public port '81/tcp' published for web\n",
        format!("port of an unpublished port: {missing}"),
    );
    if hp != 0 {
        let answer = http_get(hp);
        c.check(
            answer.starts_with("HTTP/1.") && answer.contains("hello-from-httpd"),
            format!("httpd answers through the published port: {answer}"),
        );
    }
    let ps = d.cli(&["ps", "--filter", "name=web", "--format", "{{.Ports}}"]);
    c.check(
        ps.stdout == format!("127.0.0.1:{hp}->80/tcp\n"),
        format!("ps Ports: {ps}"),
    );
    let table = d.cli(&["ps"]);
    c.check(
        table
            .stdout
            .lines()
            .next()
            .is_some_and(|h| h.contains("PORTS"))
            && table.stdout.contains(&format!("127.0.0.1:{hp}->80/tcp")),
        format!("ps table: {table}"),
    );
    d.cli(&["rm", "-f", "web"]).assert_ok();

    // -P publishes what --expose exposes, on a port the daemon picks.
    d.cli(&[
        "run", "-d", "--name", "pall", "-P", "--expose", "8080", "busybox", "sleep", "300",
    ])
    .assert_ok();
    let p = d.cli(&["port", "pall", "8080"]);
    c.check(
        p.success()
            && p.stdout.lines().next().is_some_and(|l| {
                l.rsplit_once(':')
                    .is_some_and(|(_, n)| n.parse::<u16>().is_ok_and(|n| n > 0))
            }),
        format!("-P publishes the exposed port: {p}"),
    );
    d.cli(&["rm", "-f", "pall"]).assert_ok();

    // A container port range: one mapping per port, each on a port the daemon picks.
    d.cli(&[
        "run",
        "-d",
        "--name",
        "rng",
        "-p",
        "127.0.0.1::7000-7001/udp",
        "busybox",
        "sleep",
        "300",
    ])
    .assert_ok();
    let p = d.cli(&["port", "rng"]);
    let lines: Vec<&str> = p.stdout.lines().collect();
    c.check(
        lines.len() == 2
            && lines[0].starts_with("7000/udp -> 127.0.0.1:")
            && lines[1].starts_with("7001/udp -> 127.0.0.1:"),
        format!("port of a published range: {p}"),
    );
    let ps = d.cli(&["ps", "--filter", "name=rng", "--format", "{{.Ports}}"]);
    c.check(
        ps.stdout.contains("->7000/udp") && ps.stdout.contains("->7001/udp"),
        format!("ps Ports of a range: {ps}"),
    );
    d.cli(&["rm", "-f", "rng"]).assert_ok();

    // --network none: only the loopback interface.
    let links = d.cli(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ls",
        "/sys/class/net",
    ]);
    c.check(
        links.stdout == "lo\n",
        format!("--network none has only lo: {links}"),
    );

    // --add-host and --dns reach the container's files.
    let files = d.cli(&[
        "run",
        "--rm",
        "--add-host",
        "myhost=10.9.8.7",
        "--dns",
        "10.0.0.53",
        "busybox",
        "cat",
        "/etc/hosts",
        "/etc/resolv.conf",
    ]);
    c.check(
        files.success()
            && files
                .stdout
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["10.9.8.7", "myhost"])
            && files.stdout.lines().any(|l| l == "nameserver 10.0.0.53"),
        format!("--add-host and --dns: {files}"),
    );

    // Bad values: docker's messages and exit 125, nothing created.
    let bad = d.cli(&["run", "-p", "99999", "busybox", "true"]);
    c.check(
        bad.code == Some(125)
            && bad.stderr
                == "rdocker: invalid containerPort: 99999\n\nRun 'rdocker run --help' for more information\n",
        format!("bad port: {bad}"),
    );
    let bad = d.cli(&["create", "-p", "80:80/xyz", "busybox"]);
    c.check(
        bad.code == Some(125) && bad.stderr.starts_with("rdocker: invalid proto: xyz\n"),
        format!("bad protocol: {bad}"),
    );
    let bad = d.cli(&["run", "--add-host", "nohost", "busybox", "true"]);
    c.check(
        bad.code == Some(125)
            && bad.stderr.starts_with(
                "invalid argument \"nohost\" for \"--add-host\" flag: bad format for add-host: \"nohost\"\n",
            ),
        format!("bad --add-host: {bad}"),
    );
    let all = d.cli(&["ps", "-a", "-q"]);
    c.check(all.stdout.is_empty(), format!("nothing was created: {all}"));
    c.finish();
}
