//! The container routes' answers that need no shim and no image: served in-process (no root),
//! so the error shapes are checked on every `cargo test`. The live paths (shim, namespaces)
//! are tested end to end in tests/tests/containers_api/.

mod common;

use common::{request, start};
use serde_json::json;

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
