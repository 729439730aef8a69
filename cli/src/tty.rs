//! The local terminal: raw mode (restored on every exit path), its size, and the
//! signals `run`/`attach`/`exec` react to (SIGWINCH for resize, the proxied ones),
//! delivered through a self-pipe so that no work happens inside a signal handler.

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

/// Write end of the self-pipe; -1 until [`SignalPipe::install`].
static PIPE_W: AtomicI32 = AtomicI32::new(-1);
/// The terminal settings to put back, shared with the fatal-signal path.
static SAVED: Mutex<Option<libc::termios>> = Mutex::new(None);

/// Puts stdin's terminal into raw mode; dropping it restores the saved settings.
pub struct RawGuard {
    _private: (),
}

impl RawGuard {
    /// None when stdin is not a terminal (nothing to do).
    pub fn enable() -> Option<RawGuard> {
        // SAFETY: termios is plain data; tcgetattr fills it for a valid fd.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: tcgetattr writes into the struct we own.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut t) } != 0 {
            return None;
        }
        let saved = t;
        // SAFETY: cfmakeraw only edits the struct we own.
        unsafe { libc::cfmakeraw(&mut t) };
        // docker's raw mode keeps output post-processing off too (cfmakeraw does that).
        // SAFETY: applying settings to stdin's terminal.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) } != 0 {
            return None;
        }
        if let Ok(mut s) = SAVED.lock() {
            *s = Some(saved);
        }
        Some(RawGuard { _private: () })
    }
}

impl Drop for RawGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the saved terminal settings back (idempotent).
pub fn restore() {
    let saved = match SAVED.lock() {
        Ok(mut s) => s.take(),
        Err(_) => None,
    };
    if let Some(t) = saved {
        // SAFETY: applying settings we read from the same terminal earlier.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) };
    }
}

/// (rows, cols) of the terminal on `fd`, if it is one.
pub fn size_of(fd: i32) -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we own.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
}

/// The size docker sends: stdout's terminal, else stdin's.
pub fn size() -> Option<(u16, u16)> {
    size_of(libc::STDOUT_FILENO).or_else(|| size_of(libc::STDIN_FILENO))
}

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = PIPE_W.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = sig as u8;
        // SAFETY: write(2) is async-signal-safe; the pipe is non-blocking, so a full
        // pipe drops the notification instead of blocking the handler.
        unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
    }
}

/// Receives the signals installed with [`SignalPipe::install`], one byte per delivery.
pub struct SignalPipe {
    read: File,
}

impl SignalPipe {
    /// Routes `signals` to the pipe (their default action no longer applies).
    pub fn install(signals: &[libc::c_int]) -> std::io::Result<SignalPipe> {
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 fills the two-element array we own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: pipe2 just returned these descriptors and nothing else owns them.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: setting O_NONBLOCK on the write end we own.
        unsafe {
            let fl = libc::fcntl(fds[1], libc::F_GETFL);
            libc::fcntl(fds[1], libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
        // The write end lives for the rest of the process: handlers may fire any time.
        let wfd = std::os::fd::IntoRawFd::into_raw_fd(w);
        PIPE_W.store(wfd, Ordering::Relaxed);
        for &sig in signals {
            // SAFETY: the handler only calls write(2) on a descriptor that stays open.
            unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
        }
        Ok(SignalPipe {
            read: File::from(r),
        })
    }

    /// Blocks for the next signal; None when the pipe broke.
    pub fn next(&mut self) -> Option<libc::c_int> {
        let mut b = [0u8; 1];
        loop {
            match self.read.read(&mut b) {
                Ok(1) => return Some(libc::c_int::from(b[0])),
                Ok(_) => return None,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return None,
            }
        }
    }
}

/// Restores the terminal and dies of `sig` as if no handler had been installed.
pub fn die_of(sig: libc::c_int) -> ! {
    restore();
    // SAFETY: resetting to the default action and re-raising ends the process.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
    std::process::exit(128 + sig);
}

/// docker's term.ToBytes: "ctrl-p,ctrl-q" → [0x10, 0x11]; single characters as such.
pub fn detach_keys(spec: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for key in spec.split(',') {
        let k = key.trim().to_ascii_lowercase();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = match c.as_bytes() {
                [b @ b'a'..=b'z'] => b - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => return None,
            };
            out.push(b);
        } else if key.len() == 1 {
            out.push(key.as_bytes()[0]);
        } else {
            return None;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// docker's term.EscapeProxy state: input bytes that may start the detach sequence are
/// held back until they either complete it (detach) or diverge (passed on).
pub struct EscapeProxy {
    keys: Vec<u8>,
    matched: usize,
}

impl EscapeProxy {
    pub fn new(keys: Vec<u8>) -> Self {
        EscapeProxy { keys, matched: 0 }
    }

    pub fn keys(&self) -> &[u8] {
        &self.keys
    }

    /// Filters `input` into `out`; true when the full sequence was typed (the rest of
    /// the input is dropped, as docker does).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return true;
                }
            } else {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                    if self.keys.len() == 1 {
                        return true;
                    }
                } else {
                    out.push(b);
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_key_spec() {
        assert_eq!(detach_keys("ctrl-p,ctrl-q"), Some(vec![16, 17]));
        assert_eq!(detach_keys("a,ctrl-@"), Some(vec![b'a', 0]));
        assert_eq!(detach_keys("ctrl-"), None);
        assert_eq!(detach_keys("abc"), None);
    }

    #[test]
    fn escape_proxy_detects_and_passes_through() {
        let mut p = EscapeProxy::new(vec![16, 17]);
        let mut out = Vec::new();
        assert!(!p.feed(b"ls\x10", &mut out));
        assert_eq!(out, b"ls");
        assert!(!p.feed(b"x", &mut out));
        assert_eq!(out, b"ls\x10x");
        assert!(!p.feed(b"\x10\x10", &mut out));
        assert_eq!(out, b"ls\x10x\x10");
        assert!(p.feed(b"\x11rest", &mut out));
        assert_eq!(out, b"ls\x10x\x10");
    }

    #[test]
    fn signal_pipe_delivers() {
        let mut p = SignalPipe::install(&[libc::SIGUSR2]).unwrap();
        // SAFETY: raising a signal whose handler we just installed.
        unsafe { libc::raise(libc::SIGUSR2) };
        assert_eq!(p.next(), Some(libc::SIGUSR2));
    }
}
