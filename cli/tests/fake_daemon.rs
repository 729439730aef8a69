//! Runs the `rdocker` binary against a tiny fake daemon on a unix socket, to check
//! what goes over the wire and what the user sees. The real end-to-end suite (real
//! rdockerd, real registry) lives in tests/.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::thread;

#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Reply {
    status: u16,
    body: String,
    chunked: bool,
    /// Hang up before the end of the chunked body (a daemon that died mid-pull).
    cut: bool,
}

fn json(status: u16, body: &str) -> Reply {
    Reply {
        status,
        body: body.to_string(),
        chunked: false,
        cut: false,
    }
}

type Routes = fn(&Req) -> Reply;

struct Fake {
    _dir: tempfile::TempDir,
    sock: PathBuf,
    cfg: PathBuf,
    seen: Arc<Mutex<Vec<Req>>>,
}

impl Fake {
    fn start(routes: Routes) -> Fake {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join("rd.sock");
        let cfg = dir.path().join("cfg");
        let listener = UnixListener::bind(&sock).expect("bind");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let mut r = BufReader::new(conn.try_clone().expect("clone"));
                let mut line = String::new();
                if r.read_line(&mut line).is_err() || line.is_empty() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let path = parts.next().unwrap_or("").to_string();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    r.read_line(&mut h).expect("header");
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    let (k, v) = h.split_once(':').expect("header colon");
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .map(|(_, v)| v.parse().expect("len"))
                    .unwrap_or(0);
                let mut body = vec![0; len];
                r.read_exact(&mut body).expect("body");
                let req = Req {
                    method,
                    path,
                    headers,
                    body: String::from_utf8(body).expect("utf8"),
                };
                let reply = routes(&req);
                seen2.lock().expect("lock").push(req);
                let mut w = conn;
                let mut head = format!(
                    "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nApi-Version: 1.44\r\n",
                    reply.status
                );
                if reply.chunked {
                    head.push_str("Transfer-Encoding: chunked\r\n\r\n");
                    let _ = w.write_all(head.as_bytes());
                    // One chunk per line, split mid-line too, as a streaming server would.
                    for line in reply.body.split_inclusive('\n') {
                        let (a, b) = line.split_at(line.len() / 2);
                        for part in [a, b] {
                            if !part.is_empty() {
                                let _ = write!(w, "{:x}\r\n{part}\r\n", part.len());
                            }
                        }
                    }
                    if !reply.cut {
                        let _ = w.write_all(b"0\r\n\r\n");
                    }
                } else {
                    head.push_str(&format!("Content-Length: {}\r\n\r\n", reply.body.len()));
                    let _ = w.write_all(head.as_bytes());
                    let _ = w.write_all(reply.body.as_bytes());
                }
            }
        });
        Fake {
            _dir: dir,
            sock,
            cfg,
            seen,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, "")
    }

    fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rdocker"))
            .args(["-H", self.sock.to_str().expect("utf8")])
            .args(args)
            .env("RDOCKER_CONFIG", &self.cfg)
            .env_remove("RDOCKER_HOST")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn rdocker");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    fn requests(&self) -> Vec<Req> {
        self.seen.lock().expect("lock").clone()
    }
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const PULL_STREAM: &str = r#"{"status":"Pulling from library/busybox","id":"latest"}
{"status":"Pulling fs layer","progressDetail":{},"id":"a46fbb00284b"}
{"status":"Downloading","progressDetail":{"current":1000,"total":2000},"progress":"[=>  ]","id":"a46fbb00284b"}
{"status":"Download complete","progressDetail":{},"id":"a46fbb00284b"}
{"status":"Extracting","progressDetail":{"current":2000,"total":2000},"id":"a46fbb00284b"}
{"status":"Pull complete","progressDetail":{},"id":"a46fbb00284b"}
{"status":"Digest: sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79"}
{"status":"Status: Downloaded newer image for busybox:latest"}
"#;

