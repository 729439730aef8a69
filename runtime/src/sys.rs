//! Thin wrappers over the syscalls the shim needs that rustix does not cover (or covers awkwardly).

use std::ffi::CString;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};

fn check(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `clone(flags | SIGCHLD)` used like fork(2); returns 0 in the child, the child's pid in the parent.
pub fn clone_fork(flags: libc::c_int) -> io::Result<libc::pid_t> {
    let flags = (flags | libc::SIGCHLD) as libc::c_ulong;
    // SAFETY: without CLONE_VM and with a NULL stack, clone(2) behaves like fork(2): the child
    // runs on a copy of the parent's address space and stack. The shim is single-threaded, so
    // no other thread can hold the allocator's or stdio's locks at this moment and the child may
    // keep using ordinary Rust code. The pointer arguments are NULL, which clone accepts.
    let r = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    check(r).map(|pid| pid as libc::pid_t)
}

/// Joins the namespace behind `fd` (`nstype` 0 = whatever it is).
pub fn setns(fd: BorrowedFd<'_>, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: setns takes an fd we borrow for the duration of the call and an integer.
    let r = unsafe { libc::setns(fd.as_raw_fd(), nstype) };
    check(r.into()).map(drop)
}

/// Whether the namespace behind `fd` is not the caller's own namespace of kind `name`
/// ("net", "ipc", "cgroup", ...).
pub fn is_other_ns(fd: BorrowedFd<'_>, name: &str) -> io::Result<bool> {
    let theirs = rustix::fs::fstat(fd)?;
    let own = format!("/proc/self/ns/{name}");
    let ours = rustix::fs::statat(rustix::fs::CWD, own.as_str(), rustix::fs::AtFlags::empty())?;
    Ok((theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino))
}

/// Marks every fd from 3 up close-on-exec, so nothing of the shim leaks into the container.
pub fn cloexec_from_3() -> io::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes fd flags; no memory involved.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    check(r).map(drop)
}

/// Closes every fd from 3 up: what the shim inherited by mistake never reaches a container,
/// and the `--init` PID 1 keeps none of the shim's fds.
pub fn close_from_3() -> io::Result<()> {
    // SAFETY: close_range closes fds only; callers hold no OwnedFd in that range (at the shim's
    // start nothing is open yet, in the init every fd it still needs was dropped).
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    check(r).map(drop)
}

/// unshare(2) of namespaces that need no fork (CLONE_NEWCGROUP).
pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare takes an integer; the flags used here do not touch memory or fds.
    let r = unsafe { libc::unshare(flags) };
    check(r.into()).map(drop)
}

fn prctl(op: libc::c_int, arg: libc::c_ulong) -> io::Result<()> {
    // SAFETY: the options used here take plain integers (or, for PR_SET_NAME, a pointer to a
    // NUL-terminated buffer the caller keeps alive across the call).
    let r = unsafe {
        libc::prctl(
            op,
            arg,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    check(r.into()).map(drop)
}

pub fn set_pdeathsig(sig: libc::c_int) -> io::Result<()> {
    prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong)
}

/// Non-dumpable: other processes in the container cannot open our /proc/<pid>/exe (the shim
/// binary on the host) or ptrace us before execve; execve resets it.
pub fn set_nondumpable() -> io::Result<()> {
    prctl(libc::PR_SET_DUMPABLE, 0)
}

pub fn set_name(name: &str) -> io::Result<()> {
    let c = CString::new(name).map_err(io::Error::other)?;
    prctl(libc::PR_SET_NAME, c.as_ptr() as libc::c_ulong)
}

/// Rewrites this process's command line (what `ps` shows from /proc/<pid>/cmdline) in place,
/// truncated to the original's length: `--init`'s PID 1 is the shim's own code, whose real
/// command line names host paths (data root, bundle) that a container must not see.
/// PR_SET_MM_ARG_START would need CAP_SYS_RESOURCE, which some hosts withhold; overwriting the
/// argv area (what setproctitle does) needs nothing.
pub fn set_cmdline(text: &str) -> io::Result<()> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the comm's closing parenthesis start at field 3; arg_start/arg_end are
    // fields 48 and 49 (proc(5)).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| -> io::Result<usize> {
        fields
            .get(i - 3)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| io::Error::other("unexpected /proc/self/stat"))
    };
    let (start, end) = (num(48)?, num(49)?);
    if start == 0 || end <= start {
        return Err(io::Error::other("no argument area"));
    }
    let len = end - start;
    let bytes = text.as_bytes();
    let n = bytes.len().min(len - 1);
    // SAFETY: [arg_start, arg_end) is this process's own argv area (on its stack, mapped and
    // writable); we write inside it only, and nothing else of ours reads it (std::env::args was
    // copied at start-up). The last byte stays NUL.
    unsafe {
        let p = start as *mut u8;
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, n);
        std::ptr::write_bytes(p.add(n), 0, len - n);
    }
    Ok(())
}

