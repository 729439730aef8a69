//! Run, attach (multiplexed, raw, stdin, detach keys, log replay, no-upgrade), bad input.

use std::io::{BufReader, Read, Write};

use rdocker_tests::require_root;
use serde_json::{json, Value};

use crate::http::*;

#[test]
fn run_attach_wait_exit_code_and_frames() {
    require_root!();
    let (_reg, d) = setup();
    let id = create(
        &d,
        "first",
        json!({"Image": "busybox", "Cmd": ["sh", "-c", "echo $$; hostname; echo err >&2; exit 3"],
               "AttachStdout": true, "AttachStderr": true}),
    );
    // As `docker run`: attach, wait (headers at once), start.
    let (st, head, mut att) = hijack(
        &d,
        &format!("/containers/{id}/attach?stream=1&stdout=1&stderr=1"),
        None,
    );
    assert_eq!(st, 101, "{head}");
    assert!(head.starts_with("HTTP/1.1 101 UPGRADED"), "{head}");
    assert_eq!(
        header(&head, "content-type"),
        Some("application/vnd.docker.multiplexed-stream")
    );
    assert_eq!(header(&head, "upgrade"), Some("tcp"));
    let wr = wait_begin(&d, &id, "?condition=next-exit");
    assert_eq!(
        wr.status, 200,
        "wait headers must come before start: {}",
        wr.head
    );
    let r = api(&d, "POST", &format!("/containers/{id}/start"), None);
    assert_eq!(r.status, 204, "{}", r.text());
    let out = read_all(&mut att);
    let fr = frames(&out);
    assert_eq!(joined(&fr, 1), format!("1\n{}\n", &id[..12]));
    assert_eq!(joined(&fr, 2), "err\n");
    let body = wr.body();
    assert_eq!(String::from_utf8_lossy(&body), "{\"StatusCode\":3}\n");
    let i = inspect(&d, &id);
    assert_eq!(i["State"]["Status"], "exited");
    assert_eq!(i["State"]["ExitCode"], 3);
    assert_eq!(i["State"]["Running"], false);
    assert_eq!(i["Name"], "/first");
    assert_eq!(i["Config"]["Hostname"], &id[..12]);
    assert_eq!(i["Path"], "sh");
    assert!(i["Image"].as_str().unwrap().starts_with("sha256:"));
    assert_ne!(i["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
    // start of an exited one runs it again; start of a running one is 304.
    let id2 = create(&d, "", json!({"Image": "busybox", "Cmd": ["sleep", "30"]}));
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id2}/start"), None).status,
        204
    );
    let r = api(&d, "POST", &format!("/containers/{id2}/start"), None);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    // rm without force: 409 with docker's message; with force: gone.
    let r = api(&d, "DELETE", &format!("/containers/{id2}"), None);
    assert_eq!(r.status, 409);
    let name = inspect(&d, &id2)["Name"].as_str().unwrap().to_string();
    assert_eq!(
        r.json()["message"],
        format!("cannot remove container \"{name}\": container is running: stop the container before removing or force remove")
    );
    assert_eq!(
        api(&d, "DELETE", &format!("/containers/{id2}?force=1"), None).status,
        204
    );
    let r = api(&d, "GET", &format!("/containers/{id2}/json"), None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], format!("No such container: {id2}"));
    assert!(!d.data_root().join("containers").join(&id2).exists());
}

#[test]
fn tty_attach_is_raw_and_binds_create_the_host_dir() {
    require_root!();
    let (_reg, d) = setup();
    let host = d.dir().join("t1");
    assert!(!host.exists());
    let id = create(
        &d,
        "tty",
        json!({"Image": "busybox", "Tty": true, "Cmd": ["sh", "-c", "echo hi > /mnt/f; cat /etc/hostname; echo $TERM"],
               "HostConfig": {"Binds": [format!("{}:/mnt", host.display())]}}),
    );
    let (st, head, mut att) = hijack(
        &d,
        &format!("/containers/{id}/attach?stream=1&stdout=1&stderr=1"),
        None,
    );
    assert_eq!(st, 101);
    assert_eq!(
        header(&head, "content-type"),
        Some("application/vnd.docker.raw-stream")
    );
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/start"), None).status,
        204
    );
    let out = String::from_utf8_lossy(&read_all(&mut att)).into_owned();
    // A terminal turns \n into \r\n; no frame headers.
    assert_eq!(out, format!("{}\r\nxterm\r\n", &id[..12]));
    assert_eq!(std::fs::read_to_string(host.join("f")).unwrap(), "hi\n");
    let i = inspect(&d, &id);
    // The attach ends only once the exit is recorded.
    assert_eq!(i["State"]["Status"], "exited");
    let m = &i["Mounts"][0];
    assert_eq!(m["Type"], "bind");
    assert_eq!(m["Source"], host.display().to_string());
    assert_eq!(m["Destination"], "/mnt");
    assert_eq!(m["RW"], true);
    // Nothing of the container is mounted on the host.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&id), "{mounts}");
}

