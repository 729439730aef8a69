//! One container in memory: its record, the lock that orders life-cycle operations, and the
//! channels waiters, log followers and attach clients watch.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::net::UnixStream;
use tokio::sync::{oneshot, watch};

use super::error::ContainerError;
use super::record::Container;

/// The n-th exit of the container and its code (`wait` waits for `gen` to change).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExitGen {
    pub gen: u64,
    pub code: i64,
}

/// An attach request made while the container was not running: `start` connects it to the
/// shim's attach.sock before the process runs, so no early output is lost.
pub struct PendingAttach {
    pub hello: String,
    pub tx: oneshot::Sender<UnixStream>,
}

#[derive(Default)]
pub struct AttachGate {
    /// True between "shim created" and "exited": new attach clients connect directly.
    pub open: bool,
    pub pending: Vec<PendingAttach>,
}

pub struct Entry {
    pub id: String,
    rec: Mutex<Container>,
    /// Orders start/stop/restart/remove on this container.
    pub op: tokio::sync::Mutex<()>,
    pub running: watch::Sender<bool>,
    pub exits: watch::Sender<ExitGen>,
    pub removed: watch::Sender<bool>,
    pub attach: Mutex<AttachGate>,
    /// Restart back-off in ms (docker's: 100 ms doubling, reset after 10 s of running).
    pub backoff_ms: AtomicU64,
}

impl Entry {
    pub fn new(c: Container) -> Entry {
        let running = c.running();
        Entry {
            id: c.id.clone(),
            rec: Mutex::new(c),
            op: tokio::sync::Mutex::new(()),
            running: watch::Sender::new(running),
            exits: watch::Sender::new(ExitGen::default()),
            removed: watch::Sender::new(false),
            attach: Mutex::new(AttachGate::default()),
            backoff_ms: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Container> {
        // Updates are whole-field assignments: a poisoned lock still holds a usable record.
        self.rec.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn rec(&self) -> Container {
        self.lock().clone()
    }

    pub fn with<T>(&self, f: impl FnOnce(&Container) -> T) -> T {
        f(&self.lock())
    }

    /// Changes the record and persists it (atomically) in `dir`.
    pub fn update(&self, dir: &Path, f: impl FnOnce(&mut Container)) -> Result<(), ContainerError> {
        let snapshot = {
            let mut c = self.lock();
            f(&mut c);
            c.clone()
        };
        snapshot
            .save(dir)
            .map_err(ContainerError::io("write container.json in", dir))
    }

    /// Changes the record in memory only (a state about to be deleted anyway).
    pub fn update_volatile(&self, f: impl FnOnce(&mut Container)) {
        f(&mut self.lock());
    }

    pub fn gate(&self) -> std::sync::MutexGuard<'_, AttachGate> {
        self.attach.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn mark_removed(&self) {
        self.gate().pending.clear();
        self.removed.send_replace(true);
    }

    pub fn next_backoff(&self) -> u64 {
        let cur = self.backoff_ms.load(Ordering::Relaxed);
        let next = if cur == 0 { 100 } else { (cur * 2).min(60_000) };
        self.backoff_ms.store(next, Ordering::Relaxed);
        next
    }
}
