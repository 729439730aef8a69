//! A small, blocking HTTP/1.1 client over a unix socket, hand-written on purpose.
//!
//! The CLI sends one request per connection (`Connection: close`) to rdockerd. A tokio
//! runtime plus hyper would cost start-up time and binary size for no gain: every command
//! is a short sequence of requests, and the only streaming response (pull progress) is read
//! line by line anyway. What it supports is what the Docker Engine API needs from a client:
//! `Content-Length`, `Transfer-Encoding: chunked` (decoded incrementally, so progress shows
//! while it arrives) and read-to-EOF bodies.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;

use crate::chunked::ChunkedReader;

/// API version the CLI is written against; the engine serves `/vX.Y/...` for any X.Y it supports.
pub const API_VERSION: &str = "1.44";
pub const DEFAULT_HOST: &str = "unix:///run/rdocker/rdocker.sock";
/// Docker sends this Host for unix sockets; any value works, but keep the daemon's logs familiar.
const HOST_HEADER: &str = "api.moby.localhost";
/// Bound on what we buffer from an error body or a header block (a misbehaving peer
/// must not make the CLI allocate without limit).
const MAX_HEAD: u64 = 64 * 1024;
const MAX_ERROR_BODY: u64 = 1024 * 1024;

/// Where the daemon listens: `-H` wins over `RDOCKER_HOST`, which wins over the default.
pub fn resolve_host(flag: Option<&str>, env: Option<&str>) -> Result<(String, String)> {
    let raw = flag
        .filter(|s| !s.is_empty())
        .or(env.filter(|s| !s.is_empty()))
        .unwrap_or(DEFAULT_HOST);
    let path = if let Some(p) = raw.strip_prefix("unix://") {
        p
    } else if raw.contains("://") {
        anyhow::bail!("unsupported daemon address {raw:?}: only unix:// sockets are supported");
    } else {
        raw
    };
    if path.is_empty() {
        anyhow::bail!("invalid daemon address {raw:?}: empty socket path");
    }
    Ok((format!("unix://{path}"), path.to_string()))
}

/// A non-2xx answer from the daemon; printed exactly as docker prints it.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error response from daemon: {}", self.message)
    }
}
impl std::error::Error for ApiError {}

/// The daemon's socket could not be reached at all.
#[derive(Debug)]
pub struct ConnectError {
    pub host: String,
    pub source: io::Error,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.source.kind() == io::ErrorKind::PermissionDenied {
            write!(
                f,
                "permission denied while trying to connect to the rdocker daemon socket at {}: {}",
                self.host, self.source
            )
        } else {
            write!(
                f,
                "Cannot connect to the rdocker daemon at {}. Is the rdocker daemon running?",
                self.host
            )
        }
    }
}
impl std::error::Error for ConnectError {}

#[derive(Clone)]
pub struct Client {
    /// `unix:///path`, as shown in messages.
    pub host: String,
    path: String,
}

impl Client {
    pub fn new(host: String, path: String) -> Self {
        Client { host, path }
    }

    /// Sends one request and returns the response with its status checked: a status ≥ 400
    /// becomes an [`ApiError`] carrying the daemon's `{"message": ...}`.
    pub fn request(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response> {
        self.request_keep(method, path_and_query, headers, body)
            .map(|(r, _)| r)
    }

    /// [`Client::request`], also handing back a handle on the socket, for a caller that
    /// wants to bound the wait for a body that comes later (a read timeout).
    pub fn request_keep(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<(Response, UnixStream)> {
        let mut stream = self.connect()?;
        let req = build_request(method, path_and_query, headers, body, "close");
        stream
            .write_all(&req)
            .with_context(|| format!("sending {method} {path_and_query}"))?;
        let handle = stream
            .try_clone()
            .context("cloning the daemon connection")?;
        let reader = BufReader::with_capacity(64 * 1024, stream);
        let resp = parse_response(reader, method == "HEAD")
            .with_context(|| format!("reading the response to {method} {path_and_query}"))?;
        Ok((resp.check()?, handle))
    }

    /// A fresh connection to the daemon (one per request, as the CLI never pipelines).
    pub fn connect(&self) -> Result<UnixStream> {
        Ok(
            UnixStream::connect(&self.path).map_err(|source| ConnectError {
                host: self.host.clone(),
                source,
            })?,
        )
    }

    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let resp = self.request("GET", path, &[], None)?;
        resp.json()
    }

    /// Raw body of a successful GET (inspect keeps the daemon's bytes and key order).
    pub fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let mut resp = self.request("GET", path, &[], None)?;
        let mut buf = Vec::new();
        resp.read_to_end(&mut buf)
            .context("reading the daemon's answer")?;
        Ok(buf)
    }
}

