//! `/networks` in process: shapes and errors (no kernel objects: the daemon's networking is
//! only initialised by `rdockerd` itself, so these tests never touch the host's network).

mod common;

use common::{request, start};
use serde_json::{json, Value};

async fn post(d: &common::Daemon, path: &str, body: Value) -> common::Reply {
    request(&d.sock, "POST", path, &body.to_string()).await
}

fn msg(r: &common::Reply) -> String {
    r.json()["message"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn predefined_networks_are_listed_and_protected() {
    let d = start().await;
    let r = request(&d.sock, "GET", "/networks", "").await;
    assert_eq!(r.status, 200);
    let mut names: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["Name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["bridge", "host", "none"]);
    let b = request(&d.sock, "GET", "/networks/bridge", "").await.json();
    assert_eq!(b["Driver"], "bridge");
    assert_eq!(b["Scope"], "local");
    assert_eq!(b["IPAM"]["Driver"], "default");
    assert!(b["IPAM"]["Config"][0]["Subnet"].is_string(), "{b}");
    assert_eq!(
        b["Options"]["com.docker.network.bridge.default_bridge"],
        "true"
    );
    assert_eq!(b["Containers"], json!({}));
    let none = request(&d.sock, "GET", "/networks/none", "").await.json();
    assert_eq!(none["Driver"], "null");
    for n in ["bridge", "host", "none"] {
        let r = request(&d.sock, "DELETE", &format!("/networks/{n}"), "").await;
        assert_eq!(r.status, 403);
        assert_eq!(
            msg(&r),
            format!("{n} is a pre-defined network and cannot be removed")
        );
    }
    let f = |q: &str| format!("/networks?filters={}", urlencode(q));
    let r = request(&d.sock, "GET", &f(r#"{"type":["builtin"]}"#), "").await;
    assert_eq!(r.json().as_array().unwrap().len(), 3);
    let r = request(&d.sock, "GET", &f(r#"{"type":["custom"]}"#), "").await;
    assert_eq!(r.json().as_array().unwrap().len(), 0);
    let r = request(&d.sock, "GET", &f(r#"{"type":["x"]}"#), "").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn create_inspect_list_remove() {
    let d = start().await;
    let r = post(
        &d,
        "/networks/create",
        json!({"Name": "web", "Labels": {"a": "1"}, "Internal": true,
               "IPAM": {"Config": [{"Subnet": "10.123.0.0/24", "Gateway": "10.123.0.254",
                                    "IPRange": "10.123.0.128/25"}]}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["Id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 64);
    assert_eq!(r.json()["Warning"], "");
    let n = request(&d.sock, "GET", "/networks/web", "").await.json();
    assert_eq!(n["Id"], id.as_str());
    assert_eq!(n["Internal"], true);
    assert_eq!(n["Labels"]["a"], "1");
    assert_eq!(
        n["IPAM"]["Config"][0],
        json!({"Subnet": "10.123.0.0/24", "Gateway": "10.123.0.254", "IPRange": "10.123.0.128/25"})
    );
    // By id prefix too.
    let n2 = request(&d.sock, "GET", &format!("/networks/{}", &id[..10]), "").await;
    assert_eq!(n2.json()["Name"], "web");
    // Filters.
    let f = |q: &str| format!("/networks?filters={}", urlencode(q));
    let r = request(&d.sock, "GET", &f(r#"{"label":["a=1"]}"#), "").await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let r = request(&d.sock, "GET", &f(r#"{"name":["we"]}"#), "").await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let r = request(&d.sock, "GET", &f(r#"{"driver":["null"]}"#), "").await;
    assert_eq!(r.json().as_array().unwrap()[0]["Name"], "none");
    let r = request(&d.sock, "GET", &f(r#"{"dangling":["true"]}"#), "").await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    // Errors.
    let r = post(&d, "/networks/create", json!({"Name": "web"})).await;
    assert_eq!(r.status, 409);
    assert_eq!(msg(&r), "network with name web already exists");
    let r = post(
        &d,
        "/networks/create",
        json!({"Name": "w2", "IPAM": {"Config": [{"Subnet": "10.123.0.0/16"}]}}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        msg(&r),
        "invalid pool request: Pool overlaps with other one on this address space"
    );
    let r = post(
        &d,
        "/networks/create",
        json!({"Name": "w3", "IPAM": {"Config": [{"Subnet": "10.124.0.0/24", "Gateway": "10.125.0.1"}]}}),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = post(
        &d,
        "/networks/create",
        json!({"Name": "w4", "EnableIPv6": true}),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = post(
        &d,
        "/networks/create",
        json!({"Name": "w5", "Driver": "overlay"}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(msg(&r).contains("plugin not found"), "{}", msg(&r));
    let r = request(&d.sock, "GET", "/networks/nosuch", "").await;
    assert_eq!(r.status, 404);
    assert_eq!(msg(&r), "network nosuch not found");
    // Nothing half-created by the failures.
    let r = request(&d.sock, "GET", "/networks", "").await;
    assert_eq!(r.json().as_array().unwrap().len(), 4);
    // A pool subnet when none is given, different from the others.
    let r = post(&d, "/networks/create", json!({"Name": "auto"})).await;
    assert_eq!(r.status, 201);
    let a = request(&d.sock, "GET", "/networks/auto", "").await.json();
    let b = request(&d.sock, "GET", "/networks/bridge", "").await.json();
    assert_ne!(
        a["IPAM"]["Config"][0]["Subnet"],
        b["IPAM"]["Config"][0]["Subnet"]
    );
    let r = request(&d.sock, "DELETE", "/networks/web", "").await;
    assert_eq!(r.status, 204);
    let r = request(&d.sock, "DELETE", "/networks/web", "").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn prune_takes_unused_user_networks() {
    let d = start().await;
    for (n, l) in [("p1", "keep"), ("p2", "go")] {
        let r = post(
            &d,
            "/networks/create",
            json!({"Name": n, "Labels": {"x": l}}),
        )
        .await;
        assert_eq!(r.status, 201);
    }
    let q = urlencode(r#"{"label":["x=go"]}"#);
    let r = request(&d.sock, "POST", &format!("/networks/prune?filters={q}"), "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"NetworksDeleted": ["p2"]}));
    let r = request(&d.sock, "POST", "/networks/prune", "").await;
    assert_eq!(r.json(), json!({"NetworksDeleted": ["p1"]}));
    let r = request(&d.sock, "GET", "/networks", "").await;
    assert_eq!(r.json().as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn connect_and_disconnect_errors() {
    let d = start().await;
    let r = post(&d, "/networks/create", json!({"Name": "c1"})).await;
    assert_eq!(r.status, 201);
    let r = post(&d, "/networks/c1/connect", json!({"Container": "nosuch"})).await;
    assert_eq!(r.status, 404);
    assert_eq!(msg(&r), "No such container: nosuch");
    let r = post(&d, "/networks/nosuch/disconnect", json!({"Container": "x"})).await;
    assert_eq!(r.status, 404);
    assert_eq!(msg(&r), "network nosuch not found");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
