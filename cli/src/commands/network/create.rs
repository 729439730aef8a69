//! `rdocker network create`: docker 28's flags and its client-side IPAM consolidation
//! (cli/command/network/create.go createIPAMConfig), then `POST /networks/create`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use anyhow::Result;
use clap::Args;
use serde_json::{json, Map, Value};

use super::super::create::opts_error;
use super::super::{check_args, Arity, Ctx};
use crate::client::api_path;
use crate::runopts::{flag_err, OptsError};

#[derive(Args, Debug, Default)]
pub struct CreateArgs {
    /// Enable manual container attachment
    #[arg(long)]
    pub attachable: bool,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver
    #[arg(long = "aux-address", value_name = "map")]
    pub aux_address: Vec<String>,
    /// The network from which to copy the configuration
    #[arg(long = "config-from", value_name = "string")]
    pub config_from: Option<String>,
    /// Create a configuration only network
    #[arg(long = "config-only")]
    pub config_only: bool,
    /// Driver to manage the Network
    #[arg(short, long, default_value = "bridge", value_name = "string")]
    pub driver: String,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long, value_name = "strings")]
    pub gateway: Vec<String>,
    /// Create swarm routing-mesh network
    #[arg(long)]
    pub ingress: bool,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range", value_name = "strings")]
    pub ip_range: Vec<String>,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver", default_value = "default", value_name = "string")]
    pub ipam_driver: String,
    /// Set IPAM driver specific options
    #[arg(long = "ipam-opt", value_name = "map")]
    pub ipam_opt: Vec<String>,
    /// Enable or disable IPv4 address assignment
    #[arg(long, value_name = "bool", num_args = 0..=1, default_missing_value = "true")]
    pub ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment
    #[arg(long, value_name = "bool", num_args = 0..=1, default_missing_value = "true")]
    pub ipv6: Option<bool>,
    /// Set metadata on a network
    #[arg(long, value_name = "list")]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short, long = "opt", value_name = "map")]
    pub opt: Vec<String>,
    /// Control the network's scope
    #[arg(long, value_name = "string")]
    pub scope: Option<String>,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long, value_name = "strings")]
    pub subnet: Vec<String>,
    #[arg(value_name = "NETWORK")]
    pub args: Vec<String>,
}

/// An address and prefix length, as Go's net.ParseCIDR reads `10.1.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub bits: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, b) = s.split_once('/')?;
        let addr: IpAddr = a.parse().ok()?;
        if b.is_empty() || !b.bytes().all(|c| c.is_ascii_digit()) || b.len() > 3 {
            return None;
        }
        let bits: u8 = b.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (bits <= max).then_some(Cidr { addr, bits })
    }

    fn to_u128(ip: IpAddr) -> (u128, u8) {
        match ip {
            IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
            IpAddr::V6(v) => (u128::from(v), 128),
        }
    }

    /// The network address (host bits cleared), as Go prints an IPNet.
    pub fn network(&self) -> Cidr {
        let (n, width) = Self::to_u128(self.addr);
        let shift = u32::from(width - self.bits);
        let masked = if shift >= 128 {
            0
        } else {
            (n >> shift) << shift
        };
        let addr = if width == 32 {
            IpAddr::V4(std::net::Ipv4Addr::from(masked as u32))
        } else {
            IpAddr::V6(std::net::Ipv6Addr::from(masked))
        };
        Cidr {
            addr,
            bits: self.bits,
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (a, wa) = Self::to_u128(self.addr);
        let (b, wb) = Self::to_u128(ip);
        if wa != wb {
            return false;
        }
        let shift = u32::from(wa - self.bits);
        shift >= 128 || (a >> shift) == (b >> shift)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.bits)
    }
}

/// subnetMatches: does `subnet` hold `data` (an address, or a CIDR's address)?
fn subnet_matches(subnet: &str, data: &str) -> Result<bool, String> {
    let s = Cidr::parse(subnet)
        .ok_or_else(|| format!("invalid subnet: invalid CIDR address: {subnet}"))?;
    let ip = if data.contains('/') {
        Cidr::parse(data)
            .ok_or_else(|| format!("invalid CIDR address: {data}"))?
            .addr
    } else {
        match data.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => return Ok(false),
        }
    };
    Ok(s.network().contains(ip))
}

/// pflag's slice flags: every value may hold several, comma-separated.
fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .filter(|v| !v.is_empty())
        .map(|v| v.trim().to_string())
        .collect()
}

/// opts.MapOpts values: `k=v` (a bare `k` is `k=""`).
pub fn kv_map(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.clone(), String::new()),
        })
        .collect()
}

