//! Raw HTTP/1.1 over the daemon's unix socket, hijacks, docker frames, and small helpers.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use rdocker_tests::e2e::registry_and_daemon;
use rdocker_tests::{RegistryAuth, TestDaemon};
use serde_json::{json, Value};

pub struct Resp {
    pub status: u16,
    pub headers: String,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn connect(d: &TestDaemon) -> UnixStream {
    let s = UnixStream::connect(d.socket()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s
}

pub fn request_bytes(method: &str, path: &str, body: Option<&Value>, extra: &str) -> Vec<u8> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads the response head; returns (status, headers text).
pub fn read_head(r: &mut BufReader<UnixStream>) -> (u16, String) {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head)
}

pub fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The body after the head: chunked, by length, or to EOF.
pub fn read_body(r: &mut BufReader<UnixStream>, headers: &str) -> Vec<u8> {
    let mut body = Vec::new();
    if header(headers, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            let n = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
            if n == 0 {
                let mut end = String::new();
                let _ = r.read_line(&mut end);
                break;
            }
            let mut chunk = vec![0u8; n + 2];
            r.read_exact(&mut chunk).unwrap();
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = header(headers, "content-length").and_then(|v| v.parse::<usize>().ok())
    {
        body.resize(n, 0);
        r.read_exact(&mut body).unwrap();
    } else {
        let _ = r.read_to_end(&mut body);
    }
    body
}

pub fn api(d: &TestDaemon, method: &str, path: &str, body: Option<Value>) -> Resp {
    let mut s = connect(d);
    s.write_all(&request_bytes(
        method,
        path,
        body.as_ref(),
        "Connection: close\r\n",
    ))
    .unwrap();
    let mut r = BufReader::new(s);
    let (status, headers) = read_head(&mut r);
    let body = read_body(&mut r, &headers);
    Resp {
        status,
        headers,
        body,
    }
}

/// A hijacked attach/exec-start: the 101 head, then the raw connection.
pub fn hijack(
    d: &TestDaemon,
    path: &str,
    body: Option<Value>,
) -> (u16, String, BufReader<UnixStream>) {
    let mut s = connect(d);
    s.write_all(&request_bytes(
        "POST",
        path,
        body.as_ref(),
        "Connection: Upgrade\r\nUpgrade: tcp\r\n",
    ))
    .unwrap();
    let mut r = BufReader::new(s);
    let (status, head) = read_head(&mut r);
    (status, head, r)
}

pub fn read_all(r: &mut BufReader<UnixStream>) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = r.read_to_end(&mut out);
    out
}

/// Demultiplexes docker frames: (stream, payload) pairs; panics on a malformed header.
pub fn frames(mut b: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while !b.is_empty() {
        assert!(b.len() >= 8, "short frame header: {b:?}");
        assert_eq!(&b[1..4], &[0, 0, 0], "frame header {:?}", &b[..8]);
        let n = u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as usize;
        out.push((b[0], b[8..8 + n].to_vec()));
        b = &b[8 + n..];
    }
    out
}

pub fn joined(fr: &[(u8, Vec<u8>)], stream: u8) -> String {
    fr.iter()
        .filter(|(s, _)| *s == stream)
        .map(|(_, p)| String::from_utf8_lossy(p).into_owned())
        .collect()
}

pub fn setup() -> (rdocker_tests::TestRegistry, TestDaemon) {
    let (reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    let r = api(
        &d,
        "POST",
        "/images/create?fromImage=busybox&tag=latest",
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    (reg, d)
}

pub fn create(d: &TestDaemon, name: &str, body: Value) -> String {
    let path = if name.is_empty() {
        "/containers/create".to_string()
    } else {
        format!("/containers/create?name={name}")
    };
    let r = api(d, "POST", &path, Some(body));
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["Id"].as_str().unwrap().to_string()
}

pub fn inspect(d: &TestDaemon, id: &str) -> Value {
    let r = api(d, "GET", &format!("/containers/{id}/json"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn status_of(d: &TestDaemon, id: &str) -> String {
    inspect(d, id)["State"]["Status"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

pub fn alive(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

/// Runs a container to its end and returns (stdout, exit code).
pub fn run_out(d: &TestDaemon, body: Value) -> (String, i64) {
    let mut body = body;
    body["Image"] = json!("busybox");
    body["AttachStdout"] = json!(true);
    body["AttachStderr"] = json!(true);
    let id = create(d, "", body);
    let (st, _, mut att) = hijack(
        d,
        &format!("/containers/{id}/attach?stream=1&stdout=1&stderr=1"),
        None,
    );
    assert_eq!(st, 101);
    let r = api(d, "POST", &format!("/containers/{id}/start"), None);
    assert_eq!(r.status, 204, "{}", r.text());
    let out = joined(&frames(&read_all(&mut att)), 1);
    let code = api(d, "POST", &format!("/containers/{id}/wait"), None).json()["StatusCode"]
        .as_i64()
        .unwrap_or(-1);
    (out, code)
}

/// A `POST /containers/{id}/wait…` whose head has arrived (dockerd sends it at once) and whose
/// body comes when the condition is met.
pub struct PendingWait {
    r: BufReader<UnixStream>,
    pub status: u16,
    pub head: String,
}

/// Sends `POST /containers/{id}/wait{query}` and reads the response head.
pub fn wait_begin(d: &TestDaemon, id: &str, query: &str) -> PendingWait {
    let mut w = connect(d);
    w.write_all(&request_bytes(
        "POST",
        &format!("/containers/{id}/wait{query}"),
        None,
        "",
    ))
    .unwrap();
    let mut r = BufReader::new(w);
    let (status, head) = read_head(&mut r);
    PendingWait { r, status, head }
}

impl PendingWait {
    pub fn body(mut self) -> Vec<u8> {
        read_body(&mut self.r, &self.head)
    }
    pub fn json(self) -> Value {
        serde_json::from_slice(&self.body()).unwrap()
    }
}
