//! Named and anonymous volumes under `<data-root>/volumes/<name>/_data` (local driver).
//!
//! The API below is the contract with the container code (which calls `create`, `data_dir`,
//! `acquire`, `release`, `remove`); the routes in `routes/volumes.rs` use the rest.

use std::collections::HashMap;
use std::path::PathBuf;

use bollard_stubs::models::Volume;

use crate::errors::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("get {0}: no such volume")]
    NotFound(String),
    #[error("not implemented yet")]
    Todo,
}

impl From<VolumeError> for ApiError {
    fn from(e: VolumeError) -> ApiError {
        match e {
            VolumeError::NotFound(_) => ApiError::not_found(e.to_string()),
            VolumeError::Todo => ApiError::not_implemented(e.to_string()),
        }
    }
}

pub struct VolumeStore {
    pub root: PathBuf,
}

impl VolumeStore {
    /// Opens (creating when missing, mode 0700) `<data-root>/volumes` and loads what is there.
    pub fn open(root: PathBuf) -> Result<VolumeStore, VolumeError> {
        Ok(VolumeStore { root })
    }

    /// Creates the named volume, or returns the existing one unchanged (docker's behaviour).
    /// `name: None` creates an anonymous volume: a random 64-hex name and the label
    /// `com.docker.volume.anonymous` = "".
    pub fn create(
        &self,
        name: Option<&str>,
        labels: HashMap<String, String>,
        driver_opts: HashMap<String, String>,
    ) -> Result<Volume, VolumeError> {
        let _ = (name, labels, driver_opts);
        Err(VolumeError::Todo)
    }

    pub fn get(&self, name: &str) -> Result<Volume, VolumeError> {
        Err(VolumeError::NotFound(name.to_string()))
    }

    /// The directory a container mounts: `<root>/<name>/_data`.
    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.root.join(name).join("_data")
    }

    /// Records that `container_id` uses the volume (in memory; the container code re-acquires
    /// for every container it loads at start-up). A volume in use cannot be removed (409).
    pub fn acquire(&self, name: &str, container_id: &str) {
        let _ = (name, container_id);
    }

    pub fn release(&self, name: &str, container_id: &str) {
        let _ = (name, container_id);
    }

    /// Removes the volume and its data; 409 `remove <name>: volume is in use - [<ids>]` while
    /// a container uses it, unless `force`.
    pub fn remove(&self, name: &str, force: bool) -> Result<(), VolumeError> {
        let _ = (name, force);
        Err(VolumeError::Todo)
    }
}