/// `/v1.44` + path: the engine serves versioned and unversioned paths alike.
/// `RDOCKER_API_VERSION` overrides the version, as DOCKER_API_VERSION does for docker
/// (useful to talk to an older daemon).
pub fn api_path(path: &str) -> String {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let v = VERSION.get_or_init(|| {
        std::env::var("RDOCKER_API_VERSION")
            .ok()
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
            .unwrap_or_else(|| API_VERSION.to_string())
    });
    format!("/v{v}{path}")
}

/// The request bytes; `connection` is the Connection header's value ("close", or
/// "Upgrade" for a hijacked stream).
pub fn build_request(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    connection: &str,
) -> Vec<u8> {
    let mut req = format!(
        "{method} {path_and_query} HTTP/1.1\r\nHost: {HOST_HEADER}\r\nUser-Agent: rdocker-cli/{}\r\nConnection: {connection}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    match body {
        Some(b) => req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        )),
        // POST/DELETE without a body: say so, or some servers wait for one.
        None if method != "GET" && method != "HEAD" => req.push_str("Content-Length: 0\r\n"),
        None => {}
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b);
    }
    bytes
}

pub struct Response {
    pub status: u16,
    // Read by `header`; kept for commands that look at response headers (ping, attach).
    #[allow(dead_code)]
    pub headers: Vec<(String, String)>,
    body: Box<dyn Read>,
}

impl Response {
    #[allow(dead_code)]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn check(mut self) -> Result<Response> {
        if self.status < 400 {
            return Ok(self);
        }
        let mut buf = Vec::new();
        // Best effort: a truncated error body still yields a message.
        let _ = (&mut self.body).take(MAX_ERROR_BODY).read_to_end(&mut buf);
        Err(ApiError {
            status: self.status,
            message: error_message(self.status, &buf),
        }
        .into())
    }

    pub fn json<T: DeserializeOwned>(mut self) -> Result<T> {
        let mut buf = Vec::new();
        self.read_to_end(&mut buf)
            .context("reading the daemon's answer")?;
        serde_json::from_slice(&buf).context("decoding the daemon's answer")
    }
}

impl Read for Response {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.body.read(buf)
    }
}

/// The message docker shows for an error response: `message` of a JSON body, else the text.
pub fn error_message(status: u16, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Msg {
        message: String,
    }
    if let Ok(m) = serde_json::from_slice::<Msg>(body) {
        return m.message;
    }
    let text = String::from_utf8_lossy(body).trim().to_string();
    if text.is_empty() {
        format!("request returned {status} with an empty body")
    } else {
        text
    }
}

/// Parses the status line and headers, and frames the body per RFC 9112 §6.
pub fn parse_response<R: BufRead + 'static>(mut r: R, head_request: bool) -> io::Result<Response> {
    let (status, headers) = read_head(&mut r)?;
    frame_body(r, status, headers, head_request)
}

/// The status code and header fields, leaving the reader at the first body byte.
pub fn read_head<R: BufRead>(mut r: &mut R) -> io::Result<(u16, Vec<(String, String)>)> {
    let status_line = read_line(&mut r)?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|_| version.starts_with("HTTP/1."))
        .ok_or_else(|| bad(format!("malformed status line {status_line:?}")))?;
    let mut headers = Vec::new();
    let mut total = 0u64;
    loop {
        let line = read_line(&mut r)?;
        if line.is_empty() {
            break;
        }
        total += line.len() as u64;
        if total > MAX_HEAD {
            return Err(bad("response headers too large".into()));
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| bad(format!("malformed header {line:?}")))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok((status, headers))
}

