//! The image store's face: what the engine calls.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::{Credentials, Platform, PullEvent, Reference, StoreConfig, StoreError};

pub struct ImageStore {
    cfg: StoreConfig,
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
    pub fn open(cfg: StoreConfig) -> Result<(ImageStore, Vec<String>), StoreError> {
        Ok((ImageStore { cfg }, Vec::new()))
    }
    pub async fn pull(
        &self,
        req: PullRequest,
        events: UnboundedSender<PullEvent>,
        cancel: CancellationToken,
    ) -> Result<PullOutcome, StoreError> {
        let _ = (req, events, cancel);
        todo!("image-store helper")
    }
    pub fn list(&self) -> Vec<ImageInfo> {
        Vec::new()
    }
    pub fn get(&self, name_or_id: &str) -> Result<ImageInfo, StoreError> {
        Err(StoreError::NoSuchImage(name_or_id.to_string()))
    }
    pub fn history(&self, name_or_id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        Err(StoreError::NoSuchImage(name_or_id.to_string()))
    }
    pub fn tag(&self, source: &str, target: &Reference) -> Result<(), StoreError> {
        let _ = target;
        Err(StoreError::NoSuchImage(source.to_string()))
    }
    pub fn remove(
        &self,
        name_or_id: &str,
        force: bool,
        noprune: bool,
    ) -> Result<Vec<RemoveAction>, StoreError> {
        let _ = (force, noprune);
        Err(StoreError::NoSuchImage(name_or_id.to_string()))
    }
    pub async fn check_login(&self, server: &str, creds: &Credentials) -> Result<(), StoreError> {
        let _ = (server, creds);
        todo!("image-store helper")
    }
    pub async fn distribution(
        &self,
        reference: &Reference,
        creds: Option<Credentials>,
    ) -> Result<DistributionInfo, StoreError> {
        let _ = (reference, creds);
        todo!("image-store helper")
    }
    pub fn layer_dirs(&self, name_or_id: &str) -> Result<Vec<PathBuf>, StoreError> {
        Err(StoreError::NoSuchImage(name_or_id.to_string()))
    }
    pub fn root(&self) -> &Path {
        &self.cfg.root
    }
}
