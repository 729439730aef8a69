//! Network faults on 127.0.0.1: a server that accepts and never answers, a port where nothing
//! listens, and a throttling proxy (so a pull lasts long enough to be killed in the middle).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Result;

/// Accepts connections and holds them open without a byte in reply.
pub struct HangingServer {
    addr: String,
    stop: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl HangingServer {
    pub fn start() -> Result<HangingServer> {
        let l = TcpListener::bind("127.0.0.1:0")?;
        let addr = l.local_addr()?.to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (s2, h2) = (stop.clone(), held.clone());
        let thread = std::thread::spawn(move || {
            for c in l.incoming() {
                if s2.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(c) = c {
                    h2.lock().expect("lock").push(c);
                }
            }
        });
        Ok(HangingServer {
            addr,
            stop,
            held,
            thread: Some(thread),
        })
    }
    pub fn addr(&self) -> &str {
        &self.addr
    }
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn connections(&self) -> usize {
        self.held.lock().expect("lock").len()
    }
}

impl Drop for HangingServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for c in self.held.lock().expect("lock").drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

/// A 127.0.0.1 port that refuses connections and that no one else can take while this lives:
/// a TCP socket bound to it but never listening (a free port probed and released could be
/// grabbed by a parallel test's registry).
pub struct DeadPort {
    fd: std::os::fd::OwnedFd,
    addr: String,
}

impl DeadPort {
    pub fn new() -> Result<DeadPort> {
        use std::os::fd::FromRawFd;
        // SAFETY: plain socket(2)/bind(2)/getsockname(2) on a fd we own; the sockaddr structs
        // are zero-initialised and sized as the calls expect.
        unsafe {
            let raw = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            if raw < 0 {
                return Err(std::io::Error::last_os_error().into());
            }
            let fd = std::os::fd::OwnedFd::from_raw_fd(raw);
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            if libc::bind(raw, (&sa as *const libc::sockaddr_in).cast(), len) != 0 {
                return Err(std::io::Error::last_os_error().into());
            }
            let mut out: libc::sockaddr_in = std::mem::zeroed();
            let mut olen = len;
            if libc::getsockname(raw, (&mut out as *mut libc::sockaddr_in).cast(), &mut olen) != 0 {
                return Err(std::io::Error::last_os_error().into());
            }
            let addr = format!("127.0.0.1:{}", u16::from_be(out.sin_port));
            Ok(DeadPort { fd, addr })
        }
    }
    pub fn addr(&self) -> &str {
        let _ = &self.fd;
        &self.addr
    }
}

/// Forwards each connection to `upstream`, sending the responses on at `bytes_per_sec`.
pub struct ThrottledProxy {
    addr: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ThrottledProxy {
    pub fn start(upstream: &str, bytes_per_sec: usize) -> Result<ThrottledProxy> {
        let l = TcpListener::bind("127.0.0.1:0")?;
        let addr = l.local_addr()?.to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, up) = (stop.clone(), upstream.to_string());
        let thread = std::thread::spawn(move || {
            for c in l.incoming() {
                if s2.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = c else { continue };
                let (up, s3) = (up.clone(), s2.clone());
                std::thread::spawn(move || {
                    let _ = relay(client, &up, bytes_per_sec, &s3);
                });
            }
        });
        Ok(ThrottledProxy {
            addr,
            stop,
            thread: Some(thread),
        })
    }
    pub fn addr(&self) -> &str {
        &self.addr
    }
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ThrottledProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn relay(client: TcpStream, upstream: &str, rate: usize, stop: &AtomicBool) -> Result<()> {
    let server = TcpStream::connect(upstream)?;
    // Requests go up unthrottled.
    let (mut c_in, mut s_out) = (client.try_clone()?, server.try_clone()?);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_in, &mut s_out);
        let _ = s_out.shutdown(Shutdown::Write);
    });
    // Responses come down in 10 chunks a second.
    let (mut s_in, mut c_out) = (server, client);
    let chunk = (rate / 10).max(1);
    let mut buf = vec![0u8; chunk];
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let n = s_in.read(&mut buf)?;
        if n == 0 {
            break;
        }
        c_out.write_all(&buf[..n])?;
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = c_out.shutdown(Shutdown::Both);
    Ok(())
}
