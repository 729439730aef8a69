//! Pulls from a real CNCF distribution 2.8 registry on 127.0.0.1 (skipped, with the reason
//! printed, when `/usr/bin/docker-registry` is absent).

mod common;

use std::time::Duration;

use common::*;
use rdocker_image_store::{
    ErrorKind, ImageStore, Platform, PullEvent, PullRequest, PullStatus, Reference, RegistryConfig,
    RemoveAction, StoreConfig, StoreError,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn open(root: &std::path::Path, registry: RegistryConfig) -> ImageStore {
    let cfg = StoreConfig {
        root: root.to_path_buf(),
        registry,
        max_concurrent_downloads: 3,
    };
    ImageStore::open(cfg).expect("open store").0
}

fn quick() -> RegistryConfig {
    RegistryConfig {
        request_timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

async fn pull(
    store: &ImageStore,
    r: &str,
    platform: Option<&str>,
) -> (
    Result<rdocker_image_store::PullOutcome, StoreError>,
    Vec<PullEvent>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let req = PullRequest {
        reference: Reference::parse(r).expect("reference"),
        platform: platform.map(|p| Platform::parse(p).expect("platform")),
        credentials: None,
    };
    let res = store.pull(req, tx, CancellationToken::new()).await;
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    (res, events)
}

fn dir_names(p: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(p)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_list_history_remove() {
    if !registry_available() {
        return;
    }
    let reg = TestRegistry::start(None);
    let l1 = layer(
        &[("etc/hello", b"hello\n"), ("bin/tool", b"#!/bin/sh\n")],
        Comp::Gzip,
    );
    let l2 = layer(&[("etc/zstd", b"zstd layer\n")], Comp::Zstd);
    let l3 = layer(&[("etc/plain", b"plain\n")], Comp::None);
    let pushed = push_image(&reg, "test/hello", "v1", "amd64", &[l1, l2, l3], false).await;
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path(), quick());
    let name = format!("{}/test/hello:v1", reg.host());

    let (res, events) = pull(&store, &name, None).await;
    let out = res.expect("pull");
    assert_eq!(out.status, PullStatus::Downloaded);
    assert_eq!(out.image_id, pushed.config_digest);
    assert_eq!(out.manifest_digest, pushed.manifest_digest);
    // Layers reach the disk in the background; flush_pending waits for that.
    store.flush_pending();
    let layers_dir = root.path().join("layers");
    for d in dir_names(&layers_dir) {
        let m = std::fs::read_to_string(layers_dir.join(&d).join("layer.json")).unwrap();
        assert!(!m.contains("unsynced_boot_id"), "{d}: {m}");
    }
    assert_eq!(
        events[0],
        PullEvent::PullingFrom {
            name: "test/hello".into(),
            tag: "v1".into()
        }
    );
    let waiting = events
        .iter()
        .filter(|e| matches!(e, PullEvent::LayerWaiting { .. }))
        .count();
    let complete = events
        .iter()
        .filter(|e| matches!(e, PullEvent::PullComplete { .. }))
        .count();
    assert_eq!((waiting, complete), (3, 3));
    // Per layer: Downloading… VerifyingChecksum, DownloadComplete, Extracting…, PullComplete.
    for d in &pushed.layer_digests {
        let id = d[7..19].to_string();
        let mine: Vec<&PullEvent> = events
            .iter()
            .filter(|e| event_layer(e) == Some(&id))
            .collect();
        let kinds: Vec<&str> = mine.iter().map(|e| kind(e)).collect();
        let pos = |k: &str| {
            kinds
                .iter()
                .position(|x| *x == k)
                .unwrap_or_else(|| panic!("{k} in {kinds:?}"))
        };
        assert!(pos("waiting") < pos("downloading"));
        assert!(pos("downloading") < pos("verifying"));
        assert!(pos("verifying") < pos("downloaded"));
        assert!(pos("downloaded") < pos("extracting"));
        assert_eq!(*kinds.last().unwrap(), "complete", "{kinds:?}");
    }
    let n = events.len();
    assert_eq!(
        events[n - 2],
        PullEvent::Digest {
            digest: pushed.manifest_digest.clone()
        }
    );
    assert_eq!(
        events[n - 1],
        PullEvent::Status {
            message: format!("Downloaded newer image for {name}")
        }
    );

    let dirs = store.layer_dirs(&name).unwrap();
    assert_eq!(dirs.len(), 3);
    assert_eq!(
        std::fs::read(dirs[0].join("etc/hello")).unwrap(),
        b"hello\n"
    );
    assert_eq!(
        std::fs::read(dirs[1].join("etc/zstd")).unwrap(),
        b"zstd layer\n"
    );
    assert_eq!(
        std::fs::read(dirs[2].join("etc/plain")).unwrap(),
        b"plain\n"
    );

    let info = store.get(&name).unwrap();
    assert_eq!(info.repo_tags, vec![name.clone()]);
    assert_eq!(
        info.repo_digests,
        vec![format!(
            "{}/test/hello@{}",
            reg.host(),
            pushed.manifest_digest
        )]
    );
    assert_eq!(info.architecture, "amd64");
    assert_eq!(store.get(&pushed.config_digest[7..15]).unwrap().id, info.id);
    assert_eq!(store.list().len(), 1);
    let h = store.history(&name).unwrap();
    assert_eq!(h.len(), 4);
    assert_eq!((h[0].id.as_str(), h[0].size), (info.id.as_str(), 0));
    assert_eq!(h[1].id, "<missing>");

    // Again: up to date, no layer traffic.
    let (res, events) = pull(&store, &name, None).await;
    assert_eq!(res.unwrap().status, PullStatus::UpToDate);
    assert!(!events
        .iter()
        .any(|e| matches!(e, PullEvent::Downloading { .. })));
    assert_eq!(
        events.last().unwrap(),
        &PullEvent::Status {
            message: format!("Image is up to date for {name}")
        }
    );

    // By digest: same image, a digest reference, no new tag.
    let by_digest = format!("{}/test/hello@{}", reg.host(), pushed.manifest_digest);
    let (res, _) = pull(&store, &by_digest, None).await;
    assert_eq!(res.unwrap().image_id, pushed.config_digest);
    assert_eq!(store.get(&by_digest).unwrap().id, pushed.config_digest);

    // Tag, then rmi: the tag goes first, the image with its last name.
    store
        .tag(&name, &Reference::parse("other:1").unwrap())
        .unwrap();
    assert_eq!(
        store.remove("other:1", false, false).unwrap(),
        vec![RemoveAction::Untagged("other:1".into())]
    );
    let actions = store.remove(&name, false, false).unwrap();
    assert!(
        actions.contains(&RemoveAction::Deleted(pushed.config_digest.clone())),
        "{actions:?}"
    );
    assert!(store.list().is_empty());
    assert!(dir_names(&root.path().join("layers")).is_empty());
    assert!(dir_names(&root.path().join("blobs/sha256")).is_empty());
    let e = store.get(&name).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

fn event_layer(e: &PullEvent) -> Option<&String> {
    match e {
        PullEvent::LayerWaiting { layer }
        | PullEvent::LayerExists { layer }
        | PullEvent::Downloading { layer, .. }
        | PullEvent::VerifyingChecksum { layer }
        | PullEvent::DownloadComplete { layer }
        | PullEvent::Extracting { layer, .. }
        | PullEvent::PullComplete { layer } => Some(layer),
        _ => None,
    }
}

fn kind(e: &PullEvent) -> &'static str {
    match e {
        PullEvent::LayerWaiting { .. } => "waiting",
        PullEvent::LayerExists { .. } => "exists",
        PullEvent::Downloading { .. } => "downloading",
        PullEvent::VerifyingChecksum { .. } => "verifying",
        PullEvent::DownloadComplete { .. } => "downloaded",
        PullEvent::Extracting { .. } => "extracting",
        PullEvent::PullComplete { .. } => "complete",
        _ => "other",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_fallback_and_shared_layers() {
    if !registry_available() {
        return;
    }
    let reg = TestRegistry::start(None);
    let base = layer(&[("etc/base", b"base\n")], Comp::Gzip);
    let top = layer(&[("etc/top", b"top\n")], Comp::Gzip);
    push_image(
        &reg,
        "library/busybox",
        "latest",
        "amd64",
        std::slice::from_ref(&base),
        false,
    )
    .await;
    push_image(&reg, "library/busybox", "two", "amd64", &[base, top], true).await;
    let root = tempfile::tempdir().unwrap();
    // A dead mirror first: it must fall through to the working one (never to Docker Hub).
    let cfg = RegistryConfig {
        mirrors: vec![format!("http://127.0.0.1:{}", free_port()), reg.base()],
        // Even if both mirrors failed, the test must not reach Docker Hub.
        mirrors_only: true,
        ..quick()
    };
    let store = open(root.path(), cfg);
    let (res, _) = pull(&store, "busybox", None).await;
    let out = res.expect("pull through mirror");
    assert_eq!(
        out.reference.to_string(),
        "docker.io/library/busybox:latest"
    );
    let info = store.get("busybox").unwrap();
    assert_eq!(info.repo_tags, vec!["busybox:latest".to_string()]);
    // The second image shares its base layer: "Already exists", not downloaded again.
    let (res, events) = pull(&store, "busybox:two", None).await;
    res.expect("pull two");
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, PullEvent::LayerExists { .. }))
            .count(),
        1
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, PullEvent::LayerWaiting { .. }))
            .count(),
        1
    );
    // Removing one image keeps the shared layer for the other.
    store.remove("busybox:latest", false, false).unwrap();
    assert_eq!(
        store
            .layer_dirs("busybox:two")
            .unwrap()
            .iter()
            .filter(|d| d.exists())
            .count(),
        2
    );

    // registry_mirrors for a non-Hub registry: dead mirror, then the origin.
    let cfg = RegistryConfig {
        registry_mirrors: [(
            reg.host(),
            vec![format!("http://127.0.0.1:{}", free_port())],
        )]
        .into(),
        ..quick()
    };
    let root2 = tempfile::tempdir().unwrap();
    let store2 = open(root2.path(), cfg);
    let (res, _) = pull(
        &store2,
        &format!("{}/library/busybox:two", reg.host()),
        None,
    )
    .await;
    res.expect("origin after dead mirror");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_platform_selection_and_distribution() {
    if !registry_available() {
        return;
    }
    let reg = TestRegistry::start(None);
    let amd = push_image(
        &reg,
        "multi",
        "amd64-only",
        "amd64",
        &[layer(&[("arch", b"amd64")], Comp::Gzip)],
        true,
    )
    .await;
    let arm = push_image(
        &reg,
        "multi",
        "arm64-only",
        "arm64",
        &[layer(&[("arch", b"arm64")], Comp::Zstd)],
        true,
    )
    .await;
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": amd.manifest_digest, "size": amd.manifest_size,
             "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": OCI_MANIFEST, "digest": arm.manifest_digest, "size": arm.manifest_size,
             "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        ]
    });
    let index = serde_json::to_vec(&index).unwrap();
    let index_digest = reg
        .push_manifest("multi", "latest", OCI_INDEX, &index)
        .await;
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path(), quick());
    let name = format!("{}/multi:latest", reg.host());

    let dist = store
        .distribution(&Reference::parse(&name).unwrap(), None)
        .await
        .expect("distribution");
    assert_eq!(dist.digest, index_digest);
    assert_eq!(dist.media_type, OCI_INDEX);
    assert_eq!(dist.size, index.len() as u64);
    assert_eq!(dist.platforms.len(), 2);

    let (res, _) = pull(&store, &name, Some("linux/arm64/v8")).await;
    let out = res.expect("arm64 pull");
    assert_eq!(out.image_id, arm.config_digest);
    assert_eq!(out.manifest_digest, index_digest);
    let dirs = store.layer_dirs(&name).unwrap();
    assert_eq!(std::fs::read(dirs[0].join("arch")).unwrap(), b"arm64");

    let (res, _) = pull(&store, &name, Some("linux/s390x")).await;
    let e = res.unwrap_err();
    assert_eq!(
        e.to_string(),
        "no matching manifest for linux/s390x in the manifest list entries"
    );

    // A platform that does not match a single-platform image is refused, as by Docker.
    let (res, _) = pull(
        &store,
        &format!("{}/multi:amd64-only", reg.host()),
        Some("linux/arm64"),
    )
    .await;
    assert_eq!(res.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_not_found_bad_digest_bad_diff_id() {
    if !registry_available() {
        return;
    }
    let reg = TestRegistry::start(None);
    let good = layer(&[("f", b"content")], Comp::Gzip);
    let pushed = push_image(
        &reg,
        "bad",
        "v1",
        "amd64",
        std::slice::from_ref(&good),
        false,
    )
    .await;
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path(), quick());

    let (res, _) = pull(&store, &format!("{}/bad:nosuch", reg.host()), None).await;
    let e = res.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        e.to_string(),
        format!(
            "manifest for {}/bad:nosuch not found: manifest unknown: manifest unknown",
            reg.host()
        )
    );
    let (res, _) = pull(&store, &format!("{}/nosuchrepo:v1", reg.host()), None).await;
    assert_eq!(res.unwrap_err().kind(), ErrorKind::NotFound);

    // Wrong diff_id in the config: the layer is not committed, nothing recorded.
    let mut wrong = good.clone();
    wrong.2 = sha(b"not the tar");
    push_image(&reg, "bad", "diffid", "amd64", &[wrong], false).await;
    let (res, _) = pull(&store, &format!("{}/bad:diffid", reg.host()), None).await;
    let e = res.unwrap_err();
    assert!(matches!(e, StoreError::DiffIdMismatch { .. }), "{e}");
    assert!(store.list().is_empty());
    assert!(dir_names(&root.path().join("layers")).is_empty());

    // Corrupt the blob in the registry's storage (same size): the digest check refuses it.
    let path = reg.blob_data_path(&pushed.layer_digests[0]);
    let mut data = std::fs::read(&path).unwrap();
    let last = data.len() - 1;
    data[last] ^= 0xff;
    std::fs::write(&path, &data).unwrap();
    let (res, _) = pull(&store, &format!("{}/bad:v1", reg.host()), None).await;
    let e = res.unwrap_err();
    assert!(e.to_string().contains(&pushed.layer_digests[0]), "{e}");
    assert!(store.list().is_empty());
    assert!(dir_names(&root.path().join("layers")).is_empty());
    assert!(dir_names(&root.path().join("blobs/tmp")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_and_hanging_registries_fail_in_time() {
    let root = tempfile::tempdir().unwrap();
    let cfg = RegistryConfig {
        request_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let store = open(root.path(), cfg);
    let dead = free_port();
    let (res, _) = pull(&store, &format!("127.0.0.1:{dead}/x:y"), None).await;
    let e = res.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.to_string().contains("connection refused"), "{e}");

    // Accepts connections, never answers.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let (res, _) = pull(&store, &format!("127.0.0.1:{port}/x:y"), None).await;
    let e = res.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    drop(l);
}
