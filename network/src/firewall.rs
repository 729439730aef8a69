//! nftables rules in a table of our own (`table ip rdocker`): the static rule set and network
//! elements through the `nft` binary, port-map elements through nfnetlink ([`crate::nfnl`]).
//!
//! The rule set is static and created once ([`Firewall::ensure`]); everything per network and
//! per container is an *element* of a set or map of that table, so adding and removing never
//! touches a rule, never needs a rule handle, and never flushes anything:
//!
//! | set / map | element | effect |
//! |---|---|---|
//! | `bridges` | bridge name | isolation: no forwarding between two of our bridges; 127/8 masquerade towards them |
//! | `samebr` | `br . br` | forwarding back into the same bridge (hairpin through a host port) is accepted |
//! | `masq` | subnet | masquerade when leaving through anything but one of our bridges (not for internal networks); hairpin: a DNATed connection from one of these subnets into one of our bridges is masqueraded too (`iifname` is not known in postrouting; traffic between two bridges is dropped in forward anyway) |
//! | `internal` | bridge name | internal network: no forwarding to or from other interfaces |
//! | (rule) | | a published port is public: reaching it through a host address is allowed from another network too (`ct status dnat` before the isolation drop), as from the host |
//! | `ports_any` | `proto . port : ip . port` | DNAT of a port published on every host address |
//! | `ports_ip` | `hostip . proto . port : ip . port` | DNAT of a port published on one host address |

use std::net::Ipv4Addr;
use std::process::Stdio;

use ipnet::Ipv4Net;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::nfnl::{apply_ports, Op};
use crate::ports::{PortMapping, Proto};
use crate::rtnl::check_ifname;

/// Bumped whenever the static rule set below changes; an older table is replaced.
const SCHEMA: &str = "rdocker schema 1";

/// Name of the production table.
pub const TABLE: &str = "rdocker";

fn ruleset(table: &str) -> String {
    format!(
        r#"table ip {table} {{
  comment "{SCHEMA}"
  set bridges {{ type ifname; }}
  set internal {{ type ifname; }}
  set samebr {{ type ifname . ifname; }}
  set masq {{ type ipv4_addr; flags interval; }}
  map ports_any {{ type inet_proto . inet_service : ipv4_addr . inet_service; }}
  map ports_ip {{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }}
  chain prerouting {{
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @ports_ip
    fib daddr type local dnat ip to meta l4proto . th dport map @ports_any
  }}
  chain output {{
    type nat hook output priority -100; policy accept;
    fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @ports_ip
    fib daddr type local dnat ip to meta l4proto . th dport map @ports_any
  }}
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 127.0.0.0/8 oifname @bridges masquerade
    ct status dnat ip saddr @masq oifname @bridges masquerade
    ip saddr @masq oifname != @bridges masquerade
  }}
  chain forward {{
    type filter hook forward priority filter; policy accept;
    iifname . oifname @samebr accept
    iifname @internal drop
    oifname @internal drop
    ct status dnat oifname @bridges accept
    iifname @bridges oifname @bridges drop
  }}
}}
"#
    )
}

/// What the firewall needs to know about a network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkRules {
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub internal: bool,
}

/// Handle on one nftables table of ours.
#[derive(Clone, Debug)]
pub struct Firewall {
    table: String,
}

impl Firewall {
    /// `table` must start with `rdocker` (tests use `rdocker-t<random>`) and be a plain name.
    pub fn new(table: &str) -> Result<Firewall> {
        let ok = table.starts_with("rdocker")
            && table.len() <= 64
            && table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(Error::Nft(format!("refusing table name {table:?}")));
        }
        Ok(Firewall {
            table: table.to_string(),
        })
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Create the table with its chains, sets and maps unless it already exists with the
    /// current schema, and enable `ip_forward`. Returns `true` when the table was (re)created
    /// empty: the caller must then re-add its networks and ports. Call once at daemon start,
    /// not concurrently.
    pub async fn ensure(&self) -> Result<bool> {
        crate::sysctl::enable_ip_forward()?;
        let (ok, out) = nft(&["list", "table", "ip", &self.table], None).await?;
        if ok && out.contains(SCHEMA) {
            return Ok(false);
        }
        let mut batch = String::new();
        if ok {
            batch.push_str(&format!("delete table ip {}\n", self.table));
        }
        batch.push_str(&ruleset(&self.table));
        run_batch(&batch).await?;
        Ok(true)
    }

