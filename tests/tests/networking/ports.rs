//! Published ports, as `docker run -p/-P` behaves: loopback-only and all-address bindings,
//! random host ports (`rdocker port`), `--expose -P`, ranges, UDP, inspect/ps shapes.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use rdocker_tests::e2e::Checks;
use rdocker_tests::netns_host::bind_udp_in;
use rdocker_tests::require_root;

use crate::common::*;

#[test]
fn publish_on_loopback_and_on_every_address() {
    require_root!();
    let n = Net::start();
    let mut c = Checks::default();
    let (p1, p2) = (free_port(), free_port());
    n.httpd("lo-only", &["-p", &format!("127.0.0.1:{p1}:80")], &[]);
    n.httpd("every", &["-p", &format!("{p2}:80")], &[]);
    let gw = n.gateway("every", "bridge");

    // From the host: curl and a plain TcpStream, at 127.0.0.1.
    let got = http_until(SocketAddr::from(([127, 0, 0, 1], p1)), MARK);
    c.check(got.is_ok(), format!("127.0.0.1:{p1} (TcpStream): {got:?}"));
    let out = curl(&format!("http://127.0.0.1:{p1}/"));
    c.check(
        out.stdout == format!("{MARK} lo-only\n"),
        format!("curl 127.0.0.1:{p1}: {out}"),
    );
    let got = http_until(SocketAddr::from(([127, 0, 0, 1], p2)), MARK);
    c.check(
        got.as_deref() == Ok(&format!("{MARK} every\n")),
        format!("127.0.0.1:{p2}: {got:?}"),
    );
    // At the bridge gateway (a host address): only the all-address binding answers.
    let out = curl(&format!("http://{gw}:{p2}/"));
    c.check(
        out.stdout.contains(MARK),
        format!("curl gateway {gw}:{p2}: {out}"),
    );
    let r = http_get(SocketAddr::from((gw, p1)));
    c.check(
        r.is_err(),
        format!("127.0.0.1-only port answered at {gw}:{p1}: {r:?}"),
    );

    // inspect, port, ps as docker shows them.
    let v = n.inspect("lo-only");
    let p1s = p1.to_string();
    let ports = &v["NetworkSettings"]["Ports"]["80/tcp"];
    c.check(
        ports[0]["HostIp"] == "127.0.0.1" && ports[0]["HostPort"] == p1s.as_str(),
        format!("NetworkSettings.Ports: {}", v["NetworkSettings"]["Ports"]),
    );
    c.check(
        v["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"] == p1s.as_str(),
        format!(
            "HostConfig.PortBindings: {}",
            v["HostConfig"]["PortBindings"]
        ),
    );
    c.check(
        n.host_port("every", "80/tcp", "0.0.0.0") == p2,
        "0.0.0.0 binding in inspect",
    );
    let out = n.cli(&["port", "lo-only"]);
    c.check(
        out.stdout == format!("80/tcp -> 127.0.0.1:{p1}\n"),
        format!("port: {out}"),
    );
    let out = n.cli(&["port", "lo-only", "80"]);
    c.check(
        out.stdout == format!("127.0.0.1:{p1}\n"),
        format!("port c 80: {out}"),
    );
    let out = n.cli(&["port", "lo-only", "81"]);
    c.check(
        !out.success()
            && out
                .stderr
                .contains("No public port '81' published for lo-only"),
        format!("port of an unpublished port: {out}"),
    );
    let out = n.cli(&["ps", "--format", "{{.Names}} {{.Ports}}"]);
    c.check(
        out.stdout
            .contains(&format!("lo-only 127.0.0.1:{p1}->80/tcp")),
        format!("ps Ports: {out}"),
    );
    c.check(
        out.stdout.contains(&format!("every 0.0.0.0:{p2}->80/tcp")),
        format!("ps Ports: {out}"),
    );
    let (code, body) = n.d.api(
        "GET",
        "/containers/json?filters=%7B%22name%22%3A%5B%22lo-only%22%5D%7D",
    );
    let list: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let p = &list[0]["Ports"][0];
    c.check(
        code == 200
            && p["IP"] == "127.0.0.1"
            && p["PrivatePort"] == 80
            && p["PublicPort"] == p1
            && p["Type"] == "tcp",
        format!("GET /containers/json Ports: {body}"),
    );
    c.finish();
}

