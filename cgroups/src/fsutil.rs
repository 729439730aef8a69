//! Reading and writing cgroup knob files, with kernel refusals turned into user-facing errors.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::CgroupError;

pub(crate) fn io_err(op: &'static str, path: &Path, source: std::io::Error) -> CgroupError {
    CgroupError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `value` to an existing knob file. Never creates the file (a missing knob must stay
/// visible as `NotFound`), truncates so that unit tests on plain files see exactly what was
/// written, and maps the errnos the kernel uses to refuse a value to [`CgroupError::Invalid`].
pub(crate) fn write_knob(path: &Path, value: &str) -> Result<(), CgroupError> {
    let res = OpenOptions::new()
        .write(true)
        .truncate(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    res.map_err(|e| refusal(path, value, e))
}

/// Like [`write_knob`] but reports a missing file as `Ok(false)`.
pub(crate) fn write_if_exists(path: &Path, value: &str) -> Result<bool, CgroupError> {
    match write_knob(path, value) {
        Ok(()) => Ok(true),
        Err(CgroupError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

fn refusal(path: &Path, value: &str, e: std::io::Error) -> CgroupError {
    let knob = knob_name(path);
    match e.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ERANGE) => CgroupError::Invalid(format!(
            "invalid value {value:?} for {knob}: the kernel refused it ({e})"
        )),
        Some(libc::EBUSY) => CgroupError::Invalid(format!(
            "cannot set {knob} to {value:?}: the kernel reports it busy ({e}); \
             a memory limit below the current usage, or a cpuset still in use, cannot be set"
        )),
        Some(libc::EPERM) | Some(libc::EACCES) => CgroupError::Invalid(format!(
            "cannot set {knob} to {value:?}: not permitted for this daemon ({e})"
        )),
        _ => io_err("write", path, e),
    }
}

pub(crate) fn knob_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Reads a knob; a missing file is `None` (a knob this kernel lacks reads as zero upstream).
pub(crate) fn read_opt(path: &Path) -> Result<Option<String>, CgroupError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        // ENODEV: some knobs exist but are not backed on this kernel (e.g. memsw without swap).
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(io_err("read", path, e)),
    }
}

/// A single unsigned number; missing, empty or "max" reads as `None`.
pub(crate) fn read_u64(path: &Path) -> Result<Option<u64>, CgroupError> {
    Ok(read_opt(path)?.and_then(|s| s.trim().parse::<u64>().ok()))
}

/// `key value` lines (memory.stat, cpu.stat, cpuacct.stat, memory.events, oom_control).
pub(crate) fn read_flat_keyed(path: &Path) -> Result<Vec<(String, u64)>, CgroupError> {
    let Some(s) = read_opt(path)? else {
        return Ok(Vec::new());
    };
    Ok(s.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let k = it.next()?;
            let v = it.next()?.parse::<u64>().ok()?;
            Some((k.to_string(), v))
        })
        .collect())
}

pub(crate) fn keyed(entries: &[(String, u64)], key: &str) -> u64 {
    entries
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| *v)
        .unwrap_or(0)
}

/// Pids listed in a `cgroup.procs` file (missing file = none).
pub(crate) fn read_procs(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let p = dir.join("cgroup.procs");
    Ok(read_opt(&p)?
        .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default())
}

/// Child cgroup directories of `dir` (nested cgroups a container made itself).
pub(crate) fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.path())
        .collect()
}

/// Host memory from /proc/meminfo, the limit reported when a cgroup is unlimited.
pub(crate) fn mem_total() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/meminfo") else {
        return 0;
    };
    s.lines()
        .find_map(|l| {
            let rest = l.strip_prefix("MemTotal:")?;
            let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            Some(kb * 1024)
        })
        .unwrap_or(0)
}

/// USER_HZ (clock ticks per second) for cpuacct.stat and /proc/stat.
pub(crate) fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}
