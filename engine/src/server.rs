//! Daemon life cycle: sockets, pidfile, image store, serving, and shutdown on SIGTERM/SIGINT.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rdocker_image_store::{ImageStore, RegistryConfig, StoreConfig, StoreError};
use tokio::net::UnixListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinSet;

use crate::config::DaemonConfig;
use crate::fsutil::write_atomic;
use crate::routes;
use crate::state::{AppState, DaemonInfo};

/// How long shutdown waits for running pulls and open responses before giving up on them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("another rdockerd is running on {}", .0.display())]
    AlreadyRunning(PathBuf),
    #[error("{} exists and is not a socket; refusing to replace it", .0.display())]
    NotASocket(PathBuf),
    #[error("pid file found, ensure rdockerd is not running or delete {}", .0.display())]
    PidfileInUse(PathBuf),
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("opening the image store: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Task(#[from] tokio::task::JoinError),
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ServerError {
    let path = path.to_path_buf();
    move |source| ServerError::Io { op, path, source }
}

/// Creates a runtime directory (and parents) that group members can traverse but not list,
/// so a 0660 socket inside is reachable for its group.
fn create_runtime_dir(dir: &Path) -> Result<(), ServerError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(dir)
        .map_err(io_err("mkdir", dir))
}

/// Refuses a socket a live daemon answers on; removes one a crashed daemon left behind.
pub fn clear_stale_socket(path: &Path) -> Result<(), ServerError> {
    let md = match std::fs::symlink_metadata(path) {
        Ok(md) => md,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("stat", path)(e)),
    };
    if !md.file_type().is_socket() {
        return Err(ServerError::NotASocket(path.to_path_buf()));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(ServerError::AlreadyRunning(path.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            std::fs::remove_file(path).map_err(io_err("remove stale socket", path))?;
            tracing::info!("removed stale socket {}", path.display());
            Ok(())
        }
        Err(e) => Err(io_err("connect", path)(e)),
    }
}

/// Binds a unix socket with mode 0660 (root and its group, like docker.sock).
pub fn bind_socket(path: &Path) -> Result<UnixListener, ServerError> {
    if let Some(parent) = path.parent() {
        create_runtime_dir(parent)?;
    }
    // The umask covers the moment between bind() and chmod(); nothing else creates files
    // concurrently during start-up.
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o117));
    let bound = std::os::unix::net::UnixListener::bind(path);
    rustix::process::umask(old);
    let listener = bound.map_err(io_err("listen on", path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(io_err("chmod", path))?;
    listener
        .set_nonblocking(true)
        .map_err(io_err("set non-blocking", path))?;
    UnixListener::from_std(listener).map_err(io_err("register", path))
}

/// Removes the socket files when the daemon exits, whichever way.
struct SocketFiles(Vec<PathBuf>);

impl Drop for SocketFiles {
    fn drop(&mut self) {
        for p in &self.0 {
            if let Err(e) = std::fs::remove_file(p) {
                tracing::warn!("removing {}: {e}", p.display());
            }
        }
    }
}

/// The pidfile, written atomically and removed on drop.
pub struct Pidfile(PathBuf);

impl Pidfile {
    pub fn create(path: &Path) -> Result<Pidfile, ServerError> {
        let me = std::process::id();
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse::<u32>() {
                // A reused pid of an unrelated process is no reason to refuse: check the name.
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                if pid != me && comm.trim() == "rdockerd" {
                    return Err(ServerError::PidfileInUse(path.to_path_buf()));
                }
            }
        }
        if let Some(parent) = path.parent() {
            create_runtime_dir(parent)?;
        }
        write_atomic(path, format!("{me}\n").as_bytes()).map_err(io_err("write pidfile", path))?;
        Ok(Pidfile(path.to_path_buf()))
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0) {
            tracing::warn!("removing {}: {e}", self.0.display());
        }
    }
}

/// The engine id: generated once, kept in the data root so `/info` reports a stable ID.
fn engine_id(data_root: &Path) -> Result<String, ServerError> {
    let path = data_root.join("engine-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim();
        if !id.is_empty() {
            return Ok(id.to_string());
        }
    }
    let id = std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .map_err(io_err("read", Path::new("/proc/sys/kernel/random/uuid")))?
        .trim()
        .to_string();
    write_atomic(&path, format!("{id}\n").as_bytes()).map_err(io_err("write", &path))?;
    Ok(id)
}

fn store_config(cfg: &DaemonConfig) -> StoreConfig {
    StoreConfig {
        root: cfg.data_root.clone(),
        registry: RegistryConfig {
            mirrors: cfg.registry_mirrors.clone(),
            registry_mirrors: cfg.registry_mirrors_per_host.clone(),
            insecure_registries: cfg.insecure_registries.clone(),
            request_timeout: cfg.registry_timeout,
            mirrors_only: cfg.registry_mirrors_only,
        },
        max_concurrent_downloads: cfg.max_concurrent_downloads,
    }
}

/// Opens the image store (on the blocking pool: it scans and cleans the data root) and logs
/// what crash recovery did.
pub async fn open_store(cfg: &DaemonConfig) -> Result<(ImageStore, String), ServerError> {
    let store_cfg = store_config(cfg);
    let root = cfg.data_root.clone();
    tokio::task::spawn_blocking(move || {
        let (store, recovered) = ImageStore::open(store_cfg)?;
        for line in recovered {
            tracing::info!("recovery: {line}");
        }
        let id = engine_id(&root)?;
        Ok::<_, ServerError>((store, id))
    })
    .await?
}

