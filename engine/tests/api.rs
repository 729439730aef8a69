//! The router served in-process on a unix socket in a temp dir, spoken to with hyper.

mod common;

use common::{request, start};
use rdocker_engine::routes::ROUTES;

#[tokio::test]
async fn ping_get_and_head() {
    let d = start().await;
    for method in ["GET", "HEAD"] {
        let r = request(&d.sock, method, "/_ping", "").await;
        assert_eq!(r.status, 200, "{method}");
        assert_eq!(r.headers["api-version"], "1.47");
        assert_eq!(r.headers["ostype"], "linux");
        assert_eq!(r.headers["docker-experimental"], "false");
        assert_eq!(
            r.headers["cache-control"],
            "no-cache, no-store, must-revalidate"
        );
        assert_eq!(r.headers["pragma"], "no-cache");
        let want = if method == "GET" { "OK" } else { "" };
        assert_eq!(r.text(), want);
    }
    let r = request(&d.sock, "GET", "/v1.44/_ping", "").await;
    assert_eq!((r.status.as_u16(), r.text().as_str()), (200, "OK"));
}

#[tokio::test]
async fn version_document() {
    let d = start().await;
    let r = request(&d.sock, "GET", "/v1.47/version", "").await;
    assert_eq!(r.status, 200);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let j = r.json();
    assert_eq!(j["ApiVersion"], "1.47");
    assert_eq!(j["MinAPIVersion"], "1.24");
    assert_eq!(j["Os"], "linux");
    assert_eq!(j["Components"][0]["Name"], "Engine");
    assert!(j["KernelVersion"].as_str().is_some_and(|k| !k.is_empty()));
}

#[tokio::test]
async fn info_document() {
    let d = start().await;
    let j = request(&d.sock, "GET", "/info", "").await.json();
    assert_eq!(j["ID"], "test-engine");
    assert_eq!(j["Images"], 0);
    assert_eq!(j["Driver"], "overlay2");
    assert_eq!(j["OSType"], "linux");
    assert_eq!(j["Swarm"]["LocalNodeState"], "inactive");
    assert!(j["NCPU"].as_i64().unwrap() >= 1);
}

#[tokio::test]
async fn versioned_image_list() {
    let d = start().await;
    let r = request(&d.sock, "GET", "/v1.41/images/json", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), serde_json::json!([]));
    let r = request(
        &d.sock,
        "GET",
        "/images/json?filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D",
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = request(
        &d.sock,
        "GET",
        "/images/json?filters=%7B%22bogus%22%3A%5B%5D%7D",
        "",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "invalid filter 'bogus'");
}

#[tokio::test]
async fn unknown_route_is_docker_404() {
    let d = start().await;
    for path in [
        "/nope",
        "/v1.47/nope",
        "/images/busybox",
        "/containers/nosuch/nope",
    ] {
        let r = request(&d.sock, "GET", path, "").await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(
            r.json(),
            serde_json::json!({"message": "page not found"}),
            "{path}"
        );
    }
    // HEAD is served wherever GET is, without a body.
    for path in ["/version", "/images/json"] {
        let r = request(&d.sock, "HEAD", path, "").await;
        assert_eq!((r.status.as_u16(), r.body.len()), (200, 0), "HEAD {path}");
    }
    let r = request(&d.sock, "HEAD", "/images/nosuch/json", "").await;
    assert_eq!(r.status, 404);
    let r = request(&d.sock, "PUT", "/_ping", "").await;
    assert_eq!(r.status, 405);
    assert!(r.json()["message"].is_string());
}

#[tokio::test]
async fn bad_versions_are_400() {
    let d = start().await;
    let r = request(&d.sock, "GET", "/v1.12/version", "").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
    );
    let r = request(&d.sock, "GET", "/v1.99/_ping", "").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "client version 1.99 is too new. Maximum supported API version is 1.47"
    );
}

