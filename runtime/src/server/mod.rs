//! The shim's single-threaded event loop: ctl and attach sockets, the container's output, its
//! stdin, and its exit (pidfd), all in one poll(2).

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use crate::clients::{frame, AttachClient, Conn, CtlClient, MAX_PENDING};
use crate::logfile::LogWriter;
use crate::spawn::{self, Created};
use crate::state::{write_atomic, State, Status};
use crate::timefmt::now_rfc3339;

mod attach;
mod ctl;

/// ctl.sock and attach.sock, bound in the run dir (removed when the shim is done).
pub struct Sockets {
    pub ctl: UnixListener,
    pub attach: UnixListener,
    pub paths: Vec<PathBuf>,
}

pub struct Server {
    ctl: UnixListener,
    attach: UnixListener,
    socket_paths: Vec<PathBuf>,
    pub created: Created,
    pub log: Option<LogWriter>,
    pub state: State,
    pub state_path: PathBuf,
    pub terminal: bool,
    ctl_clients: Vec<CtlClient>,
    attach_clients: Vec<AttachClient>,
    outputs: Vec<(OwnedFd, u8)>,
    stdin_buf: Vec<u8>,
    stdin_close: bool,
}

#[derive(Clone, Copy)]
enum Slot {
    CtlListen,
    AttachListen,
    Exit,
    Out(usize),
    Stdin,
    Ctl(usize),
    Attach(usize),
}

impl Server {
    pub fn new(
        sockets: Sockets,
        mut created: Created,
        log: Option<LogWriter>,
        state: State,
        state_path: PathBuf,
        terminal: bool,
    ) -> Self {
        let outputs = std::mem::take(&mut created.outputs);
        Server {
            ctl: sockets.ctl,
            attach: sockets.attach,
            socket_paths: sockets.paths,
            created,
            log,
            state,
            state_path,
            terminal,
            ctl_clients: Vec::new(),
            attach_clients: Vec::new(),
            outputs,
            stdin_buf: Vec::new(),
            stdin_close: false,
        }
    }

    /// Serves until the process exited and everything is recorded.
    pub fn run(mut self) {
        let _ = self.ctl.set_nonblocking(true);
        let _ = self.attach.set_nonblocking(true);
        while self.state.status != Status::Exited {
            self.turn();
        }
        self.shutdown();
    }

