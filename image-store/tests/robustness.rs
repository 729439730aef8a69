//! Auth, cancellation, stalls, concurrent pulls and crash recovery.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rdocker_image_store::{
    Credentials, ErrorKind, ImageStore, PullEvent, PullRequest, Reference, StoreConfig, StoreError,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn open(root: &std::path::Path, timeout: Duration) -> ImageStore {
    open_store(root, timeout.as_secs())
}

fn req(r: &str, creds: Option<Credentials>) -> PullRequest {
    PullRequest {
        reference: Reference::parse(r).expect("reference"),
        platform: None,
        credentials: creds,
    }
}

fn creds(u: &str, p: &str) -> Credentials {
    Credentials {
        username: u.into(),
        password: p.into(),
        ..Default::default()
    }
}

fn names(p: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(p)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_registry() {
    if !registry_available() || !std::path::Path::new("/usr/bin/htpasswd").exists() {
        eprintln!("SKIP: needs docker-registry and htpasswd");
        return;
    }
    let reg = TestRegistry::start(Some(("alice", "s3cret")));
    push_image(
        &reg,
        "private/img",
        "v1",
        "amd64",
        &[layer(&[("f", b"x")], Comp::Gzip)],
        false,
    )
    .await;
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path(), Duration::from_secs(5));
    let name = format!("{}/private/img:v1", reg.host());

    let (tx, _rx) = mpsc::unbounded_channel();
    let e = store
        .pull(req(&name, None), tx, CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(
        e.to_string()
            .contains("unauthorized: authentication required"),
        "{e}"
    );

    let (tx, _rx) = mpsc::unbounded_channel();
    let e = store
        .pull(
            req(&name, Some(creds("alice", "wrong"))),
            tx,
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");

    let (tx, _rx) = mpsc::unbounded_channel();
    store
        .pull(
            req(&name, Some(creds("alice", "s3cret"))),
            tx,
            CancellationToken::new(),
        )
        .await
        .expect("pull with credentials");

    store
        .check_login(&reg.host(), &creds("alice", "s3cret"))
        .await
        .expect("login ok");
    let e = store
        .check_login(&reg.host(), &creds("alice", "nope"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert!(
        e.to_string()
            .contains("unauthorized: incorrect username or password"),
        "{e}"
    );
    let e = store
        .check_login(&format!("127.0.0.1:{}", free_port()), &creds("a", "b"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
}

/// A registry that serves a manifest and config, then sends the first bytes of the layer and
/// stalls forever.
async fn stalling_registry() -> (u16, String) {
    let (manifest, _md, config, cd, blob, ld) = fake::tiny_image(200_000);
    let ld2 = ld.clone();
    let port = fake::serve(Arc::new(move |req: &fake::Request, _port| {
        if req.path.ends_with("/manifests/x") {
            fake::Response::ok(manifest.clone(), OCI_MANIFEST)
        } else if req.path.ends_with(&cd) {
            fake::Response::ok(config.clone(), "application/octet-stream")
        } else if req.path.ends_with(&ld2) {
            fake::Response {
                stall_after: Some(1000),
                ..fake::Response::ok(blob.clone(), "application/octet-stream")
            }
        } else {
            fake::Response::ok(b"{}".to_vec(), "application/json")
        }
    }))
    .await;
    (port, ld)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_blob_times_out_and_cleans_up() {
    let (port, _) = stalling_registry().await;
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path(), Duration::from_secs(1));
    let (tx, _rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    let e = store
        .pull(
            req(&format!("127.0.0.1:{port}/stall:x"), None),
            tx,
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Timeout { .. }), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(store.list().is_empty());
    assert!(
        names(&root.path().join("layers")).is_empty(),
        "{:?}",
        names(&root.path().join("layers"))
    );
    assert!(names(&root.path().join("blobs/tmp")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_download_and_records_nothing() {
    let (port, _) = stalling_registry().await;
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path(), Duration::from_secs(60));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            if matches!(e, PullEvent::Downloading { .. }) {
                c.cancel();
            }
        }
    });
    let started = Instant::now();
    let e = store
        .pull(req(&format!("127.0.0.1:{port}/stall:x"), None), tx, cancel)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Cancelled), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(store.list().is_empty());
    assert!(
        names(&root.path().join("layers")).is_empty(),
        "{:?}",
        names(&root.path().join("layers"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pulls_download_each_layer_once() {
    if !registry_available() {
        return;
    }
    let reg = TestRegistry::start(None);
    let layers: Vec<_> = (0..4u8)
        .map(|i| layer(&[("data", &vec![i; 300_000])], Comp::Gzip))
        .collect();
    let pushed = push_image(&reg, "conc", "v1", "amd64", &layers, false).await;
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path(), Duration::from_secs(10));
    let name = format!("{}/conc:v1", reg.host());
    let (tx1, mut rx1) = mpsc::unbounded_channel();
    let (tx2, mut rx2) = mpsc::unbounded_channel();
    let (a, b) = tokio::join!(
        store.pull(req(&name, None), tx1, CancellationToken::new()),
        store.pull(req(&name, None), tx2, CancellationToken::new())
    );
    assert_eq!(a.expect("first").image_id, pushed.config_digest);
    assert_eq!(b.expect("second").image_id, pushed.config_digest);
    let downloaded = |rx: &mut mpsc::UnboundedReceiver<PullEvent>| {
        let mut ids = std::collections::HashSet::new();
        while let Ok(e) = rx.try_recv() {
            if let PullEvent::Downloading { layer, .. } = e {
                ids.insert(layer);
            }
        }
        ids
    };
    let (d1, d2) = (downloaded(&mut rx1), downloaded(&mut rx2));
    assert!(d1.is_disjoint(&d2), "{d1:?} {d2:?}");
    assert_eq!(d1.len() + d2.len(), 4);
    assert_eq!(store.list().len(), 1);
}

#[test]
fn recovery_removes_debris() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    {
        let (_s, actions) = ImageStore::open(StoreConfig {
            root: r.to_path_buf(),
            ..Default::default()
        })
        .unwrap();
        assert!(actions.is_empty(), "{actions:?}");
    }
    std::fs::write(r.join("blobs/tmp/blob-1"), b"partial").unwrap();
    std::fs::create_dir_all(r.join("layers/tmp-123/diff/etc")).unwrap();
    std::fs::write(r.join("layers/tmp-123/diff/etc/f"), b"x").unwrap();
    std::fs::create_dir_all(r.join("layers/abcdef012345/diff")).unwrap();
    let orphan = sha(b"orphan");
    std::fs::write(r.join("blobs/sha256").join(&orphan[7..]), b"orphan").unwrap();
    std::fs::write(r.join(".tmp-99"), b"{").unwrap();
    let (store, actions) = ImageStore::open(StoreConfig {
        root: r.to_path_buf(),
        ..Default::default()
    })
    .unwrap();
    let mut actions = actions;
    actions.sort();
    assert_eq!(
        actions,
        vec![
            format!("removed incomplete layer layers/abcdef012345"),
            format!("removed incomplete layer layers/tmp-123"),
            format!("removed temporary blob blobs/tmp/blob-1"),
            format!("removed temporary file .tmp-99"),
            format!("removed unreferenced blob blobs/sha256/{}", &orphan[7..]),
        ]
    );
    assert!(names(&r.join("layers")).is_empty());
    assert!(names(&r.join("blobs/tmp")).is_empty());
    assert!(store.list().is_empty());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(r).unwrap().permissions().mode() & 0o777,
        0o700
    );
}