/// Sends `sig` through a pidfd (no pid-reuse race).
pub fn pidfd_signal(pidfd: BorrowedFd<'_>, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: pidfd_send_signal with a NULL siginfo and no flags; the fd is borrowed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0u32,
        )
    };
    check(r).map(drop)
}

pub fn kill(pid: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: kill takes two integers.
    let r = unsafe { libc::kill(pid, sig) };
    check(r.into()).map(drop)
}

/// Blocks (`how` = SIG_BLOCK/SIG_SETMASK) the given signals; returns the previous mask.
pub fn sigmask(how: libc::c_int, signals: &[libc::c_int]) -> io::Result<libc::sigset_t> {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before use, and
    // sigprocmask writes the old mask into memory we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in signals {
            libc::sigaddset(&mut set, *s);
        }
        if libc::sigprocmask(how, &set, &mut old) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(old)
    }
}

/// Before execve: an empty signal mask and default dispositions (Rust ignores SIGPIPE, and an
/// ignored signal would stay ignored in the container's process).
pub fn reset_signals() {
    // SAFETY: restoring SIG_DFL for catchable signals and clearing the mask has no memory effects;
    // errors (for SIGKILL/SIGSTOP, which cannot be changed) are ignored on purpose.
    unsafe {
        for sig in 1..libc::SIGRTMIN() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Passes `fd` over a unix socket (SCM_RIGHTS).
pub fn send_fd(sock: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds = [fd];
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(io::Error::other("control buffer too small"));
    }
    sendmsg(
        sock,
        &[IoSlice::new(b"F")],
        &mut control,
        SendFlags::empty(),
    )?;
    Ok(())
}

pub fn recv_fd(sock: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut byte = [0u8; 1];
    let msg = recvmsg(
        sock,
        &mut [IoSliceMut::new(&mut byte)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    if msg.bytes == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the container's init exited before sending the terminal",
        ));
    }
    for m in control.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = m {
            if let Some(fd) = fds.next() {
                return Ok(fd);
            }
        }
    }
    Err(io::Error::other("no file descriptor in the message"))
}

/// write(2) until everything is written (blocking fd), retrying on EINTR.
pub fn write_all(fd: impl AsFd, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match rustix::io::write(&fd, data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Reads one byte, retrying on EINTR; None on EOF.
pub fn read_byte(fd: impl AsFd) -> io::Result<Option<u8>> {
    let mut b = [0u8; 1];
    loop {
        match rustix::io::read(&fd, &mut b) {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(b[0])),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reads to EOF (blocking), retrying on EINTR.
pub fn read_to_end(fd: impl AsFd) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match rustix::io::read(&fd, &mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Exit without running atexit handlers or flushing std's buffers shared with the parent.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// Sets the loopback interface of a fresh network namespace up (it starts down).
pub fn loopback_up() -> io::Result<()> {
    let sock = rustix::net::socket(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::DGRAM,
        None,
    )?;
    // SAFETY: ifreq is plain data, zero-initialised; the name fits with its NUL; the two ioctls
    // read and write only that struct, and `sock` stays open across both calls.
    unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) != 0 {
            return Err(io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
