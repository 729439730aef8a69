//! One error type for the crate; each variant names the step that failed.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong below the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system operation on a state or netns file.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A system call (setns, unshare, mount, socket…).
    #[error("{op}: {source}")]
    Sys {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A netlink request the kernel refused.
    #[error("netlink {op}: {source}")]
    Netlink {
        op: String,
        #[source]
        source: rtnetlink::Error,
    },
    /// A link we expected is not there.
    #[error("link {0} not found")]
    LinkNotFound(String),
    /// An interface name the kernel would refuse (empty, > 15 bytes, '/', whitespace).
    #[error("invalid interface name {0:?}")]
    BadIfName(String),
    /// The thread that entered a network namespace panicked.
    #[error("network namespace helper thread panicked")]
    ThreadPanicked,
    /// A state file that does not parse.
    #[error("state file {path}: {source}")]
    State {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// `nft` could not be run or refused the batch.
    #[error("nft: {0}")]
    Nft(String),
    /// No free subnet left in the address pools.
    #[error("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")]
    NoFreeSubnet,
    /// A `bip` that is not `address/prefix` with a host address.
    #[error("invalid bip {0:?}: want the bridge address with its prefix, e.g. 10.200.0.1/24")]
    BadBip(String),
    /// A subnet that overlaps another network of ours.
    #[error("Pool overlaps with other one on this address space: {0} overlaps {1}")]
    SubnetOverlap(Ipv4Net, Ipv4Net),
    /// The gateway is not inside the subnet.
    #[error("no matching subnet for gateway {gateway}: it is outside {subnet}")]
    GatewayOutsideSubnet { gateway: Ipv4Addr, subnet: Ipv4Net },
    /// `--ip-range` outside the subnet.
    #[error("ip-range {range} is not inside subnet {subnet}")]
    RangeOutsideSubnet { range: Ipv4Net, subnet: Ipv4Net },
    /// A requested address outside the subnet (or the range for dynamic ones).
    #[error("requested address {ip} is not inside subnet {subnet}")]
    AddressOutsideSubnet { ip: Ipv4Addr, subnet: Ipv4Net },
    /// A requested address already allocated (or reserved: network, broadcast, gateway).
    #[error("Address already in use: {0}")]
    AddressInUse(Ipv4Addr),
    /// All addresses of the pool are allocated.
    #[error("no available IPv4 addresses on this network's address pools: {0}")]
    PoolExhausted(Ipv4Net),
    /// A subnet too small to hold a gateway and one container.
    #[error("subnet {0} is too small")]
    SubnetTooSmall(Ipv4Net),
    /// A host port already used (docker's wording).
    #[error("Bind for {addr}:{port} failed: port is already allocated")]
    PortAllocated { addr: Ipv4Addr, port: u16 },
    /// A port mapping that makes no sense (0 container port, range lengths differ…).
    #[error("invalid port mapping: {0}")]
    BadPortMapping(String),
    /// DNS message encoding/decoding.
    #[error("dns: {0}")]
    Dns(#[from] hickory_proto::ProtoError),
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn sys(op: &'static str, source: impl Into<std::io::Error>) -> Self {
        Error::Sys {
            op,
            source: source.into(),
        }
    }

    pub(crate) fn netlink(op: impl Into<String>, source: rtnetlink::Error) -> Self {
        Error::Netlink {
            op: op.into(),
            source,
        }
    }
}
