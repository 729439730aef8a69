//! Resource limits through the API, in-process (no image, no shim): dockerd's validation
//! messages at create come before the image lookup, so they are checked on every `cargo test`.
//! The live paths (cgroups, stats, pause, OOM) are in tests/tests/limits_api.rs.

mod common;

use common::{request, start};
use serde_json::json;

#[tokio::test]
async fn impossible_limits_are_400_before_anything_is_made() {
    let d = start().await;
    let n = std::thread::available_parallelism().unwrap().get();
    let cases = [
        (
            json!({"Memory": 1024}),
            "Minimum memory limit allowed is 6MB".to_string(),
        ),
        (
            json!({"NanoCpus": 99_000_000_000i64}),
            format!("Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available"),
        ),
        (
            json!({"CpusetCpus": "99"}),
            "Requested CPUs are not available - requested 99, available: ".to_string(),
        ),
        (
            json!({"CpusetCpus": "1-0"}),
            "Invalid value 1-0 for cpuset cpus: invalid format: 1-0".to_string(),
        ),
        (
            json!({"BlkioWeight": 5}),
            "Range of blkio weight is from 10 to 1000".to_string(),
        ),
        (
            json!({"Memory": 64 << 20, "MemoryReservation": 128 << 20}),
            "Minimum memory limit can not be less than memory reservation limit, see usage"
                .to_string(),
        ),
        (
            json!({"NanoCpus": 1_000_000_000, "CpuPeriod": 50000}),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set".to_string(),
        ),
        (
            json!({"CpuPeriod": 100}),
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
                .to_string(),
        ),
    ];
    for (hc, want) in cases {
        let body = json!({"Image": "nosuch", "Cmd": ["true"], "HostConfig": hc}).to_string();
        let r = request(&d.sock, "POST", "/containers/create?name=lim1", &body).await;
        assert_eq!(r.status, 400, "{hc}: {}", r.text());
        let msg = r.json()["message"].as_str().unwrap_or_default().to_string();
        assert!(msg.starts_with(&want), "{hc}: {msg:?}, want {want:?}");
    }
    // The name was not kept: nothing was created.
    let r = request(&d.sock, "GET", "/containers/json?all=1", "").await;
    assert_eq!(r.json(), json!([]));
    // Valid limits get as far as the image lookup.
    let body =
        json!({"Image": "nosuch", "HostConfig": {"Memory": 64 << 20, "NanoCpus": 500_000_000}})
            .to_string();
    let r = request(&d.sock, "POST", "/containers/create", &body).await;
    assert_eq!(r.status, 404, "{}", r.text());
}

#[tokio::test]
async fn unknown_containers_are_404() {
    let d = start().await;
    for (m, p) in [
        ("GET", "/containers/nosuch/stats?stream=0"),
        ("GET", "/containers/nosuch/stats"),
        ("POST", "/containers/nosuch/pause"),
        ("POST", "/containers/nosuch/unpause"),
        ("POST", "/containers/nosuch/update"),
    ] {
        let r = request(&d.sock, m, p, "{}").await;
        assert_eq!(r.status, 404, "{m} {p}");
        assert_eq!(r.json()["message"], "No such container: nosuch");
    }
}
