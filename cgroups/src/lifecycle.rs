//! Freezer, process listing, OOM counts and removal.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::fsutil::{io_err, keyed, read_flat_keyed, read_opt, read_procs, subdirs, write_knob};
use crate::CgroupError;

const FREEZE_TIMEOUT: Duration = Duration::from_secs(2);
const REMOVE_TIMEOUT: Duration = Duration::from_secs(1);

/// Polls `done` with a growing pause until it holds or `timeout` passes.
fn poll(
    timeout: Duration,
    mut done: impl FnMut() -> Result<bool, CgroupError>,
) -> Result<bool, CgroupError> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(50);
    loop {
        if done()? {
            return Ok(true);
        }
        if start.elapsed() >= timeout {
            return Ok(false);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

pub(crate) fn v1_set_frozen(dir: &Path, frozen: bool) -> Result<(), CgroupError> {
    let file = dir.join("freezer.state");
    let want = if frozen { "FROZEN" } else { "THAWED" };
    // A task stuck in an uninterruptible sleep can keep the cgroup FREEZING; re-writing the
    // state retries the freeze (runc does the same).
    let ok = poll(FREEZE_TIMEOUT, || {
        write_knob(&file, want)?;
        Ok(read_opt(&file)?.unwrap_or_default().trim() == want)
    })?;
    if ok {
        return Ok(());
    }
    if frozen {
        let _ = write_knob(&file, "THAWED");
    }
    Err(CgroupError::Invalid(format!(
        "the cgroup {} did not reach {want} within {FREEZE_TIMEOUT:?}",
        dir.display()
    )))
}

pub(crate) fn v2_set_frozen(dir: &Path, frozen: bool) -> Result<(), CgroupError> {
    write_knob(&dir.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
    let want = if frozen { 1 } else { 0 };
    let events = dir.join("cgroup.events");
    let ok = poll(FREEZE_TIMEOUT, || {
        Ok(keyed(&read_flat_keyed(&events)?, "frozen") == want)
    })?;
    if ok {
        return Ok(());
    }
    if frozen {
        let _ = write_knob(&dir.join("cgroup.freeze"), "0");
    }
    Err(CgroupError::Invalid(format!(
        "the cgroup {} did not {} within {FREEZE_TIMEOUT:?}",
        dir.display(),
        if frozen { "freeze" } else { "thaw" }
    )))
}

/// Pids in `dir` and every nested cgroup under it.
pub(crate) fn pids_recursive(dir: &Path, out: &mut Vec<i32>) -> Result<(), CgroupError> {
    out.extend(read_procs(dir)?);
    for sub in subdirs(dir) {
        pids_recursive(&sub, out)?;
    }
    Ok(())
}

fn kill_all(dirs: &[PathBuf]) -> Result<usize, CgroupError> {
    let mut pids = Vec::new();
    for d in dirs {
        pids_recursive(d, &mut pids)?;
    }
    pids.sort_unstable();
    pids.dedup();
    for &p in &pids {
        // SAFETY: kill(2) has no memory-safety preconditions; ESRCH (already gone) is fine.
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
    Ok(pids.len())
}

/// Removes `dir` and the cgroups nested in it, deepest first. `Ok(false)` = still busy.
fn rmdir_tree(dir: &Path) -> Result<bool, CgroupError> {
    for sub in subdirs(dir) {
        if !rmdir_tree(&sub)? {
            return Ok(false);
        }
    }
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => Ok(false),
        Err(e) => Err(io_err("rmdir", dir, e)),
    }
}

/// SIGKILLs every process in `dirs` (a cgroup each), then removes them, retrying while the
/// killed processes exit.
pub(crate) fn remove(dirs: &[PathBuf]) -> Result<(), CgroupError> {
    let dirs: Vec<PathBuf> = dirs.iter().filter(|d| d.exists()).cloned().collect();
    if dirs.is_empty() {
        return Ok(());
    }
    kill_all(&dirs)?;
    let mut pending = dirs.clone();
    let done = poll(REMOVE_TIMEOUT, || {
        let mut still = Vec::new();
        for d in &pending {
            if !rmdir_tree(d)? {
                still.push(d.clone());
            }
        }
        pending = still;
        if !pending.is_empty() {
            // Processes forked between the listing and the kill (or never killed).
            kill_all(&pending)?;
        }
        Ok(pending.is_empty())
    })?;
    if done {
        return Ok(());
    }
    Err(CgroupError::Io {
        op: "rmdir",
        path: pending.first().cloned().unwrap_or_default(),
        source: std::io::Error::from_raw_os_error(libc::EBUSY),
    })
}

/// `oom_kill` from a flat-keyed file (v1 memory.oom_control, v2 memory.events).
pub(crate) fn oom_kill_count(file: &Path) -> Result<u64, CgroupError> {
    Ok(keyed(&read_flat_keyed(file)?, "oom_kill"))
}
