//! Disk full while pulling: a clear error and nothing recorded. Needs root (mounts a tiny
//! tmpfs as the data root); skipped with a printed reason otherwise.

mod common;

use common::*;
use rdocker_image_store::{PullRequest, Reference};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.0, rustix::mount::UnmountFlags::DETACH);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_is_a_clear_error() {
    if !registry_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    if let Err(e) = rustix::mount::mount(
        "tmpfs",
        &root,
        "tmpfs",
        rustix::mount::MountFlags::empty(),
        Some(c"size=512k"),
    ) {
        eprintln!("SKIP: cannot mount a tmpfs ({e}); needs root");
        return;
    }
    let _m = Mounted(root.clone());
    let reg = TestRegistry::start(None);
    let big = layer(&[("big", &vec![7u8; 4 << 20])], Comp::Gzip);
    push_image(&reg, "full", "v1", "amd64", &[big], false).await;
    let store = open_store(&root, 5);
    let (tx, _rx) = mpsc::unbounded_channel();
    let req = PullRequest {
        reference: Reference::parse(&format!("{}/full:v1", reg.host())).unwrap(),
        platform: None,
        credentials: None,
    };
    let e = store
        .pull(req, tx, CancellationToken::new())
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("write "), "{msg}");
    assert!(msg.ends_with(": no space left on device"), "{msg}");
    assert!(store.list().is_empty());
    let layers: Vec<_> = std::fs::read_dir(root.join("layers")).unwrap().collect();
    assert!(layers.is_empty(), "temp layer dir left behind");
}
