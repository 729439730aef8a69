//! A fake rdockerd for the CLI's tests: one thread per connection, the hijacked
//! attach/exec protocol (101, then raw or multiplexed streams), wait bodies that come
//! only after the attach stream ended, and a log of every request in arrival order.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// What the fake does with one request.
pub enum Act {
    Json(u16, String),
    /// 101, then (after the container "started") these bytes; with `echo`, whatever
    /// the client sends until it half-closes is sent back as one stdout frame first.
    Hijack {
        out: Vec<u8>,
        echo: bool,
    },
    /// Headers at once, the body once the attach stream is done.
    Wait(String),
    /// A chunked body written as is.
    Stream(Vec<u8>),
}

#[derive(Default)]
pub struct Shared {
    pub seen: Mutex<Vec<Req>>,
    /// Set by start; the attach output waits for it.
    pub started: Mutex<bool>,
    /// Set when the attach stream was fully written; the wait body waits for it.
    pub streamed: Mutex<bool>,
    pub cv: Condvar,
    /// Number of create calls so far (for the 404 → pull → create retry).
    pub creates: Mutex<u32>,
    /// What the client sent on an echoing hijacked stream before it closed.
    pub got_stdin: Mutex<Vec<u8>>,
}

impl Shared {
    pub fn set(&self, which: &Mutex<bool>) {
        *which.lock().unwrap() = true;
        self.cv.notify_all();
    }
    pub fn wait_for(&self, which: &Mutex<bool>) {
        let mut g = which.lock().unwrap();
        while !*g {
            let (ng, t) = self.cv.wait_timeout(g, Duration::from_secs(10)).unwrap();
            g = ng;
            if t.timed_out() {
                return;
            }
        }
    }
}

pub type Routes = fn(&Req, &Shared) -> Act;

pub struct Fake {
    pub dir: tempfile::TempDir,
    pub sock: PathBuf,
    pub shared: Arc<Shared>,
}

pub fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![stream, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn read_req(r: &mut BufReader<UnixStream>) -> Option<Req> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Req {
        method,
        path,
        headers,
        body: String::from_utf8(body).unwrap(),
    })
}

fn serve(conn: UnixStream, routes: Routes, sh: Arc<Shared>) {
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let Some(req) = read_req(&mut r) else { return };
    let act = routes(&req, &sh);
    let req_is_attach = req.path.contains("/attach?");
    if req.path.contains("/start") && req.method == "POST" && matches!(act, Act::Json(204, _)) {
        sh.set(&sh.started);
    }
    sh.seen.lock().unwrap().push(req);
    let mut w = conn;
    match act {
        Act::Json(status, body) => {
            let _ = write!(
                w,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
        Act::Hijack { out, echo } => {
            let _ = w.write_all(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
            // An exec's output may flow at once; a container's only once started.
            if req_is_attach {
                sh.wait_for(&sh.started);
            }
            if echo {
                let mut got = Vec::new();
                let _ = r.read_to_end(&mut got);
                sh.got_stdin.lock().unwrap().extend_from_slice(&got);
                let _ = w.write_all(&frame(1, &got));
            }
            let _ = w.write_all(&out);
            let _ = w.shutdown(std::net::Shutdown::Both);
            sh.set(&sh.streamed);
        }
        Act::Wait(body) => {
            let _ = w.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            );
            let _ = w.flush();
            sh.wait_for(&sh.streamed);
            let _ = write!(w, "{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
        }
        Act::Stream(body) => {
            let _ = w.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            let _ = write!(w, "{:x}\r\n", body.len());
            let _ = w.write_all(&body);
            let _ = w.write_all(b"\r\n0\r\n\r\n");
        }
    }
}

impl Fake {
    pub fn start(routes: Routes) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("rd.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let shared = Arc::new(Shared::default());
        let sh = shared.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let sh = sh.clone();
                thread::spawn(move || serve(conn, routes, sh));
            }
        });
        Fake { dir, sock, shared }
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rdocker"))
            .args(["-H", self.sock.to_str().unwrap()])
            .args(args)
            .env("RDOCKER_CONFIG", self.dir.path().join("cfg"))
            .env_remove("RDOCKER_HOST")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, "")
    }

    pub fn lines(&self) -> Vec<String> {
        self.shared
            .seen
            .lock()
            .unwrap()
            .iter()
            .map(Req::line)
            .collect()
    }

    pub fn req(&self, prefix: &str) -> Req {
        self.shared
            .seen
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.line().starts_with(prefix))
            .cloned()
            .unwrap_or_else(|| panic!("no request {prefix}"))
    }
}

pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