/// Wraps what follows the head in the decoder its framing asks for.
pub fn frame_body<R: BufRead + 'static>(
    r: R,
    status: u16,
    headers: Vec<(String, String)>,
    head_request: bool,
) -> io::Result<Response> {
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let body: Box<dyn Read> =
        if head_request || status == 204 || status == 304 || (100..200).contains(&status) {
            Box::new(io::empty())
        } else if find("Transfer-Encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
        {
            Box::new(ChunkedReader::new(r))
        } else if let Some(len) = find("Content-Length") {
            let len: u64 = len
                .parse()
                .map_err(|_| bad(format!("bad Content-Length {len:?}")))?;
            Box::new(r.take(len))
        } else {
            Box::new(r)
        };
    Ok(Response {
        status,
        headers,
        body,
    })
}

pub(crate) fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// One CRLF (or LF) terminated line, without the terminator, bounded in length.
pub(crate) fn read_line<R: BufRead>(r: &mut R) -> io::Result<String> {
    let mut buf = Vec::new();
    r.by_ref().take(MAX_HEAD).read_until(b'\n', &mut buf)?;
    if !buf.ends_with(b"\n") {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed in the middle of a line",
        ));
    }
    buf.pop();
    if buf.ends_with(b"\r") {
        buf.pop();
    }
    String::from_utf8(buf).map_err(|_| bad("non-UTF-8 protocol line".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn resp(raw: &str) -> Response {
        parse_response(Cursor::new(raw.as_bytes().to_vec()), false).expect("parse")
    }

    fn body(mut r: Response) -> String {
        let mut s = String::new();
        r.read_to_string(&mut s).expect("body");
        s
    }

    #[test]
    fn chunked_body_is_decoded() {
        let r = resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: a\r\n\r\n");
        assert_eq!(r.status, 200);
        assert_eq!(body(r), "hello, world");
    }

    #[test]
    fn content_length_and_eof_bodies() {
        let r = resp("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nApi-Version: 1.44\r\n\r\nOKextra");
        assert_eq!(r.header("API-VERSION"), Some("1.44"));
        assert_eq!(body(r), "OK");
        assert_eq!(body(resp("HTTP/1.0 200 OK\r\n\r\nall of it")), "all of it");
        assert_eq!(body(resp("HTTP/1.1 204 No Content\r\n\r\n")), "");
    }

    #[test]
    fn error_status_becomes_api_error() {
        let r = resp("HTTP/1.1 404 Not Found\r\nContent-Length: 46\r\n\r\n{\"message\":\"No such image: nope:latest\"}     ");
        let err = r.check().err().expect("error");
        let api = err.downcast_ref::<ApiError>().expect("ApiError");
        assert_eq!(api.status, 404);
        assert_eq!(
            err.to_string(),
            "Error response from daemon: No such image: nope:latest"
        );
        assert_eq!(error_message(500, b" plain text\n"), "plain text");
    }

    #[test]
    fn malformed_status_line_is_rejected() {
        assert!(parse_response(Cursor::new(b"garbage\r\n\r\n".to_vec()), false).is_err());
        assert!(parse_response(Cursor::new(b"HTTP/1.1 200".to_vec()), false).is_err());
    }

    #[test]
    fn request_bytes() {
        let r = String::from_utf8(build_request(
            "POST",
            "/v1.44/auth",
            &[("X-A", "b")],
            Some(b"{}"),
            "close",
        ))
        .expect("utf8");
        assert!(r.starts_with("POST /v1.44/auth HTTP/1.1\r\nHost: api.moby.localhost\r\n"));
        assert!(r.contains("X-A: b\r\n"));
        assert!(r.ends_with("Content-Length: 2\r\n\r\n{}"));
        let r = String::from_utf8(build_request("DELETE", "/x", &[], None, "close")).expect("utf8");
        assert!(r.ends_with("Content-Length: 0\r\n\r\n"));
    }

    #[test]
    fn host_resolution_order() {
        let d = |f: Option<&str>, e: Option<&str>| resolve_host(f, e).expect("host");
        assert_eq!(
            d(None, None),
            (
                DEFAULT_HOST.to_string(),
                "/run/rdocker/rdocker.sock".to_string()
            )
        );
        assert_eq!(d(None, Some("unix:///e.sock")).1, "/e.sock");
        assert_eq!(d(Some("/f.sock"), Some("unix:///e.sock")).1, "/f.sock");
        assert_eq!(d(Some("/f.sock"), None).0, "unix:///f.sock");
        assert_eq!(d(Some(""), Some("")).1, "/run/rdocker/rdocker.sock");
        assert!(resolve_host(Some("tcp://1.2.3.4:2375"), None).is_err());
        assert!(resolve_host(Some("unix://"), None).is_err());
    }

    #[test]
    fn connect_error_text() {
        let c = Client::new(
            "unix:///nonexistent/x.sock".into(),
            "/nonexistent/x.sock".into(),
        );
        let err = c.request("GET", "/_ping", &[], None).err().expect("error");
        assert_eq!(
            err.to_string(),
            "Cannot connect to the rdocker daemon at unix:///nonexistent/x.sock. Is the rdocker daemon running?"
        );
    }
}
