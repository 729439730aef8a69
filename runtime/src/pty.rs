//! The container's terminal: created by the child from the container's own devpts instance, the
//! master handed to the shim over a socketpair.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::termios::Winsize;

use crate::error::{Context, ShimError};
use crate::sys;

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    /// The slave's path under `pts_dir` (for bind_console before pivot_root).
    pub slave_path: PathBuf,
}

/// Opens `<pts_dir>/ptmx` (the devpts instance mounted for the container) and its slave.
pub fn open(pts_dir: &Path) -> Result<Pty, ShimError> {
    let ptmx = pts_dir.join("ptmx");
    let master = rustix::fs::open(
        &ptmx,
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open {}", ptmx.display()))?;
    rustix::pty::unlockpt(&master).ctx(|| format!("unlock terminal {}", ptmx.display()))?;
    let name = rustix::pty::ptsname(&master, Vec::new())
        .ctx(|| format!("get the terminal number of {}", ptmx.display()))?;
    let name = name.to_string_lossy();
    let number = name.rsplit('/').next().unwrap_or_default().to_string();
    let slave_path = pts_dir.join(number);
    // TIOCGPTPEER opens the slave from the master itself, with no path lookup to race.
    let slave = rustix::pty::ioctl_tiocgptpeer(
        &master,
        rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY,
    )
    .ctx(|| format!("open the terminal {}", slave_path.display()))?;
    Ok(Pty {
        master,
        slave,
        slave_path,
    })
}

pub fn set_size(fd: impl AsFd, height: u16, width: u16) -> Result<(), ShimError> {
    let ws = Winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(fd, ws).ctx(|| "set the terminal size")
}

/// In the child: a new session whose controlling terminal is the slave, which becomes stdio.
pub fn make_controlling(slave: &OwnedFd) -> Result<(), ShimError> {
    rustix::process::setsid().ctx(|| "setsid for the terminal session")?;
    rustix::process::ioctl_tiocsctty(slave).ctx(|| "make the terminal the controlling one")?;
    for target in 0..3 {
        dup_to(slave, target)?;
    }
    Ok(())
}

/// dup2 onto a standard fd (0, 1, 2); the copy is not close-on-exec.
pub fn dup_to(fd: &OwnedFd, target: i32) -> Result<(), ShimError> {
    // SAFETY: dup2 takes two integers; the source is a live fd we own and the target is one of
    // the standard fds, which the child is replacing on purpose.
    let r = unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(fd), target) };
    if r < 0 {
        return Err(ShimError::sys(
            format!("dup2 onto fd {target}"),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Hands the master to the shim.
pub fn send_master(sock: &OwnedFd, master: &OwnedFd) -> Result<(), ShimError> {
    sys::send_fd(sock.as_fd(), master.as_fd()).ctx(|| "send the terminal master to the shim")
}
