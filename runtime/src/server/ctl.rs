//! ctl.sock requests (PROTOCOL.md): start, kill, resize, state, wait, close-stdin.

use std::os::fd::AsFd;

use rustix::event::PollFlags;

use super::Server;
use crate::clients::CtlRequest;
use crate::spawn;
use crate::state::Status;
use crate::timefmt::now_rfc3339;
use crate::{pty, sys};

impl Server {
    pub(super) fn ctl_event(&mut self, i: usize, ev: PollFlags) {
        if ev.contains(PollFlags::OUT) {
            self.ctl_clients[i].conn.flush();
        }
        if ev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            self.ctl_clients[i].conn.fill();
            for line in self.ctl_clients[i].conn.take_lines() {
                match serde_json::from_slice::<CtlRequest>(&line) {
                    Ok(req) if req.op == "wait" => self.ctl_clients[i].waiting = true,
                    Ok(req) => {
                        let resp = self.handle(&req);
                        self.ctl_clients[i]
                            .conn
                            .send(format!("{resp}\n").as_bytes());
                    }
                    Err(e) => {
                        let resp = serde_json::json!({"error": format!("bad request: {e}")});
                        self.ctl_clients[i]
                            .conn
                            .send(format!("{resp}\n").as_bytes());
                    }
                }
            }
            let c = &mut self.ctl_clients[i];
            if c.conn.read_closed && !c.waiting && c.conn.out.is_empty() {
                c.conn.dead = true;
            }
        }
    }

    pub(super) fn handle(&mut self, req: &CtlRequest) -> serde_json::Value {
        use serde_json::json;
        let exited = self.state.status == Status::Exited;
        match req.op.as_str() {
            "start" => match self.state.status {
                Status::Running => json!({"ok": true}),
                Status::Exited => json!({"error": "container not running"}),
                Status::Created => {
                    self.settle_attach_clients();
                    match spawn::start(&self.created.start_w, &self.created.sync_r) {
                        Ok(()) => {
                            self.state.status = Status::Running;
                            self.state.started_at = Some(now_rfc3339());
                            self.save();
                            json!({"ok": true})
                        }
                        Err(e) => {
                            self.state.error = Some(e.to_string());
                            json!({"error": e.to_string(), "exit_code": e.exit_code()})
                        }
                    }
                }
            },
            "kill" if exited => json!({"error": "container not running"}),
            "kill" => {
                let sig = req.signal.unwrap_or(libc::SIGKILL);
                match sys::pidfd_signal(self.created.pidfd.as_fd(), sig) {
                    Ok(()) => json!({"ok": true}),
                    Err(e) => {
                        json!({"error": format!("kill {} with signal {sig}: {e}", self.created.pid)})
                    }
                }
            }
            "resize" => match &self.created.master {
                Some(m) => {
                    match pty::set_size(m, req.height.unwrap_or(0), req.width.unwrap_or(0)) {
                        Ok(()) => json!({"ok": true}),
                        Err(e) => json!({"error": e.to_string()}),
                    }
                }
                None => json!({"error": "the container has no terminal"}),
            },
            "state" => json!({
                "pid": self.state.pid,
                "status": self.state.status.as_str(),
                "exit_code": self.state.exit_code,
            }),
            "close-stdin" => {
                self.request_close_stdin();
                json!({"ok": true})
            }
            other => json!({"error": format!("unknown op {other:?}")}),
        }
    }
}
