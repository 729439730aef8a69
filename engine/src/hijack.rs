//! Attach and exec stream plumbing: the client's hijacked connection (or a plain response body
//! for clients that do not upgrade) ⇄ the shim's attach.sock.

use std::path::Path;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixStream;

pub const RAW: &str = "application/vnd.docker.raw-stream";
pub const MUX: &str = "application/vnd.docker.multiplexed-stream";

pub fn content_type(tty: bool) -> &'static str {
    if tty {
        RAW
    } else {
        MUX
    }
}

/// `Upgrade: tcp` (docker CLI, SDKs); old clients send nothing and get a plain body.
pub fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("tcp"))
}

/// `101 UPGRADED` with docker's headers.
pub fn upgraded(tty: bool) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(tty)),
    );
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    r.extensions_mut()
        .insert(hyper::ext::ReasonPhrase::from_static(b"UPGRADED"));
    r
}

/// Docker's `--detach-keys` syntax: `ctrl-p,ctrl-q`, `ctrl-x,y`.
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for k in s.split(',') {
        let k = k.trim();
        let lower = k.to_ascii_lowercase();
        if let Some(c) = lower.strip_prefix("ctrl-") {
            let b = match c.as_bytes() {
                [b @ b'a'..=b'z'] => b - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => return Err(format!("Unknown character: '{k}'")),
            };
            out.push(b);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            return Err(format!("Unknown character: '{k}'"));
        }
    }
    Ok(out)
}

pub const DEFAULT_DETACH: &[u8] = &[0x10, 0x11];

/// Holds back bytes that may start the detach sequence; reports when it is complete.
#[derive(Debug, Default)]
pub struct DetachScanner {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachScanner {
    pub fn new(keys: Vec<u8>) -> DetachScanner {
        DetachScanner { keys, matched: 0 }
    }

    /// Bytes to forward, and whether the sequence was seen (nothing after it is forwarded).
    pub fn feed(&mut self, data: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(data.len());
        if self.keys.is_empty() {
            out.extend_from_slice(data);
            return (out, false);
        }
        for &b in data {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (out, true);
                }
            } else {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                    if self.keys.len() == 1 {
                        return (out, true);
                    }
                } else {
                    out.push(b);
                }
            }
        }
        (out, false)
    }
}

/// One frame from the shim: `[stream][0 0 0][len BE]` + payload. None at EOF.
async fn read_frame(r: &mut (impl AsyncRead + Unpin)) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 8];
    r.read_exact(&mut h).await.ok()?;
    let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
    let mut p = vec![0u8; len];
    r.read_exact(&mut p).await.ok()?;
    Some((h[0], p))
}

pub fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + payload.len());
    v.extend_from_slice(&[stream, 0, 0, 0]);
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn encode(tty: bool, stream: u8, payload: Vec<u8>) -> Vec<u8> {
    if tty {
        payload
    } else {
        frame(stream, &payload)
    }
}

