//! The image store's face: what the engine calls. The work is in the stage modules:
//! `registry` → `pull`/`fetch` (with `unpack`) → `content`/`layers` → `index`.
//!
//! On disk, under the data root (0700):
//! - `blobs/sha256/<hex>`: manifests, indexes and image configs, verified (`content.rs`);
//! - `blobs/tmp/`: blobs being written;
//! - `layers/<short>/diff/` + `layers/<short>/layer.json`: unpacked layers (`layers.rs`),
//!   flushed to disk in the background (`flush.rs`);
//! - `layers/tmp-*`: layers being unpacked or deleted;
//! - `images.json`: the index (`index.rs`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};

use oci_spec::image::ImageConfiguration;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::content::ContentStore;
use crate::index::{familiar, ImageRecord, Index};
use crate::layers::LayerStore;
use crate::registry::Registry;
use crate::{Credentials, Platform, PullEvent, Reference, StoreConfig, StoreError};

pub struct ImageStore {
    inner: Arc<Inner>,
}

/// Shared with the layer tasks of running pulls.
pub struct Inner {
    pub(crate) cfg: StoreConfig,
    pub(crate) content: ContentStore,
    pub(crate) layers: LayerStore,
    pub(crate) index: Index,
    pub(crate) registry: Registry,
    /// dockerd's max-concurrent-downloads, for the whole daemon.
    pub(crate) downloads: Arc<Semaphore>,
    layer_locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
    /// Chain ids in use by running pulls: pruning leaves them alone.
    pins: Mutex<HashMap<String, usize>>,
    configs: RwLock<HashMap<String, Arc<ImageConfiguration>>>,
}

impl Inner {
    /// One lock per chain id, dropped when nobody holds it.
    pub(crate) fn layer_lock(&self, chain_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.layer_locks.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, w| w.strong_count() > 0);
        if let Some(l) = map.get(chain_id).and_then(Weak::upgrade) {
            return l;
        }
        let l = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(chain_id.to_string(), Arc::downgrade(&l));
        l
    }

    pub(crate) fn pin(self: &Arc<Self>, chain_ids: &[String]) -> PinGuard {
        let mut pins = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        for c in chain_ids {
            *pins.entry(c.clone()).or_insert(0) += 1;
        }
        PinGuard {
            inner: self.clone(),
            chain_ids: chain_ids.to_vec(),
        }
    }

    fn is_pinned(&self, chain_id: &str) -> bool {
        self.pins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(chain_id)
    }

    pub(crate) fn config_of(&self, id: &str) -> Result<Arc<ImageConfiguration>, StoreError> {
        if let Some(c) = self
            .configs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
        {
            return Ok(c.clone());
        }
        let bytes = self.content.read(id)?;
        let cfg: ImageConfiguration =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path: self.content.path(id).unwrap_or_default(),
                detail: e.to_string(),
            })?;
        let cfg = Arc::new(cfg);
        self.configs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), cfg.clone());
        Ok(cfg)
    }
}