#[test]
fn publish_random_port_and_exposed_ports() {
    require_root!();
    let n = Net::start();
    let mut c = Checks::default();
    n.httpd("rnd", &["-p", "80"], &[]);
    n.httpd("all", &["--expose", "80", "-P"], &[]);
    for name in ["rnd", "all"] {
        let out = n.cli(&["port", name, "80/tcp"]);
        let first = out.stdout.lines().next().unwrap_or_default().to_string();
        let port: Option<u16> = first.strip_prefix("0.0.0.0:").and_then(|p| p.parse().ok());
        c.check(
            port.is_some_and(|p| p > 0),
            format!("{name}: port prints 0.0.0.0:<port> first: {out}"),
        );
        if let Some(p) = port {
            let got = http_until(SocketAddr::from(([127, 0, 0, 1], p)), name);
            c.check(got.is_ok(), format!("{name} at 127.0.0.1:{p}: {got:?}"));
            c.check(
                n.host_port(name, "80/tcp", "0.0.0.0") == p,
                format!("{name}: inspect agrees with port"),
            );
        }
    }
    // An exposed port without -P is listed with null bindings, as docker does.
    n.sleeper("exposed", &["--expose", "8080"]);
    let v = n.inspect("exposed");
    c.check(
        v["NetworkSettings"]["Ports"]
            .as_object()
            .is_some_and(|m| m.get("8080/tcp") == Some(&serde_json::Value::Null)),
        format!("exposed, unpublished: {}", v["NetworkSettings"]["Ports"]),
    );
    c.finish();
}

#[test]
fn publish_a_port_range() {
    require_root!();
    let n = Net::start();
    let p = free_port_pair();
    let spec = format!("127.0.0.1:{}-{}:80-81", p, p + 1);
    n.httpd("range", &["-p", &spec], &[81]);
    for port in [p, p + 1] {
        let got = http_until(SocketAddr::from(([127, 0, 0, 1], port)), "range");
        assert!(got.is_ok(), "{port}: {got:?}\n{}", n.log_tail());
    }
    let out = n.cli(&["port", "range"]);
    assert_eq!(
        out.stdout,
        format!("80/tcp -> 127.0.0.1:{p}\n81/tcp -> 127.0.0.1:{}\n", p + 1),
        "{out}"
    );
}

#[test]
fn publish_udp() {
    require_root!();
    let n = Net::start();
    let (p1, p2) = (free_port(), free_port());
    // busybox's nc has no -u: the test serves UDP from a socket inside the container's netns.
    n.sleeper(
        "udp",
        &[
            "-p",
            &format!("127.0.0.1:{p1}:5353/udp"),
            "-p",
            &format!("{p2}:5354/udp"),
        ],
    );
    let pid = n.d.container_pid("udp").expect("running");
    let gw = n.gateway("udp", "bridge");
    let s1 = bind_udp_in(pid, 5353).expect("udp socket in the container");
    let s2 = bind_udp_in(pid, 5354).expect("udp socket in the container");
    let out = n.cli(&["port", "udp"]);
    assert!(
        out.stdout.contains(&format!("5353/udp -> 127.0.0.1:{p1}")),
        "{out}"
    );
    for (srv, to) in [
        (&s1, SocketAddr::from(([127, 0, 0, 1], p1))),
        (&s2, SocketAddr::from((gw, p2))),
    ] {
        srv.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = if to.ip().is_loopback() {
            client
        } else {
            UdpSocket::bind("0.0.0.0:0").unwrap()
        };
        client
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        client.send_to(b"ping", to).unwrap();
        let mut buf = [0u8; 64];
        let (k, from) = srv
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("nothing arrived through {to}: {e}\n{}", n.log_tail()));
        assert_eq!(&buf[..k], b"ping");
        srv.send_to(b"pong", from).unwrap();
        let k = client
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no answer through {to}: {e}"));
        assert_eq!(&buf[..k], b"pong", "answer through {to}");
    }
}
