//! rtnetlink connections: one on the host, and short-lived ones inside a container's netns.

use std::net::Ipv4Addr;
use std::os::fd::{FromRawFd, IntoRawFd};

use futures_util::TryStreamExt;
use rtnetlink::packet_route::link::{LinkAttribute, LinkMessage};
use rtnetlink::sys::{protocols::NETLINK_ROUTE, Socket, TokioSocket};
use rtnetlink::{Handle, LinkUnspec};

use crate::error::{Error, Result};
use crate::netns::Netns;

/// A netlink route connection whose I/O task runs on the current tokio runtime; the task ends
/// when the last clone of the handle is dropped.
#[derive(Clone, Debug)]
pub struct Rtnl {
    handle: Handle,
}

impl Rtnl {
    /// A connection in the caller's (the daemon's, i.e. the host's) network namespace.
    /// Must be called inside a tokio runtime.
    pub fn host() -> Result<Rtnl> {
        let (conn, handle, _) =
            rtnetlink::new_connection().map_err(|e| Error::sys("netlink socket", e))?;
        tokio::spawn(conn);
        Ok(Rtnl { handle })
    }

    /// A connection bound to `netns`: the socket is created on a throw-away thread that entered
    /// the namespace (see [`Netns::run`]); the socket stays in that namespace afterwards.
    pub fn in_netns(netns: &Netns) -> Result<Rtnl> {
        // TokioSocket registers with the current runtime's reactor (and panics without one).
        tokio::runtime::Handle::try_current()
            .map_err(|e| Error::sys("netlink in netns", std::io::Error::other(e.to_string())))?;
        let sock = netns
            .run(|| Socket::new(NETLINK_ROUTE))?
            .map_err(|e| Error::sys("netlink socket in netns", e))?;
        sock.set_non_blocking(true)
            .map_err(|e| Error::sys("netlink nonblock", e))?;
        // SAFETY: the fd comes from `into_raw_fd` of a socket we own, so it is open and owned by
        // no one else; TokioSocket takes ownership. We are inside a tokio runtime (checked
        // above), which `from_raw_fd` needs for its reactor registration.
        let tsock = unsafe { TokioSocket::from_raw_fd(sock.into_raw_fd()) };
        let (conn, handle, _) = rtnetlink::from_socket(tsock);
        tokio::spawn(conn);
        Ok(Rtnl { handle })
    }

    /// The raw rtnetlink handle, for requests this module does not wrap.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Interface index of `name`, `None` if there is no such link.
    pub async fn link_index(&self, name: &str) -> Result<Option<u32>> {
        Ok(self.link_by_name(name).await?.map(|m| m.header.index))
    }

    /// The link message of `name`, `None` if there is no such link.
    pub async fn link_by_name(&self, name: &str) -> Result<Option<LinkMessage>> {
        check_ifname(name)?;
        let mut req = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match req.try_next().await {
            Ok(m) => Ok(m),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => Ok(None),
            Err(e) => Err(Error::netlink(format!("get link {name}"), e)),
        }
    }

    /// All links of this namespace.
    pub async fn links(&self) -> Result<Vec<LinkMessage>> {
        self.handle
            .link()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(|e| Error::netlink("dump links", e))
    }

    /// Bring a link up.
    pub async fn set_up(&self, index: u32) -> Result<()> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(|e| Error::netlink(format!("set link {index} up"), e))
    }

    /// Add `addr/prefix` to a link; an address already there is fine.
    pub async fn add_addr(&self, index: u32, addr: Ipv4Addr, prefix: u8) -> Result<()> {
        match self
            .handle
            .address()
            .add(index, addr.into(), prefix)
            .execute()
            .await
        {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => Ok(()),
            Err(e) => Err(Error::netlink(format!("add address {addr}/{prefix}"), e)),
        }
    }

    /// Delete a link by name; a missing link is fine.
    pub async fn del_link(&self, name: &str) -> Result<()> {
        let Some(index) = self.link_index(name).await? else {
            return Ok(());
        };
        match self.handle.link().del(index).execute().await {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => Ok(()),
            Err(e) => Err(Error::netlink(format!("delete link {name}"), e)),
        }
    }
}

/// The name of a link message, if it has one.
pub fn link_name(m: &LinkMessage) -> Option<&str> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.as_str()),
        _ => None,
    })
}

/// The alias (`IFLA_IFALIAS`) of a link message, if set.
pub fn link_alias(m: &LinkMessage) -> Option<&str> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfAlias(n) => Some(n.as_str()),
        _ => None,
    })
}

/// The controller (bridge) index of a link, if enslaved.
pub fn link_controller(m: &LinkMessage) -> Option<u32> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::Controller(i) => Some(*i),
        _ => None,
    })
}

/// Reject names the kernel would refuse, before they reach netlink or a /proc path.
pub fn check_ifname(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(Error::BadIfName(name.to_string()))
    }
}
