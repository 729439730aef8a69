//! The shim side of creating the container's init (or an exec process): pipes, clone, and the
//! create/start handshake over the sync pipe.

use std::os::fd::{AsFd, OwnedFd};

use oci_spec::runtime::Process;
use rustix::fs::{Mode, OFlags};
use rustix::net::{AddressFamily, SocketFlags, SocketType};
use rustix::pipe::{pipe_with, PipeFlags};
use rustix::process::{pidfd_open, Pid, PidfdFlags};

use crate::child::{self, ChildSetup, Stdio, Target};
use crate::error::{Context, ShimError};
use crate::sys;
use crate::tinyinit::exit_code;

pub struct SpawnRequest<'a> {
    pub target: Target<'a>,
    /// CLONE_NEW* flags for the clone.
    pub clone_flags: libc::c_int,
    pub process: &'a Process,
    pub user: Option<String>,
    pub group_add: Vec<String>,
    pub init: bool,
    pub open_stdin: bool,
    /// The child sees the shim as its parent (no pid namespace made or joined): it can then check
    /// with getppid that the shim is still there.
    pub parent_visible: bool,
}

pub struct Created {
    pub pid: libc::pid_t,
    pub pidfd: OwnedFd,
    /// Read ends: (fd, stream 1|2). With a terminal, only the master as stream 1.
    pub outputs: Vec<(OwnedFd, u8)>,
    /// Write end of the container's stdin (pipe, or a copy of the master).
    pub stdin: Option<OwnedFd>,
    pub master: Option<OwnedFd>,
    pub sync_r: OwnedFd,
    pub start_w: OwnedFd,
    /// The init's set-up timings from its ready line (`timings_us`).
    pub timings: Option<serde_json::Value>,
}

fn pipe() -> Result<(OwnedFd, OwnedFd), ShimError> {
    pipe_with(PipeFlags::CLOEXEC).ctx(|| "create a pipe")
}