    /// Delete the whole table (uninstall, tests). A missing table is fine.
    pub async fn delete_table(&self) -> Result<()> {
        let batch = format!("add table ip {t}\ndelete table ip {t}\n", t = self.table);
        run_batch(&batch).await
    }

    /// Rules of a network: forwarding/isolation, masquerade (unless internal), hairpin.
    pub async fn add_network(&self, n: &NetworkRules) -> Result<()> {
        check_ifname(&n.bridge)?;
        run_batch(&self.network_batch(n, "add")).await
    }

    /// Remove the rules of a network. Idempotent.
    pub async fn remove_network(&self, n: &NetworkRules) -> Result<()> {
        check_ifname(&n.bridge)?;
        // Adding first makes the delete of an absent element a no-op; one transaction.
        let batch = self.network_batch(n, "add") + &self.network_batch(n, "delete");
        run_batch(&batch).await
    }

    fn network_batch(&self, n: &NetworkRules, verb: &str) -> String {
        let t = &self.table;
        let b = &n.bridge;
        let mut s = format!(
            "{verb} element ip {t} bridges {{ \"{b}\" }}\n{verb} element ip {t} samebr {{ \"{b}\" . \"{b}\" }}\n"
        );
        if n.internal {
            s.push_str(&format!("{verb} element ip {t} internal {{ \"{b}\" }}\n"));
        } else {
            s.push_str(&format!(
                "{verb} element ip {t} masq {{ {} }}\n",
                n.subnet.trunc()
            ));
        }
        s
    }

    /// DNAT for published ports: one transaction for all of them, sent over nfnetlink (no
    /// process; see [`crate::nfnl`]).
    pub async fn add_ports(&self, ports: &[PortMapping]) -> Result<()> {
        let ops: Vec<(Op, &PortMapping)> = ports.iter().map(|p| (Op::Add, p)).collect();
        apply_ports(&self.table, &ops)
    }

    /// Remove published ports. Idempotent (each element is added, then deleted, in the same
    /// transaction, so an absent one is no error).
    pub async fn remove_ports(&self, ports: &[PortMapping]) -> Result<()> {
        let ops: Vec<(Op, &PortMapping)> = ports
            .iter()
            .flat_map(|p| [(Op::Add, p), (Op::Delete, p)])
            .collect();
        apply_ports(&self.table, &ops)
    }

    /// What the table holds now (for tests, `sweep` and diagnostics).
    pub async fn list(&self) -> Result<FirewallState> {
        let (ok, out) = nft(&["-j", "list", "table", "ip", &self.table], None).await?;
        if !ok {
            return Ok(FirewallState::default());
        }
        let v: Value =
            serde_json::from_str(&out).map_err(|e| Error::Nft(format!("bad json: {e}")))?;
        Ok(FirewallState::from_json(&v))
    }
}

/// The elements of our table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FirewallState {
    pub bridges: Vec<String>,
    pub internal: Vec<String>,
    pub samebr: Vec<String>,
    pub masq: Vec<String>,
    pub ports: Vec<PortMapping>,
    /// Number of rules in the table (constant: the static rule set).
    pub rules: usize,
}

impl FirewallState {
    /// True when no network or port element is left.
    pub fn is_empty(&self) -> bool {
        self.bridges.is_empty()
            && self.internal.is_empty()
            && self.samebr.is_empty()
            && self.masq.is_empty()
            && self.ports.is_empty()
    }

    fn from_json(v: &Value) -> FirewallState {
        let mut st = FirewallState::default();
        let items = v.get("nftables").and_then(Value::as_array);
        for item in items.into_iter().flatten() {
            if item.get("rule").is_some() {
                st.rules += 1;
            }
            let Some(set) = item.get("set").or_else(|| item.get("map")) else {
                continue;
            };
            let name = set.get("name").and_then(Value::as_str).unwrap_or("");
            let elems = set.get("elem").and_then(Value::as_array);
            for e in elems.into_iter().flatten() {
                match name {
                    "bridges" | "internal" => {
                        let s = e.as_str().unwrap_or("").to_string();
                        if name == "bridges" {
                            st.bridges.push(s);
                        } else {
                            st.internal.push(s);
                        }
                    }
                    "samebr" => st.samebr.push(e.to_string()),
                    "masq" => st.masq.push(e.to_string()),
                    "ports_any" | "ports_ip" => {
                        if let Some(m) = parse_port_elem(name == "ports_ip", e) {
                            st.ports.push(m);
                        }
                    }
                    _ => {}
                }
            }
        }
        st
    }
}

