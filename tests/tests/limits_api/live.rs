//! A running container's cgroup: stats, update, pause, OOM, the shim's death.

use std::io::{BufRead, Read, Write};
use std::time::Duration;

use crate::http::{self, api, connect, create, inspect, request_bytes, setup, wait_until};
use crate::{
    assert_no_cgroup, cg_file, cgroup_dirs, events_of, shim_pid, start, stats_once, ticks,
    CgroupGuard, MIB, TICKER,
};
use rdocker_tests::require_root;
use serde_json::{json, Value};

#[test]
fn limits_stats_update_pause_rm() {
    require_root!();
    let guard = CgroupGuard::default();
    let (_reg, d) = setup();
    let id = create(
        &d,
        "lim",
        json!({"Image": "busybox", "Cmd": ["sh", "-c", TICKER],
               "HostConfig": {"Memory": 64 * MIB, "PidsLimit": 20}}),
    );
    // Nothing exists before start.
    assert_no_cgroup(&id);
    guard.add(&id);
    start(&d, &id);
    assert_eq!(
        cg_file("memory", &id, "memory.limit_in_bytes"),
        (64 * MIB).to_string()
    );
    assert_eq!(cg_file("pids", &id, "pids.max"), "20");
    // The container's processes are in it.
    let pid = inspect(&d, &id)["State"]["Pid"].as_i64().unwrap();
    let procs = cg_file("memory", &id, "cgroup.procs");
    assert!(
        procs.lines().any(|l| l == pid.to_string()),
        "{pid} not in {procs}"
    );

    // stream=0: two samples, precpu filled.
    let s = stats_once(&d, &id, "stream=0");
    assert_eq!(s["name"], "/lim");
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["memory_stats"]["limit"], 64 * MIB);
    assert!(s["memory_stats"]["usage"].as_u64().unwrap() > 0, "{s}");
    assert!(
        s["memory_stats"]["stats"]
            .get("total_inactive_file")
            .is_some(),
        "{s}"
    );
    assert!(s["pids_stats"]["current"].as_u64().unwrap() >= 1, "{s}");
    assert_eq!(s["pids_stats"]["limit"], 20);
    let cpu = &s["cpu_stats"];
    assert!(cpu["cpu_usage"]["total_usage"].as_u64().unwrap() > 0, "{s}");
    assert!(cpu["system_cpu_usage"].as_u64().unwrap() > 0, "{s}");
    assert!(cpu["online_cpus"].as_u64().unwrap() >= 1, "{s}");
    assert!(
        s["precpu_stats"]["system_cpu_usage"].as_u64().unwrap() > 0,
        "{s}"
    );
    assert_ne!(s["preread"], "0001-01-01T00:00:00Z");
    // one-shot: one sample, no precpu.
    let s = stats_once(&d, &id, "stream=0&one-shot=1");
    assert_eq!(s["preread"], "0001-01-01T00:00:00Z");
    assert!(s["precpu_stats"].get("system_cpu_usage").is_none(), "{s}");

    // stream=1: one object per second, each with the previous as precpu.
    let mut c = connect(&d);
    c.write_all(&request_bytes(
        "GET",
        &format!("/containers/{id}/stats?stream=1"),
        None,
        "",
    ))
    .unwrap();
    let mut r = std::io::BufReader::new(c);
    let (status, _) = http::read_head(&mut r);
    assert_eq!(status, 200);
    let mut objs: Vec<Value> = Vec::new();
    while objs.len() < 2 {
        let mut l = String::new();
        assert!(r.read_line(&mut l).unwrap() > 0, "stream ended early");
        // Chunk-size lines of the chunked body can parse as JSON numbers.
        match serde_json::from_str::<Value>(l.trim()) {
            Ok(v) if v.is_object() => objs.push(v),
            _ => {}
        }
    }
    drop(r);
    assert_eq!(objs[1]["preread"], objs[0]["read"]);
    assert_eq!(
        objs[1]["precpu_stats"]["cpu_usage"]["total_usage"],
        objs[0]["cpu_stats"]["cpu_usage"]["total_usage"]
    );

    // update: applied to the cgroup, shown by stats and inspect.
    let r = api(
        &d,
        "POST",
        &format!("/containers/{id}/update"),
        Some(json!({"Memory": 128 * MIB, "MemorySwap": 256 * MIB})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["Warnings"].is_array(), "{}", r.text());
    assert_eq!(
        cg_file("memory", &id, "memory.limit_in_bytes"),
        (128 * MIB).to_string()
    );
    assert_eq!(inspect(&d, &id)["HostConfig"]["Memory"], 128 * MIB);
    let s = stats_once(&d, &id, "stream=0&one-shot=1");
    assert_eq!(s["memory_stats"]["limit"], 128 * MIB);
    // A bad update is refused and changes nothing.
    let r = api(
        &d,
        "POST",
        &format!("/containers/{id}/update"),
        Some(json!({"CpusetCpus": "7"})),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("Requested CPUs are not available"),
        "{}",
        r.text()
    );
    // A value the kernel refuses (pids.max tops out at 4194304): 400, record unchanged.
    let r = api(
        &d,
        "POST",
        &format!("/containers/{id}/update"),
        Some(json!({"PidsLimit": 1i64 << 40})),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let m = r.json()["message"].as_str().unwrap_or("").to_string();
    assert!(
        m.starts_with(&format!("Cannot update container {id}: ")),
        "{m}"
    );
    assert_eq!(cg_file("pids", &id, "pids.max"), "20");
    let hc = inspect(&d, &id)["HostConfig"].clone();
    assert!(hc["CpusetCpus"].is_null() || hc["CpusetCpus"] == "", "{hc}");
    assert_eq!(hc["Memory"], 128 * MIB);
    assert_eq!(hc["PidsLimit"], 20);

    // pause: frozen (no progress), shown by inspect and ps, exec refused.
    let r = api(&d, "POST", &format!("/containers/{id}/pause"), None);
    assert_eq!(r.status, 204, "{}", r.text());
    let i = inspect(&d, &id);
    assert_eq!(i["State"]["Paused"], true);
    assert_eq!(i["State"]["Status"], "paused");
    let r = api(
        &d,
        "GET",
        "/containers/json?filters=%7B%22status%22%3A%5B%22paused%22%5D%7D",
        None,
    );
    let ps = r.json();
    let row = ps
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Id"] == id.as_str());
    let row = row.unwrap_or_else(|| panic!("not listed as paused: {ps}"));
    assert!(
        row["Status"].as_str().unwrap().ends_with("(Paused)"),
        "{row}"
    );
    assert_eq!(row["State"], "paused");
    std::thread::sleep(Duration::from_millis(500));
    let before = ticks(&d, &id);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(ticks(&d, &id), before, "the container ran while paused");
    let r = api(&d, "POST", &format!("/containers/{id}/pause"), None);
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["message"],
        format!("Container {id} is already paused")
    );
    let r = api(
        &d,
        "POST",
        &format!("/containers/{id}/exec"),
        Some(json!({"Cmd": ["true"]})),
    );
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["message"],
        format!("Container {id} is paused, unpause the container before exec")
    );
    let r = api(&d, "POST", &format!("/containers/{id}/unpause"), None);
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(inspect(&d, &id)["State"]["Paused"], false);
    let n = ticks(&d, &id);
    wait_until("ticks after unpause", Duration::from_secs(10), || {
        ticks(&d, &id) > n
    });
    let r = api(&d, "POST", &format!("/containers/{id}/unpause"), None);
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["message"], format!("Container {id} is not paused"));

    // rm -f of a paused container works and takes every cgroup dir with it.
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/pause"), None).status,
        204
    );
    let r = api(&d, "DELETE", &format!("/containers/{id}?force=1"), None);
    assert_eq!(r.status, 204, "{}", r.text());
    assert_no_cgroup(&id);
    let ev = events_of(&d, &id);
    for want in ["update", "pause", "unpause", "die", "destroy"] {
        assert!(ev.iter().any(|e| e == want), "{want} missing: {ev:?}");
    }
}

