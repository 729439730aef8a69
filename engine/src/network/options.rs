//! The daemon's network options: dockerd's `--bridge`, `--bip`, `--default-address-pool`,
//! `--dns*`, `--iptables`, `--ip-forward` (and their daemon.json keys), plus ours:
//! `--nft-table` and `--dns-upstream`.

use std::net::{IpAddr, SocketAddr};

use ipnet::Ipv4Net;
use rdocker_network::subnet::{default_pools, AddressPool};
use serde::Deserialize;

/// Name of the default bridge device when `--bridge` is not given.
pub const DEFAULT_BRIDGE: &str = "rdocker0";

/// The flags, as clap parses them (flattened into the daemon's `Flags`).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct NetFlags {
    /// Attach containers to a network bridge ("none" disables the default bridge network)
    /// [default: rdocker0]
    #[arg(short = 'b', long = "bridge", value_name = "NAME")]
    pub bridge: Option<String>,
    /// Network bridge IP (gateway address with its prefix, e.g. 10.200.0.1/24)
    #[arg(long, value_name = "CIDR")]
    pub bip: Option<String>,
    /// Default address pools for node specific local networks (base=CIDR,size=N); repeatable
    #[arg(long = "default-address-pool", value_name = "POOL")]
    pub default_address_pools: Vec<String>,
    /// DNS server to use in containers; repeatable
    #[arg(long = "dns", value_name = "IP")]
    pub dns: Vec<String>,
    /// DNS search domains to use in containers; repeatable
    #[arg(long = "dns-search", value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// DNS options to use in containers; repeatable
    #[arg(long = "dns-opt", value_name = "OPT")]
    pub dns_opts: Vec<String>,
    /// Enable rdocker's nftables rules [default: true]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub iptables: Option<bool>,
    /// Enable net.ipv4.ip_forward [default: true]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub ip_forward: Option<bool>,
    /// Ours: name of rdocker's nftables table (must start with "rdocker") [default: rdocker]
    #[arg(long, value_name = "NAME")]
    pub nft_table: Option<String>,
    /// Ours: upstream resolver of the embedded DNS server (ip[:port]) instead of the host's
    /// resolv.conf servers; repeatable
    #[arg(long = "dns-upstream", value_name = "IP[:PORT]")]
    pub dns_upstreams: Vec<String>,
}

/// One `default-address-pools` entry of daemon.json.
#[derive(Debug, Clone, Deserialize)]
pub struct FilePool {
    pub base: String,
    pub size: u8,
}

/// The daemon.json keys (flattened into the file's struct).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NetFile {
    pub bridge: Option<String>,
    pub bip: Option<String>,
    pub default_address_pools: Option<Vec<FilePool>>,
    pub dns: Option<Vec<String>>,
    pub dns_search: Option<Vec<String>>,
    pub dns_opts: Option<Vec<String>>,
    pub iptables: Option<bool>,
    pub ip_forward: Option<bool>,
    pub nft_table: Option<String>,
    pub dns_upstreams: Option<Vec<String>>,
}

/// daemon.json keys of this module.
pub const FILE_KEYS: &[&str] = &[
    "bridge",
    "bip",
    "default-address-pools",
    "dns",
    "dns-search",
    "dns-opts",
    "iptables",
    "ip-forward",
    "nft-table",
    "dns-upstreams",
];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OptionsError {
    #[error("invalid default address pool {0:?}: want base=CIDR,size=N")]
    Pool(String),
    #[error("invalid bip {0:?}: want the bridge address with its prefix, e.g. 10.200.0.1/24")]
    Bip(String),
    #[error("invalid bridge name {0:?}: at most 15 characters, no '/' or whitespace")]
    Bridge(String),
    #[error(
        "invalid nft table name {0:?}: must start with \"rdocker\" (letters, digits, '-', '_')"
    )]
    Table(String),
    #[error("{0} is not an ip address")]
    Dns(String),
    #[error("invalid dns upstream {0:?}: want ip[:port]")]
    Upstream(String),
}

/// The resolved network configuration of the daemon.
#[derive(Debug, Clone, PartialEq)]
pub struct NetConfig {
    /// Device of the default bridge network; `None` with `--bridge none`.
    pub bridge: Option<String>,
    pub bip: Option<String>,
    pub pools: Vec<AddressPool>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_opts: Vec<String>,
    pub iptables: bool,
    pub ip_forward: bool,
    pub nft_table: String,
    /// Empty = the host's resolv.conf servers.
    pub dns_upstreams: Vec<SocketAddr>,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            bridge: Some(DEFAULT_BRIDGE.to_string()),
            bip: None,
            pools: default_pools(),
            dns: Vec::new(),
            dns_search: Vec::new(),
            dns_opts: Vec::new(),
            iptables: true,
            ip_forward: true,
            nft_table: rdocker_network::firewall::TABLE.to_string(),
            dns_upstreams: Vec::new(),
        }
    }
}

