//! One layer, one pass: HTTP body → sha256 + size cap → channel → blocking `unpack_layer` into
//! `layers/tmp-*/diff` → verify compressed digest and diff_id → commit as `layers/<short>`.
//!
//! The compressed bytes are not kept: Docker does not keep them either, keeping them would
//! double the disk a pull needs, and the unpacked tree (named by its diff_id/chain id) is what
//! containers use. Manifests and configs do go to the blob store (`content.rs`).
//!
//! Each layer runs in its own task that always cleans up after itself, whether it fails, is
//! cancelled, or its pull is dropped: the blocking unpack thread is always joined before the
//! temp dir is removed, so nothing writes into a directory being deleted.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::fsutil::remove_tree;
use crate::layers::LayerMarker;
use crate::manifest::Descriptor;
use crate::registry::Remote;
use crate::store::Inner;
use crate::unpack::{self, Compression, UnpackLimits};
use crate::{PullEvent, StoreError};

const PROGRESS_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct LayerJob {
    pub desc: Descriptor,
    pub diff_id: String,
    pub chain_id: String,
    /// 12-hex short id of the blob digest, as Docker shows it.
    pub id: String,
}

#[derive(Debug, Clone)]
pub struct FetchedLayer {
    pub short: String,
    pub marker: LayerMarker,
}

/// Downloads and unpacks one layer unless it is present already. Only one task per chain id
/// works at a time in this process, so concurrent pulls download each layer once.
pub async fn fetch_layer(
    inner: Arc<Inner>,
    remote: Remote,
    job: LayerJob,
    events: UnboundedSender<PullEvent>,
    cancel: CancellationToken,
) -> Result<FetchedLayer, StoreError> {
    let lock = inner.layer_lock(&job.chain_id);
    let _held = tokio::select! {
        g = lock.lock_owned() => g,
        _ = cancel.cancelled() => return Err(StoreError::Cancelled),
    };
    if let Some((short, marker)) = inner.layers.lookup(&job.chain_id) {
        // Another pull committed it while we waited.
        let _ = events.send(PullEvent::DownloadComplete {
            layer: job.id.clone(),
        });
        let _ = events.send(PullEvent::PullComplete {
            layer: job.id.clone(),
        });
        return Ok(FetchedLayer { short, marker });
    }
    let compression = Compression::from_media_type(&job.desc.media_type)?;
    let permit = tokio::select! {
        p = inner.downloads.clone().acquire_owned() => p.map_err(|_| StoreError::Cancelled)?,
        _ = cancel.cancelled() => return Err(StoreError::Cancelled),
    };
    let tmp = {
        let layers = inner.layers.clone();
        blocking(move || layers.create_tmp()).await?
    };
    let res = download_and_unpack(
        &inner,
        &remote,
        &job,
        compression,
        &tmp,
        &events,
        &cancel,
        permit,
    )
    .await;
    let res = match res {
        Ok(marker) => {
            let layers = inner.layers.clone();
            let t = tmp.clone();
            let m = marker.clone();
            blocking(move || layers.commit(&t, &m))
                .await
                .map(|short| FetchedLayer { short, marker })
        }
        Err(e) => Err(e),
    };
    if res.is_err() {
        let t = tmp.clone();
        let _ = blocking(move || remove_tree(&t)).await;
    }
    if res.is_ok() {
        let _ = events.send(PullEvent::PullComplete {
            layer: job.id.clone(),
        });
    }
    res
}

