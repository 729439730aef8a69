//! Container networking in the engine (issue 5): networks (store, API), each container's
//! endpoints, published ports, /etc/hosts and resolv.conf, the embedded DNS, live restore.
//!
//! Everything below the engine (netns, bridge, veth, IPAM, nftables, DNS server, sweep) is the
//! `rdocker-network` crate; this module composes it in the order its crate doc gives. The
//! kernel side exists only after [`manager::NetworkManager::init`] (the daemon calls it at
//! start): in-process API tests run the same code without touching the host's network.

pub mod attach;
pub mod connect;
pub mod hooks;
pub mod hosts;
pub mod manager;
pub mod options;
pub mod ports;
pub mod restore;
pub mod stale;
pub mod store;

use axum::http::StatusCode;

use crate::containers::ContainerError;
use crate::errors::ApiError;
pub use manager::NetworkManager;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("network {0} not found")]
    NotFound(String),
    #[error("No such container: {0}")]
    NoContainer(String),
    /// Bad input (400).
    #[error("{0}")]
    Invalid(String),
    /// 409: a name taken, a network in use.
    #[error("{0}")]
    Conflict(String),
    /// 403: predefined networks.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Lib(#[from] rdocker_network::Error),
    #[error("{op}: {source}")]
    Io {
        op: &'static str,
        source: std::io::Error,
    },
    #[error("{0}")]
    Internal(String),
}

impl NetError {
    pub fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> NetError {
        move |source| NetError::Io { op, source }
    }

    fn status(&self) -> StatusCode {
        use rdocker_network::Error as L;
        match self {
            NetError::NotFound(_) | NetError::NoContainer(_) => StatusCode::NOT_FOUND,
            NetError::Invalid(_) => StatusCode::BAD_REQUEST,
            NetError::Conflict(_) => StatusCode::CONFLICT,
            NetError::Forbidden(_) => StatusCode::FORBIDDEN,
            NetError::Lib(
                L::SubnetOverlap(..)
                | L::GatewayOutsideSubnet { .. }
                | L::RangeOutsideSubnet { .. }
                | L::AddressOutsideSubnet { .. }
                | L::AddressInUse(_)
                | L::SubnetTooSmall(_)
                | L::BadPortMapping(_)
                | L::NoFreeSubnet
                | L::BadBip(_),
            ) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Docker's wording where it differs from the library's.
    fn message(&self) -> String {
        match self {
            NetError::Lib(rdocker_network::Error::SubnetOverlap(..)) => {
                "invalid pool request: Pool overlaps with other one on this address space".into()
            }
            e => e.to_string(),
        }
    }
}

impl From<NetError> for ApiError {
    fn from(e: NetError) -> ApiError {
        ApiError::new(e.status(), e.message())
    }
}

impl From<NetError> for ContainerError {
    fn from(e: NetError) -> ContainerError {
        match e.status() {
            StatusCode::NOT_FOUND => match e {
                NetError::NotFound(n) => ContainerError::NotFoundNetwork(n),
                e => ContainerError::Invalid(e.message()),
            },
            StatusCode::BAD_REQUEST => ContainerError::Invalid(e.message()),
            StatusCode::CONFLICT | StatusCode::FORBIDDEN => ContainerError::Conflict(e.message()),
            _ => ContainerError::StartFailed {
                message: e.message(),
                exit_code: 125,
            },
        }
    }
}
