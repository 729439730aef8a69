//! `--init`: PID 1 forks the user's process, forwards signals to it, reaps every zombie, and
//! exits with the process's status (no second binary: this is the shim's own code).

use std::os::fd::OwnedFd;

use crate::child::{self, error_line, Prepared};
use crate::error::ShimError;
use crate::sys;

const FORWARDED: [libc::c_int; 7] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGQUIT,
    libc::SIGWINCH,
];

pub fn run(p: &Prepared, sync_w: OwnedFd) -> ! {
    // Blocked signals reach PID 1 of a pid namespace even without a handler (the kernel drops
    // unhandled ones), and sigwaitinfo collects them.
    let mut waited = FORWARDED.to_vec();
    waited.push(libc::SIGCHLD);
    let child = sys::sigmask(libc::SIG_BLOCK, &waited)
        .and_then(|_| sys::clone_fork(0))
        .unwrap_or_else(|e| fail(&sync_w, ShimError::sys("start the process under init", e)));
    if child == 0 {
        own_foreground_group(p.terminal);
        if let Err(e) = sys::set_pdeathsig(libc::SIGKILL) {
            fail(&sync_w, ShimError::sys("prctl(PR_SET_PDEATHSIG)", e));
        }
        child::exec(p, &sync_w);
    }
    // Only the process holds the sync pipe now: its execve closes it.
    drop(sync_w);
    // Nothing of the shim's (listening sockets, log file) stays open in the container's PID 1.
    let _ = sys::close_from_3();
    let _ = sys::set_name("rdocker-init");
    let args: Vec<_> = p.argv.iter().map(|a| a.to_string_lossy()).collect();
    let _ = sys::set_cmdline(&format!("rdocker-init -- {}", args.join(" ")));
    let set = sigset(&waited);
    loop {
        // SAFETY: `set` is an initialised sigset_t; a NULL siginfo pointer is allowed.
        let sig = unsafe { libc::sigwaitinfo(&set, std::ptr::null_mut()) };
        if sig == libc::SIGCHLD {
            if let Some(code) = reap(child) {
                sys::exit_now(code);
            }
        } else if sig > 0 {
            let _ = sys::kill(child, sig);
        }
    }
}

fn fail(sync_w: &OwnedFd, e: ShimError) -> ! {
    let _ = sys::write_all(sync_w, error_line(&e).as_bytes());
    sys::exit_now(e.exit_code())
}

/// The process gets its own process group and, with a terminal, the foreground: a ^C then
/// reaches it once (from the terminal), not twice (terminal + forwarding).
fn own_foreground_group(terminal: bool) {
    let _ = rustix::process::setpgid(None, None);
    if terminal {
        // SIGTTOU is blocked by the caller's mask only for the forwarded set; block it too so a
        // background group may take the terminal.
        let _ = sys::sigmask(libc::SIG_BLOCK, &[libc::SIGTTOU]);
        // SAFETY: tcsetpgrp takes the terminal fd 0 and our own pid.
        unsafe {
            libc::tcsetpgrp(0, libc::getpid());
        }
    }
}

fn sigset(signals: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the zeroed plain-data set before sigaddset writes to it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in signals {
            libc::sigaddset(&mut set, *s);
        }
        set
    }
}

/// Reaps every exited child; returns the exit code once `child` is among them.
fn reap(child: libc::pid_t) -> Option<i32> {
    let mut result = None;
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into a local integer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return result;
        }
        if pid == child {
            result = Some(exit_code(status));
        }
    }
}

pub fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}