/// `base=172.80.0.0/16,size=24`.
pub fn parse_pool(s: &str) -> Result<AddressPool, OptionsError> {
    let bad = || OptionsError::Pool(s.to_string());
    let (mut base, mut size) = (None, None);
    for kv in s.split(',') {
        match kv.split_once('=') {
            Some(("base", v)) => base = Some(v.parse::<Ipv4Net>().map_err(|_| bad())?),
            Some(("size", v)) => size = Some(v.parse::<u8>().map_err(|_| bad())?),
            _ => return Err(bad()),
        }
    }
    let (Some(base), Some(size)) = (base, size) else {
        return Err(bad());
    };
    if size < base.prefix_len() || size > 30 {
        return Err(bad());
    }
    Ok(AddressPool {
        base: base.trunc(),
        size,
    })
}

/// `ip` or `ip:port` (port 53 by default).
pub fn parse_upstream(s: &str) -> Result<SocketAddr, OptionsError> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    s.parse::<SocketAddr>()
        .map_err(|_| OptionsError::Upstream(s.to_string()))
}

fn valid_ifname(n: &str) -> bool {
    !n.is_empty() && n.len() <= 15 && !n.contains('/') && !n.chars().any(char::is_whitespace)
}

fn valid_table(n: &str) -> bool {
    n.starts_with("rdocker")
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl NetConfig {
    /// Merges flags and file (a key is never in both: checked by the caller) and validates.
    pub fn merge(flags: &NetFlags, file: NetFile) -> Result<NetConfig, OptionsError> {
        let pick = |flag: &Vec<String>, file: Option<Vec<String>>| {
            if flag.is_empty() {
                file.unwrap_or_default()
            } else {
                flag.clone()
            }
        };
        let bridge = flags
            .bridge
            .clone()
            .or(file.bridge)
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| DEFAULT_BRIDGE.to_string());
        let bridge = match bridge.as_str() {
            "none" => None,
            b if valid_ifname(b) => Some(bridge),
            _ => return Err(OptionsError::Bridge(bridge)),
        };
        let bip = flags.bip.clone().or(file.bip).filter(|b| !b.is_empty());
        if let Some(b) = &bip {
            rdocker_network::subnet::parse_bip(b).map_err(|_| OptionsError::Bip(b.clone()))?;
        }
        let pools = if !flags.default_address_pools.is_empty() {
            flags
                .default_address_pools
                .iter()
                .map(|p| parse_pool(p))
                .collect::<Result<Vec<_>, _>>()?
        } else if let Some(ps) = file.default_address_pools {
            ps.iter()
                .map(|p| parse_pool(&format!("base={},size={}", p.base, p.size)))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            default_pools()
        };
        let dns = pick(&flags.dns, file.dns);
        if let Some(bad) = dns.iter().find(|d| d.parse::<IpAddr>().is_err()) {
            return Err(OptionsError::Dns(bad.clone()));
        }
        let nft_table = flags
            .nft_table
            .clone()
            .or(file.nft_table)
            .unwrap_or_else(|| rdocker_network::firewall::TABLE.to_string());
        if !valid_table(&nft_table) {
            return Err(OptionsError::Table(nft_table));
        }
        let dns_upstreams = pick(&flags.dns_upstreams, file.dns_upstreams)
            .iter()
            .map(|s| parse_upstream(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NetConfig {
            bridge,
            bip,
            pools,
            dns,
            dns_search: pick(&flags.dns_search, file.dns_search),
            dns_opts: pick(&flags.dns_opts, file.dns_opts),
            iptables: flags.iptables.or(file.iptables).unwrap_or(true),
            ip_forward: flags.ip_forward.or(file.ip_forward).unwrap_or(true),
            nft_table,
            dns_upstreams,
        })
    }
}

/// The network flags that were given, as (daemon.json key, pflag-style value), for dockerd's
/// "specified both as a flag and in the configuration file" check.
pub fn flag_values(f: &NetFlags) -> Vec<(&'static str, String)> {
    let list = |v: &[String]| format!("[{}]", v.join(" "));
    let mut out = Vec::new();
    if let Some(b) = &f.bridge {
        out.push(("bridge", b.clone()));
    }
    if let Some(b) = &f.bip {
        out.push(("bip", b.clone()));
    }
    if !f.default_address_pools.is_empty() {
        out.push(("default-address-pools", list(&f.default_address_pools)));
    }
    if !f.dns.is_empty() {
        out.push(("dns", list(&f.dns)));
    }
    if !f.dns_search.is_empty() {
        out.push(("dns-search", list(&f.dns_search)));
    }
    if !f.dns_opts.is_empty() {
        out.push(("dns-opts", list(&f.dns_opts)));
    }
    if let Some(b) = f.iptables {
        out.push(("iptables", b.to_string()));
    }
    if let Some(b) = f.ip_forward {
        out.push(("ip-forward", b.to_string()));
    }
    if let Some(t) = &f.nft_table {
        out.push(("nft-table", t.clone()));
    }
    if !f.dns_upstreams.is_empty() {
        out.push(("dns-upstreams", list(&f.dns_upstreams)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        net: NetFlags,
    }

    fn flags(args: &[&str]) -> NetFlags {
        T::parse_from(std::iter::once("t").chain(args.iter().copied())).net
    }

    #[test]
    fn defaults() {
        let c = NetConfig::merge(&NetFlags::default(), NetFile::default()).unwrap();
        assert_eq!(c, NetConfig::default());
        assert_eq!(c.bridge.as_deref(), Some("rdocker0"));
        assert!(c.iptables && c.ip_forward);
        assert_eq!(c.nft_table, "rdocker");
    }

    #[test]
    fn flags_parse() {
        let f = flags(&[
            "-b",
            "rdtabc123",
            "--bip",
            "10.200.0.1/24",
            "--default-address-pool",
            "base=10.210.0.0/16,size=24",
            "--dns",
            "127.0.0.1",
            "--dns-search",
            "example.org",
            "--dns-opt",
            "ndots:2",
            "--iptables=false",
            "--ip-forward",
            "--nft-table",
            "rdocker_abc",
            "--dns-upstream",
            "127.0.0.1:9",
            "--dns-upstream",
            "10.0.0.1",
        ]);
        let c = NetConfig::merge(&f, NetFile::default()).unwrap();
        assert_eq!(c.bridge.as_deref(), Some("rdtabc123"));
        assert_eq!(c.bip.as_deref(), Some("10.200.0.1/24"));
        assert_eq!(c.pools.len(), 1);
        assert_eq!(c.pools[0].size, 24);
        assert_eq!(c.dns, vec!["127.0.0.1"]);
        assert!(!c.iptables);
        assert!(c.ip_forward);
        assert_eq!(c.nft_table, "rdocker_abc");
        assert_eq!(
            c.dns_upstreams,
            vec![
                "127.0.0.1:9".parse().unwrap(),
                "10.0.0.1:53".parse().unwrap()
            ]
        );
        let none = NetConfig::merge(&flags(&["--bridge", "none"]), NetFile::default()).unwrap();
        assert_eq!(none.bridge, None);
    }

    #[test]
    fn file_keys() {
        let file: NetFile = serde_json::from_str(
            r#"{"bridge":"br9","default-address-pools":[{"base":"10.9.0.0/16","size":24}],
                "dns":["1.2.3.4"],"iptables":false,"nft-table":"rdocker_x","dns-upstreams":["127.0.0.1:5353"]}"#,
        )
        .unwrap();
        let c = NetConfig::merge(&NetFlags::default(), file).unwrap();
        assert_eq!(c.bridge.as_deref(), Some("br9"));
        assert_eq!(c.pools[0].base, "10.9.0.0/16".parse::<Ipv4Net>().unwrap());
        assert!(!c.iptables);
        assert_eq!(c.dns_upstreams[0].port(), 5353);
    }

    #[test]
    fn daemon_config_merges_and_refuses_conflicts() {
        use crate::config::{DaemonConfig, Flags};
        let flags = Flags::parse_from(["rdockerd", "--bridge", "rdt1", "--dns", "127.0.0.1"]);
        let c = DaemonConfig::merge(
            &flags,
            Some((
                std::path::Path::new("/d.json"),
                r#"{"nft-table":"rdocker_t1"}"#,
            )),
        )
        .unwrap();
        assert_eq!(c.network.bridge.as_deref(), Some("rdt1"));
        assert_eq!(c.network.nft_table, "rdocker_t1");
        let e = DaemonConfig::merge(
            &flags,
            Some((std::path::Path::new("/d.json"), r#"{"bridge":"x"}"#)),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("specified both as a flag and in the configuration file: bridge"),
            "{e}"
        );
        let e = DaemonConfig::merge(
            &Flags::parse_from(["rdockerd", "--nft-table", "docker"]),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("must start with"), "{e}");
    }

    #[test]
    fn bad_values() {
        let e = |args: &[&str]| NetConfig::merge(&flags(args), NetFile::default()).unwrap_err();
        assert!(matches!(
            e(&["--nft-table", "docker"]),
            OptionsError::Table(_)
        ));
        assert!(matches!(
            e(&["--bridge", "a-very-long-bridge-name"]),
            OptionsError::Bridge(_)
        ));
        assert!(matches!(e(&["--bip", "10.0.0.0/24"]), OptionsError::Bip(_)));
        assert!(matches!(
            e(&["--default-address-pool", "base=10.0.0.0/16"]),
            OptionsError::Pool(_)
        ));
        assert!(matches!(e(&["--dns", "x"]), OptionsError::Dns(_)));
        assert!(matches!(
            e(&["--dns-upstream", "x:y"]),
            OptionsError::Upstream(_)
        ));
    }
}
