//! stop, kill, restart, rename, wait conditions, auto-remove, restart policies, live restore.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use rdocker_tests::require_root;
use serde_json::{json, Value};

use crate::http::*;

#[test]
fn stop_kill_restart_rename_and_wait_conditions() {
    require_root!();
    let (_reg, d) = setup();
    // sh as PID 1 ignores SIGTERM: stop must SIGKILL after t.
    let id = create(
        &d,
        "stopme",
        json!({"Image": "busybox", "Cmd": ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"]}),
    );
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/start"), None).status,
        204
    );
    let pid = inspect(&d, &id)["State"]["Pid"].as_i64().unwrap();
    assert!(pid > 0 && Path::new(&format!("/proc/{pid}")).exists());
    let t0 = Instant::now();
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/stop?t=1"), None).status,
        204
    );
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "stopped too fast: {took:?}"
    );
    let i = inspect(&d, &id);
    assert_eq!(i["State"]["Status"], "exited");
    assert_eq!(i["State"]["ExitCode"], 137);
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    // restart → running again; rename; kill with a signal name.
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/restart?t=0"), None).status,
        204
    );
    assert_eq!(status_of(&d, &id), "running");
    assert_eq!(
        api(
            &d,
            "POST",
            &format!("/containers/{id}/rename?name=renamed"),
            None
        )
        .status,
        204
    );
    assert_eq!(inspect(&d, "renamed")["Id"], id);
    assert_eq!(api(&d, "GET", "/containers/stopme/json", None).status, 404);
    let other = create(&d, "other", json!({"Image": "busybox", "Cmd": ["true"]}));
    let r = api(
        &d,
        "POST",
        &format!("/containers/{other}/rename?name=renamed"),
        None,
    );
    assert_eq!(r.status, 409);
    // wait not-running on a running container blocks until the exit; kill SIGKILL.
    let wr = wait_begin(&d, &id, "");
    assert_eq!(wr.status, 200);
    assert_eq!(
        api(
            &d,
            "POST",
            &format!("/containers/{id}/kill?signal=SIGKILL"),
            None
        )
        .status,
        204
    );
    let v: Value = wr.json();
    assert_eq!(v["StatusCode"], 137);
    // not-running on a stopped container answers at once; removed waits for rm.
    let r = api(&d, "POST", &format!("/containers/{id}/wait"), None);
    assert_eq!(r.json()["StatusCode"], 137);
    let wr = wait_begin(&d, &other, "?condition=removed");
    assert_eq!(
        api(&d, "DELETE", &format!("/containers/{other}"), None).status,
        204
    );
    let v: Value = wr.json();
    assert_eq!(v["StatusCode"], 0);
    let r = api(
        &d,
        "POST",
        &format!("/containers/{id}/wait?condition=bogus"),
        None,
    );
    assert_eq!(r.status, 400);
}

#[test]
fn auto_remove_and_restart_policy() {
    require_root!();
    let (_reg, d) = setup();
    let id = create(
        &d,
        "",
        json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"AutoRemove": true}}),
    );
    let wr = wait_begin(&d, &id, "?condition=removed");
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/start"), None).status,
        204
    );
    let v: Value = wr.json();
    assert_eq!(v["StatusCode"], 0);
    assert_eq!(
        api(&d, "GET", &format!("/containers/{id}/json"), None).status,
        404
    );
    assert!(!d.data_root().join("containers").join(&id).exists());

    let id = create(
        &d,
        "flaky",
        json!({"Image": "busybox", "Cmd": ["sh", "-c", "exit 2"],
        "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}}}),
    );
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/start"), None).status,
        204
    );
    wait_until("two restarts", Duration::from_secs(20), || {
        let i = inspect(&d, &id);
        i["RestartCount"] == 2 && i["State"]["Status"] == "exited"
    });
    std::thread::sleep(Duration::from_millis(800));
    let i = inspect(&d, &id);
    assert_eq!(i["RestartCount"], 2);
    assert_eq!(i["State"]["ExitCode"], 2);
    assert_eq!(i["State"]["Status"], "exited");
}

