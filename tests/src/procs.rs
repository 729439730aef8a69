//! Looking at processes the way the kernel sees them: liveness (zombies count as dead),
//! parents, the shims of one daemon, and processes tagged through their environment.

use std::fs;
use std::path::Path;

/// Whether `pid` exists and is not a zombie.
pub fn pid_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => state_of(&stat).is_some_and(|s| s != 'Z' && s != 'X'),
        Err(_) => false,
    }
}

/// The state letter of a `/proc/<pid>/stat` line (after the parenthesised comm, which may
/// itself hold spaces and parentheses).
fn state_of(stat: &str) -> Option<char> {
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().next()?.chars().next()
}

/// The parent pid of `pid`.
pub fn ppid(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// `comm` of `pid` (the kernel's 15-byte name).
pub fn comm(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_string())
}

/// Every live pid on the machine.
pub fn all_pids() -> Vec<u32> {
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|p| pid_alive(*p))
        .collect()
}

fn cmdline(pid: u32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// The `rdocker-shim` processes whose command line names a path below `dir` (a daemon's
/// temp dir): the shims of that one daemon, whatever else runs on the machine.
pub fn shims_under(dir: &Path) -> Vec<u32> {
    let needle = dir.display().to_string();
    all_pids()
        .into_iter()
        .filter(|p| {
            let c = cmdline(*p);
            c.contains("rdocker-shim") && c.contains(&needle)
        })
        .collect()
}

/// Live processes whose environment holds `KEY=VALUE` exactly: containers started with
/// `-e KEY=VALUE` can be counted on the host without knowing how the engine names them.
pub fn with_env(kv: &str) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|p| {
            fs::read(format!("/proc/{p}/environ"))
                .map(|env| env.split(|b| *b == 0).any(|v| v == kv.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// Open file descriptors of `pid`.
pub fn fd_count(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| rd.count())
        .unwrap_or(0)
}

/// VmRSS of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// SIGKILL to `pid`; true when the signal was delivered.
pub fn kill9(pid: u32) -> bool {
    // SAFETY: kill(2) has no memory preconditions; a stale pid only yields ESRCH.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) == 0 }
}

#[cfg(test)]
mod tests {
    #[test]
    fn stat_parsing() {
        assert_eq!(super::state_of("12 (a) b) S 1 2"), Some('S'));
        let me = std::process::id();
        assert!(super::pid_alive(me));
        assert_eq!(super::ppid(me), Some(std::os::unix::process::parent_id()));
    }
}
