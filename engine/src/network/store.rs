//! Network records: `<data-root>/network/networks/<id>.json`, one file per network, written
//! atomically; IPAM state lives next to them in `ipam/<id>.json` (rdocker-network's format).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;

/// What a network is, as persisted (the API shape is built from it in `routes/networks.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkRecord {
    pub id: String,
    pub name: String,
    pub created: String,
    /// `bridge`, `host` or `null` (docker's driver names).
    pub driver: String,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub attachable: bool,
    #[serde(default)]
    pub labels: HashMap<String, String>,
    #[serde(default)]
    pub options: HashMap<String, String>,
    /// Bridge device (bridge driver only).
    #[serde(default)]
    pub bridge: String,
    pub subnet: Option<Ipv4Net>,
    pub gateway: Option<Ipv4Addr>,
    pub ip_range: Option<Ipv4Net>,
    /// `bridge`, `host`, `none`: listed as docker lists them, never removed.
    #[serde(default)]
    pub predefined: bool,
}

impl NetworkRecord {
    pub fn is_bridge(&self) -> bool {
        self.driver == "bridge"
    }

    /// The default bridge network (`bridge`): no embedded DNS, legacy NetworkSettings fields.
    pub fn is_default_bridge(&self) -> bool {
        self.predefined && self.is_bridge()
    }
}

/// The directories of the network store.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(data_root: &Path) -> Store {
        Store {
            root: data_root.join("network"),
        }
    }

    fn dir(&self) -> PathBuf {
        self.root.join("networks")
    }

    pub fn ipam_path(&self, id: &str) -> PathBuf {
        self.root.join("ipam").join(format!("{id}.json"))
    }

    pub fn save(&self, rec: &NetworkRecord) -> std::io::Result<()> {
        let dir = self.dir();
        std::fs::create_dir_all(&dir)?;
        std::fs::create_dir_all(self.root.join("ipam"))?;
        let bytes = serde_json::to_vec_pretty(rec).map_err(std::io::Error::other)?;
        write_atomic(&dir.join(format!("{}.json", rec.id)), &bytes)
    }

    pub fn remove(&self, id: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.dir().join(format!("{id}.json"))) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every readable record; a broken file is logged and skipped (never fatal at start).
    pub fn load_all(&self) -> Vec<NetworkRecord> {
        let Ok(rd) = std::fs::read_dir(self.dir()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for ent in rd.flatten() {
            let p = ent.path();
            if p.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match std::fs::read(&p).map(|b| serde_json::from_slice::<NetworkRecord>(&b)) {
                Ok(Ok(r)) => out.push(r),
                Ok(Err(e)) => tracing::warn!("skipping network {}: {e}", p.display()),
                Err(e) => tracing::warn!("skipping network {}: {e}", p.display()),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(dir.path());
        assert!(s.load_all().is_empty());
        let rec = NetworkRecord {
            id: "a".repeat(64),
            name: "net1".into(),
            created: "2026-01-01T00:00:00Z".into(),
            driver: "bridge".into(),
            internal: true,
            attachable: false,
            labels: HashMap::from([("k".into(), "v".into())]),
            options: HashMap::new(),
            bridge: "br-aaaaaaaaaaaa".into(),
            subnet: Some("10.1.0.0/24".parse().unwrap()),
            gateway: Some(Ipv4Addr::new(10, 1, 0, 1)),
            ip_range: None,
            predefined: false,
        };
        s.save(&rec).unwrap();
        assert_eq!(s.load_all(), vec![rec.clone()]);
        std::fs::write(dir.path().join("network/networks/bad.json"), "{").unwrap();
        assert_eq!(s.load_all(), vec![rec.clone()]);
        s.remove(&rec.id).unwrap();
        s.remove(&rec.id).unwrap();
        assert_eq!(s.load_all().len(), 0);
    }
}
