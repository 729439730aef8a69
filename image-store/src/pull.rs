//! `docker pull`: resolve (registry) → config (content store) → layers in parallel (fetch.rs)
//! → record (index), with Docker's progress events in Docker's order.

use std::sync::Arc;

use futures_util::future::join_all;
use oci_spec::image::ImageConfiguration;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::fetch::{blocking, fetch_layer, FetchedLayer, LayerJob};
use crate::index::{ImageRecord, LayerRecord};
use crate::layers::chain_ids;
use crate::manifest::{self, Descriptor, Manifest};
use crate::registry::Remote;
use crate::store::Inner;
use crate::unpack::Compression;
use crate::{Platform, PullEvent, PullOutcome, PullRequest, PullStatus, Reference, StoreError};

/// Image configs are small; Docker refuses more than 8 MiB too.
const MAX_CONFIG_BYTES: u64 = 8 << 20;

pub struct Resolved {
    pub remote: Remote,
    /// What the reference names: an index/list or a manifest.
    pub top_digest: String,
    pub top_bytes: bytes::Bytes,
    pub manifest_digest: String,
    pub manifest_bytes: bytes::Bytes,
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// Fetches the manifest for `reference` and, through an index, the one for `platform`.
pub async fn resolve(
    inner: &Inner,
    reference: &Reference,
    req: &PullRequest,
    platform: &Platform,
) -> Result<Resolved, StoreError> {
    let (remote, top_bytes, top_digest) = inner
        .registry
        .fetch_top(reference, req.credentials.as_ref())
        .await?;
    let name = reference.familiar();
    let (manifest_digest, manifest_bytes, parsed) =
        match manifest::parse(&top_bytes, &top_digest, &name)? {
            Manifest::Index { manifests, .. } => {
                let entry = manifest::select(&manifests, platform)?;
                let (bytes, digest) = remote.manifest(&entry.digest).await?;
                let parsed = manifest::parse(&bytes, &digest, &name)?;
                (digest, bytes, parsed)
            }
            m => (top_digest.clone(), top_bytes.clone(), m),
        };
    let Manifest::Image {
        media_type,
        config,
        layers,
    } = parsed
    else {
        return Err(StoreError::InvalidManifest {
            digest: manifest_digest,
            detail: "an index entry points to another index".into(),
        });
    };
    Ok(Resolved {
        remote,
        top_digest,
        top_bytes,
        manifest_digest,
        manifest_bytes,
        media_type,
        config,
        layers,
    })
}

pub async fn pull(
    inner: Arc<Inner>,
    req: PullRequest,
    events: UnboundedSender<PullEvent>,
    cancel: CancellationToken,
) -> Result<PullOutcome, StoreError> {
    // Layer tasks outlive this future if it is dropped: make sure they stop then too.
    let cancel = cancel.child_token();
    let _stop_layers = cancel.clone().drop_guard();
    let reference = req.reference.clone();
    let platform = req.platform.clone().unwrap_or_else(Platform::host);

    let resolved = tokio::select! {
        r = resolve(&inner, &reference, &req, &platform) => r?,
        _ = cancel.cancelled() => return Err(StoreError::Cancelled),
    };
    // Refuse unusable layers before announcing any of them.
    for l in &resolved.layers {
        Compression::from_media_type(&l.media_type)?;
    }
    let tag_or_digest = reference
        .tag()
        .or(reference.digest())
        .unwrap_or("latest")
        .to_string();
    let _ = events.send(PullEvent::PullingFrom {
        name: reference.repository().to_string(),
        tag: tag_or_digest,
    });

    let config_bytes = fetch_config(&inner, &resolved, &cancel).await?;
    let config: ImageConfiguration =
        serde_json::from_slice(&config_bytes).map_err(|e| StoreError::InvalidManifest {
            digest: resolved.config.digest.clone(),
            detail: e.to_string(),
        })?;
    if req.platform.is_some() {
        check_config_platform(&config, &platform, &reference)?;
    }
    let diff_ids = config.rootfs().diff_ids().clone();
    if diff_ids.len() != resolved.layers.len() {
        return Err(StoreError::InvalidManifest {
            digest: resolved.manifest_digest.clone(),
            detail: format!(
                "{} layers in the manifest but {} diff_ids in the config",
                resolved.layers.len(),
                diff_ids.len()
            ),
        });
    }
    for d in &diff_ids {
        crate::reference::validate_digest(d).map_err(|_| StoreError::InvalidManifest {
            digest: resolved.config.digest.clone(),
            detail: format!("bad diff_id {d:?}"),
        })?;
    }
    let chains = chain_ids(&diff_ids);
    let image_id = resolved.config.digest.clone();
    let _pins = inner.pin(&chains);

    let already = inner.index.read(|f| f.images.contains_key(&image_id))
        && chains.iter().all(|c| inner.layers.lookup(c).is_some());
    let fetched: Vec<FetchedLayer> = if already {
        chains
            .iter()
            .filter_map(|c| inner.layers.lookup(c))
            .map(|(short, marker)| FetchedLayer { short, marker })
            .collect()
    } else {
        fetch_layers(&inner, &resolved, &diff_ids, &chains, &events, &cancel).await?
    };
    if cancel.is_cancelled() {
        return Err(StoreError::Cancelled);
    }

    let record = ImageRecord {
        id: image_id.clone(),
        manifest_digest: resolved.manifest_digest.clone(),
        manifest_media_type: resolved.media_type.clone(),
        layers: fetched
            .iter()
            .map(|f| LayerRecord {
                diff_id: f.marker.diff_id.clone(),
                chain_id: f.marker.chain_id.clone(),
                dir: f.short.clone(),
                digest: f.marker.digest.clone(),
                media_type: f.marker.media_type.clone(),
                size: f.marker.size,
                unpacked_size: f.marker.unpacked_size,
            })
            .collect(),
        repo_tags: vec![],
        repo_digests: vec![],
        os: config.os().to_string(),
        architecture: config.architecture().to_string(),
        variant: config.variant().clone(),
        created: config.created().clone(),
        extra_blobs: if resolved.top_digest != resolved.manifest_digest {
            vec![resolved.top_digest.clone()]
        } else {
            vec![]
        },
    };
    let status = {
        let (inner, reference) = (inner.clone(), reference.clone());
        let blobs = vec![
            (resolved.top_digest.clone(), resolved.top_bytes.to_vec()),
            (
                resolved.manifest_digest.clone(),
                resolved.manifest_bytes.to_vec(),
            ),
            (resolved.config.digest.clone(), config_bytes),
        ];
        let top = resolved.top_digest.clone();
        blocking(move || record_image(&inner, record, &reference, &top, &blobs)).await?
    };
    let _ = events.send(PullEvent::Digest {
        digest: resolved.top_digest.clone(),
    });
    let _ = events.send(PullEvent::Status {
        message: match status {
            PullStatus::Downloaded => {
                format!("Downloaded newer image for {}", reference.familiar())
            }
            PullStatus::UpToDate => format!("Image is up to date for {}", reference.familiar()),
        },
    });
    Ok(PullOutcome {
        reference,
        image_id,
        manifest_digest: resolved.top_digest,
        status,
    })
}

async fn fetch_config(
    inner: &Inner,
    resolved: &Resolved,
    cancel: &CancellationToken,
) -> Result<Vec<u8>, StoreError> {
    let desc = &resolved.config;
    // Concurrent pulls of one image fetch its config once too.
    let lock = inner.layer_lock(&desc.digest);
    let _held = tokio::select! {
        g = lock.lock_owned() => g,
        _ = cancel.cancelled() => return Err(StoreError::Cancelled),
    };
    if inner.content.exists(&desc.digest) {
        let content = inner.content.clone();
        let d = desc.digest.clone();
        return blocking(move || content.read(&d)).await;
    }
    let bytes = tokio::select! {
        b = resolved.remote.blob_bytes(desc, MAX_CONFIG_BYTES) => b?,
        _ = cancel.cancelled() => return Err(StoreError::Cancelled),
    };
    let content = inner.content.clone();
    let d = desc.digest.clone();
    let b = bytes.clone();
    blocking(move || content.put(&d, &b)).await?;
    Ok(bytes)
}

async fn fetch_layers(
    inner: &Arc<Inner>,
    resolved: &Resolved,
    diff_ids: &[String],
    chains: &[String],
    events: &UnboundedSender<PullEvent>,
    cancel: &CancellationToken,
) -> Result<Vec<FetchedLayer>, StoreError> {
    let mut results: Vec<Option<FetchedLayer>> = vec![None; chains.len()];
    // All "Pulling fs layer" / "Already exists" lines first, as Docker prints them.
    let mut missing = Vec::new();
    for (i, desc) in resolved.layers.iter().enumerate() {
        let id = short12(&desc.digest);
        if let Some((short, marker)) = inner.layers.lookup(&chains[i]) {
            let _ = events.send(PullEvent::LayerExists { layer: id });
            results[i] = Some(FetchedLayer { short, marker });
        } else {
            let _ = events.send(PullEvent::LayerWaiting { layer: id.clone() });
            missing.push((i, desc, id));
        }
    }
    let mut tasks = Vec::new();
    for (i, desc, id) in missing {
        let job = LayerJob {
            desc: desc.clone(),
            diff_id: diff_ids[i].clone(),
            chain_id: chains[i].clone(),
            id,
        };
        let task = tokio::spawn(fetch_layer(
            inner.clone(),
            resolved.remote.clone(),
            job,
            events.clone(),
            cancel.clone(),
        ));
        tasks.push((i, task));
    }
    // Stop the others at the first failure, but wait for all: each cleans up after itself.
    let cancel_on_err = cancel.clone();
    let waits = tasks.into_iter().map(|(i, t)| {
        let c = cancel_on_err.clone();
        async move {
            let r = match t.await {
                Ok(r) => r,
                Err(e) => Err(StoreError::Task(e.to_string())),
            };
            if r.is_err() {
                c.cancel();
            }
            (i, r)
        }
    });
    let mut first_err: Option<StoreError> = None;
    for (i, r) in join_all(waits).await {
        match r {
            Ok(f) => results[i] = Some(f),
            // Cancellations caused by a sibling's failure are not the story.
            Err(e) => {
                if first_err
                    .as_ref()
                    .is_none_or(|f| matches!(f, StoreError::Cancelled))
                {
                    first_err = Some(e);
                }
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    results
        .into_iter()
        .map(|r| r.ok_or_else(|| StoreError::Task("layer result missing".into())))
        .collect()
}

/// Records the image and its references; tells whether the reference already pointed here.
fn record_image(
    inner: &Inner,
    record: ImageRecord,
    reference: &Reference,
    top_digest: &str,
    blobs: &[(String, Vec<u8>)],
) -> Result<PullStatus, StoreError> {
    let id = record.id.clone();
    let digest_ref = format!("{}@{top_digest}", reference.name());
    inner.index.update(|f| {
        // Blobs before the index names them; under the index lock, so a concurrent rmi
        // cannot delete one between this check and the record.
        for (digest, bytes) in blobs {
            inner.content.put(digest, bytes)?;
        }
        // A concurrent rmi may have pruned a layer we reused: refuse to record a broken image.
        for l in &record.layers {
            if inner.layers.read_marker(&l.dir).is_none() {
                return Err(StoreError::Corrupt {
                    path: inner.layers.diff_path(&l.dir),
                    detail: "layer removed during the pull; pull again".into(),
                });
            }
        }
        let up_to_date = match reference.tag() {
            Some(_) if reference.digest().is_none() => f
                .images
                .get(&id)
                .is_some_and(|i| i.repo_tags.contains(&reference.to_string())),
            _ => f
                .images
                .get(&id)
                .is_some_and(|i| i.repo_digests.contains(&digest_ref)),
        };
        match f.images.get_mut(&id) {
            Some(existing) => {
                existing.layers = record.layers.clone();
                existing.manifest_digest = record.manifest_digest.clone();
                existing.manifest_media_type = record.manifest_media_type.clone();
                for b in &record.extra_blobs {
                    if !existing.extra_blobs.contains(b) {
                        existing.extra_blobs.push(b.clone());
                    }
                }
            }
            None => {
                f.images.insert(id.clone(), record.clone());
            }
        }
        if let (Some(tag), None) = (reference.tag(), reference.digest()) {
            f.set_tag(&id, &reference.with_tag(tag).to_string());
        }
        f.add_digest(&id, &digest_ref);
        Ok(if up_to_date {
            PullStatus::UpToDate
        } else {
            PullStatus::Downloaded
        })
    })
}

fn check_config_platform(
    config: &ImageConfiguration,
    want: &Platform,
    reference: &Reference,
) -> Result<(), StoreError> {
    let actual = Platform {
        os: config.os().to_string(),
        architecture: config.architecture().to_string(),
        variant: config.variant().clone(),
    };
    if want.matches(&actual) {
        return Ok(());
    }
    Err(StoreError::PlatformMismatch {
        reference: reference.familiar(),
        wanted: want.to_string(),
        actual: actual.to_string(),
    })
}

pub fn short12(digest: &str) -> String {
    let hex = digest.split_once(':').map(|(_, h)| h).unwrap_or(digest);
    hex.chars().take(12).collect()
}
