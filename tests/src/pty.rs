//! A real pseudo-terminal for interactive tests: the child gets the slave side as its
//! controlling terminal (setsid + TIOCSCTTY), the test types on the master and reads what a
//! user would see. No `script`/`expect` involved, so what is asserted is exactly what a
//! terminal shows.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The prompt of busybox's `sh` as root in `/`.
pub const BUSYBOX_PROMPT: &str = "/ # ";

/// Device Status Report: the program asks the terminal for the cursor position.
const CURSOR_QUERY: &[u8] = b"\x1b[6n";

pub struct PtySession {
    child: Child,
    master: File,
    screen: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
    /// Offset in `screen` up to which earlier expectations consumed output.
    mark: usize,
    pub label: String,
}

fn openpty(rows: u16, cols: u16) -> Result<(OwnedFd, OwnedFd)> {
    let mut master = -1;
    let mut slave = -1;
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: out-pointers to two ints; a null name and termios, and a valid winsize.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error()).context("openpty");
    }
    // SAFETY: openpty succeeded, so both are fresh descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) })
}

impl PtySession {
    /// Spawns `cmd` on a fresh 24x80 terminal as its session leader.
    pub fn spawn(cmd: &mut Command) -> Result<PtySession> {
        let label = format!("{cmd:?}");
        let (master, slave) = openpty(24, 80)?;
        let master_raw = master.as_raw_fd();
        cmd.stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave.try_clone()?))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls (setsid, ioctl, close) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // stdin is the slave by now: make it the controlling terminal.
                if libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(master_raw);
                Ok(())
            })
        };
        let child = cmd.spawn().with_context(|| format!("spawning {label}"))?;
        let master = File::from(master);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut rd = master.try_clone()?;
        let mut answer = master.try_clone()?;
        let sink = screen.clone();
        // Reads until EIO: the slave side closed when the child and everything it started exited.
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // The tail of the previous chunk, so a query split across two reads is still seen.
            let mut carry: Vec<u8> = Vec::new();
            loop {
                match rd.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        sink.lock()
                            .expect("screen lock")
                            .extend_from_slice(&buf[..n]);
                        carry.extend_from_slice(&buf[..n]);
                        // A terminal answers "where is the cursor?" (busybox's line editor asks
                        // after each prompt and swallows typed input while it waits).
                        while let Some(pos) = find(&carry, CURSOR_QUERY) {
                            let _ = answer.write_all(b"\x1b[24;5R");
                            carry.drain(..pos + CURSOR_QUERY.len());
                        }
                        let keep = carry.len().saturating_sub(CURSOR_QUERY.len() - 1);
                        carry.drain(..keep);
                    }
                }
            }
        });
        Ok(PtySession {
            child,
            master,
            screen,
            reader: Some(reader),
            mark: 0,
            label,
        })
    }

    /// Everything the terminal showed so far.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().expect("screen lock")).into_owned()
    }

    /// Types `s` as a user would (no newline added).
    pub fn type_str(&mut self, s: &str) -> Result<()> {
        self.master.write_all(s.as_bytes())?;
        self.master.flush()?;
        Ok(())
    }

    /// Waits until `needle` appears after the mark; moves the mark past it and returns the
    /// output between the old mark and the needle.
    pub fn expect(&mut self, needle: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let screen = self.screen.lock().expect("screen lock");
                let tail = &screen[self.mark.min(screen.len())..];
                if let Some(pos) = find(tail, needle.as_bytes()) {
                    let out = String::from_utf8_lossy(&tail[..pos]).into_owned();
                    self.mark += pos + needle.len();
                    return Ok(out);
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}: {needle:?} did not appear within {timeout:?}; terminal so far:\n{}",
                    self.label,
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `line` + Enter at a shell prompt and returns what the command printed (`\r\n`
    /// turned into `\n`, escape sequences removed), waiting for the echo of the line, the end
    /// of that line, and then the next `prompt`. Waiting for the echo first matters: a shell
    /// redraws its prompt on SIGWINCH (clients resize the terminal after the start), and that
    /// redraw must not pass for the prompt after the command.
    pub fn shell(&mut self, line: &str, prompt: &str, timeout: Duration) -> Result<String> {
        self.type_str(line)?;
        self.type_str("\r")?;
        self.expect(line, timeout)?;
        self.expect("\n", timeout)?;
        let raw = self.expect(prompt, timeout)?;
        Ok(strip_ansi(&raw).replace("\r\n", "\n").replace('\r', ""))
    }

    /// Waits for the child's exit code (None: killed by a signal); kills it after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> Result<Option<i32>> {
        let (st, timed_out) = crate::util::wait_timeout(&mut self.child, timeout)?;
        if timed_out {
            bail!(
                "{} did not exit within {timeout:?}; terminal:\n{}",
                self.label,
                self.screen()
            );
        }
        // The reader ends once every holder of the slave is gone; do not wait for stragglers.
        if let Some(r) = self.reader.take() {
            let deadline = Instant::now() + Duration::from_secs(2);
            while !r.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if r.is_finished() {
                let _ = r.join();
            }
        }
        Ok(st.code())
    }

    /// Resizes the terminal as a terminal emulator does when its window changes: the kernel
    /// sends SIGWINCH to the foreground process group.
    pub fn resize(&self, rows: u16, cols: u16) -> Result<()> {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one winsize from the pointer, which outlives the call.
        if unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
            return Err(std::io::Error::last_os_error()).context("TIOCSWINSZ");
        }
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for PtySession {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Removes CSI escape sequences (cursor moves, colours, the cursor-position query busybox's
/// line editor sends) so assertions see the text.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // Parameters and intermediates, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_csi() {
        assert_eq!(strip_ansi("a\x1b[6nb\x1b[1;32mc\x1b[0m"), "abc");
    }

    #[test]
    fn real_pty_shell() {
        let mut s = PtySession::spawn(Command::new("/bin/busybox").args(["sh"]).env("PS1", "P> "))
            .expect("spawn");
        s.expect("P> ", Duration::from_secs(10)).unwrap();
        let tty = s.shell("tty", "P> ", Duration::from_secs(10)).unwrap();
        assert!(tty.trim().starts_with("/dev/pts/"), "{tty:?}");
        let out = s
            .shell("echo $((6*7))", "P> ", Duration::from_secs(10))
            .unwrap();
        assert_eq!(out, "42\n");
        s.type_str("exit 3\r").unwrap();
        assert_eq!(s.wait(Duration::from_secs(10)).unwrap(), Some(3));
    }
}
