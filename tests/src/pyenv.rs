//! A Python virtual environment with the `docker` SDK (from PyPI), made once and reused:
//! `$RDOCKER_TEST_VENV`, else /var/cache/rdocker-tests/venv. Debian's python3 (python3-venv).

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::util::run_checked;

pub fn venv_dir() -> PathBuf {
    std::env::var_os("RDOCKER_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/rdocker-tests/venv"))
}

fn has_sdk(python: &std::path::Path) -> bool {
    Command::new(python)
        .args(["-c", "import docker"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The venv's python with `docker` importable, creating the venv when needed.
pub fn python_with_docker_sdk() -> Result<PathBuf> {
    let dir = venv_dir();
    let python = dir.join("bin/python");
    if has_sdk(&python) {
        return Ok(python);
    }
    let parent = dir.parent().context("venv dir has a parent")?;
    fs::create_dir_all(parent)?;
    // Two test processes may get here at once: one builds, the other waits.
    let lock = File::create(parent.join(".venv.lock"))?;
    // SAFETY: flock on a descriptor we own for the duration of the call.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error()).context("locking the venv");
    }
    if has_sdk(&python) {
        return Ok(python);
    }
    // Debian's interpreter, not whatever a version manager put first on PATH.
    let base = ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .args(["-c", "import venv, ensurepip"])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        })
        .context("no python3 with venv and ensurepip (Debian: python3-venv)")?;
    let _ = fs::remove_dir_all(&dir);
    run_checked(Command::new(base).args(["-m", "venv"]).arg(&dir))?;
    run_checked(Command::new(dir.join("bin/pip")).args([
        "install",
        "-q",
        "--disable-pip-version-check",
        "docker",
    ]))
    .context("pip install docker (PyPI)")?;
    if !has_sdk(&python) {
        bail!("{}: docker SDK still not importable", python.display());
    }
    Ok(python)
}
