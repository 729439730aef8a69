//! Docker manifest lists (not only OCI indexes) and login against a registry without auth.

mod common;

use common::*;
use rdocker_image_store::{Credentials, Platform, PullRequest, Reference};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_manifest_list_and_open_login() {
    if !registry_available() {
        return;
    }
    let reg = TestRegistry::start(None);
    let amd = push_image(
        &reg,
        "dl",
        "a",
        "amd64",
        &[layer(&[("arch", b"amd64")], Comp::Gzip)],
        false,
    )
    .await;
    let arm = push_image(
        &reg,
        "dl",
        "b",
        "arm",
        &[layer(&[("arch", b"armv7")], Comp::Gzip)],
        false,
    )
    .await;
    let list = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": DOCKER_LIST,
        "manifests": [
            {"mediaType": DOCKER_MANIFEST, "digest": arm.manifest_digest, "size": arm.manifest_size,
             "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
            {"mediaType": DOCKER_MANIFEST, "digest": amd.manifest_digest, "size": amd.manifest_size,
             "platform": {"os": "linux", "architecture": "amd64"}},
        ]
    }))
    .unwrap();
    let list_digest = reg.push_manifest("dl", "latest", DOCKER_LIST, &list).await;
    let root = tempfile::tempdir().unwrap();
    let store = open_store(root.path(), 5);
    let (tx, _rx) = mpsc::unbounded_channel();
    let req = PullRequest {
        reference: Reference::parse(&format!("{}/dl", reg.host())).unwrap(),
        platform: Some(Platform::parse("linux/arm/v7").unwrap()),
        credentials: None,
    };
    let out = store
        .pull(req, tx, CancellationToken::new())
        .await
        .expect("pull from list");
    assert_eq!(out.image_id, arm.config_digest);
    assert_eq!(out.manifest_digest, list_digest);
    let info = store.get(&format!("{}/dl:latest", reg.host())).unwrap();
    assert_eq!(
        (info.architecture.as_str(), info.variant.as_deref()),
        ("arm", None)
    );
    assert_eq!(
        info.repo_digests,
        vec![format!("{}/dl@{list_digest}", reg.host())]
    );

    // A registry without auth accepts any login, as with Docker.
    let c = Credentials {
        username: "u".into(),
        password: "p".into(),
        ..Default::default()
    };
    store
        .check_login(&reg.host(), &c)
        .await
        .expect("open registry login");
}