    fn turn(&mut self) {
        let mut slots = Vec::new();
        let mut fds = Vec::new();
        let r = PollFlags::IN;
        slots.push(Slot::CtlListen);
        fds.push(PollFd::new(&self.ctl, r));
        slots.push(Slot::AttachListen);
        fds.push(PollFd::new(&self.attach, r));
        slots.push(Slot::Exit);
        fds.push(PollFd::new(&self.created.pidfd, r));
        // Back-pressure: while a client is far behind, the container waits on its pipe.
        let behind = self
            .attach_clients
            .iter()
            .any(|c| c.conn.out.len() >= MAX_PENDING);
        if !behind {
            for (i, (fd, _)) in self.outputs.iter().enumerate() {
                slots.push(Slot::Out(i));
                fds.push(PollFd::new(fd, r));
            }
        }
        if let Some(fd) = &self.created.stdin {
            if !self.stdin_buf.is_empty() {
                slots.push(Slot::Stdin);
                fds.push(PollFd::new(fd, PollFlags::OUT));
            }
        }
        let stdin_room = self.stdin_buf.len() < MAX_PENDING;
        for (i, c) in self.ctl_clients.iter().enumerate() {
            slots.push(Slot::Ctl(i));
            fds.push(PollFd::new(&c.conn.stream, interest(&c.conn, true)));
        }
        for (i, c) in self.attach_clients.iter().enumerate() {
            let reading = c.opts.is_none() || (c.opts.is_some_and(|o| o.stdin) && stdin_room);
            slots.push(Slot::Attach(i));
            fds.push(PollFd::new(&c.conn.stream, interest(&c.conn, reading)));
        }
        let tick = Timespec {
            tv_sec: 1,
            tv_nsec: 0,
        };
        match poll(&mut fds, behind.then_some(&tick)) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return,
            Err(e) => {
                eprintln!("rdocker-shim: poll: {e}");
                std::thread::sleep(Duration::from_millis(10));
                return;
            }
        }
        let ready: Vec<(Slot, PollFlags)> = slots
            .into_iter()
            .zip(fds.iter().map(|f| f.revents()))
            .filter(|(_, ev)| !ev.is_empty())
            .collect();
        drop(fds);
        let mut exited = false;
        for (slot, ev) in ready {
            match slot {
                Slot::CtlListen => self.accept_ctl(),
                Slot::AttachListen => self.accept_attach(),
                Slot::Exit => exited = true,
                Slot::Out(i) => self.read_output(i, false),
                Slot::Stdin => self.write_stdin(),
                Slot::Ctl(i) => self.ctl_event(i, ev),
                Slot::Attach(i) => self.attach_event(i, ev),
            }
        }
        for c in &mut self.attach_clients {
            if c.conn.stalled() {
                eprintln!("rdocker-shim: dropping an attach client that does not read");
                c.conn.dead = true;
            }
        }
        self.outputs.retain(|(_, s)| *s != 0);
        self.ctl_clients.retain(|c| !c.conn.dead);
        self.attach_clients.retain(|c| !c.conn.dead);
        if exited {
            self.on_exit();
        }
    }

    fn accept_ctl(&mut self) {
        while let Ok((s, _)) = self.ctl.accept() {
            if s.set_nonblocking(true).is_ok() {
                self.ctl_clients.push(CtlClient {
                    conn: Conn::new(s, true),
                    waiting: false,
                });
            }
        }
    }

    fn accept_attach(&mut self) {
        while let Ok((s, _)) = self.attach.accept() {
            if s.set_nonblocking(true).is_ok() {
                self.attach_clients.push(AttachClient {
                    conn: Conn::new(s, false),
                    opts: None,
                });
            }
        }
    }

    /// One chunk per turn (so a client falling behind pauses the container promptly), or
    /// everything up to EOF/EAGAIN when `drain` (after the exit).
    fn read_output(&mut self, i: usize, drain: bool) {
        let mut buf = vec![0u8; 64 * 1024];
        let stream = self.outputs[i].1;
        loop {
            match rustix::io::read(&self.outputs[i].0, &mut buf) {
                Ok(0) | Err(rustix::io::Errno::IO) => {
                    // Stream 0 marks the entry for removal (EOF; EIO = terminal hung up).
                    self.outputs[i].1 = 0;
                    return;
                }
                Ok(n) => {
                    self.dispatch(stream, &buf[..n]);
                    if !drain || n < buf.len() {
                        return;
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => return,
            }
        }
    }

    fn dispatch(&mut self, stream: u8, data: &[u8]) {
        if let Some(log) = &mut self.log {
            log.write(stream, data);
        }
        let mut framed = None;
        for c in &mut self.attach_clients {
            if c.wants(stream) {
                let f = framed.get_or_insert_with(|| frame(stream, data));
                c.conn.send(f);
            }
        }
    }

    fn save(&self) {
        if let Err(e) = write_atomic(&self.state_path, &self.state) {
            eprintln!("rdocker-shim: {e}");
        }
    }

    fn on_exit(&mut self) {
        let Some(code) = spawn::reap(self.created.pid) else {
            return;
        };
        // Whatever the process wrote before it died is still in the pipes.
        for i in 0..self.outputs.len() {
            self.read_output(i, true);
        }
        self.outputs.clear();
        if let Some(log) = &mut self.log {
            log.flush();
        }
        self.state.status = Status::Exited;
        self.state.exit_code = Some(code);
        self.state.finished_at = Some(now_rfc3339());
        self.save();
        let answer = serde_json::json!({"exit_code": code, "finished_at": self.state.finished_at});
        let answer = format!("{answer}\n");
        for c in &mut self.ctl_clients {
            if c.waiting {
                c.conn.send(answer.as_bytes());
            }
        }
    }

    /// Gives clients a moment to take their pending output, then closes everything.
    fn shutdown(self) {
        let Server {
            ctl,
            attach,
            socket_paths,
            mut ctl_clients,
            mut attach_clients,
            ..
        } = self;
        // New clients are refused at once instead of waiting on a backlog nobody serves.
        for p in &socket_paths {
            let _ = std::fs::remove_file(p);
        }
        drop((ctl, attach));
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let mut conns: Vec<&mut Conn> = ctl_clients
                .iter_mut()
                .map(|c| &mut c.conn)
                .chain(attach_clients.iter_mut().map(|c| &mut c.conn))
                .filter(|c| !c.dead && !c.out.is_empty())
                .collect();
            if conns.is_empty() || Instant::now() >= deadline {
                break;
            }
            let mut fds: Vec<PollFd<'_>> = conns
                .iter()
                .map(|c| PollFd::new(&c.stream, PollFlags::OUT))
                .collect();
            let _ = poll(
                &mut fds,
                Some(&Timespec {
                    tv_sec: 0,
                    tv_nsec: 100_000_000,
                }),
            );
            drop(fds);
            for c in conns.iter_mut() {
                c.flush();
            }
        }
    }
}

fn interest(c: &Conn, reading: bool) -> PollFlags {
    let mut f = PollFlags::empty();
    if reading && !c.read_closed {
        f |= PollFlags::IN;
    }
    if !c.out.is_empty() {
        f |= PollFlags::OUT;
    }
    f
}
