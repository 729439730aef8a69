//! Containers: the store, the state machine, the OCI spec, shim supervision.
//!
//! rdockerd never enters a namespace itself: every container (and exec) is an `rdocker-shim`
//! process it starts and talks to over unix sockets (runtime/PROTOCOL.md).

pub mod attach;
pub mod binds;
pub mod create;
pub mod entry;
pub mod error;
pub mod exec;
pub mod lifecycle;
pub mod limits;
pub mod list;
pub mod names;
pub mod prepare;
pub mod record;
pub mod restore;
pub mod security;
pub mod shim;
pub mod signal;
pub mod spec;
pub mod view;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use bollard_stubs::models::ContainerCreateBody;
use rdocker_image_store::ImageStore;

use crate::events::Events;
use crate::volumes::VolumeStore;
pub use entry::Entry;
pub use error::ContainerError;
use record::{Container, MountKind};

#[derive(Default)]
struct Table {
    by_id: HashMap<String, Arc<Entry>>,
    /// "/name" → id.
    names: HashMap<String, String>,
}

pub struct ContainerManager {
    /// `<data-root>/containers`: one bundle directory per container.
    pub root: PathBuf,
    /// `<exec-root>`: run dirs (sockets) live under `containers/` and `exec/` in it.
    pub exec_root: PathBuf,
    pub shim: PathBuf,
    pub store: Arc<ImageStore>,
    pub volumes: Arc<VolumeStore>,
    pub events: Arc<Events>,
    /// Capabilities, seccomp, masked paths, devices, userns (issue 4).
    pub security: Arc<security::Security>,
    /// cgroups: limits, stats, freezer, OOM (issue 4).
    pub limits: Arc<limits::Limits>,
    table: RwLock<Table>,
    pub(crate) execs: exec::ExecTable,
    /// Networks and each container's endpoints (issue 5).
    pub network: Arc<crate::network::NetworkManager>,
}

/// `rdocker-shim` next to our own executable, else the one on PATH.
pub fn find_shim() -> PathBuf {
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        let p = dir.join("rdocker-shim");
        if p.is_file() {
            return p;
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            let p = d.join("rdocker-shim");
            if p.is_file() {
                return p;
            }
        }
    }
    PathBuf::from("rdocker-shim")
}

impl ContainerManager {
    pub fn new(
        data_root: &Path,
        exec_root: &Path,
        store: Arc<ImageStore>,
        volumes: Arc<VolumeStore>,
        events: Arc<Events>,
        daemon: &crate::state::DaemonInfo,
    ) -> ContainerManager {
        let net_events = events.clone();
        ContainerManager {
            root: data_root.join("containers"),
            exec_root: exec_root.to_path_buf(),
            shim: find_shim(),
            store,
            volumes,
            events,
            security: Arc::new(security::Security::new(daemon)),
            limits: Arc::new(limits::Limits::new()),
            table: RwLock::new(Table::default()),
            execs: Default::default(),
            network: Arc::new(crate::network::NetworkManager::new(
                daemon.network.clone(),
                data_root,
                exec_root,
                net_events,
            )),
        }
    }

    pub fn bundle(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.exec_root
            .join("containers")
            .join(&id[..12.min(id.len())])
    }

