//! Connections to ctl.sock and attach.sock: non-blocking sockets with bounded output buffers, so
//! a client that stops reading can never block the shim.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Output pending for one client beyond which the shim stops reading the container's output
/// (the process then blocks on its pipe, as under docker); a ctl client is dropped instead.
pub const MAX_PENDING: usize = 1 << 20;

/// An attach client that sits at MAX_PENDING without taking a byte for this long is dropped, so a
/// client that never reads cannot hold the container forever.
pub const STALL_LIMIT: Duration = Duration::from_secs(5);

pub struct Conn {
    pub stream: UnixStream,
    pub out: Vec<u8>,
    pub inbuf: Vec<u8>,
    /// The peer shut its write side (or we stopped reading from it).
    pub read_closed: bool,
    pub dead: bool,
    /// Drop the client (instead of pausing the container) when MAX_PENDING is exceeded.
    pub drop_when_full: bool,
    /// The last time the peer took bytes (or had nothing pending).
    pub last_progress: Instant,
}

impl Conn {
    pub fn new(stream: UnixStream, drop_when_full: bool) -> Self {
        Conn {
            stream,
            out: Vec::new(),
            inbuf: Vec::new(),
            read_closed: false,
            dead: false,
            drop_when_full,
            last_progress: Instant::now(),
        }
    }

    /// Full for longer than STALL_LIMIT: the peer does not read.
    pub fn stalled(&self) -> bool {
        self.out.len() >= MAX_PENDING && self.last_progress.elapsed() >= STALL_LIMIT
    }

    /// Queues `data`, writing at once what the socket takes.
    pub fn send(&mut self, data: &[u8]) {
        if self.dead {
            return;
        }
        if self.out.is_empty() {
            self.last_progress = Instant::now();
        }
        self.out.extend_from_slice(data);
        self.flush();
        if self.drop_when_full && self.out.len() > MAX_PENDING {
            self.dead = true;
        }
    }

    pub fn flush(&mut self) {
        while !self.out.is_empty() && !self.dead {
            match self.stream.write(&self.out) {
                Ok(0) => self.dead = true,
                Ok(n) => {
                    self.out.drain(..n);
                    self.last_progress = Instant::now();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.dead = true,
            }
        }
    }

    /// Reads what is available into `inbuf`; marks EOF.
    pub fn fill(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.read_closed = true;
                    return;
                }
                Ok(n) => {
                    self.inbuf.extend_from_slice(&buf[..n]);
                    if n < buf.len() {
                        return;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.read_closed = true;
                    self.dead = true;
                    return;
                }
            }
        }
    }

    /// Takes the complete lines out of `inbuf`.
    pub fn take_lines(&mut self) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        while let Some(nl) = self.inbuf.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = self.inbuf.drain(..=nl).collect();
            line.pop();
            lines.push(line);
        }
        lines
    }
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(default)]
pub struct AttachOpts {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub stdin_once: bool,
}

pub struct AttachClient {
    pub conn: Conn,
    /// None until the client's JSON line arrived.
    pub opts: Option<AttachOpts>,
}

impl AttachClient {
    pub fn wants(&self, stream: u8) -> bool {
        match self.opts {
            Some(o) => (stream == 1 && o.stdout) || (stream == 2 && o.stderr),
            None => false,
        }
    }
}

/// Docker's multiplexed frame header.
pub fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(8 + payload.len());
    f.push(stream);
    f.extend_from_slice(&[0, 0, 0]);
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

pub struct CtlClient {
    pub conn: Conn,
    pub waiting: bool,
}

#[derive(Debug, Deserialize)]
pub struct CtlRequest {
    pub op: String,
    #[serde(default)]
    pub signal: Option<i32>,
    #[serde(default)]
    pub height: Option<u16>,
    #[serde(default)]
    pub width: Option<u16>,
}