/// `[{"concat": [ip?, proto, port]}, {"concat": [ip, port]}]` → a mapping.
fn parse_port_elem(with_ip: bool, e: &Value) -> Option<PortMapping> {
    let pair = e.as_array()?;
    let key = pair.first()?.get("concat")?.as_array()?;
    let val = pair.get(1)?.get("concat")?.as_array()?;
    let (host_ip, rest) = if with_ip {
        (key.first()?.as_str()?.parse().ok()?, &key[1..])
    } else {
        (Ipv4Addr::UNSPECIFIED, &key[..])
    };
    // nft names the protocol from /etc/protocols; without that file (no `netbase`, as on a
    // minimal Debian) it prints the number.
    let p = rest.first()?;
    let proto = match (p.as_str(), p.as_u64()) {
        (Some("tcp"), _) | (_, Some(6)) => Proto::Tcp,
        (Some("udp"), _) | (_, Some(17)) => Proto::Udp,
        _ => return None,
    };
    Some(PortMapping {
        proto,
        host_ip,
        host_port: u16::try_from(rest.get(1)?.as_u64()?).ok()?,
        container_ip: val.first()?.as_str()?.parse().ok()?,
        container_port: u16::try_from(val.get(1)?.as_u64()?).ok()?,
    })
}

/// Run `nft -f -` with `batch` (one atomic transaction).
async fn run_batch(batch: &str) -> Result<()> {
    let (ok, out) = nft(&["-f", "-"], Some(batch)).await?;
    if ok {
        Ok(())
    } else {
        Err(Error::Nft(out.trim().to_string()))
    }
}

/// Run nft; returns (success, stdout or stderr).
async fn nft(args: &[&str], stdin: Option<&str>) -> Result<(bool, String)> {
    let mut cmd = tokio::process::Command::new("nft");
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::Nft(format!("spawn nft: {e}")))?;
    if let (Some(data), Some(mut w)) = (stdin, child.stdin.take()) {
        w.write_all(data.as_bytes())
            .await
            .map_err(|e| Error::Nft(format!("write to nft: {e}")))?;
        drop(w);
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| Error::Nft(format!("wait for nft: {e}")))?;
    if out.status.success() {
        Ok((true, String::from_utf8_lossy(&out.stdout).into_owned()))
    } else {
        Ok((false, String::from_utf8_lossy(&out.stderr).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_elements_with_protocol_names_or_numbers() {
        let named: Value =
            serde_json::json!([{"concat": ["udp", 50238]}, {"concat": ["10.1.0.3", 53]}]);
        let numbered: Value =
            serde_json::json!([{"concat": [17, 50238]}, {"concat": ["10.1.0.3", 53]}]);
        let a = parse_port_elem(false, &named).unwrap();
        assert_eq!(parse_port_elem(false, &numbered), Some(a.clone()));
        assert_eq!(
            (a.proto, a.host_port, a.container_port),
            (Proto::Udp, 50238, 53)
        );
        let tcp: Value =
            serde_json::json!([{"concat": ["127.0.0.1", 6, 80]}, {"concat": ["10.1.0.3", 8080]}]);
        assert_eq!(
            parse_port_elem(true, &tcp).map(|p| p.proto),
            Some(Proto::Tcp)
        );
    }

    #[test]
    fn batches() {
        assert!(Firewall::new("filter").is_err());
        assert!(Firewall::new("rdocker; flush ruleset").is_err());
        let fw = Firewall::new("rdocker-x").unwrap();
        let n = NetworkRules {
            bridge: "br1".into(),
            subnet: "10.9.0.0/16".parse().unwrap(),
            internal: false,
        };
        assert_eq!(
            fw.network_batch(&n, "add"),
            "add element ip rdocker-x bridges { \"br1\" }\n\
             add element ip rdocker-x samebr { \"br1\" . \"br1\" }\n\
             add element ip rdocker-x masq { 10.9.0.0/16 }\n"
        );
    }
}