/// The container's log file replayed in wire format (`logs=1` on attach).
pub fn replay_log(path: &Path, tty: bool, stdout: bool, stderr: bool) -> Vec<u8> {
    #[derive(serde::Deserialize)]
    struct Line {
        log: String,
        stream: String,
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for l in text.lines() {
        let Ok(line) = serde_json::from_str::<Line>(l) else {
            continue;
        };
        let stream = if line.stream == "stderr" { 2 } else { 1 };
        if (stream == 1 && stdout) || (stream == 2 && stderr) {
            out.extend(encode(tty, stream, line.log.into_bytes()));
        }
    }
    out
}

/// Resolves once the engine has recorded the process's exit.
pub type Recorded = futures_util::future::BoxFuture<'static, ()>;

/// How long the end of an attach may wait for the exit to be recorded.
const RECORD_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The shim closes attach connections just before it reports the exit; holding the client's
/// end until the exit is recorded means "attach ended" implies "inspect shows it exited", as
/// with dockerd.
async fn until_recorded(r: Option<Recorded>) {
    if let Some(r) = r {
        let _ = tokio::time::timeout(RECORD_WAIT, r).await;
    }
}

pub struct PumpOpts {
    pub tty: bool,
    pub stdin: bool,
    pub detach_keys: Vec<u8>,
    /// Sent to the client before the live output (log replay).
    pub prefix: Vec<u8>,
    pub recorded: Option<Recorded>,
}

/// Shim output → client until the shim closes (process exited and output flushed); client
/// input → shim stdin until EOF or the detach keys.
pub async fn pump<C>(client: C, shim: Option<UnixStream>, o: PumpOpts)
where
    C: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut cr, mut cw) = tokio::io::split(client);
    if !o.prefix.is_empty() && cw.write_all(&o.prefix).await.is_err() {
        return;
    }
    let Some(shim) = shim else {
        let _ = cw.shutdown().await;
        return;
    };
    let (mut sr, mut sw) = shim.into_split();
    let tty = o.tty;
    let recorded = o.recorded;
    let output = async move {
        while let Some((stream, payload)) = read_frame(&mut sr).await {
            if cw.write_all(&encode(tty, stream, payload)).await.is_err() {
                break;
            }
            let _ = cw.flush().await;
        }
        until_recorded(recorded).await;
        let _ = cw.shutdown().await;
    };
    let stdin = o.stdin;
    let mut scan = DetachScanner::new(o.detach_keys);
    let input = async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    // Client EOF: the shim closes stdin when stdin_once was asked for.
                    let _ = sw.shutdown().await;
                    // Keep the output side going: wait forever here.
                    std::future::pending::<()>().await;
                    return;
                }
                Ok(n) => n,
            };
            if !stdin {
                continue;
            }
            let (fwd, detach) = scan.feed(&buf[..n]);
            if !fwd.is_empty() && sw.write_all(&fwd).await.is_err() {
                std::future::pending::<()>().await;
            }
            if detach {
                return;
            }
        }
    };
    tokio::select! {
        _ = output => {}
        _ = input => {}
    }
}

/// For clients without `Upgrade`: the output as a streamed body (no stdin).
pub fn body<F>(shim: F, tty: bool, prefix: Vec<u8>, recorded: Option<Recorded>) -> Body
where
    F: std::future::Future<Output = Option<UnixStream>> + Send + 'static,
{
    struct St {
        pending: Option<futures_util::future::BoxFuture<'static, Option<UnixStream>>>,
        conn: Option<UnixStream>,
        prefix: Option<Vec<u8>>,
        recorded: Option<Recorded>,
    }
    let st = St {
        pending: Some(Box::pin(shim)),
        conn: None,
        prefix: Some(prefix),
        recorded,
    };
    let s = futures_util::stream::unfold(st, move |mut st| async move {
        if let Some(p) = st.prefix.take().filter(|p| !p.is_empty()) {
            return Some((Ok::<_, std::io::Error>(Bytes::from(p)), st));
        }
        if let Some(fut) = st.pending.take() {
            st.conn = fut.await;
        }
        let frame = match st.conn.as_mut() {
            Some(c) => read_frame(c).await,
            None => None,
        };
        match frame {
            Some((stream, payload)) => Some((Ok(Bytes::from(encode(tty, stream, payload))), st)),
            None => {
                until_recorded(st.recorded.take()).await;
                None
            }
        }
    });
    Body::from_stream(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse() {
        assert_eq!(
            parse_detach_keys("ctrl-p,ctrl-q").unwrap(),
            vec![0x10, 0x11]
        );
        assert_eq!(parse_detach_keys("ctrl-x,y").unwrap(), vec![0x18, b'y']);
        assert!(parse_detach_keys("ctrl-xx").is_err());
    }

    #[test]
    fn scanner_holds_and_releases() {
        let mut s = DetachScanner::new(vec![0x10, 0x11]);
        assert_eq!(s.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(s.feed(b"c"), (b"\x10c".to_vec(), false));
        assert_eq!(s.feed(b"x\x10"), (b"x".to_vec(), false));
        assert_eq!(s.feed(b"\x11zzz"), (vec![], true));
        let mut s = DetachScanner::new(vec![0x10, 0x11]);
        assert_eq!(s.feed(b"\x10\x10\x11"), (b"\x10".to_vec(), true));
    }

    #[test]
    fn frames() {
        assert_eq!(frame(1, b"hi"), vec![1, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
    }

    #[test]
    fn log_replay() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("l.log");
        std::fs::write(
            &p,
            "{\"log\":\"a\\n\",\"stream\":\"stdout\",\"time\":\"x\"}\n{\"log\":\"b\\n\",\"stream\":\"stderr\",\"time\":\"x\"}\n",
        )
        .unwrap();
        assert_eq!(replay_log(&p, true, true, true), b"a\nb\n");
        assert_eq!(replay_log(&p, false, false, true), frame(2, b"b\n"));
    }
}
