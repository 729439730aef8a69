//! Hijack for clients that send no `Upgrade` header.
//!
//! dockerd hijacks `POST /containers/{id}/attach` and `POST /exec/{id}/start` whatever the
//! client sent; old clients (and some SDKs) never ask for an upgrade and simply take over the
//! connection once the response head arrived. hyper only hands out the raw connection for a
//! request that carries `Upgrade`, so this listener looks at the *first* request head of each
//! connection and, for those two routes only, adds `Connection: Upgrade` and `Upgrade: tcp`
//! before hyper parses it. The handler then answers `101 UPGRADED` as for any docker client;
//! the old clients read any status line before they hijack. Hand-written: no crate rewrites a
//! request head in front of hyper.
//!
//! Only the first request is looked at: those clients open a fresh connection for a hijack.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};

/// A request head larger than this is passed through untouched (hyper rejects it anyway).
const MAX_HEAD: usize = 16 * 1024;

/// `axum::serve` listener whose connections get [`CompatIo`].
pub struct CompatListener(pub UnixListener);

impl axum::serve::Listener for CompatListener {
    type Io = CompatIo;
    type Addr = tokio::net::unix::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((io, addr)) => return (CompatIo::new(io), addr),
                // As axum's own listener: a failed accept (EMFILE, a reset peer) is logged
                // and retried after a pause, never the end of the server.
                Err(e) => {
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

enum Phase {
    /// Collecting the first request head.
    Sniff(Vec<u8>),
    /// Handing out the (possibly rewritten) head, then straight through.
    Replay(Vec<u8>, usize),
    Through,
}

pub struct CompatIo {
    inner: UnixStream,
    phase: Phase,
}

impl CompatIo {
    fn new(inner: UnixStream) -> CompatIo {
        CompatIo {
            inner,
            phase: Phase::Sniff(Vec::new()),
        }
    }
}

/// The head with the upgrade headers added when it is a hijack route without them; else as is.
pub fn rewrite_head(head: &[u8]) -> Vec<u8> {
    let Some(end) = find(head, b"\r\n\r\n") else {
        return head.to_vec();
    };
    let Ok(text) = std::str::from_utf8(&head[..end]) else {
        return head.to_vec();
    };
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    if method != Some("POST") || version != Some("HTTP/1.1") {
        return head.to_vec();
    }
    if !target.is_some_and(is_hijack_route) {
        return head.to_vec();
    }
    if lines.any(|l| l.to_ascii_lowercase().starts_with("upgrade:")) {
        return head.to_vec();
    }
    let cut = request_line.len() + 2;
    let mut out = Vec::with_capacity(head.len() + 48);
    out.extend_from_slice(&head[..cut]);
    out.extend_from_slice(b"Connection: Upgrade\r\nUpgrade: tcp\r\n");
    // Drop the client's own Connection header: two of them would be merged by hyper.
    let rest = &head[cut..];
    let mut i = 0;
    while i < rest.len() {
        let line_end = find(&rest[i..], b"\r\n").map_or(rest.len(), |n| i + n + 2);
        let line = &rest[i..line_end];
        if !line.to_ascii_lowercase().starts_with(b"connection:") {
            out.extend_from_slice(line);
        }
        i = line_end;
    }
    out
}

/// `/containers/{id}/attach` or `/exec/{id}/start`, with or without `/vX.Y` and a query.
fn is_hijack_route(target: &str) -> bool {
    let path = target.split('?').next().unwrap_or_default();
    let path = match path.strip_prefix("/v") {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => {
            rest.find('/').map_or("", |i| &rest[i..])
        }
        _ => path,
    };
    let segs: Vec<&str> = path.split('/').collect();
    matches!(
        segs.as_slice(),
        ["", "containers", id, "attach"] | ["", "exec", id, "start"] if !id.is_empty()
    )
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl AsyncRead for CompatIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.phase {
                Phase::Through => return Pin::new(&mut this.inner).poll_read(cx, buf),
                Phase::Replay(data, pos) => {
                    let n = (data.len() - *pos).min(buf.remaining());
                    buf.put_slice(&data[*pos..*pos + n]);
                    *pos += n;
                    if *pos == data.len() {
                        this.phase = Phase::Through;
                    }
                    return Poll::Ready(Ok(()));
                }
                Phase::Sniff(acc) => {
                    let mut chunk = [0u8; 4096];
                    let mut rb = ReadBuf::new(&mut chunk);
                    match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Ready(Ok(())) => {
                            let got = rb.filled();
                            let eof = got.is_empty();
                            acc.extend_from_slice(got);
                            let complete = find(acc, b"\r\n\r\n").is_some();
                            if complete || eof || acc.len() >= MAX_HEAD {
                                let data = if complete {
                                    rewrite_head(acc)
                                } else {
                                    std::mem::take(acc)
                                };
                                if data.is_empty() {
                                    this.phase = Phase::Through;
                                    return Poll::Ready(Ok(())); // EOF before any byte
                                }
                                this.phase = Phase::Replay(data, 0);
                            }
                        }
                    }
                }
            }
        }
    }
}

impl AsyncWrite for CompatIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_upgrade_to_hijack_routes_without_it() {
        let head = b"POST /v1.24/containers/abc/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n";
        let out = String::from_utf8(rewrite_head(head)).unwrap();
        assert_eq!(
            out,
            "POST /v1.24/containers/abc/attach?stream=1&stdout=1 HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        );
        let exec = b"POST /exec/e1/start HTTP/1.1\r\nHost: x\r\n\r\n{\"Detach\":false}";
        let out = String::from_utf8(rewrite_head(exec)).unwrap();
        assert!(out.starts_with("POST /exec/e1/start HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nHost: x\r\n\r\n{\"Detach\":false}"), "{out}");
    }

    #[test]
    fn leaves_everything_else_alone() {
        for head in [
            &b"POST /containers/abc/attach HTTP/1.1\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n"
                [..],
            b"GET /containers/abc/attach HTTP/1.1\r\n\r\n",
            b"POST /containers/abc/start HTTP/1.1\r\n\r\n",
            b"POST /containers/attach HTTP/1.1\r\n\r\n",
            b"POST /containers/abc/attach HTTP/1.0\r\n\r\n",
            b"POST /containers/abc/attach HTTP/1.1\r\nHost: x\r\n", // incomplete
        ] {
            assert_eq!(rewrite_head(head), head.to_vec());
        }
    }

    #[test]
    fn routes() {
        assert!(is_hijack_route("/containers/x/attach"));
        assert!(is_hijack_route("/v1.47/exec/y/start?x=1"));
        assert!(!is_hijack_route("/v1.47/exec//start"));
        assert!(!is_hijack_route("/volumes/x/attach"));
        assert!(!is_hijack_route("/containers/x/attach/ws"));
    }
}
