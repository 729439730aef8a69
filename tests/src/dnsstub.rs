//! A tiny upstream DNS responder on 127.0.0.1:<free port> for the embedded DNS server's
//! `--dns-upstream`: answers A queries for the names it was given, NXDOMAIN for others, and
//! records every name asked, so a test sees what was forwarded (and that nothing went to the
//! host's resolvers). Hand-written: one question per query, no compression beyond the answer's
//! pointer to the question.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Result;

pub struct DnsStub {
    addr: SocketAddr,
    asked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DnsStub {
    /// Serves `answers` (name without trailing dot, lower case → address).
    pub fn start(answers: &[(&str, Ipv4Addr)]) -> Result<DnsStub> {
        let sock = UdpSocket::bind("127.0.0.1:0")?;
        sock.set_read_timeout(Some(Duration::from_millis(100)))?;
        let addr = sock.local_addr()?;
        let answers: HashMap<String, Ipv4Addr> = answers
            .iter()
            .map(|(n, ip)| (n.to_ascii_lowercase(), *ip))
            .collect();
        let asked: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop: Arc<AtomicBool> = Arc::default();
        let (a, s) = (asked.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let Some((name, qtype, qend)) = parse_query(&buf[..n]) else {
                    continue;
                };
                if let Ok(mut v) = a.lock() {
                    v.push(name.clone());
                }
                let reply = answer(&buf[..qend], answers.get(&name).copied(), qtype);
                let _ = sock.send_to(&reply, from);
            }
        });
        Ok(DnsStub {
            addr,
            asked,
            stop,
            thread: Some(thread),
        })
    }

    /// "127.0.0.1:<port>", for `--dns-upstream`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Every name asked so far (lower case, no trailing dot).
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for DnsStub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// (name, qtype, end of the question section) of a query with one question.
fn parse_query(b: &[u8]) -> Option<(String, u16, usize)> {
    if b.len() < 12 || b[2] & 0x80 != 0 || u16::from_be_bytes([b[4], b[5]]) != 1 {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *b.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(b.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]);
    Some((labels.join("."), qtype, i + 4))
}

/// The response to `query` (header + question): an A record when known and asked for A,
/// NOERROR without answers for other types of a known name, NXDOMAIN otherwise.
fn answer(query: &[u8], ip: Option<Ipv4Addr>, qtype: u16) -> Vec<u8> {
    let mut r = query.to_vec();
    let rd = query[2] & 0x01;
    r[2] = 0x80 | 0x04 | rd; // QR, AA, RD copied
    r[3] = 0x80 | if ip.is_some() { 0 } else { 3 }; // RA, rcode
    let an = u16::from(ip.is_some() && qtype == 1);
    r[6..8].copy_from_slice(&an.to_be_bytes());
    r[8..12].fill(0); // no authority, no additional (EDNS dropped)
    if an == 1 {
        if let Some(ip) = ip {
            r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
            r.extend_from_slice(&ip.octets());
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_and_records() {
        let stub = DnsStub::start(&[("up.example.test", Ipv4Addr::new(198, 18, 1, 2))]).unwrap();
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut q = vec![0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in ["UP", "example", "test"] {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        c.send_to(&q, stub.addr()).unwrap();
        let mut buf = [0u8; 512];
        let n = c.recv(&mut buf).unwrap();
        assert_eq!(&buf[..2], &[0x12, 0x34]);
        assert_eq!(buf[3] & 0x0f, 0);
        assert_eq!(&buf[n - 4..n], &[198, 18, 1, 2]);
        q[13] = b'X'; // "XP": unknown
        c.send_to(&q, stub.addr()).unwrap();
        let _ = c.recv(&mut buf).unwrap();
        assert_eq!(buf[3] & 0x0f, 3);
        assert_eq!(stub.asked(), vec!["up.example.test", "xp.example.test"]);
    }
}