fn routes(r: &Req) -> Reply {
    let p = r.path.as_str();
    match (r.method.as_str(), p) {
        ("POST", p) if p.starts_with("/v1.44/images/create?fromImage=busybox&tag=latest") => Reply {
            status: 200,
            body: PULL_STREAM.into(),
            chunked: true,
            cut: false,
        },
        ("POST", p) if p.starts_with("/v1.44/images/create?fromImage=dies") => Reply {
            status: 200,
            body: "{\"status\":\"Pulling from library/dies\",\"id\":\"latest\"}\n{\"status\":\"Pulling fs".into(),
            chunked: true,
            cut: true,
        },
        ("POST", p) if p.starts_with("/v1.44/images/create?fromImage=broken") => Reply {
            status: 200,
            body: "{\"status\":\"Pulling from library/broken\",\"id\":\"latest\"}\n{\"errorDetail\":{\"message\":\"failed to register layer: boom\"},\"error\":\"failed to register layer: boom\"}\n".into(),
            chunked: true,
            cut: false,
        },
        ("POST", p) if p.starts_with("/v1.44/images/create") => json(
            404,
            r#"{"message":"pull access denied for nope, repository does not exist or may require 'docker login'"}"#,
        ),
        ("GET", "/v1.44/images/json") => json(
            200,
            r#"[{"Id":"sha256:a416a98b71e224a31ee99cff8e16063554498227d2b696152a9c3e0aa65e5824","ParentId":"","RepoTags":["busybox:latest"],"RepoDigests":["busybox@sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79"],"Created":1,"Size":4261544,"SharedSize":-1,"Labels":{},"Containers":-1}]"#,
        ),
        ("DELETE", "/v1.44/images/busybox") => json(
            200,
            r#"[{"Untagged":"busybox:latest"},{"Deleted":"sha256:a416a98b71e224a31ee99cff8e16063554498227d2b696152a9c3e0aa65e5824"}]"#,
        ),
        ("DELETE", _) => json(404, r#"{"message":"No such image: nope:latest"}"#),
        ("GET", "/v1.44/images/busybox/json") => json(
            200,
            r#"{"Id":"sha256:a4","RepoTags":["busybox:latest"],"Config":{"Cmd":["sh"]}}"#,
        ),
        ("GET", _) if p.ends_with("/json") => json(404, r#"{"message":"No such image: nope:latest"}"#),
        ("POST", "/v1.44/auth") => {
            if r.body.contains("\"password\":\"right\"") {
                json(200, r#"{"Status":"Login Succeeded","IdentityToken":""}"#)
            } else {
                json(401, r#"{"message":"Get \"http://127.0.0.1:5000/v2/\": unauthorized: authentication required"}"#)
            }
        }
        ("POST", p) if p.starts_with("/v1.44/images/busybox/tag?") => json(201, ""),
        _ => json(404, r#"{"message":"page not found"}"#),
    }
}

#[test]
fn pull_plain_output() {
    let f = Fake::start(routes);
    let o = f.run(&["pull", "busybox"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        out(&o),
        "Using default tag: latest\n\
         latest: Pulling from library/busybox\n\
         a46fbb00284b: Pulling fs layer\n\
         a46fbb00284b: Download complete\n\
         a46fbb00284b: Pull complete\n\
         Digest: sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79\n\
         Status: Downloaded newer image for busybox:latest\n\
         docker.io/library/busybox:latest\n"
    );
    let reqs = f.requests();
    assert_eq!(reqs[0].header("Host"), Some("api.moby.localhost"));
    assert!(reqs[0].header("X-Registry-Auth").is_none());

    let o = f.run(&["pull", "-q", "busybox:latest"]);
    assert!(o.status.success());
    assert_eq!(out(&o), "docker.io/library/busybox:latest\n");
}

#[test]
fn pull_errors() {
    let f = Fake::start(routes);
    let o = f.run(&["pull", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "Error response from daemon: pull access denied for nope, repository does not exist or may require 'docker login'\n"
    );
    let o = f.run(&["pull", "broken"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(err(&o), "failed to register layer: boom\n");
    let o = f.run(&["pull", "dies"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        out(&o),
        "Using default tag: latest\nlatest: Pulling from library/dies\n"
    );
    assert_eq!(err(&o), "unexpected EOF\n");
    let o = f.run(&["pull"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "rdocker: 'rdocker pull' requires 1 argument\n\nUsage:  rdocker pull [OPTIONS] NAME[:TAG|@DIGEST]\n\nRun 'rdocker pull --help' for more information\n"
    );
    let o = f.run(&["pull", "--bogus", "x"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        err(&o),
        "unknown flag: --bogus\n\nUsage:  rdocker pull [OPTIONS] NAME[:TAG|@DIGEST]\n\nRun 'rdocker pull --help' for more information\n"
    );
    let o = f.run(&["frob"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "rdocker: unknown command: rdocker frob\n\nRun 'rdocker --help' for more information\n"
    );
    let o = f.run(&["pull", "Busybox"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn login_then_pull_sends_credentials() {
    let f = Fake::start(routes);
    let o = f.run_stdin(
        &["login", "-u", "alice", "--password-stdin", "localhost:5000"],
        "wrong\n",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).starts_with("Error response from daemon: Get"));
    assert!(!f.cfg.join("config.json").exists());

    let o = f.run_stdin(&["login", "-u", "alice", "--password-stdin"], "right\n");
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "Login Succeeded\n");
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f.cfg.join("config.json")).expect("config"))
            .expect("json");
    assert_eq!(
        cfg["auths"]["https://index.docker.io/v1/"]["auth"],
        "YWxpY2U6cmlnaHQ="
    );
    let auth_req = f.requests().into_iter().last().expect("request");
    assert_eq!(
        auth_req.body,
        r#"{"username":"alice","password":"right","serveraddress":"https://index.docker.io/v1/"}"#
    );

    let o = f.run(&["pull", "busybox"]);
    assert!(o.status.success());
    let pull = f.requests().into_iter().last().expect("request");
    let hdr = pull
        .header("X-Registry-Auth")
        .expect("auth header")
        .to_string();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::URL_SAFE
        .decode(hdr)
        .expect("base64url");
    assert_eq!(
        String::from_utf8(decoded).expect("utf8"),
        r#"{"username":"alice","password":"right","serveraddress":"https://index.docker.io/v1/"}"#
    );

    let o = f.run(&["logout"]);
    assert!(o.status.success());
    assert_eq!(
        out(&o),
        "Removing login credentials for https://index.docker.io/v1/\n"
    );
    let cfg = std::fs::read_to_string(f.cfg.join("config.json")).expect("config");
    assert!(!cfg.contains("alice"), "{cfg}");
}

#[test]
fn images_rmi_tag_inspect() {
    let f = Fake::start(routes);
    let o = f.run(&["images"]);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "REPOSITORY   TAG       IMAGE ID       CREATED        SIZE"
    );
    assert!(
        lines[1].starts_with("busybox      latest    a416a98b71e2   "),
        "{text}"
    );
    assert!(lines[1].ends_with("   4.26MB"), "{text}");

    let o = f.run(&["images", "-f", "dangling=true", "busybox"]);
    let _ = o; // the fake has no filtering; check the query instead
    let q = f.requests().last().expect("request").path.clone();
    assert!(q.starts_with("/v1.44/images/json?filters="), "{q}");
    assert!(
        q.contains("%22dangling%22%3A%7B%22true%22%3Atrue%7D"),
        "{q}"
    );

    let o = f.run(&["rmi", "busybox"]);
    assert!(o.status.success());
    assert_eq!(
        out(&o),
        "Untagged: busybox:latest\nDeleted: sha256:a416a98b71e224a31ee99cff8e16063554498227d2b696152a9c3e0aa65e5824\n"
    );
    let o = f.run(&["rmi", "nope", "busybox"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "Error response from daemon: No such image: nope:latest\n"
    );
    assert!(out(&o).starts_with("Untagged: busybox:latest\n"));
    let o = f.run(&["rmi", "-f", "nope"]);
    assert_eq!(o.status.code(), Some(0));

    let o = f.run(&["tag", "busybox", "localhost:5000/bb:v1"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        f.requests().last().expect("request").path,
        "/v1.44/images/busybox/tag?repo=localhost%3A5000%2Fbb&tag=v1"
    );

    let o = f.run(&["image", "inspect", "busybox"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        out(&o),
        "[\n    {\n        \"Id\": \"sha256:a4\",\n        \"RepoTags\": [\n            \"busybox:latest\"\n        ],\n        \"Config\": {\n            \"Cmd\": [\n                \"sh\"\n            ]\n        }\n    }\n]\n"
    );
    let o = f.run(&[
        "inspect",
        "-f",
        "{{.Id}} {{.Config.Cmd}} {{json .Config}}",
        "busybox",
    ]);
    assert_eq!(out(&o), "sha256:a4 [sh] {\"Cmd\":[\"sh\"]}\n");
    let o = f.run(&["image", "inspect", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(out(&o), "[]\n");
    assert_eq!(
        err(&o),
        "Error response from daemon: No such image: nope:latest\n"
    );
}

#[test]
fn cannot_connect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock_buf = dir.path().join("none.sock");
    let sock: &Path = &sock_buf;
    let o = Command::new(env!("CARGO_BIN_EXE_rdocker"))
        .args(["images"])
        .env("RDOCKER_HOST", format!("unix://{}", sock.display()))
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        format!(
            "Cannot connect to the rdocker daemon at unix://{}. Is the rdocker daemon running?\n",
            sock.display()
        )
    );
}
