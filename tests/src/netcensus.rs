//! What a daemon's networking can leave on the host, scoped to that one daemon (several test
//! daemons run at once): veths on its bridges, netns files under its exec root, elements of
//! its own nftables table, and IP leases in its IPAM files.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::TestDaemon;

/// The value of `--flag X` / `--flag=X` on rdockerd's command line (the last one wins, as
/// with clap).
pub fn daemon_arg(d: &TestDaemon, flags: &[&str]) -> Option<String> {
    let pid = d.pid()?;
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let mut found = None;
    for (i, a) in args.iter().enumerate() {
        for f in flags {
            if a == f {
                found = args.get(i + 1).cloned();
            } else if let Some(v) = a.strip_prefix(&format!("{f}=")) {
                found = Some(v.to_string());
            }
        }
    }
    found
}

/// The default bridge device of this daemon (`--bridge`, default `rdocker0`).
pub fn default_bridge(d: &TestDaemon) -> String {
    daemon_arg(d, &["--bridge", "-b"]).unwrap_or_else(|| "rdocker0".into())
}

/// This daemon's nftables table (`--nft-table`, default `rdocker`).
pub fn nft_table(d: &TestDaemon) -> String {
    daemon_arg(d, &["--nft-table"]).unwrap_or_else(|| "rdocker".into())
}

/// The bridge devices of this daemon: the default one and one per user network (the
/// `com.docker.network.bridge.name` option, else docker's `br-<id12>`).
pub fn bridges(d: &TestDaemon) -> Vec<String> {
    let mut out = vec![default_bridge(d)];
    let (code, body) = d.api("GET", "/networks");
    if code == 200 {
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        for n in v.as_array().into_iter().flatten() {
            if n["Driver"] != "bridge" || n["Name"] == "bridge" {
                continue;
            }
            let name = n["Options"]["com.docker.network.bridge.name"]
                .as_str()
                .map(String::from)
                .or_else(|| {
                    n["Id"]
                        .as_str()
                        .map(|id| format!("br-{}", &id[..12.min(id.len())]))
                });
            out.extend(name);
        }
    }
    out
}

/// Every host link as `ip -j -d link` reports it.
pub fn host_links() -> Vec<serde_json::Value> {
    Command::new("ip")
        .args(["-j", "-d", "link", "show"])
        .output()
        .ok()
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

/// Whether a host link with this name exists.
pub fn link_exists(name: &str) -> bool {
    host_links().iter().any(|l| l["ifname"] == name)
}

/// Host veths enslaved to one of `bridges`: "name@bridge alias".
pub fn veths_on(bridges: &[String]) -> Vec<String> {
    let mut v: Vec<String> = host_links()
        .iter()
        .filter(|l| l["linkinfo"]["info_kind"] == "veth")
        .filter(|l| {
            l["master"]
                .as_str()
                .is_some_and(|m| bridges.iter().any(|b| b == m))
        })
        .map(|l| {
            format!(
                "{}@{} {}",
                l["ifname"].as_str().unwrap_or("?"),
                l["master"].as_str().unwrap_or("?"),
                l["ifalias"].as_str().unwrap_or("")
            )
        })
        .collect();
    v.sort();
    v
}

/// Host veths whose alias names this container as owner (`rdocker:<id>`; the engine may
/// record the full id or a prefix of it).
pub fn veths_owned_by(id: &str) -> Vec<String> {
    host_links()
        .iter()
        .filter_map(|l| {
            let owner = l["ifalias"].as_str()?.strip_prefix("rdocker:")?;
            let mine = !owner.is_empty() && (id.starts_with(owner) || owner.starts_with(id));
            mine.then(|| l["ifname"].as_str().unwrap_or("?").to_string())
        })
        .collect()
}

/// Set and map elements of the daemon's table, one string per element ("set <name>: <elem>").
pub fn nft_elements(table: &str) -> Vec<String> {
    let Ok(out) = Command::new("nft")
        .args(["-j", "list", "table", "ip", table])
        .output()
    else {
        return Vec::new();
    };
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut els = Vec::new();
    for obj in v["nftables"].as_array().into_iter().flatten() {
        for kind in ["set", "map"] {
            let s = &obj[kind];
            if s.is_null() {
                continue;
            }
            let name = s["name"].as_str().unwrap_or("?");
            for e in s["elem"].as_array().into_iter().flatten() {
                els.push(format!("{kind} {name}: {e}"));
            }
        }
    }
    els.sort();
    els
}

/// Leases in every IPAM file below the data root ("<file>: <ip> <owner>"): any JSON file
/// holding a `leases` object.
pub fn leases(data_root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    crate::e2e::walk(data_root, &mut |p, m| {
        if !m.is_file() || p.extension().is_none_or(|e| e != "json") || m.len() > 1 << 20 {
            return;
        }
        // Container and image records are JSON too: only files with a `leases` map count.
        let Ok(v) = fs::read(p)
            .map_err(|_| ())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).map_err(|_| ()))
        else {
            return;
        };
        if let Some(l) = v["leases"].as_object() {
            let f = p.file_name().map(|f| f.to_string_lossy().into_owned());
            for (ip, owner) in l {
                out.push(format!("{}: {ip} {owner}", f.clone().unwrap_or_default()));
            }
        }
    });
    out.sort();
    out
}