#[test]
fn live_restore_and_shim_death() {
    require_root!();
    let (_reg, mut d) = setup();
    let id = create(
        &d,
        "ticker",
        json!({"Image": "busybox",
        "Cmd": ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]}),
    );
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/start"), None).status,
        204
    );
    let pid = inspect(&d, &id)["State"]["Pid"].as_i64().unwrap();
    d.kill9();
    std::thread::sleep(Duration::from_millis(500));
    assert!(alive(pid), "the container must survive the daemon");
    d.restart().unwrap();
    let i = inspect(&d, &id);
    assert_eq!(i["State"]["Status"], "running");
    assert_eq!(i["State"]["Pid"], pid);
    let count = || {
        let r = api(&d, "GET", &format!("/containers/{id}/logs?stdout=1"), None);
        joined(&frames(&r.body), 1).lines().count()
    };
    let before = count();
    wait_until("logs continue", Duration::from_secs(10), || {
        count() > before + 2
    });
    // sh as PID 1 ignores SIGTERM: stop ends with SIGKILL after t, through the re-adopted shim.
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/stop?t=1"), None).status,
        204
    );
    assert_eq!(inspect(&d, &id)["State"]["Status"], "exited");
    assert!(!alive(pid));

    // kill -9 of the shim: recorded as exited (137), nothing left running.
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/start"), None).status,
        204
    );
    let pid = inspect(&d, &id)["State"]["Pid"].as_i64().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let ppid: i64 = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        rdocker_tests::procs::comm(ppid as u32).as_deref(),
        Some("rdocker-shim"),
        "the container's parent is its shim"
    );
    assert!(rdocker_tests::procs::kill9(ppid as u32));
    wait_until("exit recorded", Duration::from_secs(10), || {
        status_of(&d, &id) == "exited"
    });
    let i = inspect(&d, &id);
    assert_eq!(i["State"]["ExitCode"], 137);
    wait_until("container gone", Duration::from_secs(5), || !alive(pid));
}

#[test]
fn always_restarts_until_stopped_resize_and_events() {
    require_root!();
    let (_reg, mut d) = setup();
    let id = create(
        &d,
        "always",
        json!({"Image": "busybox", "Cmd": ["sh", "-c", "sleep 0.3; exit 1"],
        "HostConfig": {"RestartPolicy": {"Name": "always"}}}),
    );
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/start"), None).status,
        204
    );
    wait_until("restarts", Duration::from_secs(20), || {
        inspect(&d, &id)["RestartCount"].as_i64().unwrap_or(0) >= 2
    });
    // A stop ends the restarts, whatever the state (running or backing off) it hits.
    let r = api(&d, "POST", &format!("/containers/{id}/stop?t=1"), None);
    assert!(r.status == 204 || r.status == 304, "{}", r.text());
    wait_until("stopped", Duration::from_secs(10), || {
        status_of(&d, &id) == "exited"
    });
    let count = inspect(&d, &id)["RestartCount"].clone();
    std::thread::sleep(Duration::from_millis(1500));
    let i = inspect(&d, &id);
    assert_eq!(i["State"]["Status"], "exited");
    assert_eq!(i["RestartCount"], count);

    // resize reaches the container's terminal (its SIGWINCH ends the loop: no timing).
    let tty = create(
        &d,
        "sized",
        json!({"Image": "busybox", "Tty": true, "AttachStdout": true,
        "Cmd": ["sh", "-c", "trap 'stty size; exit' WINCH; echo ready; while true; do sleep 0.05; done"]}),
    );
    let (_, _, mut att) = hijack(
        &d,
        &format!("/containers/{tty}/attach?stream=1&stdout=1"),
        None,
    );
    assert_eq!(
        api(&d, "POST", &format!("/containers/{tty}/start"), None).status,
        204
    );
    // The trap is set once "ready" is out.
    let mut ready = [0u8; 7];
    att.read_exact(&mut ready).unwrap();
    assert_eq!(&ready, b"ready\r\n");
    assert_eq!(
        api(
            &d,
            "POST",
            &format!("/containers/{tty}/resize?h=40&w=123"),
            None
        )
        .status,
        200
    );
    let out = String::from_utf8_lossy(&read_all(&mut att)).into_owned();
    assert_eq!(out, "40 123\r\n");

    // The life cycle was published as docker's container events.
    assert_eq!(
        api(&d, "DELETE", &format!("/containers/{tty}"), None).status,
        204
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let r = api(&d, "GET", &format!("/events?since=0&until={now}"), None);
    let actions: Vec<(String, String)> = r
        .text()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["Type"] == "container" && e["Actor"]["ID"] == tty.as_str())
        .map(|e| {
            let a = e["Action"].as_str().unwrap_or("").to_string();
            let code = e["Actor"]["Attributes"]["exitCode"]
                .as_str()
                .unwrap_or("")
                .to_string();
            (a, code)
        })
        .collect();
    let names: Vec<&str> = actions.iter().map(|(a, _)| a.as_str()).collect();
    for want in ["create", "attach", "start", "resize", "die", "destroy"] {
        assert!(names.contains(&want), "{want} missing: {names:?}");
    }
    assert!(
        actions.contains(&("die".to_string(), "0".to_string())),
        "{actions:?}"
    );
    let pos = |a: &str| names.iter().position(|n| *n == a).unwrap();
    assert!(
        pos("create") < pos("start") && pos("start") < pos("die") && pos("die") < pos("destroy")
    );

    // As dockerd: at daemon start an "always" container runs again, even after a manual stop.
    assert_eq!(status_of(&d, &id), "exited");
    d.stop(Duration::from_secs(10));
    d.restart().unwrap();
    wait_until(
        "always container restarted",
        Duration::from_secs(10),
        || {
            let s = status_of(&d, &id);
            s == "running" || s == "restarting"
        },
    );
    let r = api(&d, "POST", &format!("/containers/{id}/stop?t=0"), None);
    assert!(r.status == 204 || r.status == 304, "{}", r.text());
}
