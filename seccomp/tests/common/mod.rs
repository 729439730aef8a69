//! A minimal filter loader, as the runtime's: a forked child sets no_new_privs, loads the
//! exported bytes with `seccomp(SECCOMP_SET_MODE_FILTER)` and runs raw syscalls; the parent
//! reads what each returned.
#![allow(dead_code)]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Docker's default capability set.
pub const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

pub fn default_caps() -> Vec<String> {
    DEFAULT_CAPS.iter().map(|c| c.to_string()).collect()
}

pub fn caps_with(extra: &str) -> Vec<String> {
    let mut caps = default_caps();
    caps.push(extra.to_string());
    caps
}

#[derive(Debug, Clone, Copy)]
pub enum Probe {
    /// A native syscall with raw arguments.
    Syscall(libc::c_long, [libc::c_long; 6]),
    /// fork through raw `clone(SIGCHLD)`; the new process exits at once.
    Fork,
    /// A 32-bit x86 syscall through `int 0x80` (the compat architecture of the filter).
    #[cfg(target_arch = "x86_64")]
    I386(u32, [u32; 3]),
}

pub fn sys(nr: libc::c_long, args: &[libc::c_long]) -> Probe {
    let mut a = [0; 6];
    a[..args.len()].copy_from_slice(args);
    Probe::Syscall(nr, a)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok(i64),
    Err(i32),
}

impl Outcome {
    pub fn is_ok(self) -> bool {
        matches!(self, Outcome::Ok(_))
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ChildEnd {
    Ran(Vec<Outcome>),
    /// The child died of this signal (a KILL/TRAP action, or a bad-arch kill: SIGSYS).
    Signaled(i32),
    /// Loading the filter failed with this errno.
    LoadFailed(i32),
}

const MAX_PROBES: usize = 32;
const LOAD_FAILED: i64 = i64::MIN;

/// Runs `probes` in a forked child under `bpf` (None: no filter, the control run).
pub fn run(bpf: Option<&[u8]>, probes: &[Probe]) -> ChildEnd {
    assert!(probes.len() <= MAX_PROBES);
    let prog = bpf.map(|b| {
        assert_eq!(b.len() % 8, 0);
        libc::sock_fprog {
            len: (b.len() / 8) as u16,
            filter: b.as_ptr() as *mut libc::sock_filter,
        }
    });
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints for pipe2 to fill.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the child only makes raw syscalls on memory prepared before the fork and
    // leaves with _exit: nothing that could need a lock another test thread holds.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: see above; `child` never returns.
        unsafe { child(prog.as_ref(), probes, wr.as_raw_fd()) }
    }
    drop(wr);
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::fs::File::from(rd), &mut bytes).expect("read results");
    let mut status = 0;
    // SAFETY: pid is our own child; status is a valid int.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    if libc::WIFSIGNALED(status) {
        return ChildEnd::Signaled(libc::WTERMSIG(status));
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child status {status:#x}"
    );
    let words: Vec<i64> = bytes
        .chunks_exact(8)
        .map(|c| i64::from_ne_bytes(c.try_into().expect("8 bytes")))
        .collect();
    if words.first() == Some(&LOAD_FAILED) {
        return ChildEnd::LoadFailed(words[1] as i32);
    }
    assert_eq!(
        words.len(),
        probes.len(),
        "child reported {} of {} results",
        words.len(),
        probes.len()
    );
    ChildEnd::Ran(
        words
            .iter()
            .map(|&w| {
                if w < 0 {
                    Outcome::Err(-w as i32)
                } else {
                    Outcome::Ok(w)
                }
            })
            .collect(),
    )
}

/// Runs the probes and expects the child to have run them all.
pub fn outcomes(bpf: Option<&[u8]>, probes: &[Probe]) -> Vec<Outcome> {
    match run(bpf, probes) {
        ChildEnd::Ran(o) => o,
        other => panic!("filtered child did not run its probes: {other:?}"),
    }
}

/// # Safety
/// Reads this thread's errno: callable from any thread; unsafe only for the raw pointer read.
unsafe fn errno() -> i64 {
    i64::from(*libc::__errno_location())
}

/// # Safety
/// Only in the child of a fork of this single-purpose test process: it installs a filter,
/// makes raw syscalls and `_exit`s without unwinding or touching the parent's state.
unsafe fn child(prog: Option<&libc::sock_fprog>, probes: &[Probe], out: libc::c_int) -> ! {
    let mut results = [0i64; MAX_PROBES];
    if let Some(prog) = prog {
        let loaded = libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
            && libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                prog as *const _,
            ) == 0;
        if !loaded {
            results[0] = LOAD_FAILED;
            results[1] = errno();
            libc::write(out, results.as_ptr().cast(), 16);
            libc::_exit(0);
        }
    }
    for (slot, probe) in results.iter_mut().zip(probes) {
        *slot = match *probe {
            Probe::Syscall(nr, a) => {
                let r = libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
                if r == -1 {
                    -errno()
                } else {
                    r
                }
            }
            Probe::Fork => {
                let r = libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0);
                if r == 0 {
                    libc::_exit(0);
                }
                if r < 0 {
                    -errno()
                } else {
                    let mut st = 0;
                    libc::waitpid(r as libc::pid_t, &mut st, 0);
                    0
                }
            }
            #[cfg(target_arch = "x86_64")]
            Probe::I386(nr, a) => i64::from(int80(nr, a)),
        };
    }
    libc::write(out, results.as_ptr().cast(), probes.len() * 8);
    libc::_exit(0)
}

/// A 32-bit syscall from a 64-bit process: the kernel sees AUDIT_ARCH_I386 and the x86
/// syscall table, as for a 32-bit binary in the container. Returns the raw result (-errno).
/// # Safety
/// A raw `int 0x80` with integer arguments only (no pointers the kernel could write through).
#[cfg(target_arch = "x86_64")]
unsafe fn int80(nr: u32, a: [u32; 3]) -> i32 {
    let ret: i32;
    // ebx cannot be named as an operand (LLVM reserves rbx): swap it in and out.
    std::arch::asm!(
        "xchg {b:r}, rbx",
        "int 0x80",
        "xchg {b:r}, rbx",
        b = inout(reg) u64::from(a[0]) => _,
        inlateout("eax") nr as i32 => ret,
        in("ecx") a[1],
        in("edx") a[2],
        out("r8") _, out("r9") _, out("r10") _, out("r11") _,
    );
    ret
}
