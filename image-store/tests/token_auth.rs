//! Bearer-token registries (Docker Hub style): the challenge on `/v2/` sends us to a token
//! service; the token, not the password, opens the repository. Served by a fake registry.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine;
use common::*;
use rdocker_image_store::{Credentials, ErrorKind, PullRequest, Reference};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "good-token";

/// Returns (port, token requests served).
async fn token_registry() -> (u16, Arc<AtomicUsize>) {
    let (manifest, md, config, cd, blob, ld) = fake::tiny_image(1000);
    let good_basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice:pw")
    );
    let tokens = Arc::new(AtomicUsize::new(0));
    let t = tokens.clone();
    let port = fake::serve(Arc::new(move |req: &fake::Request, port| {
        let challenge = (
            "WWW-Authenticate".to_string(),
            format!(r#"Bearer realm="http://127.0.0.1:{port}/token",service="fake""#),
        );
        if req.path.starts_with("/token") {
            t.fetch_add(1, Ordering::SeqCst);
            return match req.header("authorization") {
                Some(a) if a == good_basic => fake::Response::ok(
                    format!(r#"{{"token":"{TOKEN}","expires_in":300}}"#).into_bytes(),
                    "application/json",
                ),
                // Anonymous gets a token that opens nothing, as on Docker Hub.
                None => {
                    fake::Response::ok(br#"{"token":"anonymous"}"#.to_vec(), "application/json")
                }
                Some(_) => {
                    fake::Response::status(401, r#"{"details":"incorrect username or password"}"#)
                }
            };
        }
        if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            let mut r = fake::Response::status(
                401,
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            );
            r.headers.push(challenge);
            return r;
        }
        if req.path.ends_with("/manifests/v1") {
            let mut r = fake::Response::ok(manifest.clone(), OCI_MANIFEST);
            r.headers.push(("Docker-Content-Digest".into(), md.clone()));
            r
        } else if req.path.ends_with(&cd) {
            fake::Response::ok(config.clone(), "application/octet-stream")
        } else if req.path.ends_with(&ld) {
            fake::Response::ok(blob.clone(), "application/octet-stream")
        } else {
            fake::Response::ok(b"{}".to_vec(), "application/json")
        }
    }))
    .await;
    (port, tokens)
}

fn creds(p: &str) -> Option<Credentials> {
    Some(Credentials {
        username: "alice".into(),
        password: p.into(),
        ..Default::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_flow() {
    let (port, tokens) = token_registry().await;
    let root = tempfile::tempdir().unwrap();
    let store = open_store(root.path(), 5);
    let name = format!("127.0.0.1:{port}/private/img:v1");
    let pull = |c: Option<Credentials>| {
        let (tx, _rx) = mpsc::unbounded_channel();
        let req = PullRequest {
            reference: Reference::parse(&name).unwrap(),
            platform: None,
            credentials: c,
        };
        let store = &store;
        async move { store.pull(req, tx, CancellationToken::new()).await }
    };

    let e = pull(None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    let e = pull(creds("wrong")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");

    let before = tokens.load(Ordering::SeqCst);
    pull(creds("pw")).await.expect("pull with token");
    // Manifest, config and layer all went through with one cached token.
    assert_eq!(tokens.load(Ordering::SeqCst) - before, 1);
    assert_eq!(store.list().len(), 1);

    let server = format!("127.0.0.1:{port}");
    store
        .check_login(&server, &creds("pw").unwrap())
        .await
        .expect("login");
    let e = store
        .check_login(&server, &creds("bad").unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert!(
        e.to_string()
            .ends_with("unauthorized: incorrect username or password"),
        "{e}"
    );
}
