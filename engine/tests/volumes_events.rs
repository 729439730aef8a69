//! Volume and event routes through the in-process router on a unix socket.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use common::{request, start, Daemon};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::UnixStream;

fn names(list: &Value) -> Vec<String> {
    let mut n: Vec<String> = list["Volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["Name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn volume_create_inspect_list_remove() {
    let d = start().await;
    let r = request(
        &d.sock,
        "POST",
        "/v1.47/volumes/create",
        r#"{"Name":"data","Labels":{"env":"test"}}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(v["Name"], "data");
    assert_eq!(v["Driver"], "local");
    assert_eq!(v["Scope"], "local");
    assert_eq!(v["Labels"]["env"], "test");
    let mountpoint = PathBuf::from(v["Mountpoint"].as_str().unwrap());
    assert!(mountpoint.is_dir());
    assert!(mountpoint.ends_with("volumes/data/_data"));

    // Idempotent: same volume, labels unchanged.
    let again = request(&d.sock, "POST", "/volumes/create", r#"{"Name":"data"}"#).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.json(), v);

    let got = request(&d.sock, "GET", "/volumes/data", "").await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), v);

    let anon = request(&d.sock, "POST", "/volumes/create", "{}")
        .await
        .json();
    let anon_name = anon["Name"].as_str().unwrap().to_string();
    assert_eq!(anon_name.len(), 64);
    assert_eq!(anon["Labels"]["com.docker.volume.anonymous"], "");

    let all = request(&d.sock, "GET", "/volumes", "").await.json();
    assert_eq!(names(&all), {
        let mut n = vec!["data".to_string(), anon_name.clone()];
        n.sort();
        n
    });
    assert_eq!(all["Warnings"], serde_json::json!([]));
    let filtered = request(
        &d.sock,
        "GET",
        &format!("/volumes?filters={}", enc(r#"{"label":{"env=test":true}}"#)),
        "",
    )
    .await
    .json();
    assert_eq!(names(&filtered), vec!["data".to_string()]);
    let bad = request(
        &d.sock,
        "GET",
        &format!("/volumes?filters={}", enc(r#"{"colour":["red"]}"#)),
        "",
    )
    .await;
    assert_eq!(bad.status, 400);

    // In use: 409 with Docker's message; released: 204; gone: 404.
    d.state.volumes.acquire("data", "c0ffee");
    let busy = request(&d.sock, "DELETE", "/volumes/data", "").await;
    assert_eq!(busy.status, 409);
    assert_eq!(
        busy.json()["message"],
        "remove data: volume is in use - [c0ffee]"
    );
    d.state.volumes.release("data", "c0ffee");
    let gone = request(&d.sock, "DELETE", "/volumes/data", "").await;
    assert_eq!(gone.status, 204);
    assert!(!mountpoint.exists());
    let missing = request(&d.sock, "GET", "/volumes/data", "").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["message"], "get data: no such volume");
    let missing = request(&d.sock, "DELETE", "/volumes/data", "").await;
    assert_eq!(missing.status, 404);
    let forced = request(&d.sock, "DELETE", "/volumes/data?force=1", "").await;
    assert_eq!(forced.status, 204);
}

#[tokio::test]
async fn volume_create_rejects_bad_input_like_docker() {
    let d = start().await;
    let r = request(&d.sock, "POST", "/volumes/create", r#"{"Name":"a/b"}"#).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("includes invalid characters for a local volume name"));
    let r = request(
        &d.sock,
        "POST",
        "/volumes/create",
        r#"{"Name":"x1","Driver":"nfs"}"#,
    )
    .await;
    assert_eq!(r.status, 404);
    let r = request(
        &d.sock,
        "POST",
        "/volumes/create",
        r#"{"Name":"x1","DriverOpts":{"bogus":"1"}}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "invalid option: \"bogus\"");
    let r = request(&d.sock, "POST", "/volumes/create", "{not json").await;
    assert_eq!(r.status, 400);
    let list = request(&d.sock, "GET", "/volumes", "").await.json();
    assert!(names(&list).is_empty());
}

#[tokio::test]
async fn volume_prune_anonymous_by_default_all_on_request() {
    let d = start().await;
    let anon = request(&d.sock, "POST", "/volumes/create", "").await.json();
    request(&d.sock, "POST", "/volumes/create", r#"{"Name":"named"}"#).await;
    let r = request(&d.sock, "POST", "/v1.47/volumes/prune", "").await;
    assert_eq!(r.status, 200);
    let j = r.json();
    assert_eq!(j["VolumesDeleted"], serde_json::json!([anon["Name"]]));
    assert_eq!(j["SpaceReclaimed"], 0);
    let r = request(
        &d.sock,
        "POST",
        &format!("/volumes/prune?filters={}", enc(r#"{"all":["true"]}"#)),
        "",
    )
    .await;
    assert_eq!(r.json()["VolumesDeleted"], serde_json::json!(["named"]));
    // API < 1.42 clients: named volumes go by default.
    request(&d.sock, "POST", "/volumes/create", r#"{"Name":"old"}"#).await;
    let r = request(&d.sock, "POST", "/v1.41/volumes/prune", "").await;
    assert_eq!(r.json()["VolumesDeleted"], serde_json::json!(["old"]));
}

/// A GET whose response head is returned as soon as it arrives; the body is read by the caller.
async fn open_stream(d: &Daemon, path: &str) -> hyper::Response<Incoming> {
    let stream = UnixStream::connect(&d.sock).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), sender.send_request(req))
        .await
        .expect("headers are sent before any event")
        .unwrap()
}

/// The next newline-terminated JSON message of a streaming body.
async fn next_event(body: &mut Incoming, buf: &mut Vec<u8>) -> Option<Value> {
    loop {
        if let Some(i) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=i).collect();
            return Some(serde_json::from_slice(&line).unwrap());
        }
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("an event arrives")?
            .unwrap();
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
        }
    }
}

#[tokio::test]
async fn events_stream_receives_a_volume_create() {
    let d = start().await;
    let filters = enc(r#"{"type":["volume"]}"#);
    let resp = open_stream(&d, &format!("/v1.47/events?filters={filters}")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let mut body = resp.into_body();
    // An image event the filter must drop, then the volume event.
    d.state
        .events
        .publish("image", "pull", "busybox:latest", Default::default());
    let r = request(&d.sock, "POST", "/volumes/create", r#"{"Name":"ev1"}"#).await;
    assert_eq!(r.status, 201);
    let mut buf = Vec::new();
    let e = next_event(&mut body, &mut buf).await.unwrap();
    assert_eq!(e["Type"], "volume");
    assert_eq!(e["Action"], "create");
    assert_eq!(e["Actor"]["ID"], "ev1");
    assert_eq!(e["Actor"]["Attributes"]["driver"], "local");
    assert_eq!(e["scope"], "local");
    assert!(e["timeNano"].as_i64().unwrap() / 1_000_000_000 == e["time"].as_i64().unwrap());
    request(&d.sock, "DELETE", "/volumes/ev1", "").await;
    let e = next_event(&mut body, &mut buf).await.unwrap();
    assert_eq!(
        (e["Action"].as_str(), e["Actor"]["ID"].as_str()),
        (Some("destroy"), Some("ev1"))
    );
    // Shutdown ends the stream.
    d.state.shutdown.cancel();
    assert!(next_event(&mut body, &mut buf).await.is_none());
}

#[tokio::test]
async fn events_since_until_replay_and_end() {
    let d = start().await;
    let before = chrono::Utc::now().timestamp() - 1;
    request(&d.sock, "POST", "/volumes/create", r#"{"Name":"r1"}"#).await;
    request(&d.sock, "DELETE", "/volumes/r1", "").await;
    let until = chrono::Utc::now().timestamp_nanos_opt().unwrap() as f64 / 1e9 + 0.001;
    // Past `until`: the replay is the whole answer, and the response completes.
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        request(
            &d.sock,
            "GET",
            &format!("/events?since={before}&until={until:.9}"),
            "",
        ),
    )
    .await
    .expect("a stream with a past `until` ends");
    assert_eq!(r.status, 200);
    let actions: Vec<String> = r
        .text()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["Action"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(actions, vec!["create", "destroy"]);
    // Filtered replay.
    let f = enc(r#"{"event":["destroy"]}"#);
    let r = request(
        &d.sock,
        "GET",
        &format!("/events?since={before}&until={until:.9}&filters={f}"),
        "",
    )
    .await;
    assert_eq!(r.text().lines().count(), 1);
    // Without `since` nothing is replayed.
    let r = request(&d.sock, "GET", &format!("/events?until={until:.9}"), "").await;
    assert_eq!(r.text(), "");
    // `since` after `until` and garbage are 400s.
    let r = request(&d.sock, "GET", "/events?since=200&until=100", "").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "`since` time (200) cannot be after `until` time (100)"
    );
    let r = request(&d.sock, "GET", "/events?since=soon", "").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn events_until_in_the_future_ends_then() {
    let d = start().await;
    let until = chrono::Utc::now().timestamp() + 1;
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        request(&d.sock, "GET", &format!("/events?until={until}"), ""),
    )
    .await
    .expect("the stream ends at `until`");
    assert_eq!(r.status, 200);
}
