//! Moving bytes over a hijacked attach/exec connection: the container's output to our
//! stdout/stderr (demultiplexed unless it has a TTY), our stdin to the container, the
//! detach keys, and the signal side jobs (window size, signal proxy).

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;

use crate::client::{api_path, Client};
use crate::hijack::Hijacked;
use crate::stdcopy::{copy_raw, demux};
use crate::tty::{self, EscapeProxy, SignalPipe};
use crate::url::path_escape;

/// docker's default detach sequence, ctrl-p ctrl-q.
pub const DEFAULT_DETACH_KEYS: [u8; 2] = [0x10, 0x11];

pub struct StreamOpts {
    pub tty: bool,
    /// Copy our stdin to the connection.
    pub stdin: bool,
    /// Watched for in stdin when `tty` (docker's client-side escape proxy).
    pub detach_keys: Vec<u8>,
}

#[derive(Debug, PartialEq)]
pub enum End {
    /// The daemon closed the output (the process ended, or its streams did).
    Eof,
    /// The user typed the detach keys.
    Detached,
}

/// Runs the streams until the output ends or the user detaches.
pub fn pump(mut conn: Hijacked, o: &StreamOpts) -> Result<End> {
    let detached = Arc::new(AtomicBool::new(false));
    if o.stdin {
        let writer = conn.writer()?;
        let keys = (o.tty && !o.detach_keys.is_empty()).then(|| o.detach_keys.clone());
        let flag = detached.clone();
        std::thread::spawn(move || copy_stdin(writer, keys, &flag));
    }
    let stdout = io::stdout();
    let stderr = io::stderr();
    let res = if o.tty {
        copy_raw(&mut conn, &mut stdout.lock()).map_err(anyhow::Error::from)
    } else {
        demux(&mut conn, &mut stdout.lock(), &mut stderr.lock()).map_err(anyhow::Error::from)
    };
    if detached.load(Ordering::SeqCst) {
        return Ok(End::Detached);
    }
    match res {
        Ok(()) => Ok(End::Eof),
        // The peer resetting the connection at the end is an end like any other.
        Err(e)
            if e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::ConnectionReset) =>
        {
            Ok(End::Eof)
        }
        Err(e) => Err(e),
    }
}

/// stdin → connection; at EOF the write half is closed so the container sees EOF.
fn copy_stdin(
    mut conn: std::os::unix::net::UnixStream,
    keys: Option<Vec<u8>>,
    detached: &AtomicBool,
) {
    let mut proxy = keys.map(EscapeProxy::new);
    let mut stdin = io::stdin().lock();
    let mut buf = vec![0u8; 32 * 1024];
    let mut out = Vec::new();
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let data: &[u8] = match proxy.as_mut() {
            Some(p) => {
                out.clear();
                if p.feed(&buf[..n], &mut out) {
                    // Unlike docker's CLI we pass the keys on too: the daemon then sees
                    // a detach, not a client EOF that (with StdinOnce) would close the
                    // container's stdin. Daemons scan for them (dockerd does too).
                    out.extend_from_slice(p.keys());
                    let _ = conn.write_all(&out);
                    detached.store(true, Ordering::SeqCst);
                    let _ = conn.shutdown(Shutdown::Both);
                    return;
                }
                &out
            }
            None => &buf[..n],
        };
        if conn.write_all(data).is_err() {
            return;
        }
    }
    let _ = conn.shutdown(Shutdown::Write);
}

/// What the side thread acts for: a container or an exec instance.
#[derive(Clone)]
pub enum Target {
    Container(String),
    Exec(String),
}

impl Target {
    fn resize_path(&self, h: u16, w: u16) -> String {
        match self {
            Target::Container(id) => api_path(&format!(
                "/containers/{}/resize?h={h}&w={w}",
                path_escape(id)
            )),
            Target::Exec(id) => api_path(&format!("/exec/{}/resize?h={h}&w={w}", path_escape(id))),
        }
    }
}

/// Sends the terminal's size to the daemon (errors ignored, as docker does).
pub fn resize(client: &Client, target: &Target) {
    if let Some((h, w)) = tty::size() {
        let _ = client.request("POST", &target.resize_path(h, w), &[], None);
    }
}

/// The signals docker's ForwardAllSignals passes on (the ones a user sends).
const PROXIED: [libc::c_int; 7] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
];

/// What the signal thread does.
pub struct SignalJobs {
    /// Send the window size on SIGWINCH.
    pub resize: bool,
    /// Forward the signals a user sends to the container (docker's --sig-proxy).
    pub proxy: bool,
    /// The terminal is raw: termination signals put it back before the process dies.
    pub restore: bool,
}

/// Starts the thread that resizes on SIGWINCH and forwards signals to the container;
/// without proxy, termination signals restore the terminal before the process dies.
pub fn spawn_signal_thread(client: Client, target: Target, jobs: SignalJobs) {
    let SignalJobs {
        resize: resize_tty,
        proxy,
        restore,
    } = jobs;
    let mut sigs = Vec::new();
    if resize_tty {
        sigs.push(libc::SIGWINCH);
    }
    if proxy {
        sigs.extend(PROXIED);
    } else if restore {
        sigs.extend([libc::SIGTERM, libc::SIGHUP, libc::SIGINT]);
    }
    if sigs.is_empty() {
        return;
    }
    let Ok(mut pipe) = SignalPipe::install(&sigs) else {
        return;
    };
    std::thread::spawn(move || {
        while let Some(sig) = pipe.next() {
            if sig == libc::SIGWINCH {
                resize(&client, &target);
            } else if proxy {
                if let Target::Container(id) = &target {
                    let path = api_path(&format!(
                        "/containers/{}/kill?signal={sig}",
                        path_escape(id)
                    ));
                    let _ = client.request("POST", &path, &[], None);
                }
            } else {
                tty::die_of(sig);
            }
        }
    });
}
