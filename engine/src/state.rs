//! What every handler shares: the image store, the running pulls and facts about the daemon.

use std::path::PathBuf;
use std::sync::Arc;

use rdocker_image_store::ImageStore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::containers::ContainerManager;
use crate::errors::ApiError;
use crate::events::Events;
use crate::volumes::VolumeStore;

pub type SharedState = Arc<AppState>;

pub struct AppState {
    pub store: Arc<ImageStore>,
    /// Running pulls. They run as their own tasks (a client hanging up does not stop a pull, as
    /// with dockerd); shutdown waits for them through this tracker.
    pub pulls: TaskTracker,
    /// Cancelled on SIGTERM/SIGINT; every pull gets a child token.
    pub shutdown: CancellationToken,
    pub daemon: DaemonInfo,
    pub events: Arc<Events>,
    pub volumes: Arc<VolumeStore>,
    pub containers: Arc<ContainerManager>,
}

/// Facts reported by `/info` and `/version`.
#[derive(Debug, Clone, Default)]
pub struct DaemonInfo {
    /// Engine id, persisted in the data root so it is stable across restarts.
    pub id: String,
    pub data_root: PathBuf,
    /// Sockets and run dirs; empty = `<data-root>/run` (in-process tests).
    pub exec_root: PathBuf,
    pub debug: bool,
    pub registry_mirrors: Vec<String>,
    pub insecure_registries: Vec<String>,
    /// seccomp profile, no-new-privileges, default ulimits, userns-remap (resolved).
    pub security: crate::containers::security::DaemonSecurity,
    /// Bridge, pools, DNS and nftables options (issue 5).
    pub network: crate::network::options::NetConfig,
}

impl AppState {
    pub fn new(store: Arc<ImageStore>, daemon: DaemonInfo) -> AppState {
        let events = Arc::new(Events::new());
        // Touches the disk on first use; a data root that cannot hold volumes fails those calls.
        let volumes = Arc::new(
            VolumeStore::new(daemon.data_root.join("volumes")).with_events(events.clone()),
        );
        let exec_root = if daemon.exec_root.as_os_str().is_empty() {
            daemon.data_root.join("run")
        } else {
            daemon.exec_root.clone()
        };
        let containers = Arc::new(ContainerManager::new(
            &daemon.data_root,
            &exec_root,
            store.clone(),
            volumes.clone(),
            events.clone(),
            &daemon,
        ));
        AppState {
            store,
            pulls: TaskTracker::new(),
            shutdown: CancellationToken::new(),
            daemon,
            events,
            volumes,
            containers,
        }
    }

    /// Runs a synchronous image-store call on the blocking pool: they touch the filesystem
    /// (images.json, layer dirs) and must not stall the two runtime workers. A panic in the store
    /// becomes a 500 instead of taking the handler down.
    pub async fn blocking<T, E, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&ImageStore) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&store))
            .await?
            .map_err(Into::into)
    }
}
