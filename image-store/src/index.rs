//! The image index, `images.json`: image id → config/manifest digests, layers, repo tags and
//! repo digests. Held in memory; every change is written atomically (temp + fsync + rename +
//! fsync dir) before it becomes visible, so a crash leaves the old or the new index.
//!
//! References are stored in full form (`docker.io/library/busybox:latest`) and shown familiar.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use serde::{Deserialize, Serialize};

use crate::error::io_err;
use crate::fsutil::atomic_write;
use crate::reference::{is_full_hex_id, Reference};
use crate::StoreError;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IndexFile {
    pub version: u32,
    /// Keyed by image id (`sha256:<config hex>`).
    pub images: BTreeMap<String, ImageRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageRecord {
    pub id: String,
    /// The platform manifest (never an index) the image was built from.
    pub manifest_digest: String,
    pub manifest_media_type: String,
    pub layers: Vec<LayerRecord>,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    /// Other blobs this image keeps alive (the index/manifest list it was pulled through).
    #[serde(default)]
    pub extra_blobs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LayerRecord {
    pub diff_id: String,
    pub chain_id: String,
    /// Directory name under `layers/` (a short prefix of the chain id).
    pub dir: String,
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub unpacked_size: u64,
}

/// How `name_or_id` matched: Docker removes a tag when given a name, the image when given an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched {
    Tag(String),
    Digest(String),
    Id,
}

impl IndexFile {
    /// Docker's `GetImage`: full id, then tag/digest reference, then unique id prefix.
    pub fn resolve(&self, name_or_id: &str) -> Result<(&ImageRecord, Matched), StoreError> {
        let bare = name_or_id.strip_prefix("sha256:").unwrap_or(name_or_id);
        if is_full_hex_id(bare) {
            return self
                .images
                .get(&format!("sha256:{bare}"))
                .map(|r| (r, Matched::Id))
                .ok_or_else(|| StoreError::NoSuchImage(name_or_id.to_string()));
        }
        let parsed = Reference::parse(name_or_id);
        if let Ok(r) = &parsed {
            if let Some(found) = self.by_reference(r) {
                return Ok(found);
            }
        }
        let is_hex = !bare.is_empty() && bare.bytes().all(|b| b.is_ascii_hexdigit());
        if is_hex {
            let bare = bare.to_ascii_lowercase();
            let mut hits = self.images.values().filter(|r| {
                r.id.strip_prefix("sha256:")
                    .is_some_and(|h| h.starts_with(&bare))
            });
            if let Some(first) = hits.next() {
                if hits.next().is_some() {
                    return Err(StoreError::AmbiguousImageId(name_or_id.to_string()));
                }
                return Ok((first, Matched::Id));
            }
        }
        match parsed {
            Ok(r) => Err(StoreError::NoSuchImage(r.familiar())),
            Err(_) if is_hex => Err(StoreError::NoSuchImage(name_or_id.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    fn by_reference(&self, r: &Reference) -> Option<(&ImageRecord, Matched)> {
        let full = r.to_string();
        if let Some(d) = r.digest() {
            // `name:tag@digest` is looked up by its digest, as Docker does.
            let key = format!("{}@{d}", r.name());
            return self
                .images
                .values()
                .find(|i| i.repo_digests.contains(&key))
                .map(|i| (i, Matched::Digest(key)));
        }
        self.images
            .values()
            .find(|i| i.repo_tags.contains(&full))
            .map(|i| (i, Matched::Tag(full)))
    }

    /// Points `tag_ref` (full form) at `id`, taking it away from any other image.
    pub fn set_tag(&mut self, id: &str, tag_ref: &str) {
        for img in self.images.values_mut() {
            if img.id != id {
                img.repo_tags.retain(|t| t != tag_ref);
            }
        }
        if let Some(img) = self.images.get_mut(id) {
            if !img.repo_tags.iter().any(|t| t == tag_ref) {
                img.repo_tags.push(tag_ref.to_string());
            }
        }
    }

    pub fn add_digest(&mut self, id: &str, digest_ref: &str) {
        if let Some(img) = self.images.get_mut(id) {
            if !img.repo_digests.iter().any(|t| t == digest_ref) {
                img.repo_digests.push(digest_ref.to_string());
            }
        }
    }

    /// Chain ids still used by some image.
    pub fn used_chain_ids(&self) -> std::collections::HashSet<&str> {
        self.images
            .values()
            .flat_map(|i| i.layers.iter().map(|l| l.chain_id.as_str()))
            .collect()
    }

    /// Blobs (manifests, configs, indexes) still referenced by some image.
    pub fn used_blobs(&self) -> std::collections::HashSet<&str> {
        let mut s = std::collections::HashSet::new();
        for i in self.images.values() {
            s.insert(i.id.as_str());
            s.insert(i.manifest_digest.as_str());
            for b in &i.extra_blobs {
                s.insert(b.as_str());
            }
        }
        s
    }
}

/// Name of a full reference (`docker.io/library/busybox`) from a stored tag or digest ref.
pub fn ref_name(full: &str) -> &str {
    if let Some((name, _)) = full.split_once('@') {
        return name;
    }
    match full.rfind(':') {
        Some(i) if !full[i + 1..].contains('/') => &full[..i],
        _ => full,
    }
}

/// Familiar form of a stored full reference (stored refs were produced by `Reference`).
pub fn familiar(full: &str) -> String {
    Reference::parse_no_default_tag(full)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| full.to_string())
}

pub struct Index {
    path: PathBuf,
    state: RwLock<IndexFile>,
    writer: Mutex<()>,
}

impl Index {
    pub fn load(path: PathBuf) -> Result<Index, StoreError> {
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path: path.clone(),
                detail: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => IndexFile {
                version: 1,
                ..Default::default()
            },
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        Ok(Index {
            path,
            state: RwLock::new(state),
            writer: Mutex::new(()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A consistent snapshot for readers.
    pub fn read<T>(&self, f: impl FnOnce(&IndexFile) -> T) -> T {
        let g = self.state.read().unwrap_or_else(|p| p.into_inner());
        f(&g)
    }

    /// Runs `f` while holding the writer lock, without changing the index: for file deletions
    /// that must not interleave with a pull recording an image.
    pub fn locked<T>(&self, f: impl FnOnce(&IndexFile) -> T) -> T {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        self.read(f)
    }

    /// Applies `f` to a copy, persists it, then publishes it. If `f` or the write fails, nothing
    /// changes. Writers are serialised so no update is lost.
    pub fn update<T>(
        &self,
        f: impl FnOnce(&mut IndexFile) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut copy = self.read(|s| s.clone());
        let out = f(&mut copy)?;
        let bytes = serde_json::to_vec_pretty(&copy).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        atomic_write(&self.path, &bytes)?;
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = copy;
        Ok(out)
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
