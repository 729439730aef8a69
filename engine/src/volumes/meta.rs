//! `volume.json`: what Docker's local driver keeps about a volume (labels, options, creation
//! time), written atomically next to `_data`.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeMeta {
    #[serde(default)]
    pub labels: HashMap<String, String>,
    #[serde(default)]
    pub options: HashMap<String, String>,
    /// RFC 3339, seconds precision (Docker's `CreatedAt`).
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub anonymous: bool,
}

pub const FILE: &str = "volume.json";

impl VolumeMeta {
    pub fn read(dir: &Path) -> std::io::Result<VolumeMeta> {
        let bytes = std::fs::read(dir.join(FILE))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// Atomically (temp file, fsync, rename): a crash leaves the old file or the new one.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::fsutil::write_atomic(&dir.join(FILE), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let m = VolumeMeta {
            labels: [("a".to_string(), "b".to_string())].into(),
            options: HashMap::new(),
            created: "2026-11-29T19:00:00Z".into(),
            anonymous: true,
        };
        m.write(dir.path()).unwrap();
        assert_eq!(VolumeMeta::read(dir.path()).unwrap(), m);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec![FILE.to_string()]);
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), b"{\"labels\": {").unwrap();
        assert_eq!(
            VolumeMeta::read(dir.path()).unwrap_err().kind(),
            std::io::ErrorKind::InvalidData
        );
    }
}