#[test]
fn bad_input_gets_dockers_errors() {
    require_root!();
    let (_reg, d) = setup();
    // Unknown command: 400 with the runtime's message, ExitCode 127, status stays created.
    let id = create(&d, "nosuch", json!({"Image": "busybox", "Cmd": ["nosuch"]}));
    let r = api(&d, "POST", &format!("/containers/{id}/start"), None);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("exec: \"nosuch\": executable file not found in $PATH"),
        "{}",
        r.text()
    );
    let i = inspect(&d, &id);
    assert_eq!(i["State"]["ExitCode"], 127);
    assert_eq!(i["State"]["Status"], "created");
    assert!(i["State"]["Error"].as_str().unwrap().contains("nosuch"));
    // Name conflict.
    let r = api(
        &d,
        "POST",
        "/containers/create?name=nosuch",
        Some(json!({"Image": "busybox", "Cmd": ["true"]})),
    );
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["message"],
        format!("Conflict. The container name \"/nosuch\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")
    );
    // Missing image: 404 (clients pull then).
    let r = api(
        &d,
        "POST",
        "/containers/create",
        Some(json!({"Image": "nosuchimage", "Cmd": ["true"]})),
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["message"], "No such image: nosuchimage:latest");
    // Binds: bad mode, relative path.
    let bad = |binds: Value| {
        api(
            &d,
            "POST",
            "/containers/create",
            Some(json!({"Image": "busybox", "HostConfig": {"Binds": binds}})),
        )
    };
    let r = bad(json!(["/tmp:/x:xyz"]));
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (400, json!("invalid mode: xyz"))
    );
    let r = bad(json!(["rel/dir:/x"]));
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .contains("If you intended to pass a host directory, use absolute path"),
        "{}",
        r.text()
    );
    let r = api(
        &d,
        "POST",
        "/containers/create",
        Some(json!({"Image": "busybox",
        "HostConfig": {"Mounts": [{"Type": "bind", "Source": "/nonexistent-x", "Target": "/x"}]}})),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-x"
    );
    let r = api(
        &d,
        "POST",
        "/containers/create",
        Some(json!({"Image": "busybox",
        "HostConfig": {"AutoRemove": true, "RestartPolicy": {"Name": "always"}}})),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "can't create 'AutoRemove' container with restart policy"
    );
    // Not found, not running.
    assert_eq!(api(&d, "POST", "/containers/zzz/start", None).status, 404);
    let r = api(&d, "POST", &format!("/containers/{id}/kill"), None);
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["message"],
        format!("Container {id} is not running")
    );
    assert_eq!(
        api(&d, "GET", &format!("/containers/{id}/top"), None).status,
        409
    );
    assert_eq!(
        api(
            &d,
            "POST",
            &format!("/containers/{id}/exec"),
            Some(json!({"Cmd": ["true"]}))
        )
        .status,
        409
    );
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/stop"), None).status,
        304
    );
    // Prefix lookup.
    assert_eq!(inspect(&d, &id[..8])["Id"], id);
}

