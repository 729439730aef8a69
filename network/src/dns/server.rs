//! The embedded DNS server: sockets made in the container's netns, served on tokio.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{rdata::A, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use super::{DnsTable, EMBEDDED_DNS};
use crate::error::{Error, Result};
use crate::netns::Netns;

/// TTL of our answers (docker's).
const TTL: u32 = 600;
/// Largest UDP message we accept or forward.
const MAX_UDP: usize = 4096;

/// The listening sockets, bound to 127.0.0.11:53 inside a container's netns.
#[derive(Debug)]
pub struct DnsSockets {
    pub udp: std::net::UdpSocket,
    pub tcp: std::net::TcpListener,
}

/// Bind 127.0.0.11:53 (UDP and TCP) inside `netns`; `lo` must be up there (after
/// [`crate::endpoint::attach`]). The sockets belong to the netns for their whole life.
pub fn bind_in_netns(netns: &Netns) -> Result<DnsSockets> {
    netns
        .run(|| -> std::io::Result<DnsSockets> {
            let udp = std::net::UdpSocket::bind((EMBEDDED_DNS, 53))?;
            let tcp = std::net::TcpListener::bind((EMBEDDED_DNS, 53))?;
            Ok(DnsSockets { udp, tcp })
        })?
        .map_err(|e| Error::sys("bind 127.0.0.11:53 in netns", e))
}

#[derive(Debug)]
struct Inner {
    tables: RwLock<Vec<DnsTable>>,
    upstreams: RwLock<Vec<SocketAddr>>,
    timeout: Duration,
}

/// The resolver of one container: the tables of the networks it is on, and the upstreams.
#[derive(Clone, Debug)]
pub struct DnsServer {
    inner: Arc<Inner>,
}

/// The serving tasks of one container; dropping it stops them (and closes the sockets).
#[derive(Debug)]
pub struct DnsTask {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for DnsTask {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl DnsServer {
    pub fn new(tables: Vec<DnsTable>, upstreams: Vec<SocketAddr>) -> DnsServer {
        DnsServer {
            inner: Arc::new(Inner {
                tables: RwLock::new(tables),
                upstreams: RwLock::new(upstreams),
                timeout: Duration::from_secs(2),
            }),
        }
    }

    /// Replace the tables (network connect/disconnect).
    pub fn set_tables(&self, tables: Vec<DnsTable>) {
        *self
            .inner
            .tables
            .write()
            .unwrap_or_else(PoisonError::into_inner) = tables;
    }

    /// Replace the upstream resolvers.
    pub fn set_upstreams(&self, upstreams: Vec<SocketAddr>) {
        *self
            .inner
            .upstreams
            .write()
            .unwrap_or_else(PoisonError::into_inner) = upstreams;
    }

