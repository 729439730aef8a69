//! The few sysctls networking needs, written through /proc/sys.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::rtnl::check_ifname;

fn write(path: PathBuf, value: &str) -> Result<()> {
    if std::fs::read_to_string(&path)
        .map(|v| v.trim() == value)
        .unwrap_or(false)
    {
        return Ok(());
    }
    std::fs::write(&path, value).map_err(|e| Error::io("write sysctl", path, e))
}

/// `net.ipv4.ip_forward=1` (global; needed for NAT and published ports).
pub fn enable_ip_forward() -> Result<()> {
    write(PathBuf::from("/proc/sys/net/ipv4/ip_forward"), "1")
}

/// `net.ipv4.conf.<ifname>.route_localnet=1`: lets DNAT of `127.0.0.1:<port>` to a container leave
/// through the bridge (with a masquerade of the 127/8 source).
pub fn enable_route_localnet(ifname: &str) -> Result<()> {
    check_ifname(ifname)?;
    write(
        PathBuf::from(format!("/proc/sys/net/ipv4/conf/{ifname}/route_localnet")),
        "1",
    )
}
