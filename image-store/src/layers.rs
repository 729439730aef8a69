//! Unpacked layers on disk.
//!
//! Layout: `layers/<short>/diff/` is the layer's tree (an overlay lower dir) and
//! `layers/<short>/layer.json` its commit marker. `<short>` is the first 12 hex digits of the
//! chain id (24, then 64 on a prefix collision), so overlay mount data, limited to one page,
//! stays small even with many layers. A layer is unpacked into `layers/tmp-<unique>/`, the
//! marker written last, and the directory renamed into place: a visible `layers/<short>` is
//! always complete, and anything else under `layers/` is debris of a crash (see `recover.rs`).
//!
//! Complete is not yet durable: a commit does not wait for the tree to reach the disk (a
//! `syncfs` per commit made every pull pay for the whole host's writeback). Its marker carries
//! `unsynced_boot_id`, the boot id of the kernel that holds the tree in its page cache, until
//! the background flusher (`flush.rs`) has run `syncfs` and cleared it. After a daemon crash the
//! same kernel still has the tree, so recovery just syncs it; after a reboot or power loss the
//! tree cannot be trusted and recovery removes the layer and the images using it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::io_err;
use crate::flush::{boot_id, syncfs_dir, Flusher};
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
    /// Set while the tree may still be only in the page cache of the kernel with this boot id
    /// (see the module comment). Absent once synced, and in markers of older versions, which
    /// synced before writing the marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsynced_boot_id: Option<String>,
}

impl LayerMarker {
    /// False for a tree left unsynced by an earlier boot: it may never have reached the disk.
    /// Recovery removes such layers; this keeps them from being reused should that fail.
    pub fn trusted(&self) -> bool {
        match &self.unsynced_boot_id {
            None => true,
            Some(b) => boot_id() == Some(b.as_str()),
        }
    }
}

/// Cheap to clone: clones share one flusher.
#[derive(Clone)]
pub struct LayerStore {
    dir: PathBuf,
    flusher: Arc<Flusher>,
}

impl std::fmt::Debug for LayerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerStore")
            .field("dir", &self.dir)
            .finish()
    }
}

fn marker_path(dir: &Path, short: &str) -> PathBuf {
    dir.join(short).join(MARKER)
}