    fn read_table(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        // Table updates are single inserts/removes: a panic elsewhere leaves it consistent.
        self.table.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_table(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(|p| p.into_inner())
    }

    /// By full id, name (with or without "/"), or unique id prefix.
    pub fn get(&self, name_or_id: &str) -> Result<Arc<Entry>, ContainerError> {
        let t = self.read_table();
        if name_or_id.is_empty() {
            return Err(ContainerError::NotFound(name_or_id.to_string()));
        }
        if let Some(e) = t.by_id.get(name_or_id) {
            return Ok(e.clone());
        }
        if let Some(id) = t.names.get(&names::canonical(name_or_id)) {
            if let Some(e) = t.by_id.get(id) {
                return Ok(e.clone());
            }
        }
        let mut found = t.by_id.iter().filter(|(id, _)| id.starts_with(name_or_id));
        match (found.next(), found.next()) {
            (Some((_, e)), None) => Ok(e.clone()),
            (Some(_), Some(_)) => Err(ContainerError::Invalid(format!(
                "multiple IDs found with provided prefix: {name_or_id}"
            ))),
            _ => Err(ContainerError::NotFound(name_or_id.to_string())),
        }
    }

    pub fn all(&self) -> Vec<Arc<Entry>> {
        self.read_table().by_id.values().cloned().collect()
    }

    fn name_conflict(t: &Table, name: &str) -> Option<ContainerError> {
        t.names.get(name).map(|id| {
            ContainerError::Conflict(format!(
                "Conflict. The container name \"{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
            ))
        })
    }

    /// Picks a free generated name.
    fn generate_name(t: &Table) -> String {
        for retry in 0..10 {
            let n = names::canonical(&names::generate(retry));
            if !t.names.contains_key(&n) {
                return n;
            }
        }
        names::canonical(&crate::fsutil::random_hex(6))
    }

    fn insert(&self, c: Container) -> Arc<Entry> {
        let e = Arc::new(Entry::new(c));
        let mut t = self.write_table();
        t.names.insert(e.rec().name.clone(), e.id.clone());
        t.by_id.insert(e.id.clone(), e.clone());
        e
    }

    /// Attributes of a container's events: name, image, labels.
    pub fn event_attrs(c: &Container) -> HashMap<String, String> {
        let mut a: HashMap<String, String> = c.config.labels.clone().unwrap_or_default();
        a.insert("name".into(), c.name.trim_start_matches('/').to_string());
        a.insert(
            "image".into(),
            c.config.image.clone().unwrap_or_else(|| c.image_id.clone()),
        );
        a
    }

    pub fn publish(&self, c: &Container, action: &str, extra: &[(&str, String)]) {
        let mut a = Self::event_attrs(c);
        for (k, v) in extra {
            a.insert(k.to_string(), v.clone());
        }
        self.events.publish("container", action, &c.id, a);
    }

    /// `POST /containers/create`.
    pub async fn create(
        self: &Arc<Self>,
        name: Option<&str>,
        body: ContainerCreateBody,
    ) -> Result<(String, Vec<String>), ContainerError> {
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            if !names::valid(n) {
                return Err(ContainerError::Invalid(format!(
                    "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )));
            }
        }
        let image_ref = body.image.clone().unwrap_or_default();
        if image_ref.is_empty() {
            return Err(ContainerError::Invalid(
                "config cannot be empty in order to create a container".into(),
            ));
        }
        let mut body = body;
        let warnings = self
            .limits
            .check(body.host_config.get_or_insert_default(), false)?;
        let store = self.store.clone();
        let image = tokio::task::spawn_blocking(move || store.get(&image_ref))
            .await
            .map_err(|e| ContainerError::Shim(e.to_string()))??;
        let id = crate::fsutil::random_hex(32);
        // Reserve the name first: a concurrent create with the same name gets the 409.
        let cname = {
            let mut t = self.write_table();
            let n = match name.filter(|n| !n.is_empty()) {
                Some(n) => names::canonical(n),
                None => Self::generate_name(&t),
            };
            if let Some(err) = Self::name_conflict(&t, &n) {
                return Err(err);
            }
            t.names.insert(n.clone(), id.clone());
            n
        };
        let unreserve = |m: &ContainerManager| {
            m.write_table().names.remove(&cname);
        };
        let nc = body.networking_config.clone();
        let planned = create::build(id.clone(), cname.clone(), body, &image).and_then(|c| {
            let net = self.net_plan(&c.host_config, nc.as_ref())?;
            crate::network::ports::validate(&c)?;
            Ok((c, net))
        });
        let (mut c, net) = match planned {
            Ok(p) => p,
            Err(e) => {
                unreserve(self);
                return Err(e);
            }
        };
        let mgr = self.clone();
        let res = tokio::task::spawn_blocking(move || {
            mgr.create_volumes(&mut c)?;
            let dir = mgr.bundle(&c.id);
            std::fs::create_dir_all(&dir).map_err(ContainerError::io("mkdir", &dir))?;
            net.save(&dir)?;
            c.save(&dir).map_err(ContainerError::io("write", &dir))?;
            Ok::<_, ContainerError>(c)
        })
        .await
        .map_err(|e| ContainerError::Shim(e.to_string()))?;
        let c = match res {
            Ok(c) => c,
            Err(e) => {
                unreserve(self);
                return Err(e);
            }
        };
        self.publish(&c, "create", &[]);
        self.insert(c);
        Ok((id, warnings))
    }

    /// Creates the named and anonymous volumes of a new container and marks them in use.
    fn create_volumes(&self, c: &mut Container) -> Result<(), ContainerError> {
        let mut created: Vec<String> = Vec::new();
        for m in c.mounts.iter_mut().filter(|m| m.kind == MountKind::Volume) {
            let v = if m.anonymous {
                let labels =
                    HashMap::from([("com.docker.volume.anonymous".to_string(), String::new())]);
                self.volumes.create(None, labels, HashMap::new())
            } else {
                self.volumes
                    .create(Some(&m.source), HashMap::new(), HashMap::new())
            };
            match v {
                Ok(v) => {
                    m.source = v.name.clone();
                    self.volumes.acquire(&v.name, &c.id);
                    created.push(v.name);
                }
                Err(e) => {
                    for n in created {
                        self.volumes.release(&n, &c.id);
                    }
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    /// Renames; 409 when the new name is taken.
    pub fn rename(&self, e: &Arc<Entry>, new: &str) -> Result<(), ContainerError> {
        if !names::valid(new) {
            return Err(ContainerError::Invalid(format!(
                "Invalid container name ({new}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        let new = names::canonical(new);
        let old = e.rec().name;
        if old == new {
            return Err(ContainerError::Invalid(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        {
            let mut t = self.write_table();
            if let Some(err) = Self::name_conflict(&t, &new) {
                return Err(err);
            }
            t.names.remove(&old);
            t.names.insert(new.clone(), e.id.clone());
        }
        let saved = e.update(&self.bundle(&e.id), |c| c.name = new.clone());
        if let Err(err) = saved {
            let mut t = self.write_table();
            t.names.remove(&new);
            t.names.insert(old, e.id.clone());
            return Err(err);
        }
        let c = e.rec();
        self.publish(&c, "rename", &[("oldName", old)]);
        Ok(())
    }

    /// Drops a container from the table, its volumes and directories (caller holds `op`).
    pub(crate) async fn forget(&self, e: &Arc<Entry>, remove_volumes: bool) {
        let c = e.rec();
        {
            let mut t = self.write_table();
            t.by_id.remove(&e.id);
            if t.names.get(&c.name) == Some(&e.id) {
                t.names.remove(&c.name);
            }
        }
        self.execs.remove_for(&e.id);
        let (bundle, run) = (self.bundle(&e.id), self.run_dir(&e.id));
        let volumes = self.volumes.clone();
        let id = e.id.clone();
        let mounts = c.mounts.clone();
        let done = tokio::task::spawn_blocking(move || {
            for m in mounts.iter().filter(|m| m.kind == MountKind::Volume) {
                volumes.release(&m.source, &id);
                if remove_volumes && m.anonymous {
                    if let Err(err) = volumes.remove(&m.source, false) {
                        tracing::warn!("removing volume {}: {err}", m.source);
                    }
                }
            }
            for d in [&bundle, &run] {
                if let Err(err) = std::fs::remove_dir_all(d) {
                    if err.kind() != std::io::ErrorKind::NotFound {
                        tracing::warn!("removing {}: {err}", d.display());
                    }
                }
            }
        })
        .await;
        if let Err(err) = done {
            tracing::warn!("removing container {}: {err}", e.id);
        }
        e.mark_removed();
        self.publish(&c, "destroy", &[]);
    }
}