pub(crate) struct PinGuard {
    inner: Arc<Inner>,
    chain_ids: Vec<String>,
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        let mut pins = self.inner.pins.lock().unwrap_or_else(|p| p.into_inner());
        for c in &self.chain_ids {
            if let Some(n) = pins.get_mut(c) {
                *n -= 1;
                if *n == 0 {
                    pins.remove(c);
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct PullRequest {
    pub reference: Reference,
    pub platform: Option<Platform>,
    pub credentials: Option<Credentials>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    Downloaded,
    UpToDate,
}

#[derive(Debug, Clone)]
pub struct PullOutcome {
    pub reference: Reference,
    /// `sha256:<config digest hex>`
    pub image_id: String,
    pub manifest_digest: String,
    pub status: PullStatus,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageInfo {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub created: Option<String>,
    pub size: u64,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub config: oci_spec::image::ImageConfiguration,
    pub manifest_digest: String,
    pub layers: Vec<LayerInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerInfo {
    pub diff_id: String,
    pub chain_id: String,
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub unpacked_size: u64,
}

#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub id: String,
    pub created: i64,
    pub created_by: String,
    pub tags: Vec<String>,
    pub size: u64,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveAction {
    Untagged(String),
    Deleted(String),
}

#[derive(Debug, Clone)]
pub struct DistributionInfo {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub platforms: Vec<Platform>,
}

impl ImageStore {
    /// Creates the data root (0700) and its dirs, loads images.json, cleans what a crash left
    /// (temp blobs, half-unpacked layers). Returns the store and one line per recovery action.
    pub fn open(cfg: StoreConfig) -> Result<(ImageStore, Vec<String>), StoreError> {
        crate::fsutil::create_dir_mode(&cfg.root, 0o700)?;
        // Validate mirror URLs now rather than at the first pull.
        cfg.registry.endpoints(crate::reference::DOCKER_HUB)?;
        let content = ContentStore::new(cfg.root.join("blobs"));
        content.init()?;
        let layers = LayerStore::new(cfg.root.join("layers"));
        layers.init()?;
        let index = Index::load(cfg.root.join("images.json"))?;
        let actions = crate::recover::recover(&cfg.root, &content, &layers, &index)?;
        let inner = Inner {
            registry: Registry::new(cfg.registry.clone()),
            downloads: Arc::new(Semaphore::new(cfg.max_concurrent_downloads.max(1))),
            cfg,
            content,
            layers,
            index,
            layer_locks: Mutex::new(HashMap::new()),
            pins: Mutex::new(HashMap::new()),
            configs: RwLock::new(HashMap::new()),
        };
        Ok((
            ImageStore {
                inner: Arc::new(inner),
            },
            actions,
        ))
    }

    /// Streams events while pulling; the final Digest/Status events are sent too.
    /// Cancelling `cancel` stops downloads cleanly (temp files removed, nothing recorded).
    pub async fn pull(
        &self,
        req: PullRequest,
        events: UnboundedSender<PullEvent>,
        cancel: CancellationToken,
    ) -> Result<PullOutcome, StoreError> {
        crate::pull::pull(self.inner.clone(), req, events, cancel).await
    }

    pub fn list(&self) -> Vec<ImageInfo> {
        let recs: Vec<ImageRecord> = self
            .inner
            .index
            .read(|f| f.images.values().cloned().collect());
        recs.iter()
            .filter_map(|r| match self.info(r) {
                Ok(i) => Some(i),
                Err(e) => {
                    tracing::warn!(image = %r.id, error = %e, "skipping unreadable image");
                    None
                }
            })
            .collect()
    }

    pub fn get(&self, name_or_id: &str) -> Result<ImageInfo, StoreError> {
        let rec = self
            .inner
            .index
            .read(|f| f.resolve(name_or_id).map(|(r, _)| r.clone()))?;
        self.info(&rec)
    }

    fn info(&self, r: &ImageRecord) -> Result<ImageInfo, StoreError> {
        let config = self.inner.config_of(&r.id)?;
        Ok(ImageInfo {
            id: r.id.clone(),
            repo_tags: r.repo_tags.iter().map(|t| familiar(t)).collect(),
            repo_digests: r.repo_digests.iter().map(|t| familiar(t)).collect(),
            created: r.created.clone(),
            size: r.layers.iter().map(|l| l.unpacked_size).sum(),
            os: r.os.clone(),
            architecture: r.architecture.clone(),
            variant: r.variant.clone(),
            config: (*config).clone(),
            manifest_digest: r.manifest_digest.clone(),
            layers: r
                .layers
                .iter()
                .map(|l| LayerInfo {
                    diff_id: l.diff_id.clone(),
                    chain_id: l.chain_id.clone(),
                    digest: l.digest.clone(),
                    media_type: l.media_type.clone(),
                    size: l.size,
                    unpacked_size: l.unpacked_size,
                })
                .collect(),
        })
    }

    /// `docker history`: newest first; the top entry carries the image id and tags.
    pub fn history(&self, name_or_id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let info = self.get(name_or_id)?;
        Ok(crate::history::history(&info))
    }

    pub fn tag(&self, source: &str, target: &Reference) -> Result<(), StoreError> {
        if target.digest().is_some() {
            return Err(StoreError::TagWithDigest);
        }
        let target = target.with_tag(target.tag().unwrap_or("latest"));
        self.inner.index.update(|f| {
            let id = f.resolve(source)?.0.id.clone();
            f.set_tag(&id, &target.to_string());
            Ok(())
        })
    }

    /// `docker rmi`. The engine checks containers using the image first (Docker's conflict
    /// message about containers is the engine's to produce).
    pub fn remove(
        &self,
        name_or_id: &str,
        force: bool,
        noprune: bool,
    ) -> Result<Vec<RemoveAction>, StoreError> {
        let inner = &self.inner;
        let plan = inner
            .index
            .update(|f| crate::remove::plan_remove(f, name_or_id, force))?;
        let mut actions = plan.actions;
        let Some(img) = plan.deleted else {
            return Ok(actions);
        };
        // Decide and detach under the index lock, so a pull recording an image that reuses
        // one of these layers or blobs either sees it gone or keeps it alive.
        let detached = inner.index.locked(|f| {
            let mut detached = Vec::new();
            if !noprune {
                let used = f.used_chain_ids();
                for l in img.layers.iter().rev() {
                    if used.contains(l.chain_id.as_str()) || inner.is_pinned(&l.chain_id) {
                        continue;
                    }
                    match inner.layers.detach(&l.dir) {
                        Ok(Some(path)) => {
                            actions.push(RemoveAction::Deleted(l.chain_id.clone()));
                            detached.push(path);
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(layer = %l.dir, error = %e, "could not remove layer")
                        }
                    }
                }
            }
            let used_blobs = f.used_blobs();
            for b in std::iter::once(&img.id)
                .chain(std::iter::once(&img.manifest_digest))
                .chain(img.extra_blobs.iter())
            {
                if used_blobs.contains(b.as_str()) {
                    continue;
                }
                if let Err(e) = inner.content.delete(b) {
                    tracing::warn!(blob = %b, error = %e, "could not remove blob");
                }
                inner
                    .configs
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(b);
            }
            detached
        });
        // The index no longer names these: a failure here leaves `layers/tmp-del-*` for
        // recovery, never a recorded image with missing parts.
        for path in detached {
            if let Err(e) = crate::fsutil::remove_tree(&path) {
                tracing::warn!(path = %path.display(), error = %e, "could not remove layer");
            }
        }
        Ok(actions)
    }

    pub async fn check_login(&self, server: &str, creds: &Credentials) -> Result<(), StoreError> {
        crate::login::check_login(self.inner.registry.config(), server, creds).await
    }

    /// `GET /distribution/{name}/json`: what the reference names in the registry.
    pub async fn distribution(
        &self,
        reference: &Reference,
        creds: Option<Credentials>,
    ) -> Result<DistributionInfo, StoreError> {
        let (_remote, bytes, digest) = self
            .inner
            .registry
            .fetch_top(reference, creds.as_ref())
            .await?;
        let m = crate::manifest::parse(&bytes, &digest, &reference.familiar())?;
        let (media_type, platforms) = match m {
            crate::manifest::Manifest::Index {
                media_type,
                manifests,
            } => (media_type, crate::manifest::platforms(&manifests)),
            crate::manifest::Manifest::Image { media_type, .. } => (media_type, Vec::new()),
        };
        Ok(DistributionInfo {
            digest,
            media_type,
            size: bytes.len() as u64,
            platforms,
        })
    }

    /// Overlay lower dirs of an image, lowest first.
    pub fn layer_dirs(&self, name_or_id: &str) -> Result<Vec<PathBuf>, StoreError> {
        let rec = self
            .inner
            .index
            .read(|f| f.resolve(name_or_id).map(|(r, _)| r.clone()))?;
        Ok(rec
            .layers
            .iter()
            .map(|l| self.inner.layers.diff_path(&l.dir))
            .collect())
    }

    pub fn root(&self) -> &Path {
        &self.inner.cfg.root
    }

    /// Blocks until every layer committed so far is on disk and marked so (commits defer
    /// their sync, see `layers.rs`). Blocking: call from a blocking context. For daemon
    /// shutdown and tests; dropping the store does the same, and recovery covers a crash.
    pub fn flush_pending(&self) {
        self.inner.layers.flush_pending()
    }
}