/// A request for each served route that needs no registry; the answer must come from the
/// route's handler, not from the router's 404/405.
fn sample(method: &str, template: &str) -> (&'static str, &'static str, u16) {
    match (method, template) {
        ("GET", "/_ping") => ("/_ping", "", 200),
        ("HEAD", "/_ping") => ("/_ping", "", 200),
        ("GET", "/version") => ("/version", "", 200),
        ("GET", "/info") => ("/info", "", 200),
        ("POST", "/auth") => ("/auth", "not json", 400),
        ("POST", "/images/create") => ("/images/create?fromSrc=-", "", 501),
        ("GET", "/images/json") => ("/images/json", "", 200),
        ("GET", "/images/{name}/json") => ("/images/127.0.0.1:5000/no/such:tag/json", "", 404),
        ("GET", "/images/{name}/history") => ("/images/library/nosuch/history", "", 404),
        ("POST", "/images/{name}/tag") => ("/images/nosuch/tag?repo=other", "", 404),
        ("DELETE", "/images/{name}") => ("/images/nosuch", "", 404),
        ("GET", "/distribution/{name}/json") => ("/distribution/Not%20Valid/json", "", 400),
        ("POST", "/containers/create") => ("/containers/create", r#"{"Image":"nosuch"}"#, 404),
        ("GET", "/containers/json") => ("/containers/json", "", 200),
        ("POST", "/containers/prune") => ("/containers/prune", "", 200),
        ("GET", "/containers/{name}/json") => ("/containers/nosuch/json", "", 404),
        ("POST", "/containers/{name}/start") => ("/containers/nosuch/start", "", 404),
        ("POST", "/containers/{name}/stop") => ("/containers/nosuch/stop", "", 404),
        ("POST", "/containers/{name}/restart") => ("/containers/nosuch/restart", "", 404),
        ("POST", "/containers/{name}/kill") => ("/containers/nosuch/kill", "", 404),
        ("POST", "/containers/{name}/wait") => ("/containers/nosuch/wait", "", 404),
        ("POST", "/containers/{name}/attach") => ("/containers/nosuch/attach", "", 404),
        ("POST", "/containers/{name}/resize") => ("/containers/nosuch/resize", "", 404),
        ("GET", "/containers/{name}/logs") => ("/containers/nosuch/logs?stdout=1", "", 404),
        ("GET", "/containers/{name}/top") => ("/containers/nosuch/top", "", 404),
        ("POST", "/containers/{name}/rename") => ("/containers/nosuch/rename?name=x", "", 404),
        ("DELETE", "/containers/{name}") => ("/containers/nosuch", "", 404),
        ("GET", "/containers/{name}/stats") => ("/containers/nosuch/stats?stream=0", "", 404),
        ("POST", "/containers/{name}/update") => ("/containers/nosuch/update", "{}", 404),
        ("POST", "/containers/{name}/pause") => ("/containers/nosuch/pause", "", 404),
        ("POST", "/containers/{name}/unpause") => ("/containers/nosuch/unpause", "", 404),
        ("POST", "/containers/{name}/exec") => ("/containers/nosuch/exec", "", 404),
        ("POST", "/exec/{name}/start") => ("/exec/nosuch/start", "", 404),
        ("POST", "/exec/{name}/resize") => ("/exec/nosuch/resize", "", 404),
        ("GET", "/exec/{name}/json") => ("/exec/nosuch/json", "", 404),
        ("GET", "/volumes") => ("/volumes", "", 200),
        ("POST", "/volumes/create") => ("/volumes/create", r#"{"Name":"a/b"}"#, 400),
        ("POST", "/volumes/prune") => ("/volumes/prune", "", 200),
        ("GET", "/volumes/{name}") => ("/volumes/nosuch", "", 404),
        ("DELETE", "/volumes/{name}") => ("/volumes/nosuch", "", 404),
        ("GET", "/networks") => ("/networks", "", 200),
        ("POST", "/networks/create") => ("/networks/create", r#"{"Name":"n","Driver":"x"}"#, 400),
        ("POST", "/networks/prune") => ("/networks/prune", "", 200),
        ("GET", "/networks/{name}") => ("/networks/nosuch", "", 404),
        ("DELETE", "/networks/{name}") => ("/networks/nosuch", "", 404),
        ("POST", "/networks/{name}/connect") => {
            ("/networks/nosuch/connect", r#"{"Container":"x"}"#, 404)
        }
        ("POST", "/networks/{name}/disconnect") => {
            ("/networks/nosuch/disconnect", r#"{"Container":"x"}"#, 404)
        }
        ("GET", "/events") => ("/events?until=1", "", 200),
        _ => panic!("no sample request for {method} {template}: add one to this test"),
    }
}

#[tokio::test]
async fn every_route_reaches_its_handler() {
    let d = start().await;
    for &(method, template) in ROUTES {
        let (path, body, want) = sample(method, template);
        let r = request(&d.sock, method, path, body).await;
        assert_eq!(r.status.as_u16(), want, "{method} {path}: {}", r.text());
        if method != "HEAD" && want != 200 {
            let msg = r.json()["message"].as_str().unwrap_or_default().to_string();
            assert!(
                !msg.is_empty() && msg != "page not found",
                "{method} {path}: {msg}"
            );
        }
    }
}

#[tokio::test]
async fn pull_errors_before_streaming_get_a_status() {
    let d = start().await;
    let r = request(
        &d.sock,
        "POST",
        "/images/create?fromImage=Bad%20Name&tag=latest",
        "",
    )
    .await;
    assert_eq!(r.status, 400);
    let msg = r.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(msg.starts_with("invalid reference format"), "{msg}");
}
