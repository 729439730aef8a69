//! list filters, prune, top, logs, exec, volumes, and the API-level run benchmark.

use std::io::Write;
use std::time::{Duration, Instant};

use rdocker_tests::require_root;
use serde_json::json;

use crate::http::*;

#[test]
fn list_filters_prune_top_logs_exec() {
    require_root!();
    let (_reg, d) = setup();
    let run = create(
        &d,
        "runner",
        json!({"Image": "busybox", "Labels": {"a": "1"},
        "Cmd": ["sh", "-c", "echo one; echo two >&2; echo three; exec sleep 60"]}),
    );
    let done = create(
        &d,
        "done",
        json!({"Image": "busybox", "Cmd": ["sh", "-c", "exit 4"]}),
    );
    let _fresh = create(&d, "fresh", json!({"Image": "busybox", "Cmd": ["true"]}));
    assert_eq!(
        api(&d, "POST", &format!("/containers/{run}/start"), None).status,
        204
    );
    assert_eq!(
        api(&d, "POST", &format!("/containers/{done}/start"), None).status,
        204
    );
    assert_eq!(
        api(&d, "POST", &format!("/containers/{done}/wait"), None).json()["StatusCode"],
        4
    );
    let names = |q: &str| -> Vec<String> {
        let r = api(&d, "GET", &format!("/containers/json{q}"), None);
        assert_eq!(r.status, 200, "{}", r.text());
        let mut v: Vec<String> = r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["Names"][0].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(""), ["/runner"]);
    assert_eq!(names("?all=1"), ["/done", "/fresh", "/runner"]);
    let enc = |f: &str| {
        f.replace('{', "%7B")
            .replace('}', "%7D")
            .replace('"', "%22")
            .replace(':', "%3A")
            .replace('[', "%5B")
            .replace(']', "%5D")
    };
    assert_eq!(
        names(&format!(
            "?all=1&filters={}",
            enc(r#"{"status":["exited"]}"#)
        )),
        ["/done"]
    );
    assert_eq!(
        names(&format!("?all=1&filters={}", enc(r#"{"exited":["4"]}"#))),
        ["/done"]
    );
    assert_eq!(
        names(&format!("?all=1&filters={}", enc(r#"{"label":["a=1"]}"#))),
        ["/runner"]
    );
    assert_eq!(
        names(&format!("?all=1&filters={}", enc(r#"{"name":["fre"]}"#))),
        ["/fresh"]
    );
    assert_eq!(
        names(&format!(
            "?all=1&filters={}",
            enc(&format!(r#"{{"id":["{}"]}}"#, &done[..10]))
        )),
        ["/done"]
    );
    assert_eq!(
        names(&format!(
            "?all=1&filters={}",
            enc(r#"{"ancestor":["busybox"]}"#)
        ))
        .len(),
        3
    );
    let r = api(&d, "GET", "/containers/json?all=1", None);
    let row = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Names"][0] == "/done")
        .cloned()
        .unwrap();
    assert!(
        row["Status"].as_str().unwrap().starts_with("Exited (4) "),
        "{row}"
    );
    assert_eq!(row["Command"], "sh -c 'exit 4'");
    assert_eq!(row["State"], "exited");
    let row = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Names"][0] == "/runner")
        .cloned()
        .unwrap();
    assert!(row["Status"].as_str().unwrap().starts_with("Up "), "{row}");
    let row = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Names"][0] == "/fresh")
        .cloned()
        .unwrap();
    assert_eq!(row["Status"], "Created");

    // logs: multiplexed, tail, timestamps.
    wait_until("output logged", Duration::from_secs(10), || {
        let r = api(
            &d,
            "GET",
            &format!("/containers/{run}/logs?stdout=1&stderr=1"),
            None,
        );
        joined(&frames(&r.body), 1) == "one\nthree\n"
    });
    let r = api(
        &d,
        "GET",
        &format!("/containers/{run}/logs?stdout=1&stderr=1"),
        None,
    );
    assert_eq!(
        header(&r.headers, "content-type"),
        Some("application/vnd.docker.multiplexed-stream")
    );
    assert_eq!(joined(&frames(&r.body), 2), "two\n");
    // stdout and stderr are separate pipes: which of "two"/"three" was logged last varies.
    let r = api(
        &d,
        "GET",
        &format!("/containers/{run}/logs?stdout=1&stderr=1&tail=1"),
        None,
    );
    let fr = frames(&r.body);
    assert_eq!(fr.len(), 1, "{fr:?}");
    let r = api(
        &d,
        "GET",
        &format!("/containers/{run}/logs?stdout=1&timestamps=1"),
        None,
    );
    let text = joined(&frames(&r.body), 1);
    let line = text.lines().last().unwrap_or("");
    assert!(
        line.ends_with("Z three") && line.starts_with("20"),
        "{text}"
    );

    // top.
    let r = api(&d, "GET", &format!("/containers/{run}/top"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("sleep 60"), "{}", r.text());

    // exec: output and exit code, env, detached.
    let r = api(
        &d,
        "POST",
        &format!("/containers/{run}/exec"),
        Some(json!({
        "AttachStdout": true, "AttachStderr": true, "Env": ["X=42"],
        "Cmd": ["sh", "-c", "echo x=$X; hostname; echo e >&2; exit 5"]})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let exec = r.json()["Id"].as_str().unwrap().to_string();
    let (st, head, mut s) = hijack(
        &d,
        &format!("/exec/{exec}/start"),
        Some(json!({"Detach": false, "Tty": false})),
    );
    assert_eq!(st, 101, "{head}");
    let fr = frames(&read_all(&mut s));
    assert_eq!(joined(&fr, 1), format!("x=42\n{}\n", &run[..12]));
    assert_eq!(joined(&fr, 2), "e\n");
    wait_until("exec exit", Duration::from_secs(10), || {
        api(&d, "GET", &format!("/exec/{exec}/json"), None).json()["Running"] == false
    });
    let i = api(&d, "GET", &format!("/exec/{exec}/json"), None).json();
    assert_eq!(i["ExitCode"], 5);
    assert_eq!(i["ContainerID"], run);
    assert_eq!(i["ProcessConfig"]["entrypoint"], "sh");
    let r = api(
        &d,
        "POST",
        &format!("/containers/{run}/exec"),
        Some(json!({"Cmd": ["touch", "/tmp/detached"]})),
    );
    let exec2 = r.json()["Id"].as_str().unwrap().to_string();
    let r = api(
        &d,
        "POST",
        &format!("/exec/{exec2}/start"),
        Some(json!({"Detach": true})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    wait_until("detached exec", Duration::from_secs(10), || {
        api(&d, "GET", &format!("/exec/{exec2}/json"), None).json()["ExitCode"] == 0
    });
    assert_eq!(api(&d, "GET", "/exec/nosuch/json", None).status, 404);

    // prune removes the stopped ones only.
    let r = api(&d, "POST", "/containers/prune", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let mut deleted: Vec<String> = r.json()["ContainersDeleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    deleted.sort();
    assert_eq!(deleted.len(), 2, "{deleted:?}");
    assert!(deleted.contains(&done));
    assert_eq!(names("?all=1"), ["/runner"]);
    assert_eq!(
        api(&d, "DELETE", &format!("/containers/{run}?force=1"), None).status,
        204
    );
}

#[test]
fn named_and_anonymous_volumes() {
    require_root!();
    let (_reg, d) = setup();
    // A named volume is created on first use and keeps data across containers.
    let id = create(
        &d,
        "",
        json!({"Image": "busybox", "Cmd": ["sh", "-c", "echo kept > /data/f"],
        "HostConfig": {"Binds": ["vol1:/data"]}}),
    );
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/start"), None).status,
        204
    );
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/wait"), None).json()["StatusCode"],
        0
    );
    let i = inspect(&d, &id);
    assert_eq!(i["Mounts"][0]["Type"], "volume");
    assert_eq!(i["Mounts"][0]["Name"], "vol1");
    // In use: the volume cannot be removed.
    assert_eq!(api(&d, "DELETE", "/volumes/vol1", None).status, 409);
    let id2 = create(
        &d,
        "",
        json!({"Image": "busybox", "Cmd": ["cat", "/data/f"], "AttachStdout": true,
        "HostConfig": {"Mounts": [{"Type": "volume", "Source": "vol1", "Target": "/data", "ReadOnly": true}]}}),
    );
    let (_, _, mut att) = hijack(
        &d,
        &format!("/containers/{id2}/attach?stream=1&stdout=1"),
        None,
    );
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id2}/start"), None).status,
        204
    );
    assert_eq!(joined(&frames(&read_all(&mut att)), 1), "kept\n");
    // Anonymous volume (-v /anon) is removed with rm -v; the named one stays.
    let id3 = create(
        &d,
        "",
        json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Binds": ["/anon"]}}),
    );
    let anon = inspect(&d, &id3)["Mounts"][0]["Name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(anon.len(), 64);
    assert_eq!(
        api(&d, "GET", &format!("/volumes/{anon}"), None).status,
        200
    );
    for c in [&id, &id2] {
        assert_eq!(
            api(&d, "DELETE", &format!("/containers/{c}"), None).status,
            204
        );
    }
    assert_eq!(
        api(&d, "DELETE", &format!("/containers/{id3}?v=1"), None).status,
        204
    );
    assert_eq!(
        api(&d, "GET", &format!("/volumes/{anon}"), None).status,
        404
    );
    assert_eq!(api(&d, "GET", "/volumes/vol1", None).status, 200);
    assert_eq!(api(&d, "DELETE", "/volumes/vol1", None).status, 204);
}

#[test]
fn exec_with_tty_and_stdin() {
    require_root!();
    let (_reg, d) = setup();
    let id = create(&d, "", json!({"Image": "busybox", "Cmd": ["sleep", "60"]}));
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/start"), None).status,
        204
    );
    let r = api(
        &d,
        "POST",
        &format!("/containers/{id}/exec"),
        Some(json!({
        "AttachStdin": true, "AttachStdout": true, "Tty": true, "Cmd": ["sh"]})),
    );
    let exec = r.json()["Id"].as_str().unwrap().to_string();
    let (st, head, mut s) = hijack(
        &d,
        &format!("/exec/{exec}/start"),
        Some(json!({"Tty": true})),
    );
    assert_eq!(st, 101);
    assert_eq!(
        header(&head, "content-type"),
        Some("application/vnd.docker.raw-stream")
    );
    s.get_mut().write_all(b"echo $((6*7)); exit 9\n").unwrap();
    let out = String::from_utf8_lossy(&read_all(&mut s)).into_owned();
    assert!(out.contains("42\r\n"), "{out:?}");
    wait_until("exec exit", Duration::from_secs(10), || {
        api(&d, "GET", &format!("/exec/{exec}/json"), None).json()["ExitCode"] == 9
    });
    let r = api(
        &d,
        "POST",
        &format!("/exec/{exec}/start"),
        Some(json!({"Detach": true})),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        api(&d, "DELETE", &format!("/containers/{id}?force=1"), None).status,
        204
    );
}

/// Not an assertion: prints the API-level time of `run --rm busybox true` (create, attach,
/// wait, start, exit, auto-remove). `cargo test --release ... -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_run_rm_api() {
    require_root!();
    let (_reg, d) = setup();
    let mut times = Vec::new();
    for _ in 0..30 {
        let t0 = Instant::now();
        let id = create(
            &d,
            "",
            json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"AutoRemove": true}}),
        );
        let (_, _, mut att) = hijack(
            &d,
            &format!("/containers/{id}/attach?stream=1&stdout=1&stderr=1"),
            None,
        );
        let wr = wait_begin(&d, &id, "?condition=removed");
        assert_eq!(
            api(&d, "POST", &format!("/containers/{id}/start"), None).status,
            204
        );
        read_all(&mut att);
        wr.body();
        times.push(t0.elapsed());
    }
    times.sort();
    eprintln!(
        "run --rm true over the API: median {:?}, min {:?}",
        times[times.len() / 2],
        times[0]
    );
}
