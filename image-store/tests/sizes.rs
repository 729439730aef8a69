//! Blobs longer or shorter than their descriptor says are refused, naming the digest, and
//! leave nothing behind.

mod common;

use std::sync::Arc;

use common::*;
use rdocker_image_store::{PullRequest, Reference, StoreError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Serves manifests `long` (layer declared 10 bytes short) and `short` (10 bytes long).
async fn lying_registry() -> (u16, String) {
    let (_m, _md, config, cd, blob, ld) = fake::tiny_image(5000);
    let manifest = |delta: i64| {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": cd, "size": config.len()},
            "layers": [{"mediaType": OCI_TAR_LAYER, "digest": ld,
                        "size": (blob.len() as i64 + delta)}]
        }))
        .unwrap()
    };
    let (long, short) = (manifest(-10), manifest(10));
    let (cd2, ld2) = (cd.clone(), ld.clone());
    let port = fake::serve(Arc::new(move |req: &fake::Request, _| {
        if req.path.ends_with("/manifests/long") {
            fake::Response::ok(long.clone(), OCI_MANIFEST)
        } else if req.path.ends_with("/manifests/short") {
            fake::Response::ok(short.clone(), OCI_MANIFEST)
        } else if req.path.ends_with(&cd2) {
            fake::Response::ok(config.clone(), "application/octet-stream")
        } else if req.path.ends_with(&ld2) {
            fake::Response::ok(blob.clone(), "application/octet-stream")
        } else {
            fake::Response::ok(b"{}".to_vec(), "application/json")
        }
    }))
    .await;
    (port, ld)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_sizes_are_refused() {
    let (port, layer_digest) = lying_registry().await;
    let root = tempfile::tempdir().unwrap();
    let store = open_store(root.path(), 5);
    for (tag, want_long) in [("long", true), ("short", false)] {
        let (tx, _rx) = mpsc::unbounded_channel();
        let req = PullRequest {
            reference: Reference::parse(&format!("127.0.0.1:{port}/liar:{tag}")).unwrap(),
            platform: None,
            credentials: None,
        };
        let e = store
            .pull(req, tx, CancellationToken::new())
            .await
            .unwrap_err();
        if want_long {
            assert!(matches!(e, StoreError::BlobTooLong { .. }), "{tag}: {e}");
        } else {
            assert!(matches!(e, StoreError::BlobTooShort { .. }), "{tag}: {e}");
        }
        assert!(e.to_string().contains(&layer_digest), "{e}");
        assert!(store.list().is_empty());
        let left: Vec<_> = std::fs::read_dir(root.path().join("layers"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{tag}: temp layer left behind");
    }
}