#[test]
fn oom_kill_is_reported_and_stopped_stats_are_zero() {
    require_root!();
    let guard = CgroupGuard::default();
    let (_reg, d) = setup();
    // The first run eats memory until the OOM killer takes it; later runs just sleep.
    let id = create(
        &d,
        "hog",
        json!({"Image": "busybox",
               "Cmd": ["sh", "-c", "[ -f /oomed ] && exec sleep 300; touch /oomed; x=a; while true; do x=$x$x; done"],
               "HostConfig": {"Memory": 16 * MIB}}),
    );
    guard.add(&id);
    start(&d, &id);
    let w = api(&d, "POST", &format!("/containers/{id}/wait"), None);
    assert_eq!(w.json()["StatusCode"], 137, "{}", w.text());
    let i = inspect(&d, &id);
    assert_eq!(i["State"]["OOMKilled"], true, "{}", i["State"]);
    assert_eq!(i["State"]["ExitCode"], 137);
    // The exit took the cgroup with it.
    assert_no_cgroup(&id);
    let ev = events_of(&d, &id);
    let pos = |a: &str| ev.iter().position(|e| e == a);
    assert!(pos("oom").is_some(), "no oom event: {ev:?}");
    assert!(pos("oom") < pos("die"), "oom after die: {ev:?}");

    // Stopped: one zero-valued sample.
    let s = stats_once(&d, &id, "stream=0");
    assert_eq!(s["read"], "0001-01-01T00:00:00Z");
    assert_eq!(s["name"], "/hog");
    assert_eq!(s["cpu_stats"]["cpu_usage"]["total_usage"], 0);

    // The next start (no hog this time) resets the flag; a stopped container can be updated.
    start(&d, &id);
    assert_eq!(inspect(&d, &id)["State"]["OOMKilled"], false);
    let r = api(&d, "POST", &format!("/containers/{id}/kill"), None);
    assert_eq!(r.status, 204, "{}", r.text());
    api(&d, "POST", &format!("/containers/{id}/wait"), None);
    let r = api(
        &d,
        "POST",
        &format!("/containers/{id}/update"),
        Some(json!({"Memory": 64 * MIB, "MemorySwap": 128 * MIB})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(inspect(&d, &id)["HostConfig"]["Memory"], 64 * MIB);
    let r = api(&d, "POST", &format!("/containers/{id}/pause"), None);
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["message"],
        format!("Container {id} is not running")
    );
    let r = api(&d, "DELETE", &format!("/containers/{id}"), None);
    assert_eq!(r.status, 204, "{}", r.text());
    assert_no_cgroup(&id);
}

#[test]
fn shim_kill9_leaves_no_cgroup() {
    require_root!();
    let guard = CgroupGuard::default();
    let (_reg, d) = setup();
    let id = create(
        &d,
        "k9",
        json!({"Image": "busybox", "Cmd": ["sleep", "300"], "HostConfig": {"Memory": 32 * MIB}}),
    );
    guard.add(&id);
    start(&d, &id);
    assert!(cgroup_dirs(&id).iter().any(|p| p.exists()));
    let shim = shim_pid(&d, &id);
    // A stats stream open while the container dies ends with it.
    let mut c = connect(&d);
    c.write_all(&request_bytes(
        "GET",
        &format!("/containers/{id}/stats"),
        None,
        "Connection: close\r\n",
    ))
    .unwrap();
    let mut r = std::io::BufReader::new(c);
    assert_eq!(http::read_head(&mut r).0, 200);
    let mut first = String::new();
    r.read_line(&mut first).unwrap();
    // SAFETY: kill(2) on a pid we read from the shim's own state file.
    assert_eq!(unsafe { libc::kill(shim, libc::SIGKILL) }, 0);
    let t0 = std::time::Instant::now();
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "the stream outlived the container"
    );
    wait_until(
        "exit after the shim's death",
        Duration::from_secs(20),
        || inspect(&d, &id)["State"]["Running"] == false,
    );
    wait_until("cgroup removal", Duration::from_secs(10), || {
        cgroup_dirs(&id).iter().all(|p| !p.exists())
    });
    assert_eq!(inspect(&d, &id)["State"]["OOMKilled"], false);
    // Started again: a fresh cgroup with the recorded limits.
    start(&d, &id);
    assert_eq!(
        cg_file("memory", &id, "memory.limit_in_bytes"),
        (32 * MIB).to_string()
    );
    let r = api(&d, "DELETE", &format!("/containers/{id}?force=1"), None);
    assert_eq!(r.status, 204, "{}", r.text());
    assert_no_cgroup(&id);
}
