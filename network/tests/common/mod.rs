//! Shared helpers of the root-only network tests: unique names and Drop guards that remove what a
//! test created even when it fails. They only ever delete names this test run generated.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rdocker_network::netns::Netns;

/// Six random hex digits.
pub fn uniq() -> String {
    rdocker_network::endpoint::random_veth_name()
        .map(|v| v[5..].to_string())
        .unwrap_or_else(|_| format!("{:06x}", std::process::id() & 0xffffff))
}

pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "these tests need root");
}

/// Deletes a link we created (bridge or veth) on drop.
pub struct LinkGuard(pub String);
impl Drop for LinkGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).output();
    }
}

/// Removes a netns file we created on drop.
pub struct NsGuard(pub PathBuf);
impl Drop for NsGuard {
    fn drop(&mut self) {
        let _ = Netns::remove(&self.0);
    }
}

/// Deletes an nftables table we created (name must start with "rdocker") on drop.
pub struct TableGuard(pub String);
impl Drop for TableGuard {
    fn drop(&mut self) {
        assert!(self.0.starts_with("rdocker"));
        let _ = Command::new("nft")
            .args(["delete", "table", "ip", &self.0])
            .output();
    }
}

pub fn new_netns(dir: &Path, name: &str) -> (Netns, NsGuard) {
    let p = dir.join(name);
    let ns = Netns::create(&p).expect("create netns");
    (ns, NsGuard(p))
}

/// A TCP echo server inside `ns` on addr:port, serving `n` connections on a thread.
pub fn tcp_echo_in(ns: &Netns, addr: Ipv4Addr, port: u16, n: usize) {
    let l = ns
        .run(move || TcpListener::bind((addr, port)))
        .expect("run")
        .expect("bind in netns");
    std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((mut s, peer)) = l.accept() else {
                return;
            };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 64];
            let Ok(k) = s.read(&mut buf) else { continue };
            // Echo the payload followed by the peer address the server saw.
            let mut out = buf[..k].to_vec();
            out.extend_from_slice(format!(" from {}", peer.ip()).as_bytes());
            let _ = s.write_all(&out);
        }
    });
}

/// Connect to `to` from inside `ns` (or from the host when `ns` is None), send "ping", return the
/// answer ("ping from <source ip seen by the server>").
pub fn tcp_ping(ns: Option<&Netns>, to: SocketAddr) -> std::io::Result<String> {
    let f = move || -> std::io::Result<String> {
        let mut s = TcpStream::connect_timeout(&to, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(3)))?;
        s.write_all(b"ping")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    };
    match ns {
        Some(ns) => ns.run(f).expect("run"),
        None => f(),
    }
}

/// A "test host" standing for the outside world: its own netns, linked to the host by a veth
/// `<host side> 198.18.<n>.1/24 <-> 198.18.<n>.2/24` (benchmarking range, never routed out).
pub async fn outside_host(
    host: &rdocker_network::rtnl::Rtnl,
    dir: &Path,
    n: u8,
) -> (Netns, NsGuard, LinkGuard) {
    use rdocker_network::rtnl::Rtnl;
    use rtnetlink::packet_route::link::{InfoData, InfoKind, InfoVeth};
    use rtnetlink::{LinkMessageBuilder, LinkUnspec, LinkVeth};
    use std::os::fd::AsRawFd;
    let (ns, g) = new_netns(dir, "outside");
    let name = format!("rdt-o{}", uniq());
    let peer = LinkMessageBuilder::<LinkUnspec>::new()
        .name("eth0".to_string())
        .setns_by_fd(ns.fd().as_raw_fd())
        .build();
    let msg = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
        .name(name.clone())
        .up()
        .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
        .build();
    host.handle().link().add(msg).execute().await.unwrap();
    let lg = LinkGuard(name.clone());
    let idx = host.link_index(&name).await.unwrap().unwrap();
    host.add_addr(idx, Ipv4Addr::new(198, 18, n, 1), 24)
        .await
        .unwrap();
    let inside = Rtnl::in_netns(&ns).unwrap();
    let i = inside.link_index("eth0").await.unwrap().unwrap();
    inside
        .add_addr(i, Ipv4Addr::new(198, 18, n, 2), 24)
        .await
        .unwrap();
    inside.set_up(i).await.unwrap();
    inside.set_up(1).await.unwrap();
    (ns, g, lg)
}
