//! attach.sock clients: their options line, stdin bytes for the container, and closing stdin.

use rustix::event::PollFlags;

use super::Server;
use crate::clients::AttachOpts;

impl Server {
    pub(super) fn write_stdin(&mut self) {
        let Some(fd) = &self.created.stdin else {
            self.stdin_buf.clear();
            return;
        };
        match rustix::io::write(fd, &self.stdin_buf) {
            Ok(n) => {
                self.stdin_buf.drain(..n);
            }
            Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => {}
            // The process closed its stdin: what is left can never be delivered.
            Err(_) => {
                self.stdin_buf.clear();
                self.created.stdin = None;
            }
        }
        self.maybe_close_stdin();
    }

    pub(super) fn feed_stdin(&mut self, data: &[u8]) {
        if self.created.stdin.is_some() && !self.stdin_close {
            self.stdin_buf.extend_from_slice(data);
            self.write_stdin();
        }
    }

    pub(super) fn request_close_stdin(&mut self) {
        self.stdin_close = true;
        self.maybe_close_stdin();
    }

    pub(super) fn maybe_close_stdin(&mut self) {
        if !self.stdin_close || !self.stdin_buf.is_empty() {
            return;
        }
        if let Some(fd) = self.created.stdin.take() {
            if self.terminal {
                // A terminal has no write-side close: VEOF makes the reader see end of input.
                let _ = rustix::io::write(&fd, &[4u8]);
            }
        }
    }

    pub(super) fn attach_event(&mut self, i: usize, ev: PollFlags) {
        if ev.contains(PollFlags::OUT) {
            self.attach_clients[i].conn.flush();
        }
        if ev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            let c = &mut self.attach_clients[i];
            if ev.contains(PollFlags::HUP) && c.conn.out.is_empty() {
                c.conn.dead = true;
            }
            self.attach_input(i);
        }
    }

    /// Reads what the client sent: its options line first, then stdin bytes.
    pub(super) fn attach_input(&mut self, i: usize) {
        let c = &mut self.attach_clients[i];
        c.conn.fill();
        if c.opts.is_none() {
            if let Some(nl) = c.conn.inbuf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = c.conn.inbuf.drain(..=nl).collect();
                c.opts = Some(serde_json::from_slice::<AttachOpts>(&line).unwrap_or_default());
            }
        }
        let eof = c.conn.read_closed;
        let Some(o) = c.opts else {
            if eof {
                c.conn.dead = true;
            }
            return;
        };
        let data = std::mem::take(&mut c.conn.inbuf);
        if o.stdin {
            self.feed_stdin(&data);
            if eof && o.stdin_once {
                self.request_close_stdin();
            }
        }
    }

    /// Before "start": every attach client that connected (and sent its options) before the
    /// start request must see the first byte of output, even if poll has not reported it yet.
    pub(super) fn settle_attach_clients(&mut self) {
        self.accept_attach();
        for i in 0..self.attach_clients.len() {
            if self.attach_clients[i].opts.is_none() {
                self.attach_input(i);
            }
        }
    }
}
