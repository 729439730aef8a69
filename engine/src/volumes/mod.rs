//! Named and anonymous volumes under `<data-root>/volumes/<name>/_data` (local driver).
//!
//! The API below is the contract with the container code (which calls `create`, `data_dir`,
//! `acquire`, `release`, `remove`); the routes in `routes/volumes.rs` use the rest.
//!
//! On disk a volume is `<root>/<name>/` (0700) holding `volume.json` (labels, options, creation
//! time) and `_data/` (0755). `_data` is created last: it is what makes the volume exist, so a
//! crash half-way through a create leaves nothing visible. Removal first renames the volume to a
//! hidden name (never a valid volume name), so a crash half-way through a delete leaves no
//! half-volume behind either; `open` sweeps such leftovers.

mod filter;
mod meta;
mod name;

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Once};

use bollard_stubs::models::{Volume, VolumePruneResponse, VolumeScopeEnum};

pub use filter::{match_kv_list, ListFilter, PruneFilter};
pub use meta::VolumeMeta;

use crate::errors::ApiError;
use crate::events::Events;
use filter::Candidate;

/// The label Docker puts on anonymous volumes (and `prune` looks for).
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";
/// Driver options Docker's local driver knows.
const VALID_OPTS: &[&str] = &["type", "device", "o", "size"];

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("get {0}: no such volume")]
    NotFound(String),
    #[error(
        "create {0}: \"{0}\" includes invalid characters for a local volume name, only \
         \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, \
         use absolute path"
    )]
    InvalidName(String),
    #[error("remove {name}: volume is in use - [{}]", ids.join(", "))]
    InUse { name: String, ids: Vec<String> },
    #[error("{0}")]
    InvalidOption(String),
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<VolumeError> for ApiError {
    fn from(e: VolumeError) -> ApiError {
        let msg = e.to_string();
        match e {
            VolumeError::NotFound(_) => ApiError::not_found(msg),
            VolumeError::InvalidName(_) | VolumeError::InvalidOption(_) => {
                ApiError::bad_request(msg)
            }
            VolumeError::InUse { .. } => ApiError::new(axum::http::StatusCode::CONFLICT, msg),
            VolumeError::Io { .. } => ApiError::internal(msg),
        }
    }
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> VolumeError {
    let path = path.to_path_buf();
    move |source| VolumeError::Io { op, path, source }
}

pub struct VolumeStore {
    pub root: PathBuf,
    /// Volume name → ids of the containers using it. Held while creating or removing, so a
    /// container cannot acquire a volume that is being deleted.
    users: Mutex<HashMap<String, BTreeSet<String>>>,
    events: Arc<Events>,
    /// Leftovers of interrupted removes are swept once, before the first listing or create.
    swept: Once,
}

impl VolumeStore {
    /// A store on `root` that touches the disk only when used (`<root>` is created on the
    /// first volume create). Events go to a private bus until [`VolumeStore::with_events`].
    pub fn new(root: PathBuf) -> VolumeStore {
        VolumeStore {
            root,
            users: Mutex::new(HashMap::new()),
            events: Arc::new(Events::new()),
            swept: Once::new(),
        }
    }

    /// Publishes `create`/`destroy`/`prune` volume events on the daemon's bus.
    pub fn with_events(mut self, events: Arc<Events>) -> VolumeStore {
        self.events = events;
        self
    }

    /// Opens (creating when missing, mode 0700) `<data-root>/volumes` and removes what an
    /// interrupted create or remove left behind.
    pub fn open(root: PathBuf) -> Result<VolumeStore, VolumeError> {
        let store = VolumeStore::new(root);
        store.ensure_root()?;
        store.sweep();
        Ok(store)
    }

    fn sweep(&self) {
        self.swept.call_once(|| {
            let Ok(entries) = std::fs::read_dir(&self.root) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let leftover = entry.file_name().to_string_lossy().starts_with('.');
                if leftover && entry.file_type().is_ok_and(|t| t.is_dir()) {
                    if let Err(e) = std::fs::remove_dir_all(&path) {
                        tracing::warn!("removing leftover {}: {e}", path.display());
                    }
                }
            }
        });
    }

    fn ensure_root(&self) -> Result<(), VolumeError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(io_err("mkdir", &self.root))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, BTreeSet<String>>> {
        // A panic while holding the lock leaves the map consistent (single inserts/removes).
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn exists(&self, name: &str) -> bool {
        name::validate(name).is_ok() && self.data_dir(name).is_dir()
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
        self.sweep();
        let _guard = self.lock();
        let vol = self.create_locked(name, labels, driver_opts)?;
        self.publish("create", &vol.name, HashMap::new());
        Ok(vol)
    }

    /// [`VolumeStore::create`] and [`VolumeStore::acquire`] in one step: no prune or remove
    /// can take the volume between the two.
    pub fn create_for(
        &self,
        name: Option<&str>,
        labels: HashMap<String, String>,
        driver_opts: HashMap<String, String>,
        container_id: &str,
    ) -> Result<Volume, VolumeError> {
        self.sweep();
        let mut users = self.lock();
        let vol = self.create_locked(name, labels, driver_opts)?;
        users
            .entry(vol.name.clone())
            .or_default()
            .insert(container_id.to_string());
        drop(users);
        self.publish("create", &vol.name, HashMap::new());
        Ok(vol)
    }

    fn create_locked(
        &self,
        name: Option<&str>,
        mut labels: HashMap<String, String>,
        driver_opts: HashMap<String, String>,
    ) -> Result<Volume, VolumeError> {
        let (name, anonymous) = match name.filter(|n| !n.is_empty()) {
            Some(n) => {
                name::validate(n)?;
                (n.to_string(), false)
            }
            None => {
                labels.insert(ANONYMOUS_LABEL.to_string(), String::new());
                (name::random()?, true)
            }
        };
        if self.exists(&name) {
            return self.load(&name);
        }
        validate_opts(&driver_opts)?;
        self.ensure_root()?;
        let dir = self.dir(&name);
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(io_err("mkdir", &dir)(e))
            }
            _ => {}
        }
        let meta = VolumeMeta {
            labels,
            options: driver_opts,
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            anonymous,
        };
        meta.write(&dir)
            .map_err(io_err("write", &dir.join(meta::FILE)))?;
        let data = self.data_dir(&name);
        match std::fs::create_dir(&data) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(io_err("mkdir", &data)(e))
            }
            _ => {}
        }
        // Explicitly, not through the umask: containers running as other users need to enter.
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755))
            .map_err(io_err("chmod", &data))?;
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err("fsync", &dir))?;
        Ok(self.to_volume(&name, meta))
    }

    /// The volume as Docker shows it; a missing or corrupt `volume.json` (a volume made by an
    /// older version, or a crash) reads as no labels and no options.
    fn load(&self, name: &str) -> Result<Volume, VolumeError> {
        if !self.exists(name) {
            return Err(VolumeError::NotFound(name.to_string()));
        }
        let meta = VolumeMeta::read(&self.dir(name)).unwrap_or_else(|e| {
            tracing::warn!("volume {name}: {}: {e}", meta::FILE);
            VolumeMeta::default()
        });
        Ok(self.to_volume(name, meta))
    }

    fn to_volume(&self, name: &str, meta: VolumeMeta) -> Volume {
        Volume {
            name: name.to_string(),
            driver: "local".to_string(),
            mountpoint: self.data_dir(name).to_string_lossy().into_owned(),
            created_at: Some(meta.created).filter(|c| !c.is_empty()),
            labels: meta.labels,
            scope: Some(VolumeScopeEnum::LOCAL),
            options: meta.options,
            ..Default::default()
        }
    }

    pub fn get(&self, name: &str) -> Result<Volume, VolumeError> {
        self.load(name)
    }

    /// The directory a container mounts: `<root>/<name>/_data`.
    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.root.join(name).join("_data")
    }

    /// Records that `container_id` uses the volume (in memory; the container code re-acquires
    /// for every container it loads at start-up). A volume in use cannot be removed (409).
    pub fn acquire(&self, name: &str, container_id: &str) {
        self.lock()
            .entry(name.to_string())
            .or_default()
            .insert(container_id.to_string());
    }

    pub fn release(&self, name: &str, container_id: &str) {
        let mut users = self.lock();
        if let Some(ids) = users.get_mut(name) {
            ids.remove(container_id);
            if ids.is_empty() {
                users.remove(name);
            }
        }
    }

    /// Ids of the containers using the volume (sorted).
    pub fn users(&self, name: &str) -> Vec<String> {
        self.lock()
            .get(name)
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Removes the volume and its data; 409 `remove <name>: volume is in use - [<ids>]` while
    /// a container uses it, even with `force` (as dockerd: force only forgives a missing volume,
    /// its `PurgeOnError`; silently pulling data from under a running container loses data).
    pub fn remove(&self, name: &str, force: bool) -> Result<(), VolumeError> {
        let mut users = self.lock();
        if !self.exists(name) {
            return match force {
                true => Ok(()),
                false => Err(VolumeError::NotFound(name.to_string())),
            };
        }
        if let Some(ids) = users.get(name).filter(|ids| !ids.is_empty()) {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                ids: ids.iter().cloned().collect(),
            });
        }
        self.delete_dir(name)?;
        users.remove(name);
        self.publish("destroy", name, HashMap::new());
        Ok(())
    }

    /// Rename out of sight first (atomic), then delete: a crash in between leaves a hidden
    /// directory `open` sweeps, never a volume with half its data.
    fn delete_dir(&self, name: &str) -> Result<(), VolumeError> {
        let dir = self.dir(name);
        let trash = self
            .root
            .join(format!(".trash-{name}-{}", std::process::id()));
        std::fs::rename(&dir, &trash).map_err(io_err("rename", &dir))?;
        std::fs::remove_dir_all(&trash).map_err(io_err("remove", &trash))
    }

    /// Every volume (sorted by name) with whether a container uses it; unreadable entries are
    /// skipped.
    fn all(&self) -> Result<Vec<(Volume, bool, bool)>, VolumeError> {
        self.sweep();
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read", &self.root)(e)),
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| self.exists(n))
            .collect();
        names.sort();
        let users = self.lock();
        Ok(names
            .into_iter()
            .filter_map(|n| self.load(&n).ok())
            .map(|v| {
                let in_use = users.get(&v.name).is_some_and(|ids| !ids.is_empty());
                let anonymous = v.labels.contains_key(ANONYMOUS_LABEL);
                (v, in_use, anonymous)
            })
            .collect())
    }

    /// `GET /volumes`.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Volume>, VolumeError> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|(v, in_use, anonymous)| {
                filter.matches(&Candidate {
                    name: &v.name,
                    labels: &v.labels,
                    in_use: *in_use,
                    anonymous: *anonymous,
                })
            })
            .map(|(v, _, _)| v)
            .collect())
    }

    /// `POST /volumes/prune`: removes the unused volumes the filter selects. A volume a
    /// container acquires meanwhile is skipped (the removal re-checks under the lock).
    pub fn prune(&self, filter: &PruneFilter) -> Result<VolumePruneResponse, VolumeError> {
        let mut deleted = Vec::new();
        let mut reclaimed: u64 = 0;
        for (v, in_use, anonymous) in self.all()? {
            let candidate = Candidate {
                name: &v.name,
                labels: &v.labels,
                in_use,
                anonymous,
            };
            if !filter.matches(&candidate) {
                continue;
            }
            let size = dir_size(&self.data_dir(&v.name));
            match self.remove(&v.name, false) {
                Ok(()) => {
                    reclaimed += size;
                    deleted.push(v.name);
                }
                Err(VolumeError::InUse { .. } | VolumeError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let attrs = HashMap::from([("reclaimed".to_string(), reclaimed.to_string())]);
        self.events.publish("volume", "prune", "", attrs);
        Ok(VolumePruneResponse {
            volumes_deleted: Some(deleted),
            space_reclaimed: Some(i64::try_from(reclaimed).unwrap_or(i64::MAX)),
        })
    }

    fn publish(&self, action: &str, name: &str, mut attrs: HashMap<String, String>) {
        attrs.insert("driver".to_string(), "local".to_string());
        self.events.publish("volume", action, name, attrs);
    }
}

/// Docker's local driver checks: known keys only, and `type`/`device`/`o` only together.
fn validate_opts(opts: &HashMap<String, String>) -> Result<(), VolumeError> {
    if let Some(k) = opts.keys().find(|k| !VALID_OPTS.contains(&k.as_str())) {
        return Err(VolumeError::InvalidOption(format!(
            "invalid option: \"{k}\""
        )));
    }
    let required: &[(&str, &[&str])] = &[
        ("device", &["type"]),
        ("type", &["device"]),
        ("o", &["device", "type"]),
    ];
    for (opt, needs) in required {
        if opts.contains_key(*opt) {
            if let Some(missing) = needs.iter().find(|n| !opts.contains_key(**n)) {
                return Err(VolumeError::InvalidOption(format!(
                    "missing required option: \"{missing}\""
                )));
            }
        }
    }
    Ok(())
}

/// Bytes in files under `dir`, not following symlinks (what `docker system df` counts).
fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

#[cfg(test)]
mod tests;
