//! The suite's fixture: a registry with busybox, a private rdockerd, the CLI that drives it,
//! and small clients (HTTP over a TcpStream, curl) that only ever talk to loopback, container
//! addresses or the test host.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use rdocker_tests::daemon::run;
use rdocker_tests::e2e::docker_cli;
use rdocker_tests::{fixtures, CliOutput, RegistryAuth, TestDaemon, TestRegistry};
use serde_json::Value;

/// What every httpd container serves (followed by its name).
pub const MARK: &str = "rdocker-net-ok";

pub struct Net {
    pub d: TestDaemon,
    docker: Option<PathBuf>,
    _reg: TestRegistry,
}

impl Net {
    pub fn start() -> Net {
        Self::start_with(&[])
    }

    /// A daemon with extra flags (e.g. `--dns-upstream`), busybox pulled.
    pub fn start_with(extra: &[&str]) -> Net {
        let reg = TestRegistry::start(RegistryAuth::None).expect("registry starts");
        fixtures::push_sets(&reg, &["busybox"]).expect("fixtures push");
        let d = TestDaemon::start(&[reg.url()], extra).expect("rdockerd starts");
        let docker = match std::env::var("RDOCKER_NET_CLI").as_deref() {
            Ok("docker") => Some(docker_cli().expect("RDOCKER_NET_CLI=docker needs docker")),
            _ => None,
        };
        let n = Net {
            d,
            docker,
            _reg: reg,
        };
        n.cli(&["pull", "busybox"]).assert_ok();
        n
    }

    /// The CLI's name as it prefixes its error lines.
    pub fn prog(&self) -> &'static str {
        if self.docker.is_some() {
            "docker"
        } else {
            "rdocker"
        }
    }

    pub fn cli(&self, args: &[&str]) -> CliOutput {
        match &self.docker {
            Some(docker) => self.d.docker(docker, args),
            None => self.d.cli(args),
        }
    }

    /// `run -d <args>` that must succeed: the container's id.
    #[track_caller]
    pub fn run_d(&self, args: &[&str]) -> String {
        let mut v = vec!["run", "-d"];
        v.extend(args);
        let out = self.cli(&v);
        assert!(out.success(), "{out}\ndaemon log:\n{}", self.log_tail());
        out.stdout.trim().to_string()
    }

    /// busybox httpd on port 80 (and any `more_ports`) serving "MARK <name>", detached, with
    /// `flags` before the image.
    #[track_caller]
    pub fn httpd(&self, name: &str, flags: &[&str], more_ports: &[u16]) -> String {
        let mut script = format!("mkdir -p /www && echo {MARK} {name} > /www/index.html && ");
        for p in more_ports {
            script.push_str(&format!("httpd -p {p} -h /www && "));
        }
        script.push_str("exec httpd -f -p 80 -h /www");
        let mut args = vec!["--name", name];
        args.extend(flags);
        args.extend(["busybox", "sh", "-c", &script]);
        self.run_d(&args)
    }

    /// A container that sleeps, for exec'ing clients in.
    #[track_caller]
    pub fn sleeper(&self, name: &str, flags: &[&str]) -> String {
        let mut args = vec!["--name", name];
        args.extend(flags);
        args.extend(["busybox", "sleep", "600"]);
        self.run_d(&args)
    }

    pub fn exec(&self, name: &str, cmd: &[&str]) -> CliOutput {
        let mut v = vec!["exec", name];
        v.extend(cmd);
        self.cli(&v)
    }

    /// `wget -qO- <url>` inside `name`, killed after `secs` (busybox 1.35's `wget -T`
    /// segfaults when the connection fails, hiding the error: `timeout` bounds it instead).
    pub fn wget(&self, name: &str, url: &str, secs: u32) -> CliOutput {
        self.exec(name, &["timeout", &secs.to_string(), "wget", "-qO-", url])
    }

    /// `wget` inside `name` retried for up to 10 s until it prints `want` (servers start
    /// asynchronously after `run -d`).
    pub fn wget_until(&self, name: &str, url: &str, want: &str) -> CliOutput {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.wget(name, url, 2);
            if out.stdout.contains(want) || Instant::now() > deadline {
                return out;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn inspect(&self, name: &str) -> Value {
        self.d
            .inspect(name)
            .unwrap_or_else(|| panic!("inspect {name}: not found\n{}", self.log_tail()))
    }

    /// The container's address on `net` (NetworkSettings.Networks[net].IPAddress).
    #[track_caller]
    pub fn ip(&self, name: &str, net: &str) -> Ipv4Addr {
        let v = self.inspect(name);
        let ip = v["NetworkSettings"]["Networks"][net]["IPAddress"]
            .as_str()
            .unwrap_or_default();
        ip.parse()
            .unwrap_or_else(|_| panic!("no IPAddress on {net}: {}", v["NetworkSettings"]))
    }

    /// The gateway of the container's network `net` (a host address: the bridge's).
    #[track_caller]
    pub fn gateway(&self, name: &str, net: &str) -> Ipv4Addr {
        let v = self.inspect(name);
        let gw = v["NetworkSettings"]["Networks"][net]["Gateway"]
            .as_str()
            .unwrap_or_default();
        gw.parse()
            .unwrap_or_else(|_| panic!("no Gateway on {net}: {}", v["NetworkSettings"]))
    }

    /// The host port published for `port` ("80/tcp") on `host_ip` in NetworkSettings.Ports.
    #[track_caller]
    pub fn host_port(&self, name: &str, port: &str, host_ip: &str) -> u16 {
        let v = self.inspect(name);
        let ports = &v["NetworkSettings"]["Ports"][port];
        ports
            .as_array()
            .into_iter()
            .flatten()
            .find(|b| b["HostIp"] == host_ip)
            .and_then(|b| b["HostPort"].as_str()?.parse().ok())
            .unwrap_or_else(|| panic!("{port} not published on {host_ip}: {ports}"))
    }

    pub fn log_tail(&self) -> String {
        let log = self.d.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

/// One HTTP/1.0 GET over a plain TcpStream: the response body.
pub fn http_get(addr: SocketAddr) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or(out))
}

/// [`http_get`] retried for up to 10 s until the body holds `want`.
pub fn http_until(addr: SocketAddr, want: &str) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = http_get(addr);
        match &r {
            Ok(b) if b.contains(want) => return Ok(b.clone()),
            _ if Instant::now() > deadline => return Err(format!("{addr}: {r:?}")),
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// curl (never through a proxy) with a 5 s limit.
pub fn curl(url: &str) -> CliOutput {
    run(
        Command::new("curl")
            .args(["-s", "--noproxy", "*", "--max-time", "5"])
            .arg(url),
        Duration::from_secs(10),
    )
}

/// Two free consecutive ports on 127.0.0.1 (for a range).
pub fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let p = rdocker_tests::util::free_port().expect("free port");
        if p < 65000 && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
    panic!("no two consecutive free ports")
}

pub fn free_port() -> u16 {
    rdocker_tests::util::free_port().expect("free port")
}

/// A network name unique to this test run.
pub fn uniq(prefix: &str) -> String {
    format!("{prefix}-{}", rdocker_tests::netns_host::rand_hex(6))
}
