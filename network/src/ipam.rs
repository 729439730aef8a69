//! Per-network IP address management, persisted in one JSON file per network.
//!
//! Addresses are handed out round-robin after the last one given (as docker does, so a freed
//! address is not reused at once); the network address, the broadcast address and the gateway are
//! never handed out. Every change is written atomically before it is returned.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil::{remove_if_exists, write_atomic};

/// The address plan of one network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpamConfig {
    pub subnet: Ipv4Net,
    /// Defaults to the first host address of the subnet.
    pub gateway: Option<Ipv4Addr>,
    /// `--ip-range`: dynamic addresses come from here (must be inside the subnet).
    pub ip_range: Option<Ipv4Net>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct State {
    subnet: Ipv4Net,
    gateway: Ipv4Addr,
    ip_range: Option<Ipv4Net>,
    /// address → owner (endpoint / container id).
    leases: BTreeMap<Ipv4Addr, String>,
    last: Option<Ipv4Addr>,
}

/// The IPAM of one network, backed by `<state dir>/<network id>.json`.
#[derive(Debug)]
pub struct Ipam {
    path: PathBuf,
    st: State,
}

impl Ipam {
    /// Validate `cfg` and create the state file (replacing none: fails if it exists).
    pub fn create(path: &Path, cfg: &IpamConfig) -> Result<Ipam> {
        let subnet = cfg.subnet.trunc();
        if subnet.prefix_len() > 30 {
            return Err(Error::SubnetTooSmall(subnet));
        }
        let first = u32::from(subnet.network()) + 1;
        let gateway = cfg.gateway.unwrap_or(Ipv4Addr::from(first));
        if !subnet.contains(&gateway)
            || gateway == subnet.network()
            || gateway == subnet.broadcast()
        {
            return Err(Error::GatewayOutsideSubnet { gateway, subnet });
        }
        if let Some(r) = cfg.ip_range {
            if !subnet.contains(&r.network()) || !subnet.contains(&r.broadcast()) {
                return Err(Error::RangeOutsideSubnet { range: r, subnet });
            }
        }
        if path.exists() {
            return Err(Error::io(
                "create ipam state",
                path,
                std::io::ErrorKind::AlreadyExists.into(),
            ));
        }
        let ipam = Ipam {
            path: path.to_path_buf(),
            st: State {
                subnet,
                gateway,
                ip_range: cfg.ip_range.map(|r| r.trunc()),
                leases: BTreeMap::new(),
                last: None,
            },
        };
        ipam.save()?;
        Ok(ipam)
    }

    /// Load the state written by a previous run.
    pub fn load(path: &Path) -> Result<Ipam> {
        let data = std::fs::read(path).map_err(|e| Error::io("read ipam state", path, e))?;
        let st = serde_json::from_slice(&data).map_err(|source| Error::State {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Ipam {
            path: path.to_path_buf(),
            st,
        })
    }

    /// Delete the state file (network removed). Idempotent.
    pub fn destroy(path: &Path) -> Result<()> {
        remove_if_exists(path)
    }

    pub fn subnet(&self) -> Ipv4Net {
        self.st.subnet
    }

    pub fn gateway(&self) -> Ipv4Addr {
        self.st.gateway
    }

    pub fn ip_range(&self) -> Option<Ipv4Net> {
        self.st.ip_range
    }

    /// Current leases: address → owner.
    pub fn leases(&self) -> &BTreeMap<Ipv4Addr, String> {
        &self.st.leases
    }

    fn reserved(&self, ip: Ipv4Addr) -> bool {
        ip == self.st.subnet.network() || ip == self.st.subnet.broadcast() || ip == self.st.gateway
    }

    /// Allocate an address for `owner`: `want` (`--ip`, anywhere in the subnet) or the next free
    /// one of the range. An owner asking again for the same specific address gets it back.
    pub fn allocate(&mut self, owner: &str, want: Option<Ipv4Addr>) -> Result<Ipv4Addr> {
        let ip = match want {
            Some(ip) => {
                if !self.st.subnet.contains(&ip) {
                    return Err(Error::AddressOutsideSubnet {
                        ip,
                        subnet: self.st.subnet,
                    });
                }
                match self.st.leases.get(&ip) {
                    Some(o) if o == owner => return Ok(ip),
                    Some(_) => return Err(Error::AddressInUse(ip)),
                    None if self.reserved(ip) => return Err(Error::AddressInUse(ip)),
                    None => ip,
                }
            }
            None => self.next_free()?,
        };
        self.st.leases.insert(ip, owner.to_string());
        if want.is_none() {
            self.st.last = Some(ip);
        }
        if let Err(e) = self.save() {
            self.st.leases.remove(&ip);
            return Err(e);
        }
        Ok(ip)
    }

    fn next_free(&self) -> Result<Ipv4Addr> {
        let range = self.st.ip_range.unwrap_or(self.st.subnet);
        let lo = u32::from(range.network());
        let hi = u32::from(range.broadcast());
        let size = u64::from(hi - lo) + 1;
        let start = match self.st.last {
            Some(l) if range.contains(&l) => u32::from(l).wrapping_add(1),
            _ => lo,
        };
        let mut cand = if start > hi { lo } else { start };
        for _ in 0..size {
            let ip = Ipv4Addr::from(cand);
            if !self.reserved(ip) && !self.st.leases.contains_key(&ip) {
                return Ok(ip);
            }
            cand = if cand >= hi { lo } else { cand + 1 };
        }
        Err(Error::PoolExhausted(range))
    }

    /// Release an address; releasing a free address is fine.
    pub fn release(&mut self, ip: Ipv4Addr) -> Result<()> {
        let Some(owner) = self.st.leases.remove(&ip) else {
            return Ok(());
        };
        if let Err(e) = self.save() {
            self.st.leases.insert(ip, owner);
            return Err(e);
        }
        Ok(())
    }

    /// Release every lease whose owner is not accepted by `keep`; returns what was released.
    pub fn release_unless(
        &mut self,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<(Ipv4Addr, String)>> {
        let gone: Vec<(Ipv4Addr, String)> = self
            .st
            .leases
            .iter()
            .filter(|(_, o)| !keep(o))
            .map(|(ip, o)| (*ip, o.clone()))
            .collect();
        if gone.is_empty() {
            return Ok(gone);
        }
        for (ip, _) in &gone {
            self.st.leases.remove(ip);
        }
        self.save()?;
        Ok(gone)
    }

    fn save(&self) -> Result<()> {
        let data = serde_json::to_vec_pretty(&self.st).map_err(|source| Error::State {
            path: self.path.clone(),
            source,
        })?;
        // No directory fsync: see `write_atomic`; a lease lost to a power loss belonged to a
        // container that did not survive it either.
        write_atomic(&self.path, &data, false)
    }
}