/// createIPAMConfig: subnets with their ranges, gateways and auxiliary addresses.
pub fn ipam_config(a: &CreateArgs) -> Result<Value, OptsError> {
    // Docker 28 keeps every value as given: the daemon parses them.
    let subnets = split_list(&a.subnet);
    let ranges = split_list(&a.ip_range);
    // A range must be a CIDR (docker 28 prints Go's ParseCIDR error as it is).
    if let Some(bad) = ranges.iter().find(|r| Cidr::parse(r).is_none()) {
        return Err(bare(format!("invalid CIDR address: {bad}")));
    }
    let gateways = split_list(&a.gateway);
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        return Err(bare(
            "every ip-range or gateway must have a corresponding subnet".into(),
        ));
    }
    let mut configs: Vec<(String, Map<String, Value>)> = Vec::new();
    for s in &subnets {
        for (k, _) in &configs {
            if subnet_matches(s, k).map_err(bare)? || subnet_matches(k, s).map_err(bare)? {
                return Err(bare(
                    "multiple overlapping subnet configuration is not supported".into(),
                ));
            }
        }
        let mut m = Map::new();
        m.insert("Subnet".into(), json!(s));
        configs.push((s.clone(), m));
    }
    let mut attach = |what: &str, field: &str, value: &str| -> Result<(), String> {
        let mut matched = false;
        for (s, m) in configs.iter_mut() {
            if !subnet_matches(s, value)? {
                continue;
            }
            if let Some(prev) = m.get(field).and_then(Value::as_str) {
                return Err(match field {
                    "IPRange" => format!(
                        "cannot configure multiple ranges ({value}, {prev}) on the same subnet ({s})"
                    ),
                    _ => format!(
                        "cannot configure multiple gateways ({value}, {prev}) for the same subnet ({s})"
                    ),
                });
            }
            m.insert(field.into(), json!(value));
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for {what} {value}"));
        }
        Ok(())
    };
    for r in &ranges {
        attach("range", "IPRange", r).map_err(bare)?;
    }
    for g in &gateways {
        attach("gateway", "Gateway", g).map_err(bare)?;
    }
    for (key, aux) in kv_map(&a.aux_address) {
        let mut matched = false;
        for (s, m) in configs.iter_mut() {
            if subnet_matches(s, &aux).map_err(bare)? {
                let aux_map = m.entry("AuxiliaryAddresses").or_insert_with(|| json!({}));
                if let Some(o) = aux_map.as_object_mut() {
                    o.insert(key.clone(), json!(aux));
                }
                matched = true;
            }
        }
        if !matched {
            return Err(bare(format!("no matching subnet for aux-address {aux}")));
        }
    }
    Ok(json!({
        "Driver": a.ipam_driver,
        "Config": configs.into_iter().map(|(_, m)| Value::Object(m)).collect::<Vec<_>>(),
        "Options": kv_map(&a.ipam_opt),
    }))
}

fn bare(msg: String) -> OptsError {
    OptsError {
        flag: None,
        message: msg,
        plain: true,
    }
}

/// opts.ValidateLabel.
fn validate_label(l: &str) -> Result<(), String> {
    let key = l.split_once('=').map_or(l, |(k, _)| k);
    let key = key.trim_start_matches([' ', '\t']);
    if key.is_empty() {
        return Err(format!("invalid label '{l}': empty name"));
    }
    if key.contains([' ', '\t']) {
        return Err(format!("label '{key}' contains whitespaces"));
    }
    Ok(())
}

/// The NetworkCreateRequest docker 28 sends.
pub fn request_body(a: &CreateArgs) -> Result<Value, OptsError> {
    for l in &a.label {
        validate_label(l).map_err(|e| flag_err("--label", l, e))?;
    }
    let ipam = ipam_config(a)?;
    let labels: BTreeMap<String, String> = kv_map(&a.label);
    let mut body = json!({
        "Name": a.args.first().cloned().unwrap_or_default(),
        "Driver": a.driver,
        "Scope": a.scope.clone().unwrap_or_default(),
        "IPAM": ipam,
        "Internal": a.internal,
        "Attachable": a.attachable,
        "Ingress": a.ingress,
        "ConfigOnly": a.config_only,
        "Options": kv_map(&a.opt),
        "Labels": labels,
    });
    if let Some(v) = a.ipv4 {
        body["EnableIPv4"] = json!(v);
    }
    if let Some(v) = a.ipv6 {
        body["EnableIPv6"] = json!(v);
    }
    if let Some(from) = &a.config_from {
        body["ConfigFrom"] = json!({ "Network": from });
    }
    Ok(body)
}

