//! Embedded DNS inside a netns at 127.0.0.11: names from the table, forwarding to a test
//! upstream on the host's loopback, SERVFAIL when upstreams fail. Needs root.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use common::*;
use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{rdata::A, Name, RData, Record, RecordType};
use rdocker_network::dns::{bind_in_netns, DnsServer, DnsTable};
use rdocker_network::netns::Netns;
use rdocker_network::rtnl::Rtnl;

/// A tiny upstream resolver on 127.0.0.1: every name is 203.0.113.7.
fn upstream() -> SocketAddr {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = s.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = s.recv_from(&mut buf) {
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut r = Message::new();
            r.set_id(q.id()).set_message_type(MessageType::Response);
            for qq in q.queries() {
                r.add_query(qq.clone());
                r.add_answer(Record::from_rdata(
                    qq.name().clone(),
                    60,
                    RData::A(A(Ipv4Addr::new(203, 0, 113, 7))),
                ));
            }
            let _ = s.send_to(&r.to_vec().unwrap(), peer);
        }
    });
    addr
}

fn query(name: &str, ty: RecordType, id: u16) -> Vec<u8> {
    let mut m = Message::new();
    m.set_id(id).set_recursion_desired(true);
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), ty));
    m.to_vec().unwrap()
}

fn answers(m: &Message) -> Vec<Ipv4Addr> {
    m.answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

/// Ask 127.0.0.11 over UDP from a socket made inside `ns`.
fn ask_udp(ns: &Netns, name: &str, ty: RecordType) -> Message {
    let s = ns
        .run(|| UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)))
        .unwrap()
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.send_to(&query(name, ty, 0x1234), (Ipv4Addr::new(127, 0, 0, 11), 53))
        .unwrap();
    let mut buf = [0u8; 1500];
    let n = s.recv(&mut buf).unwrap();
    let m = Message::from_vec(&buf[..n]).unwrap();
    assert_eq!(m.id(), 0x1234);
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_resolve_in_the_netns_and_others_are_forwarded() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let (ns, _g) = new_netns(dir.path(), "dns");
    Rtnl::in_netns(&ns).unwrap().set_up(1).await.unwrap();

    let table = DnsTable::new();
    table.add("web", Ipv4Addr::new(10, 231, 8, 2));
    table.add("Alias1", Ipv4Addr::new(10, 231, 8, 2));
    table.add("db", Ipv4Addr::new(10, 231, 8, 3));
    let server = DnsServer::new(vec![table.clone()], vec![upstream()]);
    let socks = bind_in_netns(&ns).unwrap();
    let _task = server.serve(socks).unwrap();

    let ns = std::sync::Arc::new(ns);
    let run = |name: &'static str, ty: RecordType| {
        let ns = ns.clone();
        tokio::task::spawn_blocking(move || ask_udp(&ns, name, ty))
    };
    let m = run("web", RecordType::A).await.unwrap();
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert_eq!(answers(&m), vec![Ipv4Addr::new(10, 231, 8, 2)]);
    let m = run("alias1.", RecordType::A).await.unwrap();
    assert_eq!(answers(&m), vec![Ipv4Addr::new(10, 231, 8, 2)]);
    let m = run("db", RecordType::AAAA).await.unwrap();
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert!(m.answers().is_empty());
    // Unknown: forwarded to the test upstream.
    let m = run("example.test", RecordType::A).await.unwrap();
    assert_eq!(answers(&m), vec![Ipv4Addr::new(203, 0, 113, 7)]);

    // TCP too.
    let ns2 = ns.clone();
    let m = tokio::task::spawn_blocking(move || {
        let mut s = ns2
            .run(|| {
                TcpStream::connect_timeout(
                    &SocketAddr::from(([127, 0, 0, 11], 53)),
                    Duration::from_secs(2),
                )
            })
            .unwrap()
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let q = query("db", RecordType::A, 7);
        s.write_all(&(q.len() as u16).to_be_bytes()).unwrap();
        s.write_all(&q).unwrap();
        let mut len = [0u8; 2];
        s.read_exact(&mut len).unwrap();
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut buf).unwrap();
        Message::from_vec(&buf).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(answers(&m), vec![Ipv4Addr::new(10, 231, 8, 3)]);

    // The table is live: a container leaving disappears at once.
    table.remove_ip(Ipv4Addr::new(10, 231, 8, 2));
    let m = run("web", RecordType::A).await.unwrap();
    assert_eq!(
        answers(&m),
        vec![Ipv4Addr::new(203, 0, 113, 7)],
        "now forwarded"
    );

    // Upstreams failing: SERVFAIL.
    let dead = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    server.set_upstreams(vec![dead_addr]);
    let m = run("other.test", RecordType::A).await.unwrap();
    assert_eq!(m.response_code(), ResponseCode::ServFail);
}
