//! Deferred durability of committed layers.
//!
//! A committed layer must be on disk before anything may rely on it surviving a power loss,
//! but a `syncfs` per commit made every pull wait for the whole host's writeback (a build or
//! chatty container logs turned a 40 ms pull into 400+ ms). So `LayerStore::commit` writes its
//! marker with `unsynced_boot_id` = the running kernel's boot id and hands the layer to this
//! flusher: one background thread per store that batches whatever is queued, runs a single
//! `syncfs`, then clears the field in those markers. Until then the page cache holds the tree,
//! which survives a daemon crash but not a reboot; `recover.rs` tells the two apart by the
//! boot id.
//!
//! Races with `detach` and re-commits are settled by `pending`: short name → sequence number of
//! the commit awaiting its flush. Commits and detaches update it (under its lock) together with
//! the rename that makes or unmakes `layers/<short>`, and the flusher rewrites a marker only
//! while holding the lock and only if the entry is still the one it synced. So a layer removed
//! and committed again during a `syncfs` is never marked synced on the strength of a `syncfs`
//! that ran before its tree was written.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;

use crate::error::io_err;
use crate::fsutil::fsync_dir;
use crate::StoreError;

/// The running kernel's boot id, read once per process. `None` if it cannot be read: callers
/// then sync inline, since without it a crash cannot be told apart from a reboot.
pub fn boot_id() -> Option<&'static str> {
    static ID: OnceLock<Option<String>> = OnceLock::new();
    ID.get_or_init(|| {
        let raw = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let id = raw.trim();
        (!id.is_empty()).then(|| id.to_string())
    })
    .as_deref()
}

/// `syncfs` on the file system holding `dir`: one call flushes every tree written there.
pub(crate) fn syncfs_dir(dir: &Path) -> Result<(), StoreError> {
    let d = File::open(dir).map_err(io_err("open", dir))?;
    rustix::fs::syncfs(&d).map_err(|e| StoreError::io("sync", dir, e.into()))
}

/// Short name → sequence number of the commit waiting for its flush.
pub(crate) type Pending = HashMap<String, u64>;

struct Entry {
    short: String,
    chain_id: String,
    seq: u64,
}

enum Msg {
    Layer(Entry),
    /// Answered once everything queued before it is flushed.
    Flush(mpsc::Sender<()>),
}

struct Worker {
    tx: mpsc::Sender<Msg>,
    thread: JoinHandle<()>,
}

pub(crate) struct Flusher {
    /// `<root>/layers`.
    dir: PathBuf,
    pending: Arc<Mutex<Pending>>,
    seq: AtomicU64,
    /// Spawned at the first commit, so stores that never pull have no thread.
    worker: Mutex<Option<Worker>>,
    /// Taken by the thread around each batch; tests hold it to look at unsynced markers.
    hold: Arc<Mutex<()>>,
}

impl Flusher {
    pub(crate) fn new(dir: PathBuf) -> Flusher {
        Flusher {
            dir,
            pending: Arc::new(Mutex::new(HashMap::new())),
            seq: AtomicU64::new(0),
            worker: Mutex::new(None),
            hold: Arc::new(Mutex::new(())),
        }
    }

    /// Keeps the thread from flushing while the guard lives (tests only).
    #[cfg(test)]
    pub(crate) fn hold(&self) -> MutexGuard<'_, ()> {
        self.hold.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Held across a rename that creates or removes `layers/<short>`.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that `short` was just committed unsynced; pass the result to `enqueue`.
    pub(crate) fn register(&self, pending: &mut Pending, short: &str) -> u64 {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        pending.insert(short.to_string(), seq);
        seq
    }

