//! The router served in-process on a unix socket in a temp dir, and a tiny HTTP/1.1 client
//! (hyper) that talks to it as docker clients talk to rdockerd.

#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rdocker_engine::routes;
use rdocker_engine::server::bind_socket;
use rdocker_engine::state::{AppState, DaemonInfo};
use rdocker_image_store::{ImageStore, RegistryConfig, StoreConfig};
use tempfile::TempDir;
use tokio::net::UnixStream;

pub struct Daemon {
    _dir: TempDir,
    pub sock: PathBuf,
    pub state: Arc<AppState>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.state.shutdown.cancel();
    }
}

/// The whole app on `<tmp>/run/rdocker.sock`, an empty data root, no shim needed.
pub async fn start() -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("run/rdocker.sock");
    let listener = bind_socket(&sock).unwrap();
    let root = dir.path().join("data");
    let (store, _recovered) = ImageStore::open(StoreConfig {
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

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub async fn request(sock: &Path, method: &str, path: &str, body: &str) -> Reply {
    let stream = UnixStream::connect(sock).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let resp = sender.send_request(req).await.expect("send");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}