#[allow(clippy::too_many_arguments)]
async fn download_and_unpack(
    inner: &Inner,
    remote: &Remote,
    job: &LayerJob,
    compression: Compression,
    tmp: &std::path::Path,
    events: &UnboundedSender<PullEvent>,
    cancel: &CancellationToken,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Result<LayerMarker, StoreError> {
    let desc = &job.desc;
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(16);
    let consumed = Arc::new(AtomicU64::new(0));
    let reader = ChannelReader {
        rx,
        cur: Bytes::new(),
        consumed: consumed.clone(),
    };
    let dest: PathBuf = tmp.join("diff");
    let limits = unpack_limits(inner);
    let unpacker = tokio::task::spawn_blocking(move || {
        unpack::unpack_layer(reader, compression, &dest, &limits)
    });

    let streamed = stream_into(remote, job, &tx, events, cancel).await;
    drop(permit);
    if let Err(e) = &streamed {
        // Make the reader fail rather than see a clean EOF of a truncated stream.
        let _ = tx.send(Err(io::Error::other(e.to_string()))).await;
    }
    drop(tx);

    // Wait for the unpacker, reporting extraction progress as Docker does after the download.
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    let mut unpacker = unpacker;
    let outcome = loop {
        tokio::select! {
            r = &mut unpacker => break r,
            _ = ticker.tick(), if streamed.is_ok() => {
                let _ = events.send(PullEvent::Extracting {
                    layer: job.id.clone(),
                    current: consumed.load(Ordering::Relaxed).min(desc.size),
                    total: desc.size,
                });
            }
        }
    };
    // The stream's error explains more than the reader's "aborted".
    streamed?;
    let outcome = outcome
        .map_err(|e| StoreError::Task(e.to_string()))?
        .map_err(|e| match e {
            // Name the file on disk, in Go's errno wording: `write <path>: no space left on device`.
            unpack::UnpackError::Io { op, path, source } => {
                StoreError::io(op, tmp.join("diff").join(path), source)
            }
            other => StoreError::from(other),
        })?;
    if outcome.diff_id != job.diff_id {
        return Err(StoreError::DiffIdMismatch {
            digest: desc.digest.clone(),
            expected: job.diff_id.clone(),
            actual: outcome.diff_id,
        });
    }
    let _ = events.send(PullEvent::Extracting {
        layer: job.id.clone(),
        current: desc.size,
        total: desc.size,
    });
    Ok(LayerMarker {
        chain_id: job.chain_id.clone(),
        diff_id: outcome.diff_id,
        digest: desc.digest.clone(),
        media_type: desc.media_type.clone(),
        size: desc.size,
        unpacked_size: outcome.unpacked_bytes,
        // Set by `LayerStore::commit`, which knows whether it defers the sync.
        unsynced_boot_id: None,
    })
}

/// Streams the blob into the channel, hashing and counting; Ok only if size and digest match.
async fn stream_into(
    remote: &Remote,
    job: &LayerJob,
    tx: &mpsc::Sender<io::Result<Bytes>>,
    events: &UnboundedSender<PullEvent>,
    cancel: &CancellationToken,
) -> Result<(), StoreError> {
    let desc = &job.desc;
    let mut stream = tokio::select! {
        s = remote.blob_stream(desc) => s?,
        _ = cancel.cancelled() => return Err(StoreError::Cancelled),
    };
    let mut hasher = Sha256::new();
    let mut received: u64 = 0;
    let mut reader_alive = true;
    let mut last = Instant::now() - PROGRESS_EVERY;
    loop {
        let chunk = tokio::select! {
            c = stream.next() => c,
            _ = cancel.cancelled() => return Err(StoreError::Cancelled),
        };
        let chunk = match chunk {
            None => break,
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                // oci-client checks the digest too and fails at the end of the stream: if we
                // have the full size, report the mismatch by name.
                if received == desc.size {
                    check_digest(desc, hasher.clone())?;
                }
                return Err(e);
            }
        };
        received += chunk.len() as u64;
        if received > desc.size {
            return Err(StoreError::BlobTooLong {
                digest: desc.digest.clone(),
                expected: desc.size,
            });
        }
        hasher.update(&chunk);
        if last.elapsed() >= PROGRESS_EVERY {
            last = Instant::now();
            let _ = events.send(PullEvent::Downloading {
                layer: job.id.clone(),
                current: received,
                total: desc.size,
            });
        }
        // The unpacker may finish before the end (tar trailer): keep hashing the rest.
        if reader_alive && tx.send(Ok(chunk)).await.is_err() {
            reader_alive = false;
        }
    }
    if received < desc.size {
        return Err(StoreError::BlobTooShort {
            digest: desc.digest.clone(),
            expected: desc.size,
            actual: received,
        });
    }
    let _ = events.send(PullEvent::Downloading {
        layer: job.id.clone(),
        current: received,
        total: desc.size,
    });
    let _ = events.send(PullEvent::VerifyingChecksum {
        layer: job.id.clone(),
    });
    check_digest(desc, hasher)?;
    let _ = events.send(PullEvent::DownloadComplete {
        layer: job.id.clone(),
    });
    Ok(())
}

fn check_digest(desc: &Descriptor, hasher: Sha256) -> Result<(), StoreError> {
    let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
    if actual != desc.digest {
        return Err(StoreError::DigestMismatch {
            digest: desc.digest.clone(),
            actual,
        });
    }
    Ok(())
}

fn unpack_limits(_inner: &Inner) -> UnpackLimits {
    UnpackLimits::default()
}

/// Runs blocking file work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

/// The blocking side of the bridge: a `Read` over chunks sent by the download task. A closed
/// channel is EOF; the sender sends an error first when the download failed.
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    cur: Bytes,
    consumed: Arc<AtomicU64>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Err(e)) => return Err(e),
                Some(Ok(b)) => self.cur = b,
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur.advance(n);
        self.consumed.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
