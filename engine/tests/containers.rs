//! The container routes' answers that need no shim and no image: served in-process (no root),
//! so the error shapes are checked on every `cargo test`. The live paths (shim, namespaces)
//! are tested end to end in tests/tests/containers_api/.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::request;
use rdocker_engine::routes;
use rdocker_engine::server::bind_socket;
use rdocker_engine::state::{AppState, DaemonInfo};
use rdocker_image_store::{ImageStore, RegistryConfig, StoreConfig};
use serde_json::json;
use tempfile::TempDir;

struct Daemon {
    _dir: TempDir,
    sock: PathBuf,
    state: Arc<AppState>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.state.shutdown.cancel();
    }
}

async fn start() -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("run/rdocker.sock");
    let listener = bind_socket(&sock).unwrap();
    let root = dir.path().join("data");
    let (store, _) = ImageStore::open(StoreConfig {
        root: root.clone(),
        registry: RegistryConfig::default(),
        max_concurrent_downloads: 3,
    })
    .unwrap();
    let state = Arc::new(AppState::new(
        Arc::new(store),
        DaemonInfo {
            id: "test-engine".into(),
            data_root: root,
            exec_root: dir.path().join("run"),
            ..Default::default()
        },
    ));
    state.containers.load().await;
    let app = routes::app(state.clone());
    let stop = state.shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
            .unwrap();
    });
    Daemon {
        _dir: dir,
        sock,
        state,
    }
}

#[tokio::test]
async fn missing_image_is_404_so_clients_pull() {
    let d = start().await;
    let body = json!({"Image": "busybox", "Cmd": ["true"]}).to_string();
    let r = request(&d.sock, "POST", "/containers/create?name=x1", &body).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "No such image: busybox:latest");
    // The name was not kept by the failed create.
    let r = request(&d.sock, "POST", "/containers/create?name=x1", &body).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn bad_requests_are_400() {
    let d = start().await;
    let r = request(
        &d.sock,
        "POST",
        "/containers/create?name=bad%20name",
        &json!({"Image": "busybox"}).to_string(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    );
    let r = request(&d.sock, "POST", "/containers/create", "{not json").await;
    assert_eq!(r.status, 400);
    let r = request(&d.sock, "POST", "/containers/create", "{}").await;
    assert_eq!(r.status, 400);
    let r = request(
        &d.sock,
        "GET",
        "/containers/json?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D",
        "",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "invalid filter 'bogus'");
}

#[tokio::test]
async fn unknown_ids_are_404_with_dockers_text() {
    let d = start().await;
    for (method, path) in [
        ("GET", "/containers/nosuch/json"),
        ("POST", "/containers/nosuch/start"),
        ("POST", "/containers/nosuch/stop"),
        ("POST", "/containers/nosuch/kill"),
        ("POST", "/containers/nosuch/wait"),
        ("POST", "/containers/nosuch/attach?stream=1"),
        ("GET", "/containers/nosuch/logs?stdout=1"),
        ("GET", "/containers/nosuch/top"),
        ("POST", "/containers/nosuch/rename?name=y"),
        ("DELETE", "/containers/nosuch"),
        ("POST", "/containers/nosuch/exec"),
    ] {
        let r = request(&d.sock, method, path, "").await;
        assert_eq!(r.status, 404, "{method} {path}");
        assert_eq!(
            r.json()["message"],
            "No such container: nosuch",
            "{method} {path}"
        );
    }
    let r = request(&d.sock, "GET", "/exec/nosuch/json", "").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "No such exec instance: nosuch");
}

#[tokio::test]
async fn empty_list_and_prune() {
    let d = start().await;
    let r = request(&d.sock, "GET", "/containers/json?all=1", "").await;
    assert_eq!((r.status.as_u16(), r.json()), (200, json!([])));
    let r = request(&d.sock, "POST", "/containers/prune", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"ContainersDeleted": [], "SpaceReclaimed": 0})
    );
}
