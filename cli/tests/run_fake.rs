//! `rdocker run` and the container commands against a fake daemon that speaks the
//! hijacked attach/exec protocol: checks the request sequence docker's CLI uses
//! (create → attach 101 → wait → start), the stream demultiplexing, and exit codes.

mod common;

use common::{err, frame, out, Act, Fake, Req, Shared};

const ID: &str = "4f1c2b3a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708";

fn created() -> Act {
    Act::Json(201, format!(r#"{{"Id":"{ID}","Warnings":[]}}"#))
}

fn output_frames() -> Vec<u8> {
    let mut v = frame(1, b"hi\n");
    v.extend(frame(2, b"oops\n"));
    v.extend(frame(1, b"bye\n"));
    v
}

fn routes(r: &Req, sh: &Shared) -> Act {
    let p = r.path.as_str();
    let m = r.method.as_str();
    let start_err = |msg: &str| Act::Json(400, format!(r#"{{"message":"{msg}"}}"#));
    match m {
        "POST" if p.starts_with("/v1.44/containers/create") => {
            let mut n = sh.creates.lock().unwrap();
            *n += 1;
            if r.body.contains("\"Image\":\"missing\"") && *n == 1 {
                return Act::Json(404, r#"{"message":"No such image: missing:latest"}"#.into());
            }
            if p.contains("name=taken") {
                return Act::Json(409, r#"{"message":"Conflict. The container name \"/taken\" is already in use by container \"abc\". You have to remove (or rename) that container to be able to reuse that name."}"#.into());
            }
            if r.body.contains("\"Cmd\":[\"nosuch\"]") {
                return Act::Json(201, r#"{"Id":"nosuch","Warnings":null}"#.into());
            }
            if r.body.contains("\"Cmd\":[\"/etc\"]") {
                return Act::Json(201, r#"{"Id":"isdir","Warnings":["careful"]}"#.into());
            }
            if r.body.contains("\"Cmd\":[\"cgroupfail\"]") {
                return Act::Json(201, r#"{"Id":"cgfail"}"#.into());
            }
            created()
        }
        "POST" if p.starts_with("/v1.44/images/create?fromImage=missing&tag=latest") => Act::Stream(
            b"{\"status\":\"Pulling from library/missing\",\"id\":\"latest\"}\n{\"status\":\"Status: Downloaded newer image for missing:latest\"}\n".to_vec(),
        ),
        "POST" if p.starts_with("/v1.44/containers/nosuch/start") => start_err(
            "failed to create shim task: OCI runtime create failed: exec: \\\"nosuch\\\": executable file not found in $PATH: unknown",
        ),
        "POST" if p.starts_with("/v1.44/containers/isdir/start") => {
            start_err("exec /etc: is a directory")
        }
        "POST" if p.starts_with("/v1.44/containers/cgfail/start") => start_err("cgroup: boom"),
        "POST" if p.contains("/attach?") => Act::Hijack {
            out: output_frames(),
            echo: p.contains("stdin=1"),
        },
        "POST" if p.contains("/wait?") => Act::Wait(r#"{"StatusCode":3}"#.into()),
        "POST" if p == "/v1.44/exec/e1/start" => Act::Hijack {
            out: frame(1, b"from exec\n"),
            echo: false,
        },
        "POST" if p.ends_with("/start") => Act::Json(204, String::new()),
        "GET" if p == format!("/v1.44/containers/{ID}/json") || p == "/v1.44/containers/web/json" => {
            let tty = p.contains("web");
            Act::Json(
                200,
                format!(r#"{{"Id":"{ID}","State":{{"Running":true}},"Config":{{"Tty":{tty},"OpenStdin":false}}}}"#),
            )
        }
        "GET" if p.starts_with("/v1.44/containers/web/logs") => {
            Act::Stream(b"raw tty output\r\n".to_vec())
        }
        "GET" if p.contains("/logs?") => Act::Stream(output_frames()),
        "GET" if p.starts_with("/v1.44/containers/json") => Act::Json(
            200,
            format!(
                r#"[{{"Id":"{ID}","Names":["/web"],"Image":"busybox","ImageID":"sha256:a416a98b71e2","Command":"sleep 100","Created":1,"Ports":[],"Labels":{{}},"State":"running","Status":"Up 2 minutes","Mounts":[]}}]"#
            ),
        ),
        "POST" if p.starts_with("/v1.44/containers/web/exec") => {
            Act::Json(201, r#"{"Id":"e1"}"#.into())
        }
        "GET" if p == "/v1.44/exec/e1/json" => {
            Act::Json(200, r#"{"ID":"e1","Running":false,"ExitCode":7}"#.into())
        }
        "DELETE" if p.starts_with("/v1.44/containers/gone") => {
            Act::Json(404, r#"{"message":"No such container: gone"}"#.into())
        }
        "DELETE" => Act::Json(204, String::new()),
        "GET" if p.starts_with("/v1.44/volumes?") || p == "/v1.44/volumes" => Act::Json(
            200,
            r#"{"Volumes":[{"Name":"vol10","Driver":"local","Scope":"local"},{"Name":"vol9","Driver":"local","Scope":"local"}],"Warnings":null}"#.into(),
        ),
        "POST" if p == "/v1.44/volumes/create" => Act::Json(
            201,
            r#"{"Name":"data","Driver":"local","Scope":"local"}"#.into(),
        ),
        "POST" if p.starts_with("/v1.44/containers/prune") => Act::Json(
            200,
            r#"{"ContainersDeleted":["c1"],"SpaceReclaimed":1000}"#.into(),
        ),
        _ => Act::Json(404, r#"{"message":"page not found"}"#.into()),
    }
}

/// True when the request starting with `prefix` was the last one the fake saw.
fn nothing_after(lines: &[String], prefix: &str) -> bool {
    match lines.iter().position(|l| l.starts_with(prefix)) {
        Some(i) => i == lines.len() - 1,
        None => false,
    }
}

#[test]
fn run_follows_dockers_sequence_and_exits_with_the_status() {
    let f = Fake::start(routes);
    let o = f.run(&[
        "run", "--name", "n1", "-e", "A=1", "busybox", "sh", "-c", "exit 3",
    ]);
    assert_eq!(out(&o), "hi\nbye\n");
    assert_eq!(err(&o), "oops\n");
    assert_eq!(o.status.code(), Some(3));
    let lines = f.lines();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], "POST /v1.44/containers/create?name=n1");
    assert_eq!(
        lines[1],
        format!("POST /v1.44/containers/{ID}/attach?stream=1&stdin=0&stdout=1&stderr=1")
    );
    assert_eq!(
        lines[2],
        format!("POST /v1.44/containers/{ID}/wait?condition=next-exit")
    );
    assert_eq!(lines[3], format!("POST /v1.44/containers/{ID}/start"));
    let attach = f.req("POST /v1.44/containers/4f1c");
    assert_eq!(attach.header("Upgrade"), Some("tcp"));
    assert_eq!(attach.header("Connection"), Some("Upgrade"));
    let body: serde_json::Value =
        serde_json::from_str(&f.req("POST /v1.44/containers/create").body).unwrap();
    assert_eq!(body["Image"], "busybox");
    assert_eq!(body["Cmd"], serde_json::json!(["sh", "-c", "exit 3"]));
    assert_eq!(body["Env"], serde_json::json!(["A=1"]));
    assert_eq!(body["AttachStdout"], true);
    assert_eq!(body["HostConfig"]["AutoRemove"], false);
}

#[test]
fn run_interactive_copies_stdin_and_rm_waits_for_removal() {
    let f = Fake::start(routes);
    let o = f.run_stdin(&["run", "-i", "--rm", "busybox", "cat"], "typed input\n");
    assert_eq!(out(&o), "typed input\nhi\nbye\n");
    assert_eq!(o.status.code(), Some(3));
    let lines = f.lines();
    assert!(
        lines[1].contains("/attach?stream=1&stdin=1&stdout=1&stderr=1"),
        "{lines:?}"
    );
    assert!(lines[2].ends_with("/wait?condition=removed"), "{lines:?}");
    let body = f.req("POST /v1.44/containers/create").body;
    assert!(body.contains("\"OpenStdin\":true"), "{body}");
    assert!(body.contains("\"StdinOnce\":true"), "{body}");
    assert!(body.contains("\"AutoRemove\":true"), "{body}");
}

#[test]
fn run_pulls_a_missing_image_then_creates_again() {
    let f = Fake::start(routes);
    let o = f.run(&["run", "missing"]);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    let e = err(&o);
    assert!(e.starts_with("Unable to find image 'missing:latest' locally\nlatest: Pulling from library/missing\nStatus: Downloaded newer image for missing:latest\n"), "{e}");
    assert_eq!(out(&o), "hi\nbye\n");
    let lines = f.lines();
    assert_eq!(lines[0], "POST /v1.44/containers/create");
    assert_eq!(
        lines[1],
        "POST /v1.44/images/create?fromImage=missing&tag=latest"
    );
    assert_eq!(lines[2], "POST /v1.44/containers/create");
    assert!(lines[3].contains("/attach?"));

    let f = Fake::start(routes);
    let o = f.run(&["run", "--pull", "never", "missing"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        err(&o),
        "rdocker: Error response from daemon: No such image: missing:latest\n\nRun 'rdocker run --help' for more information\n"
    );
    assert_eq!(f.lines().len(), 1);
}

#[test]
fn run_detached_prints_the_id() {
    let f = Fake::start(routes);
    let o = f.run(&["run", "-d", "busybox", "sleep", "100"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), format!("{ID}\n"));
    assert_eq!(
        f.lines(),
        [
            "POST /v1.44/containers/create".to_string(),
            format!("POST /v1.44/containers/{ID}/start")
        ]
    );
    let body = f.req("POST /v1.44/containers/create").body;
    assert!(body.contains("\"AttachStdout\":false"), "{body}");
}

#[test]
fn run_error_exit_codes() {
    let f = Fake::start(routes);
    let o = f.run(&["run", "busybox", "nosuch"]);
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(
        err(&o),
        "rdocker: Error response from daemon: failed to create shim task: OCI runtime create failed: exec: \"nosuch\": executable file not found in $PATH: unknown\n\nRun 'rdocker run --help' for more information\n"
    );
    assert!(nothing_after(
        &f.lines(),
        "POST /v1.44/containers/nosuch/start"
    ));

    let o = f.run(&["run", "busybox", "/etc"]);
    assert_eq!(o.status.code(), Some(126));
    assert!(
        err(&o).starts_with(
            "WARNING: careful\nrdocker: Error response from daemon: exec /etc: is a directory\n\nRun"
        ),
        "{}",
        err(&o)
    );

    let o = f.run(&["run", "busybox", "cgroupfail"]);
    assert_eq!(o.status.code(), Some(125));

    let o = f.run(&["run", "--name", "taken", "busybox"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(err(&o).starts_with("rdocker: Error response from daemon: Conflict. The container name \"/taken\" is already in use"), "{}", err(&o));
    assert!(
        err(&o).ends_with("reuse that name.\n\nRun 'rdocker run --help' for more information\n")
    );

    let o = f.run(&["run", "-v", "/a:/b:ro:x", "busybox"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        err(&o),
        "rdocker: invalid spec: /a:/b:ro:x: too many colons\n\nRun 'rdocker run --help' for more information\n"
    );
    let o = f.run(&["run", "-t", "-i", "busybox"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(err(&o), "the input device is not a TTY\n");
    let o = f.run(&["run", "--mount", "type=bind", "busybox"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        err(&o),
        "invalid argument \"type=bind\" for \"--mount\" flag: target is required\n\nUsage:  rdocker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'rdocker run --help' for more information\n"
    );
    let o = f.run(&["run", "-d", "-a", "stdout", "busybox"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "conflicting options: cannot specify both --attach and --detach\n"
    );
}

#[test]
fn create_prints_the_id() {
    let f = Fake::start(routes);
    let o = f.run(&["create", "-h", "myhost", "--name", "c1", "busybox", "true"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), format!("{ID}\n"));
    let body = f.req("POST /v1.44/containers/create?name=c1").body;
    assert!(body.contains("\"Hostname\":\"myhost\""), "{body}");
    // docker 28's create prints the daemon's refusal as is, status 1.
    let o = f.run(&["container", "create", "--name", "taken", "busybox"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).starts_with("Error response from daemon: Conflict."),
        "{}",
        err(&o)
    );
    let o = f.run(&["create", "--env-file", "/nonexistent/e", "busybox"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        err(&o),
        "rdocker: open /nonexistent/e: no such file or directory\n\nRun 'rdocker create --help' for more information\n"
    );
}

#[test]
fn ps_logs_exec() {
    let f = Fake::start(routes);
    let o = f.run(&["ps", "-a", "--filter", "status=running"]);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "CONTAINER ID   IMAGE     COMMAND       CREATED        STATUS         PORTS     NAMES"
    );
    assert!(
        lines[1].starts_with("4f1c2b3a5d6e   busybox   \"sleep 100\"   "),
        "{text}"
    );
    assert!(
        lines[1].ends_with("   Up 2 minutes             web"),
        "{text}"
    );
    let q = f.lines().last().unwrap().clone();
    assert!(
        q.starts_with("GET /v1.44/containers/json?all=1&filters=%7B%22status%22"),
        "{q}"
    );
    let o = f.run(&["container", "ls", "-q"]);
    assert_eq!(out(&o), "4f1c2b3a5d6e\n");

    let o = f.run(&["logs", "--tail", "5", "-t", ID]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "hi\nbye\n");
    assert_eq!(err(&o), "oops\n");
    let q = f.lines().last().unwrap().clone();
    assert!(
        q.ends_with("/logs?stdout=1&stderr=1&timestamps=1&tail=5"),
        "{q}"
    );
    // A TTY container's log is raw.
    let o = f.run(&["logs", "web"]);
    assert_eq!(out(&o), "raw tty output\r\n");

    let o = f.run(&[
        "exec", "-e", "X=1", "-u", "nobody", "web", "sh", "-c", "exit 7",
    ]);
    assert_eq!(out(&o), "from exec\n");
    assert_eq!(o.status.code(), Some(7));
    let body = f.req("POST /v1.44/containers/web/exec").body;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["Cmd"], serde_json::json!(["sh", "-c", "exit 7"]));
    assert_eq!(v["Env"], serde_json::json!(["X=1"]));
    assert_eq!(v["User"], "nobody");
    assert_eq!(v["AttachStdin"], false);
    let start = f.req("POST /v1.44/exec/e1/start");
    assert_eq!(start.header("Upgrade"), Some("tcp"));
    assert_eq!(start.body, r#"{"Detach":false,"Tty":false}"#);
}

#[test]
fn rm_stop_kill_wait() {
    let f = Fake::start(routes);
    let o = f.run(&["rm", "-f", "-v", "a", "gone"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "a\n");
    assert!(f
        .lines()
        .contains(&"DELETE /v1.44/containers/a?v=1&force=1".to_string()));
    let o = f.run(&["rm", "gone", "b"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(out(&o), "b\n");
    assert_eq!(
        err(&o),
        "Error response from daemon: No such container: gone\n"
    );

    let o = f.run(&["stop", "-t", "3", "x"]);
    assert_eq!(o.status.code(), Some(1)); // the fake has no stop route
    assert!(f
        .lines()
        .contains(&"POST /v1.44/containers/x/stop?t=3".to_string()));
    let _ = f.run(&["kill", "-s", "TERM", "x"]);
    assert!(f
        .lines()
        .contains(&"POST /v1.44/containers/x/kill?signal=TERM".to_string()));

    // wait's body only comes after an attach stream ends: give it one.
    let f = Fake::start(routes);
    f.shared.set(&f.shared.streamed);
    let o = f.run(&["wait", ID]);
    assert_eq!(out(&o), "3\n");
    assert!(f.lines()[0].ends_with("/wait?condition=not-running"));
}

#[test]
fn volumes_and_prune() {
    let f = Fake::start(routes);
    let o = f.run(&["volume", "ls", "-f", "dangling=true"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        out(&o),
        "DRIVER    VOLUME NAME\nlocal     vol9\nlocal     vol10\n"
    );
    assert!(f.lines()[0].starts_with("GET /v1.44/volumes?filters="));
    let o = f.run(&["volume", "create", "--label", "a=b", "data"]);
    assert_eq!(out(&o), "data\n");
    let v: serde_json::Value =
        serde_json::from_str(&f.req("POST /v1.44/volumes/create").body).unwrap();
    assert_eq!(v["Name"], "data");
    assert_eq!(v["Labels"]["a"], "b");
    assert_eq!(v["Driver"], "local");

    // Declined: nothing is sent.
    let before = f.lines().len();
    let o = f.run_stdin(&["container", "prune"], "n\n");
    assert!(o.status.success());
    assert_eq!(
        out(&o),
        "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "
    );
    assert_eq!(f.lines().len(), before);
    let o = f.run_stdin(&["container", "prune"], "y\n");
    assert!(
        out(&o).ends_with("[y/N] Deleted Containers:\nc1\n\nTotal reclaimed space: 1kB\n"),
        "{}",
        out(&o)
    );
    let o = f.run(&["container", "prune", "-f"]);
    assert_eq!(
        out(&o),
        "Deleted Containers:\nc1\n\nTotal reclaimed space: 1kB\n"
    );
}
