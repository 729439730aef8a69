//! A minimal nfnetlink writer for the one thing the container start path needs from nftables:
//! adding and removing elements of the port maps of our table, in one atomic batch, without
//! starting an `nft` process (~0.1 ms instead of ~2.7 ms).
//!
//! Encoding (linux/netfilter/nf_tables.h): a batch BEGIN, NFT_MSG_NEWSETELEM / DELSETELEM
//! messages (`nfgenmsg` + table, set, and a nested list of elements, each with a key and, for a
//! map, a data value), a batch END. Concatenated keys put each field in a 4-byte-aligned slot
//! (`inet_proto` = 1 byte + 3 padding, `inet_service` = 2 bytes big-endian + 2 padding).

use std::time::Duration;

use rtnetlink::sys::{Socket, SocketAddr};

use crate::error::{Error, Result};
use crate::ports::{PortMapping, Proto};

const NETLINK_NETFILTER: isize = 12;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NLA_F_NESTED: u16 = 1 << 15;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 2;
const NFPROTO_IPV4: u8 = 2;
const AF_UNSPEC: u8 = 0;

/// Add or delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Delete,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Append a netlink attribute (header + payload + padding).
fn attr(buf: &mut Vec<u8>, ty: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    buf.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(payload);
    buf.resize(align4(buf.len()), 0);
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn proto_slot(p: Proto) -> [u8; 4] {
    let n = match p {
        Proto::Tcp => libc::IPPROTO_TCP,
        Proto::Udp => libc::IPPROTO_UDP,
    };
    [u8::try_from(n).unwrap_or(0), 0, 0, 0]
}

fn port_slot(p: u16) -> [u8; 4] {
    let b = p.to_be_bytes();
    [b[0], b[1], 0, 0]
}

/// Key and data of a port-map element, and the map it belongs to.
fn element(p: &PortMapping) -> (&'static str, Vec<u8>, Vec<u8>) {
    let mut key = Vec::with_capacity(12);
    let set = if p.host_ip.is_unspecified() {
        "ports_any"
    } else {
        key.extend_from_slice(&p.host_ip.octets());
        "ports_ip"
    };
    key.extend_from_slice(&proto_slot(p.proto));
    key.extend_from_slice(&port_slot(p.host_port));
    let mut data = p.container_ip.octets().to_vec();
    data.extend_from_slice(&port_slot(p.container_port));
    (set, key, data)
}

fn message(buf: &mut Vec<u8>, ty: u16, flags: u16, seq: u32, family: u8, res_id: u16, body: &[u8]) {
    let len = 16 + 4 + body.len();
    buf.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.push(family);
    buf.push(0); // NFNETLINK_V0
    buf.extend_from_slice(&res_id.to_be_bytes());
    buf.extend_from_slice(body);
}

/// One batch of (op, mapping) on the port maps of `table`.
fn batch(table: &str, ops: &[(Op, &PortMapping)]) -> (Vec<u8>, u32) {
    let mut buf = Vec::new();
    let mut seq = 0u32;
    message(
        &mut buf,
        NFNL_MSG_BATCH_BEGIN,
        NLM_F_REQUEST,
        seq,
        AF_UNSPEC,
        NFNL_SUBSYS_NFTABLES,
        &[],
    );
    for (op, p) in ops {
        let (set, key, data) = element(p);
        let mut k = Vec::new();
        attr(&mut k, NFTA_DATA_VALUE, &key);
        let mut d = Vec::new();
        attr(&mut d, NFTA_DATA_VALUE, &data);
        let mut elem = Vec::new();
        attr(&mut elem, NFTA_SET_ELEM_KEY | NLA_F_NESTED, &k);
        attr(&mut elem, NFTA_SET_ELEM_DATA | NLA_F_NESTED, &d);
        let mut list = Vec::new();
        attr(&mut list, NFTA_LIST_ELEM | NLA_F_NESTED, &elem);
        let mut body = Vec::new();
        attr(&mut body, NFTA_SET_ELEM_LIST_TABLE, &cstr(table));
        attr(&mut body, NFTA_SET_ELEM_LIST_SET, &cstr(set));
        attr(&mut body, NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED, &list);
        let (ty, flags) = match op {
            // No NLM_F_EXCL: adding an element that exists is not an error.
            Op::Add => (NFT_MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE),
            Op::Delete => (NFT_MSG_DELSETELEM, NLM_F_REQUEST | NLM_F_ACK),
        };
        seq += 1;
        let ty = (NFNL_SUBSYS_NFTABLES << 8) | ty;
        message(&mut buf, ty, flags, seq, NFPROTO_IPV4, 0, &body);
    }
    seq += 1;
    message(
        &mut buf,
        NFNL_MSG_BATCH_END,
        NLM_F_REQUEST,
        seq,
        AF_UNSPEC,
        NFNL_SUBSYS_NFTABLES,
        &[],
    );
    (buf, seq - 1)
}

/// Apply `ops` to the port maps of `table` in one transaction: all or nothing.
pub fn apply_ports(table: &str, ops: &[(Op, &PortMapping)]) -> Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    let (buf, count) = batch(table, ops);
    let mut sock = Socket::new(NETLINK_NETFILTER).map_err(|e| Error::sys("nfnetlink socket", e))?;
    sock.bind_auto()
        .map_err(|e| Error::sys("nfnetlink bind", e))?;
    sock.connect(&SocketAddr::new(0, 0))
        .map_err(|e| Error::sys("nfnetlink connect", e))?;
    set_timeout(&sock)?;
    sock.send(&buf, 0)
        .map_err(|e| Error::sys("nfnetlink send", e))?;
    // One ack (error 0) per element message, or the first error (the batch is then aborted).
    let mut acked = 0u32;
    let mut rbuf = vec![0u8; 8192];
    while acked < count {
        let mut r = &mut rbuf[..];
        let n = sock
            .recv(&mut r, 0)
            .map_err(|e| Error::sys("nfnetlink recv", e))?;
        let mut off = 0;
        while off + 16 <= n {
            let len = u32::from_ne_bytes(rbuf[off..off + 4].try_into().unwrap_or([0; 4])) as usize;
            let ty = u16::from_ne_bytes(rbuf[off + 4..off + 6].try_into().unwrap_or([0; 2]));
            if len < 16 || off + len > n {
                break;
            }
            if ty == NLMSG_ERROR && len >= 20 {
                let code =
                    i32::from_ne_bytes(rbuf[off + 16..off + 20].try_into().unwrap_or([0; 4]));
                if code != 0 {
                    return Err(Error::Nft(format!(
                        "port map update in table {table}: {}",
                        std::io::Error::from_raw_os_error(-code)
                    )));
                }
                acked += 1;
            }
            off += align4(len);
        }
    }
    Ok(())
}

fn set_timeout(sock: &Socket) -> Result<()> {
    use std::os::fd::AsRawFd;
    let tv = libc::timeval {
        tv_sec: Duration::from_secs(2).as_secs() as libc::time_t,
        tv_usec: 0,
    };
    // SAFETY: the fd is a live socket owned by `sock`; the option value is a valid timeval of
    // the size passed.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(Error::sys("SO_RCVTIMEO", std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn element_encoding() {
        let p = PortMapping {
            proto: Proto::Udp,
            host_ip: Ipv4Addr::LOCALHOST,
            host_port: 0x1234,
            container_ip: Ipv4Addr::new(10, 0, 0, 2),
            container_port: 53,
        };
        let (set, key, data) = element(&p);
        assert_eq!(set, "ports_ip");
        assert_eq!(key, [127, 0, 0, 1, 17, 0, 0, 0, 0x12, 0x34, 0, 0]);
        assert_eq!(data, [10, 0, 0, 2, 0, 53, 0, 0]);
        let (buf, n) = batch("rdocker", &[(Op::Add, &p), (Op::Delete, &p)]);
        assert_eq!(n, 2);
        assert_eq!(buf.len() % 4, 0);
    }
}