    /// Serve `socks` on the current tokio runtime until the returned task is dropped.
    pub fn serve(&self, socks: DnsSockets) -> Result<DnsTask> {
        socks
            .udp
            .set_nonblocking(true)
            .map_err(|e| Error::sys("dns nonblock", e))?;
        socks
            .tcp
            .set_nonblocking(true)
            .map_err(|e| Error::sys("dns nonblock", e))?;
        let udp = Arc::new(
            tokio::net::UdpSocket::from_std(socks.udp).map_err(|e| Error::sys("dns udp", e))?,
        );
        let tcp =
            tokio::net::TcpListener::from_std(socks.tcp).map_err(|e| Error::sys("dns tcp", e))?;
        let me = self.clone();
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; MAX_UDP];
            loop {
                let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                    continue;
                };
                let q = buf[..n].to_vec();
                let (me, udp) = (me.clone(), udp.clone());
                tokio::spawn(async move {
                    if let Some(resp) = me.answer(&q).await {
                        let _ = udp.send_to(&resp, peer).await;
                    }
                });
            }
        });
        let me = self.clone();
        let tcp_task = tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = tcp.accept().await else {
                    continue;
                };
                tokio::spawn(me.clone().serve_tcp(conn));
            }
        });
        Ok(DnsTask {
            tasks: vec![udp_task, tcp_task],
        })
    }

    async fn serve_tcp(self, mut conn: tokio::net::TcpStream) {
        loop {
            let read = async {
                let len = conn.read_u16().await?;
                let mut q = vec![0u8; usize::from(len)];
                conn.read_exact(&mut q).await?;
                Ok::<_, std::io::Error>(q)
            };
            let Ok(Ok(q)) = tokio::time::timeout(Duration::from_secs(10), read).await else {
                return;
            };
            let Some(resp) = self.answer(&q).await else {
                return;
            };
            let Ok(len) = u16::try_from(resp.len()) else {
                return;
            };
            if conn.write_u16(len).await.is_err() || conn.write_all(&resp).await.is_err() {
                return;
            }
        }
    }

    fn lookup(&self, name: &str) -> Option<Vec<Ipv4Addr>> {
        let tables = self
            .inner
            .tables
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        tables.iter().find_map(|t| t.lookup(name))
    }

    /// The response to one wire-format query: from the tables, else from an upstream, else
    /// SERVFAIL. `None` when the bytes are not even a DNS header.
    pub async fn answer(&self, query: &[u8]) -> Option<Vec<u8>> {
        let id = u16::from_be_bytes([*query.first()?, *query.get(1)?]);
        let msg = match Message::from_vec(query) {
            Ok(m) => m,
            Err(_) => return error(id, OpCode::Query, ResponseCode::FormErr, None),
        };
        if msg.message_type() != MessageType::Query || msg.op_code() != OpCode::Query {
            return error(id, msg.op_code(), ResponseCode::NotImp, Some(&msg));
        }
        let [q] = msg.queries() else {
            return error(id, msg.op_code(), ResponseCode::FormErr, Some(&msg));
        };
        let name = q.name().to_ascii();
        if let Some(ips) = self.lookup(&name) {
            let mut resp = Message::new();
            resp.set_id(id)
                .set_message_type(MessageType::Response)
                .set_op_code(OpCode::Query)
                .set_recursion_desired(msg.recursion_desired())
                .set_recursion_available(true)
                .set_authoritative(true)
                .add_query(q.clone());
            // A: the addresses; AAAA and anything else: an empty NOERROR (no IPv6 here).
            if q.query_type() == RecordType::A {
                for ip in ips {
                    resp.add_answer(Record::from_rdata(q.name().clone(), TTL, RData::A(A(ip))));
                }
            }
            return resp.to_vec().ok();
        }
        match self.forward(query, id).await {
            Some(r) => Some(r),
            None => error(id, OpCode::Query, ResponseCode::ServFail, Some(&msg)),
        }
    }

    /// Ask each upstream in turn over UDP; the first answer with our id wins.
    async fn forward(&self, query: &[u8], id: u16) -> Option<Vec<u8>> {
        let upstreams = self
            .inner
            .upstreams
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for up in upstreams {
            let bind: SocketAddr = if up.is_ipv4() {
                (Ipv4Addr::UNSPECIFIED, 0).into()
            } else {
                (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
            };
            let ask = async {
                let s = tokio::net::UdpSocket::bind(bind).await.ok()?;
                s.connect(up).await.ok()?;
                s.send(query).await.ok()?;
                let mut buf = vec![0u8; MAX_UDP];
                loop {
                    let n = s.recv(&mut buf).await.ok()?;
                    if n >= 2 && u16::from_be_bytes([buf[0], buf[1]]) == id {
                        buf.truncate(n);
                        return Some(buf);
                    }
                }
            };
            if let Ok(Some(r)) = tokio::time::timeout(self.inner.timeout, ask).await {
                return Some(r);
            }
        }
        None
    }
}

fn error(id: u16, op: OpCode, code: ResponseCode, req: Option<&Message>) -> Option<Vec<u8>> {
    let mut m = Message::error_msg(id, op, code);
    if let Some(req) = req {
        m.add_queries(req.queries().iter().cloned());
        m.set_recursion_desired(req.recursion_desired());
    }
    m.set_recursion_available(true);
    m.to_vec().ok()
}