/// Entries of `<exec-root>/netns` (named netns files, one per container).
pub fn netns_files(d: &TestDaemon) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(d.exec_root().join("netns"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The network part of a census.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetCensus {
    pub veths: Vec<String>,
    pub netns: Vec<String>,
    pub nft: Vec<String>,
    pub leases: Vec<String>,
}

impl NetCensus {
    pub fn take(d: &TestDaemon) -> NetCensus {
        NetCensus {
            veths: veths_on(&bridges(d)),
            netns: netns_files(d),
            nft: nft_elements(&nft_table(d)),
            leases: leases(&d.data_root()),
        }
    }

    /// What `after` holds beyond `self`, one line per leak.
    pub fn leaks(&self, after: &NetCensus) -> Vec<String> {
        let mut out = Vec::new();
        for (what, a, b) in [
            ("veth", &self.veths, &after.veths),
            ("netns file", &self.netns, &after.netns),
            ("nft element", &self.nft, &after.nft),
            ("ip lease", &self.leases, &after.leases),
        ] {
            out.extend(
                b.iter()
                    .filter(|x| !a.contains(x))
                    .map(|x| format!("{what}: {x}")),
            );
        }
        out
    }
}

/// What a test daemon made on the host and must not outlive it: its bridges (the default one
/// and its user networks', from the network store) and its nftables table. Only per-daemon
/// names are ever removed (`rdt…`/`br-…` bridges, `rdocker_…` tables): a production
/// `rdocker0` or `rdocker` table is never touched.
pub struct Teardown {
    bridges: Vec<String>,
    table: Option<String>,
}

impl Teardown {
    /// Collect while the daemon still runs (its command line names the bridge and table).
    pub fn collect(d: &TestDaemon) -> Teardown {
        let mut bridges = vec![default_bridge(d)];
        let store = d.data_root().join("network/networks");
        for e in fs::read_dir(store).into_iter().flatten().flatten() {
            let v: serde_json::Value = fs::read(e.path())
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            if let Some(b) = v["bridge"].as_str().filter(|b| !b.is_empty()) {
                bridges.push(b.to_string());
            }
        }
        bridges.sort();
        bridges.dedup();
        bridges.retain(|b| b.starts_with("rdt") || b.starts_with("br-"));
        let table = Some(nft_table(d)).filter(|t| t.starts_with("rdocker_"));
        Teardown { bridges, table }
    }

    /// After the daemon and its shims are gone: unmount its netns files (so the namespaces,
    /// and with them the veths, go away), delete its bridges and its table.
    pub fn run(self, d: &TestDaemon) {
        let netns = d.exec_root().join("netns");
        let prefix = format!("{}/", netns.display());
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        for m in mountinfo
            .lines()
            .filter_map(|l| l.split_whitespace().nth(4))
            .filter(|p| p.starts_with(&prefix))
        {
            let _ = Command::new("umount").args(["-l", m]).output();
        }
        for b in &self.bridges {
            let _ = Command::new("ip").args(["link", "del", b]).output();
        }
        if let Some(t) = &self.table {
            let _ = Command::new("nft")
                .args(["delete", "table", "ip", t])
                .output();
        }
    }
}