fn read_marker_in(dir: &Path, short: &str) -> Option<LayerMarker> {
    let bytes = fs::read(marker_path(dir, short)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_marker(path: &Path, marker: &LayerMarker) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec_pretty(marker).map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    atomic_write(path, &bytes)
}

/// Rewrites the marker of `layers/<short>` as synced if it still belongs to `chain_id` and is
/// unsynced. The caller has made the tree durable. Returns whether it rewrote the marker.
pub(crate) fn clear_unsynced(dir: &Path, short: &str, chain_id: &str) -> Result<bool, StoreError> {
    match read_marker_in(dir, short) {
        Some(mut m) if m.chain_id == chain_id && m.unsynced_boot_id.is_some() => {
            m.unsynced_boot_id = None;
            write_marker(&marker_path(dir, short), &m)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

impl LayerStore {
    /// `dir` is `<root>/layers`.
    pub fn new(dir: PathBuf) -> LayerStore {
        LayerStore {
            flusher: Arc::new(Flusher::new(dir.clone())),
            dir,
        }
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
        read_marker_in(&self.dir, short)
    }

    /// The committed directory of `chain_id`, if any.
    pub fn lookup(&self, chain_id: &str) -> Option<(String, LayerMarker)> {
        Self::candidates(chain_id).into_iter().find_map(|short| {
            let m = self.read_marker(&short)?;
            (m.chain_id == chain_id && m.trusted()).then_some((short, m))
        })
    }

    /// A fresh temp directory to unpack into (`<tmp>/diff` is the tree).
    pub fn create_tmp(&self) -> Result<PathBuf, StoreError> {
        let tmp = self.dir.join(unique_name(TMP_PREFIX));
        fs::create_dir(&tmp).map_err(io_err("mkdir", &tmp))?;
        Ok(tmp)
    }

    /// Makes an unpacked temp dir the committed layer: write the marker (unsynced), rename,
    /// queue the tree for the background flush. Blocking (fsyncs); call from a blocking context.
    pub fn commit(&self, tmp: &Path, marker: &LayerMarker) -> Result<String, StoreError> {
        let boot = boot_id();
        if boot.is_none() {
            // Without a boot id recovery could not tell a crash from a reboot: sync now, as
            // before deferred flushing, so the marker never claims a tree that is not on disk.
            syncfs_dir(tmp)?;
        }
        let mut marker = marker.clone();
        marker.unsynced_boot_id = boot.map(str::to_string);
        write_marker(&tmp.join(MARKER), &marker)?;
        for short in Self::candidates(&marker.chain_id) {
            let dest = self.dir.join(&short);
            match self.read_marker(&short) {
                Some(m) if m.chain_id == marker.chain_id && m.trusted() => {
                    // Committed meanwhile by someone else: theirs is as good as ours.
                    remove_tree(tmp)?;
                    return Ok(short);
                }
                Some(m) if m.chain_id != marker.chain_id => continue,
                _ if dest.exists() => {
                    // Unmarked debris, or an untrusted tree of an earlier boot, under a
                    // committed name (recovery removes both): replace it.
                    self.remove(&short)?;
                }
                _ => {}
            }
            let seq = {
                let mut pending = self.flusher.lock();
                fs::rename(tmp, &dest).map_err(io_err("rename", &dest))?;
                boot.map(|_| self.flusher.register(&mut pending, &short))
            };
            fsync_dir(&self.dir)?;
            if let Some(seq) = seq {
                self.flusher.enqueue(&short, &marker.chain_id, seq);
            }
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
        // Under the flusher's lock: a flush in progress must not mark a later commit under
        // this name as synced (see `flush.rs`).
        let mut pending = self.flusher.lock();
        fs::rename(&src, &gone).map_err(io_err("rename", &src))?;
        pending.remove(short);
        Ok(Some(gone))
    }

    /// Blocks until every layer committed so far is on disk and marked so. For tests and for
    /// a daemon shutting down (dropping the last clone of the store does the same).
    pub fn flush_pending(&self) {
        self.flusher.flush_pending()
    }

    /// `syncfs` of the file system holding the layers: recovery's flush of trees a crashed
    /// process left unsynced.
    pub(crate) fn sync_all(&self) -> Result<(), StoreError> {
        syncfs_dir(&self.dir)
    }

    /// After `sync_all`: records `layers/<short>` as durable.
    pub(crate) fn mark_synced(&self, short: &str, chain_id: &str) -> Result<bool, StoreError> {
        clear_unsynced(&self.dir, short, chain_id)
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
            unsynced_boot_id: None,
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

    fn unpacked(ls: &LayerStore, content: &[u8]) -> PathBuf {
        let tmp = ls.create_tmp().unwrap();
        fs::create_dir(tmp.join("diff")).unwrap();
        fs::write(tmp.join("diff/f"), content).unwrap();
        tmp
    }

    #[test]
    fn commit_defers_sync_to_flusher() {
        let t = tempfile::tempdir().unwrap();
        let ls = LayerStore::new(t.path().join("layers"));
        ls.init().unwrap();
        let current = boot_id().map(str::to_string);
        assert!(current.is_some(), "this host exposes a boot id");
        let c = format!("sha256:{}", "c".repeat(64));
        let short = ls.commit(&unpacked(&ls, b"x"), &marker(&c)).unwrap();
        // Flushed or not yet, the marker never claims more than is true.
        let m = ls.read_marker(&short).unwrap();
        assert!(m.unsynced_boot_id.is_none() || m.unsynced_boot_id == current);
        ls.flush_pending();
        assert_eq!(ls.read_marker(&short).unwrap().unsynced_boot_id, None);
        assert_eq!(ls.lookup(&c).unwrap().1, marker(&c));

        // Removed before its flush: the flusher must not recreate or touch anything.
        let d = format!("sha256:{}", "d".repeat(64));
        let short_d = ls.commit(&unpacked(&ls, b"y"), &marker(&d)).unwrap();
        ls.remove(&short_d).unwrap();
        // Committed again: only the new commit's own flush may clear its marker.
        let again = ls.commit(&unpacked(&ls, b"z"), &marker(&d)).unwrap();
        assert_eq!(again, short_d);
        ls.flush_pending();
        assert_eq!(ls.read_marker(&again).unwrap().unsynced_boot_id, None);
        assert_eq!(fs::read(ls.diff_path(&again).join("f")).unwrap(), b"z");
        let mut names = ls.entries().unwrap();
        names.sort();
        assert_eq!(names, vec![short, again]);
    }

    #[test]
    fn commit_marks_unsynced_until_flushed() {
        let t = tempfile::tempdir().unwrap();
        let ls = LayerStore::new(t.path().join("layers"));
        ls.init().unwrap();
        let current = boot_id().map(str::to_string);
        assert!(current.is_some(), "this host exposes a boot id");
        let e = format!("sha256:{}", "e".repeat(64));
        let held = ls.flusher.hold();
        let short = ls.commit(&unpacked(&ls, b"x"), &marker(&e)).unwrap();
        let m = ls.read_marker(&short).unwrap();
        assert_eq!(m.unsynced_boot_id, current);
        // An unsynced tree of this boot is usable: the page cache holds it.
        assert_eq!(ls.lookup(&e).unwrap().0, short);
        drop(held);
        ls.flush_pending();
        assert_eq!(ls.read_marker(&short).unwrap().unsynced_boot_id, None);
        // The field is left out of synced markers, as in markers of older versions.
        let raw = fs::read_to_string(ls.dir().join(&short).join(MARKER)).unwrap();
        assert!(!raw.contains("unsynced_boot_id"), "{raw}");
    }

    #[test]
    fn dropping_the_store_flushes() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("layers");
        let ls = LayerStore::new(dir.clone());
        ls.init().unwrap();
        let c = format!("sha256:{}", "f".repeat(64));
        let short = ls.commit(&unpacked(&ls, b"x"), &marker(&c)).unwrap();
        drop(ls);
        let m = LayerStore::new(dir).read_marker(&short).unwrap();
        assert_eq!(m.unsynced_boot_id, None);
    }
}