    /// Hands a committed layer to the background thread. If the thread cannot be started or
    /// is gone, flushes inline: slower, never less safe.
    pub(crate) fn enqueue(&self, short: &str, chain_id: &str, seq: u64) {
        let entry = Entry {
            short: short.to_string(),
            chain_id: chain_id.to_string(),
            seq,
        };
        let entry = {
            let mut w = self.worker.lock().unwrap_or_else(|p| p.into_inner());
            if w.is_none() {
                *w = self.spawn();
            }
            match w.as_ref() {
                Some(worker) => match worker.tx.send(Msg::Layer(entry)) {
                    Ok(()) => return,
                    Err(mpsc::SendError(Msg::Layer(e))) => e,
                    Err(_) => return,
                },
                None => entry,
            }
        };
        flush_batch(&self.dir, &self.pending, &[entry]);
    }

    fn spawn(&self) -> Option<Worker> {
        let (tx, rx) = mpsc::channel();
        let dir = self.dir.clone();
        let pending = self.pending.clone();
        let hold = self.hold.clone();
        match std::thread::Builder::new()
            .name("layer-flush".into())
            .spawn(move || run(&dir, &pending, &hold, rx))
        {
            Ok(thread) => Some(Worker { tx, thread }),
            Err(e) => {
                tracing::warn!(error = %e, "could not start the layer flusher; syncing inline");
                None
            }
        }
    }

    /// Blocks until every layer queued so far is flushed (or its flush failed and was logged).
    pub(crate) fn flush_pending(&self) {
        let tx = {
            let w = self.worker.lock().unwrap_or_else(|p| p.into_inner());
            match w.as_ref() {
                Some(worker) => worker.tx.clone(),
                None => return,
            }
        };
        let (reply_tx, reply_rx) = mpsc::channel();
        if tx.send(Msg::Flush(reply_tx)).is_ok() {
            // An Err means the thread died: nothing more will be flushed by it anyway.
            let _ = reply_rx.recv();
        }
    }
}

impl Drop for Flusher {
    /// Closes the queue and waits for the thread, which flushes what is left before it ends:
    /// a clean shutdown leaves no layer unsynced.
    fn drop(&mut self) {
        let worker = self
            .worker
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(Worker { tx, thread }) = worker {
            drop(tx);
            let _ = thread.join();
        }
    }
}

fn run(dir: &Path, pending: &Mutex<Pending>, hold: &Mutex<()>, rx: mpsc::Receiver<Msg>) {
    // Ends when the sender is dropped and the queue is drained.
    while let Ok(first) = rx.recv() {
        let _held = hold.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = Vec::new();
        let mut replies = Vec::new();
        for msg in std::iter::once(first).chain(rx.try_iter()) {
            match msg {
                Msg::Layer(e) => batch.push(e),
                Msg::Flush(r) => replies.push(r),
            }
        }
        if !batch.is_empty() {
            flush_batch(dir, pending, &batch);
        }
        for r in replies {
            let _ = r.send(());
        }
    }
}

/// One `syncfs` for the whole batch, then each marker still naming the same commit is
/// rewritten as synced. Failures leave markers unsynced, which recovery handles.
fn flush_batch(dir: &Path, pending: &Mutex<Pending>, batch: &[Entry]) {
    let synced = syncfs_dir(dir);
    for e in batch {
        // Locked per layer, so commits and removals wait for one marker write at most.
        let mut p = pending.lock().unwrap_or_else(|p| p.into_inner());
        if p.get(&e.short) != Some(&e.seq) {
            continue; // removed, or committed again after this entry was queued
        }
        p.remove(&e.short);
        if synced.is_err() {
            continue;
        }
        if let Err(err) = crate::layers::clear_unsynced(dir, &e.short, &e.chain_id) {
            tracing::warn!(layer = %e.short, error = %err, "could not mark layer as synced");
        }
    }
    match synced {
        Err(err) => tracing::warn!(error = %err, "could not sync layers; left unsynced"),
        Ok(()) => {
            if let Err(err) = fsync_dir(dir) {
                tracing::warn!(error = %err, "could not fsync layers dir");
            }
        }
    }
}