pub fn spawn(req: SpawnRequest<'_>) -> Result<Created, ShimError> {
    let terminal = req.process.terminal().unwrap_or(false);
    let (sync_r, sync_w) = pipe()?;
    let (start_r, start_w) = pipe()?;
    let mut parent_side: Vec<(OwnedFd, u8)> = Vec::new();
    let mut stdin_w = None;
    let mut term_sock = None;
    let stdio = if terminal {
        let (a, b) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .ctx(|| "create the terminal socketpair")?;
        term_sock = Some(a);
        Stdio::Terminal { sock: b }
    } else {
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        parent_side.push((out_r, 1));
        parent_side.push((err_r, 2));
        let stdin = if req.open_stdin {
            let (r, w) = pipe()?;
            stdin_w = Some(w);
            r
        } else {
            rustix::fs::open("/dev/null", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                .ctx(|| "open /dev/null")?
        };
        Stdio::Pipes {
            stdin,
            stdout: out_w,
            stderr: err_w,
        }
    };
    let shim_pid = rustix::process::getpid().as_raw_nonzero().get();
    // Before the init exists: it is cloned into the host's user namespace and joins this one
    // last (userns.rs).
    let userns = match &req.target {
        Target::Container { spec, .. } => crate::userns::from_spec(spec)?,
        Target::Exec { .. } => None,
    };

    let pid = sys::clone_fork(req.clone_flags).ctx(|| "clone the container's init")?;
    if pid == 0 {
        drop((sync_r, start_w, parent_side, stdin_w, term_sock));
        child::run(ChildSetup {
            target: req.target,
            process: req.process,
            user: req.user,
            group_add: req.group_add,
            stdio,
            sync_w,
            start_r,
            init: req.init,
            shim_pid: req.parent_visible.then_some(shim_pid),
            userns,
        });
    }
    // The init holds the user namespace now (by fd, then as a member).
    drop((stdio, sync_w, start_r, req.target, userns));
    let created = finish_create(
        pid,
        sync_r,
        start_w,
        parent_side,
        stdin_w,
        term_sock,
        req.open_stdin,
    );
    if created.is_err() {
        let _ = sys::kill(pid, libc::SIGKILL);
        let _ = rustix::process::waitpid(Pid::from_raw(pid), rustix::process::WaitOptions::empty());
    }
    created
}

fn finish_create(
    pid: libc::pid_t,
    sync_r: OwnedFd,
    start_w: OwnedFd,
    mut outputs: Vec<(OwnedFd, u8)>,
    mut stdin: Option<OwnedFd>,
    term_sock: Option<OwnedFd>,
    open_stdin: bool,
) -> Result<Created, ShimError> {
    let pidfd = Pid::from_raw(pid)
        .ok_or_else(|| ShimError::Spec("clone returned pid 0".into()))
        .and_then(|p| pidfd_open(p, PidfdFlags::empty()).ctx(|| format!("pidfd_open {pid}")))?;
    let mut master = None;
    if let Some(sock) = term_sock {
        match sys::recv_fd(sock.as_fd()) {
            Ok(m) => {
                // Without an open stdin the terminal still is the process's stdin, but nobody
                // may type into it.
                if open_stdin {
                    stdin = Some(rustix::io::dup(&m).ctx(|| "dup the terminal master")?);
                }
                outputs.push((rustix::io::dup(&m).ctx(|| "dup the terminal master")?, 1));
                master = Some(m);
            }
            // The child failed before it got to the terminal: its error line says why.
            Err(e) => {
                read_ready(&sync_r).map_err(|re| match re {
                    ShimError::Spec(_) => ShimError::sys("receive the terminal master", e),
                    other => other,
                })?;
                return Err(ShimError::Spec("terminal set-up failed".into()));
            }
        }
    }
    let timings = read_ready(&sync_r)?;
    for (fd, _) in &outputs {
        set_nonblocking(fd)?;
    }
    if let Some(fd) = &stdin {
        set_nonblocking(fd)?;
    }
    Ok(Created {
        pid,
        pidfd,
        outputs,
        stdin,
        master,
        sync_r,
        start_w,
        timings,
    })
}

pub fn set_nonblocking(fd: &OwnedFd) -> Result<(), ShimError> {
    let flags = rustix::fs::fcntl_getfl(fd).ctx(|| "fcntl(F_GETFL)")?;
    rustix::fs::fcntl_setfl(fd, flags | OFlags::NONBLOCK).ctx(|| "fcntl(F_SETFL, O_NONBLOCK)")
}

/// Reads the child's first line: `{"ok":true,"timings_us":{..}}` or its error.
fn read_ready(sync_r: &OwnedFd) -> Result<Option<serde_json::Value>, ShimError> {
    let mut line = Vec::new();
    while let Some(b) = sys::read_byte(sync_r).ctx(|| "read from the container's init")? {
        if b == b'\n' {
            break;
        }
        line.push(b);
    }
    if line.is_empty() {
        return Err(ShimError::Spec(
            "the container's init exited during set-up without a message".into(),
        ));
    }
    parse_child_line(&line)?;
    Ok(crate::timings::from_ready_line(&line))
}

/// A child line is `{"ok":true}` or `{"error":"...","exit_code":N}`.
pub fn parse_child_line(line: &[u8]) -> Result<(), ShimError> {
    let v: serde_json::Value = serde_json::from_slice(line).map_err(|e| ShimError::Reported {
        message: format!("bad message from the container's init: {e}"),
        exit_code: 125,
    })?;
    if v.get("ok").and_then(|o| o.as_bool()) == Some(true) {
        return Ok(());
    }
    Err(ShimError::Reported {
        message: v
            .get("error")
            .and_then(|e| e.as_str())
            .unwrap_or("unknown error")
            .to_string(),
        exit_code: v
            .get("exit_code")
            .and_then(|c| c.as_i64())
            .and_then(|c| i32::try_from(c).ok())
            .unwrap_or(125),
    })
}

/// "start": releases the child and waits until its execve closed the sync pipe (success) or an
/// error line arrived.
pub fn start(start_w: &OwnedFd, sync_r: &OwnedFd) -> Result<(), ShimError> {
    sys::write_all(start_w, b"S").ctx(|| "release the container's process")?;
    let rest = sys::read_to_end(sync_r).ctx(|| "read the execve result")?;
    let line = rest.split(|b| *b == b'\n').next().unwrap_or_default();
    if line.is_empty() {
        return Ok(());
    }
    parse_child_line(line)
}

/// Blocking reap of the container's init; returns Docker's exit code.
pub fn reap(pid: libc::pid_t) -> Option<i32> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes the status into a local integer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return Some(exit_code(status));
        }
        if r == 0 {
            return None;
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return None;
        }
    }
}
