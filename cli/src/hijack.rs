//! Hijacked connections (attach, exec start): the request goes out as HTTP/1.1 with
//! `Connection: Upgrade` / `Upgrade: tcp`, the daemon answers `101 UPGRADED`, and from
//! then on the same socket carries the container's raw (or multiplexed) streams.

use std::io::{self, BufReader, Read, Write};
use std::os::unix::net::UnixStream;

use anyhow::{Context, Result};

use crate::client::{build_request, frame_body, read_head, Client};

/// The socket after the response head, plus whatever the daemon sent right behind the
/// head that our reader had already buffered (it must not be lost).
pub struct Hijacked {
    pub stream: UnixStream,
    leftover: Vec<u8>,
    pos: usize,
}

impl Hijacked {
    /// A second handle on the socket for the writer side (stdin copy).
    pub fn writer(&self) -> io::Result<UnixStream> {
        self.stream.try_clone()
    }
}

impl Read for Hijacked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.leftover.len() {
            let n = buf.len().min(self.leftover.len() - self.pos);
            buf[..n].copy_from_slice(&self.leftover[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.stream.read(buf)
    }
}

impl Client {
    /// Sends a hijacking POST and returns the upgraded stream. A 101 is what the Engine
    /// API answers; a 200 (daemons that do not upgrade) carries the stream as the body,
    /// which reads the same. Any other status is the daemon's error.
    pub fn hijack(&self, path_and_query: &str, body: Option<&[u8]>) -> Result<Hijacked> {
        let mut stream = self.connect()?;
        let headers = [("Upgrade", "tcp")];
        let req = build_request("POST", path_and_query, &headers, body, "Upgrade");
        stream
            .write_all(&req)
            .with_context(|| format!("sending POST {path_and_query}"))?;
        let read_half = stream
            .try_clone()
            .context("cloning the daemon connection")?;
        let mut reader = BufReader::with_capacity(16 * 1024, read_half);
        let (status, headers) = read_head(&mut reader)
            .with_context(|| format!("reading the response to POST {path_and_query}"))?;
        if status == 101 || status == 200 {
            let leftover = reader.buffer().to_vec();
            return Ok(Hijacked {
                stream,
                leftover,
                pos: 0,
            });
        }
        let resp = frame_body(reader, status, headers, false)?;
        match resp.check() {
            Ok(_) => {
                anyhow::bail!("the daemon answered {status} instead of upgrading the connection")
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    fn serve(reply: &'static [u8]) -> (tempfile::TempDir, Client) {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("s");
        let l = UnixListener::bind(&sock).unwrap();
        std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            c.write_all(reply).unwrap();
        });
        let p = sock.to_str().unwrap().to_string();
        (dir, Client::new(format!("unix://{p}"), p))
    }

    #[test]
    fn upgraded_stream_keeps_bytes_sent_with_the_head() {
        let (_d, c) = serve(
            b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello after head",
        );
        let mut h = c.hijack("/x", None).unwrap();
        let mut s = String::new();
        h.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello after head");
    }

    #[test]
    fn error_status_is_the_daemons_message() {
        let (_d, c) = serve(b"HTTP/1.1 404 Not Found\r\nContent-Length: 39\r\n\r\n{\"message\":\"No such container: nope\"}\n\n");
        let e = c.hijack("/x", None).err().unwrap();
        assert_eq!(
            e.to_string(),
            "Error response from daemon: No such container: nope"
        );
    }
}