#[test]
fn stdin_detach_keys_replay_and_plain_attach() {
    require_root!();
    let (_reg, d) = setup();
    // Interactive: cat echoes stdin; ctrl-p ctrl-q detaches and the container keeps running.
    let id = create(
        &d,
        "cat",
        json!({"Image": "busybox", "Cmd": ["cat"], "OpenStdin": true,
        "AttachStdin": true, "AttachStdout": true}),
    );
    let (st, _, mut att) = hijack(
        &d,
        &format!("/containers/{id}/attach?stream=1&stdin=1&stdout=1"),
        None,
    );
    assert_eq!(st, 101);
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/start"), None).status,
        204
    );
    att.get_mut().write_all(b"hello\n").unwrap();
    let mut hdr = [0u8; 8];
    att.read_exact(&mut hdr).unwrap();
    let n = u32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]) as usize;
    let mut p = vec![0u8; n];
    att.read_exact(&mut p).unwrap();
    assert_eq!((hdr[0], p.as_slice()), (1, &b"hello\n"[..]));
    att.get_mut().write_all(&[0x10, 0x11]).unwrap();
    // After the detach keys the daemon closes the connection.
    let rest = read_all(&mut att);
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(status_of(&d, &id), "running");
    // Re-attach with logs=1: the log replays first; custom detach keys.
    let (st, _, mut att) = hijack(
        &d,
        &format!("/containers/{id}/attach?stream=1&stdin=1&stdout=1&logs=1&detachKeys=ctrl-x,y"),
        None,
    );
    assert_eq!(st, 101);
    let mut replay = vec![0u8; 8 + 6];
    att.read_exact(&mut replay).unwrap();
    assert_eq!(frames(&replay), vec![(1u8, b"hello\n".to_vec())]);
    att.get_mut().write_all(&[0x18, b'y']).unwrap();
    assert!(read_all(&mut att).is_empty());
    // A client without Upgrade (old clients) is hijacked all the same: 101, stdin works.
    let mut s = connect(&d);
    s.write_all(&request_bytes(
        "POST",
        &format!("/v1.24/containers/{id}/attach?stream=1&stdin=1&stdout=1&logs=1"),
        None,
        "",
    ))
    .unwrap();
    let mut r = BufReader::new(s);
    let (st, head) = read_head(&mut r);
    assert_eq!(st, 101, "{head}");
    assert_eq!(
        header(&head, "content-type"),
        Some("application/vnd.docker.multiplexed-stream")
    );
    let mut replay = vec![0u8; 8 + 6];
    r.read_exact(&mut replay).unwrap();
    assert_eq!(frames(&replay), vec![(1u8, b"hello\n".to_vec())]);
    r.get_mut().write_all(b"again\n").unwrap();
    let mut echo = vec![0u8; 8 + 6];
    r.read_exact(&mut echo).unwrap();
    assert_eq!(frames(&echo), vec![(1u8, b"again\n".to_vec())]);
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/kill"), None).status,
        204
    );
    assert!(read_all(&mut r).is_empty());
}

#[test]
fn namespaces_modes_user_workdir_and_readonly() {
    require_root!();
    let (_reg, d) = setup();
    let (out, code) = run_out(
        &d,
        json!({"Cmd": ["ls", "/sys/class/net"], "HostConfig": {"NetworkMode": "none"}}),
    );
    assert_eq!((out.as_str(), code), ("lo\n", 0));
    let (out, _) = run_out(&d, json!({"Cmd": ["ls", "/sys/class/net"]}));
    assert_eq!(out, "eth0\nlo\n", "the default bridge: eth0 and lo");
    let (out, _) = run_out(
        &d,
        json!({"Cmd": ["ls", "/sys/class/net"], "HostConfig": {"NetworkMode": "host"}}),
    );
    assert!(out.lines().count() > 1, "{out}");
    let (out, _) = run_out(
        &d,
        json!({"Cmd": ["sh", "-c", "echo $$"], "HostConfig": {"PidMode": "host"}}),
    );
    assert_ne!(out.trim(), "1");
    let (out, code) = run_out(
        &d,
        json!({"Cmd": ["sh", "-c", "id -u; pwd; echo $FOO"],
        "User": "nobody", "WorkingDir": "/new/dir", "Env": ["FOO=bar"]}),
    );
    assert_eq!((out.as_str(), code), ("65534\n/new/dir\nbar\n", 0));
    let (out, code) = run_out(
        &d,
        json!({"Cmd": ["sh", "-c", "touch /x 2>/dev/null || echo ro; touch /run/y && echo tmpfs-ok"],
        "HostConfig": {"ReadonlyRootfs": true, "Tmpfs": {"/run": "size=1m"}}}),
    );
    assert_eq!((out.as_str(), code), ("ro\ntmpfs-ok\n", 0));
    let (out, _) = run_out(
        &d,
        json!({"Entrypoint": ["echo"], "Cmd": ["from", "entrypoint"]}),
    );
    assert_eq!(out, "from entrypoint\n");
    let (out, _) = run_out(
        &d,
        json!({"Cmd": ["sh", "-c", "cat /etc/hostname; grep -c localhost /etc/hosts"], "Hostname": "myhost"}),
    );
    assert_eq!(out, "myhost\n2\n");
    // --init: PID 1 is the init, the command its child.
    let (out, _) = run_out(
        &d,
        json!({"Cmd": ["sh", "-c", "echo $$"], "HostConfig": {"Init": true}}),
    );
    assert_ne!(out.trim(), "1");
}