pub fn run(ctx: &Ctx, a: CreateArgs) -> Result<()> {
    let name = "rdocker network create";
    check_args(&a.args, Arity::Exactly(1), name)?;
    // Flag values are pflag errors (usage, 125); the IPAM checks are plain errors (1).
    let body = request_body(&a).map_err(|e| opts_error(name, &e))?;
    let path = api_path("/networks/create");
    let v: Value = ctx
        .client
        .request("POST", &path, &[], Some(&serde_json::to_vec(&body)?))?
        .json()?;
    println!(
        "{}",
        v.get("Id").and_then(Value::as_str).unwrap_or_default()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: CreateArgs,
    }

    fn args(v: &[&str]) -> CreateArgs {
        T::try_parse_from(std::iter::once("create").chain(v.iter().copied()))
            .unwrap()
            .a
    }

    #[test]
    fn body_as_docker() {
        let b = request_body(&args(&["n1"])).unwrap();
        assert_eq!(
            b,
            json!({"Name": "n1", "Driver": "bridge", "Scope": "", "Internal": false,
                "Attachable": false, "Ingress": false, "ConfigOnly": false, "Options": {},
                "Labels": {}, "IPAM": {"Driver": "default", "Config": [], "Options": {}}})
        );
        let b = request_body(&args(&[
            "--subnet",
            "10.7.0.0/16",
            "--gateway",
            "10.7.0.1",
            "--ip-range",
            "10.7.1.0/24",
            "--internal",
            "--label",
            "a=b",
            "-o",
            "com.docker.network.bridge.name=br-x",
            "--attachable",
            "--ipv6=false",
            "n2",
        ]))
        .unwrap();
        assert_eq!(
            b["IPAM"]["Config"],
            json!([{"Subnet": "10.7.0.0/16", "Gateway": "10.7.0.1", "IPRange": "10.7.1.0/24"}])
        );
        assert_eq!(b["Internal"], true);
        assert_eq!(b["Attachable"], true);
        assert_eq!(b["EnableIPv6"], false);
        assert_eq!(b["Labels"], json!({"a": "b"}));
        assert_eq!(
            b["Options"],
            json!({"com.docker.network.bridge.name": "br-x"})
        );
    }

    #[test]
    fn ipam_errors_as_docker() {
        let e = |v: &[&str]| request_body(&args(v)).unwrap_err().to_string();
        assert_eq!(
            e(&["--gateway", "10.0.0.1", "n"]),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            e(&["--subnet", "10.0.0.0/8", "--subnet", "10.1.0.0/16", "n"]),
            "multiple overlapping subnet configuration is not supported"
        );
        assert_eq!(
            e(&["--subnet", "10.0.0.0/16", "--gateway", "10.1.0.1", "n"]),
            "no matching subnet for gateway 10.1.0.1"
        );
        assert_eq!(
            e(&["--subnet", "10.0.0.0/16", "--ip-range", "10.9.0.0/24", "n"]),
            "no matching subnet for range 10.9.0.0/24"
        );
        // The texts docker 28's CLI prints for these.
        assert_eq!(
            e(&["--subnet", "10.0.0.0/16,10.1.0.0/16", "--gateway", "x", "n"]),
            "no matching subnet for gateway x"
        );
        assert_eq!(
            e(&["--subnet", "10.0.0.0/16", "--ip-range", "x", "n"]),
            "invalid CIDR address: x"
        );
        assert_eq!(
            e(&["--subnet", "10.0.0.0/16", "--aux-address", "a=x", "n"]),
            "no matching subnet for aux-address x"
        );
        assert_eq!(
            e(&["--subnet", "bogus", "--gateway", "10.0.0.1", "n"]),
            "invalid subnet: invalid CIDR address: bogus"
        );
        assert_eq!(
            e(&["--label", "=x", "n"]),
            "invalid argument \"=x\" for \"--label\" flag: invalid label '=x': empty name"
        );
    }

    #[test]
    fn cidr() {
        let c = Cidr::parse("10.1.2.3/16").unwrap();
        assert_eq!(c.network().to_string(), "10.1.0.0/16");
        assert!(c.contains("10.1.200.1".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert!(Cidr::parse("10.1.0.0/33").is_none());
        assert!(Cidr::parse("10.1.0.0").is_none());
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains("1.2.3.4".parse().unwrap()));
        assert!(Cidr::parse("fd00::/8")
            .unwrap()
            .contains("fd12::1".parse().unwrap()));
    }
}
