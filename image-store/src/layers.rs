//! Unpacked layers on disk.
//!
//! Layout: `layers/<short>/diff/` is the layer's tree (an overlay lower dir) and
//! `layers/<short>/layer.json` its commit marker. `<short>` is the first 12 hex digits of the
//! chain id (24, then 64 on a prefix collision), so overlay mount data, limited to one page,
//! stays small even with many layers. A layer is unpacked into `layers/tmp-<unique>/`, the
//! marker written last, and the directory renamed into place: a visible `layers/<short>` is
//! always complete, and anything else under `layers/` is debris of a crash (see `recover.rs`).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::io_err;
use crate::fsutil::{atomic_write, fsync_dir, remove_tree, unique_name};
use crate::StoreError;

pub const MARKER: &str = "layer.json";
pub const TMP_PREFIX: &str = "tmp-";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LayerMarker {
    pub chain_id: String,
    pub diff_id: String,
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub unpacked_size: u64,
}

#[derive(Debug, Clone)]
pub struct LayerStore {
    dir: PathBuf,
}

impl LayerStore {
    /// `dir` is `<root>/layers`.
    pub fn new(dir: PathBuf) -> LayerStore {
        LayerStore { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn init(&self) -> Result<(), StoreError> {
        fs::create_dir_all(&self.dir).map_err(io_err("mkdir", &self.dir))
    }

    /// The tree to use as an overlay lower dir.
    pub fn diff_path(&self, short: &str) -> PathBuf {
        self.dir.join(short).join("diff")
    }

    fn candidates(chain_id: &str) -> Vec<String> {
        let hex = chain_id.strip_prefix("sha256:").unwrap_or(chain_id);
        [12, 24, 64]
            .iter()
            .filter(|n| **n <= hex.len())
            .map(|n| hex[..*n].to_string())
            .collect()
    }

    pub fn read_marker(&self, short: &str) -> Option<LayerMarker> {
        let bytes = fs::read(self.dir.join(short).join(MARKER)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The committed directory of `chain_id`, if any.
    pub fn lookup(&self, chain_id: &str) -> Option<(String, LayerMarker)> {
        Self::candidates(chain_id).into_iter().find_map(|short| {
            let m = self.read_marker(&short)?;
            (m.chain_id == chain_id).then_some((short, m))
        })
    }

    /// A fresh temp directory to unpack into (`<tmp>/diff` is the tree).
    pub fn create_tmp(&self) -> Result<PathBuf, StoreError> {
        let tmp = self.dir.join(unique_name(TMP_PREFIX));
        fs::create_dir(&tmp).map_err(io_err("mkdir", &tmp))?;
        Ok(tmp)
    }

    /// Makes an unpacked temp dir the committed layer: flush its data, write the marker, rename.
    /// Blocking (syncfs); call from a blocking context.
    pub fn commit(&self, tmp: &Path, marker: &LayerMarker) -> Result<String, StoreError> {
        // One syncfs instead of an fsync per file: the tree must be on disk before the marker
        // says it is complete.
        let d = fs::File::open(tmp).map_err(io_err("open", tmp))?;
        rustix::fs::syncfs(&d).map_err(|e| StoreError::io("sync", tmp, e.into()))?;
        let bytes = serde_json::to_vec_pretty(marker).map_err(|e| StoreError::Corrupt {
            path: tmp.join(MARKER),
            detail: e.to_string(),
        })?;
        atomic_write(&tmp.join(MARKER), &bytes)?;
        for short in Self::candidates(&marker.chain_id) {
            let dest = self.dir.join(&short);
            match self.read_marker(&short) {
                Some(m) if m.chain_id == marker.chain_id => {
                    // Committed meanwhile by someone else: theirs is as good as ours.
                    remove_tree(tmp)?;
                    return Ok(short);
                }
                Some(_) => continue,
                None if dest.exists() => {
                    // Unmarked debris under a committed name (should not happen): replace it.
                    self.remove(&short)?;
                }
                None => {}
            }
            fs::rename(tmp, &dest).map_err(io_err("rename", &dest))?;
            fsync_dir(&self.dir)?;
            return Ok(short);
        }
        Err(StoreError::Corrupt {
            path: self.dir.clone(),
            detail: format!("no free directory name for layer {}", marker.chain_id),
        })
    }

    /// Removes a committed layer: renamed away first, so a crash mid-delete leaves only a temp
    /// dir for recovery, never a half-deleted layer under its committed name.
    pub fn remove(&self, short: &str) -> Result<(), StoreError> {
        match self.detach(short)? {
            Some(gone) => remove_tree(&gone),
            None => Ok(()),
        }
    }

    /// First half of `remove`: the layer disappears from its name at once (cheap, done under
    /// the index lock); the returned temp dir is deleted later, outside it.
    pub fn detach(&self, short: &str) -> Result<Option<PathBuf>, StoreError> {
        let src = self.dir.join(short);
        if !src.exists() {
            return Ok(None);
        }
        let gone = self.dir.join(unique_name(&format!("{TMP_PREFIX}del-")));
        fs::rename(&src, &gone).map_err(io_err("rename", &src))?;
        Ok(Some(gone))
    }

    /// Names of all entries under `layers/`.
    pub fn entries(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir).map_err(io_err("read dir", &self.dir))? {
            let e = e.map_err(io_err("read dir", &self.dir))?;
            out.push(e.file_name().to_string_lossy().into_owned());
        }
        Ok(out)
    }
}

/// Docker's chain ids: `chain[0] = diff[0]`, `chain[n] = sha256(chain[n-1] + " " + diff[n])`.
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => crate::content::sha256_digest(format!("{prev} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(chain: &str) -> LayerMarker {
        LayerMarker {
            chain_id: chain.into(),
            diff_id: chain.into(),
            digest: chain.into(),
            media_type: "application/vnd.oci.image.layer.v1.tar".into(),
            size: 1,
            unpacked_size: 1,
        }
    }

    #[test]
    fn chain_ids_like_docker() {
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        let c = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(c[0], a);
        assert_eq!(
            c[1],
            crate::content::sha256_digest(format!("{a} {b}").as_bytes())
        );
    }

    #[test]
    fn commit_lookup_collision_remove() {
        let t = tempfile::tempdir().unwrap();
        let ls = LayerStore::new(t.path().join("layers"));
        ls.init().unwrap();
        let one = format!("sha256:{}{}", "1".repeat(12), "a".repeat(52));
        let two = format!("sha256:{}{}", "1".repeat(12), "b".repeat(52));
        let tmp = ls.create_tmp().unwrap();
        fs::create_dir(tmp.join("diff")).unwrap();
        fs::write(tmp.join("diff/f"), b"x").unwrap();
        assert_eq!(ls.commit(&tmp, &marker(&one)).unwrap(), "1".repeat(12));
        let tmp = ls.create_tmp().unwrap();
        let short2 = ls.commit(&tmp, &marker(&two)).unwrap();
        assert_eq!(short2.len(), 24);
        assert_eq!(ls.lookup(&two).unwrap().0, short2);
        assert_eq!(ls.lookup(&one).unwrap().0, "1".repeat(12));
        assert_eq!(
            fs::read(ls.diff_path(&"1".repeat(12)).join("f")).unwrap(),
            b"x"
        );
        ls.remove(&"1".repeat(12)).unwrap();
        assert!(ls.lookup(&one).is_none());
        assert_eq!(ls.entries().unwrap(), vec![short2]);
    }
}
