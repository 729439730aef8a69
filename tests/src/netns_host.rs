//! A "test host" standing for the outside world in networking tests: a network namespace of
//! its own, linked to the host by a veth pair with a /30 from 198.18.0.0/15 (the benchmarking
//! range, RFC 2544: never routed beyond this machine), serving a tiny TCP server that answers
//! every connection with the source address it saw. Outbound NAT is tested against it, never
//! against a real outside address. Everything is removed by `Drop`.
//!
//! Also: sockets inside another process's network namespace ([`bind_udp_in`]), for servers the
//! busybox image cannot run (its `nc` has no `-u`).

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::util::run_checked;

/// The TCP port the test host's server listens on.
pub const SERVER_PORT: u16 = 8080;

/// Host-wide lock serializing address choice across concurrent test processes.
const LOCK: &str = "/run/rdocker-tests-testhost.lock";

/// `n` random hex digits from the kernel.
pub fn rand_hex(n: usize) -> String {
    let mut b = vec![0u8; n.div_ceil(2)];
    // SAFETY: getrandom writes at most b.len() bytes into the valid, exclusively borrowed buffer.
    let got = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if got != b.len() as isize {
        // Uniqueness still holds well enough from pid and time for a test name.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        b = (t ^ std::process::id()).to_be_bytes().to_vec();
        b.resize(n.div_ceil(2), 0);
    }
    let mut s = hex::encode(b);
    s.truncate(n);
    s
}

/// Runs `f` on a fresh thread that first joins the network namespace at `ns` (a netns file or
/// `/proc/<pid>/ns/net`). setns(CLONE_NEWNET) affects only the calling thread, so the test
/// process itself never changes namespace; sockets made there stay in that namespace.
pub fn in_netns<T: Send + 'static>(
    ns: &Path,
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T> {
    let file = File::open(ns).with_context(|| format!("opening {}", ns.display()))?;
    let h = std::thread::spawn(move || -> std::io::Result<T> {
        // SAFETY: setns on a valid namespace fd, affecting only this short-lived thread.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        f()
    });
    match h.join() {
        Ok(r) => Ok(r?),
        Err(_) => bail!("thread in {} panicked", ns.display()),
    }
}

/// A UDP socket bound to `0.0.0.0:port` inside the network namespace of process `pid`.
pub fn bind_udp_in(pid: u32, port: u16) -> Result<UdpSocket> {
    in_netns(Path::new(&format!("/proc/{pid}/ns/net")), move || {
        UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port))
    })
}

/// The test host; removed on drop.
pub struct TestHost {
    ns_name: String,
    host_veth: String,
    /// The host side's address (what masquerade makes the source of container traffic).
    pub host_addr: Ipv4Addr,
    /// The test host's own address, where its server listens on [`SERVER_PORT`].
    pub addr: Ipv4Addr,
    peers: Arc<Mutex<Vec<Ipv4Addr>>>,
    stop: Arc<AtomicBool>,
    server: Option<JoinHandle<()>>,
}

impl TestHost {
    pub fn start() -> Result<TestHost> {
        let lock = File::create(LOCK).with_context(|| format!("creating {LOCK}"))?;
        // SAFETY: flock on a descriptor we own for the duration of the call.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error()).context("locking {LOCK}");
        }
        let (host_addr, addr) = pick_addrs()?;
        let tag = rand_hex(6);
        let mut th = TestHost {
            ns_name: format!("rdt-th-{tag}"),
            host_veth: format!("rdth{tag}"),
            host_addr,
            addr,
            peers: Arc::default(),
            stop: Arc::default(),
            server: None,
        };
        // From here on, Drop removes whatever part was made.
        let ip = |args: &[&str]| run_checked(Command::new("ip").args(args)).map(|_| ());
        ip(&["netns", "add", &th.ns_name])?;
        ip(&[
            "link",
            "add",
            &th.host_veth,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &th.ns_name,
        ])?;
        ip(&[
            "addr",
            "add",
            &format!("{host_addr}/30"),
            "dev",
            &th.host_veth,
        ])?;
        ip(&["link", "set", &th.host_veth, "up"])?;
        let n = th.ns_name.clone();
        ip(&[
            "-n",
            &n,
            "addr",
            "add",
            &format!("{addr}/30"),
            "dev",
            "eth0",
        ])?;
        ip(&["-n", &n, "link", "set", "eth0", "up"])?;
        ip(&["-n", &n, "link", "set", "lo", "up"])?;
        drop(lock);
        let listener = in_netns(
            Path::new(&format!("/run/netns/{}", th.ns_name)),
            move || {
                let l = TcpListener::bind((addr, SERVER_PORT))?;
                l.set_nonblocking(true)?;
                Ok(l)
            },
        )?;
        let (peers, stop) = (th.peers.clone(), th.stop.clone());
        th.server = Some(std::thread::spawn(move || serve(listener, peers, stop)));
        Ok(th)
    }

    /// Where the server listens.
    pub fn server(&self) -> SocketAddr {
        SocketAddr::from((self.addr, SERVER_PORT))
    }

    /// The source addresses of the connections the server accepted so far.
    pub fn peers(&self) -> Vec<Ipv4Addr> {
        self.peers.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// The namespace's name (`ip netns exec <name>` works for debugging).
    pub fn ns_name(&self) -> &str {
        &self.ns_name
    }
}

/// Accepts until `stop`: answers "seen <source ip>\n" and records the source.
fn serve(l: TcpListener, peers: Arc<Mutex<Vec<Ipv4Addr>>>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match l.accept() {
            Ok((mut s, peer)) => {
                let ip = match peer.ip() {
                    std::net::IpAddr::V4(v4) => v4,
                    std::net::IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
                };
                if let Ok(mut p) = peers.lock() {
                    p.push(ip);
                }
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
                // Read what an HTTP client sends, so that wget gets a whole answer.
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let body = format!("seen {ip}\n");
                let _ = s.write_all(
                    format!(
                        "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A free /30 of 198.18.128.0/17 (the network crate's own tests use 198.18.<small>.0/24):
/// (host side .1, test host .2). Free = no address of the host in it.
fn pick_addrs() -> Result<(Ipv4Addr, Ipv4Addr)> {
    let out = run_checked(Command::new("ip").args(["-j", "-4", "addr"]))?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let used: Vec<Ipv4Addr> = v
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["local"].as_str()?.parse().ok())
        .collect();
    for _ in 0..200 {
        let r = u32::from_str_radix(&rand_hex(4), 16).unwrap_or(0);
        let x = 128 + (r >> 8) % 128;
        let y = (r & 0x3f) * 4;
        let base = u32::from(Ipv4Addr::new(198, 18, x as u8, y as u8));
        if used.iter().all(|a| u32::from(*a) & !3 != base) {
            return Ok((Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2)));
        }
    }
    bail!("no free /30 in 198.18.128.0/17")
}

impl Drop for TestHost {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.server.take() {
            let _ = h.join();
        }
        // Deleting one end removes its peer; both names are ours alone.
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_veth])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.ns_name])
            .output();
    }
}