/// glibc keeps freed heap pages after a burst (100 parallel `run -d` leave rdockerd at ~20 MiB
/// instead of ~11); giving them back every few seconds keeps an idle daemon small. A trim of a
/// small, idle heap costs microseconds.
async fn return_freed_memory(stop: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only returns free pages to the kernel; safe from any thread.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

/// Runs the daemon until SIGTERM/SIGINT, then shuts down cleanly.
pub async fn run(cfg: DaemonConfig) -> Result<(), ServerError> {
    // Signals first: one arriving during start-up must not kill us with the default action.
    // SIGHUP's default action would kill the daemon (`systemctl reload` sends it); dockerd
    // reloads its configuration there, which we do not support yet: say so and keep running.
    let mut hup = signal(SignalKind::hangup()).map_err(io_err("signal", Path::new("SIGHUP")))?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::warn!("received SIGHUP: configuration reload is not supported, ignoring");
        }
    });
    let mut term =
        signal(SignalKind::terminate()).map_err(io_err("signal", Path::new("SIGTERM")))?;
    let mut int = signal(SignalKind::interrupt()).map_err(io_err("signal", Path::new("SIGINT")))?;
    // A live daemon on any of our sockets wins before we touch its pidfile or data root.
    for h in &cfg.hosts {
        clear_stale_socket(h)?;
    }
    let pidfile = Pidfile::create(&cfg.pidfile)?;
    create_runtime_dir(&cfg.exec_root)?;
    let mut listeners = Vec::new();
    let mut sockets = SocketFiles(Vec::new());
    for h in &cfg.hosts {
        listeners.push((bind_socket(h)?, h.clone()));
        sockets.0.push(h.clone());
    }
    let (store, id) = open_store(&cfg).await?;
    let state = Arc::new(AppState::new(
        Arc::new(store),
        DaemonInfo {
            id,
            data_root: cfg.data_root.clone(),
            exec_root: cfg.exec_root.clone(),
            debug: cfg.debug,
            registry_mirrors: cfg.registry_mirrors.clone(),
            insecure_registries: cfg.insecure_registries.clone(),
            security: cfg.security.clone(),
            network: cfg.network.clone(),
        },
    ));
    // Live restore: re-adopt running containers (their shims outlived the previous daemon).
    state.containers.load().await;
    let app = routes::app(state.clone());
    let mut servers = JoinSet::new();
    for (listener, path) in listeners {
        let app = app.clone();
        let stop = state.shutdown.clone();
        tracing::info!("API listen on unix://{}", path.display());
        servers.spawn(async move {
            let served = axum::serve(crate::legacy_upgrade::CompatListener(listener), app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::error!("serving {}: {e}", path.display());
            }
        });
    }
    tokio::spawn(return_freed_memory(state.shutdown.clone()));
    tracing::info!(
        version = crate::ENGINE_VERSION,
        api_version = crate::API_VERSION,
        data_root = %cfg.data_root.display(),
        "daemon has completed initialization"
    );

    tokio::select! {
        _ = term.recv() => tracing::info!("received SIGTERM, shutting down"),
        _ = int.recv() => tracing::info!("received SIGINT, shutting down"),
        _ = servers.join_next() => tracing::error!("a listener stopped, shutting down"),
    }

    // Stop accepting, cancel pulls (each has a child token), then wait for both, bounded.
    state.shutdown.cancel();
    state.pulls.close();
    let running = state.pulls.len();
    if running > 0 {
        tracing::info!("cancelling {running} running pull(s)");
    }
    let drain = async {
        state.pulls.wait().await;
        while servers.join_next().await.is_some() {}
    };
    tokio::select! {
        _ = drain => tracing::debug!("all pulls and connections finished"),
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("shutdown: gave up waiting after {} s", SHUTDOWN_GRACE.as_secs());
        }
        _ = term.recv() => tracing::warn!("second SIGTERM: exiting now"),
        _ = int.recv() => tracing::warn!("second SIGINT: exiting now"),
    }
    servers.abort_all();
    // Running containers keep their network (live restore); otherwise our bridges and
    // nftables table go, and the next start makes them again.
    let any_running = state
        .containers
        .all()
        .iter()
        .any(|e| e.with(crate::containers::record::Container::running));
    state.containers.network.shutdown(any_running).await;
    // Layers are committed before they are flushed to disk (a background flusher does it);
    // flush now, so a clean stop leaves nothing for the next start's recovery to decide.
    let store = state.store.clone();
    match tokio::time::timeout(
        SHUTDOWN_GRACE,
        tokio::task::spawn_blocking(move || store.flush_pending()),
    )
    .await
    {
        Ok(_) => tracing::debug!("layers flushed to disk"),
        Err(_) => tracing::warn!("shutdown: gave up waiting for the layer flush"),
    }
    drop(sockets);
    drop(pidfile);
    tracing::info!("daemon shut down");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stale_socket_is_removed_live_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.sock");
        // Live: a bound listener answers.
        let live = bind_socket(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        assert!(matches!(
            clear_stale_socket(&path),
            Err(ServerError::AlreadyRunning(_))
        ));
        // Stale: the file stays after the listener is gone.
        drop(live);
        assert!(path.exists());
        clear_stale_socket(&path).unwrap();
        assert!(!path.exists());
        // Not a socket: left alone.
        std::fs::write(&path, "x").unwrap();
        assert!(matches!(
            clear_stale_socket(&path),
            Err(ServerError::NotASocket(_))
        ));
    }

    #[test]
    fn pidfile_written_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/rdockerd.pid");
        // A stale pidfile naming a process that is not rdockerd does not block.
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "1\n").unwrap();
        let p = Pidfile::create(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{}\n", std::process::id()));
        drop(p);
        assert!(!path.exists());
    }
}
