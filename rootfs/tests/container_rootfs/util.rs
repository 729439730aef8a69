//! Small helpers shared by the scenarios.

use std::path::Path;

pub fn unshare_mount_ns() {
    // SAFETY: NEWNS does not touch the fd table; this process is single-threaded (no libtest
    // harness), which unshare(CLONE_NEWNS) requires anyway.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) }
        .expect("unshare(CLONE_NEWNS)");
}

pub fn mountinfo_lines(path: impl AsRef<Path>) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("read mountinfo")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Field 5 of a mountinfo line, octal escapes (`\040`) left as they are.
pub fn mount_point(line: &str) -> &str {
    line.split(' ').nth(4).unwrap_or("")
}

pub struct MountRow {
    pub mount_point: String,
    pub options: String,
    /// Optional fields such as `shared:3` or `master:2`, space separated.
    pub optional: String,
    pub fstype: String,
}

impl MountRow {
    pub fn is_ro(&self) -> bool {
        self.options.split(',').any(|o| o == "ro")
    }
}

pub fn mounts() -> Vec<MountRow> {
    mountinfo_lines("/proc/self/mountinfo")
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-").unwrap_or(f.len() - 1);
            MountRow {
                mount_point: f[4].to_owned(),
                options: f[5].to_owned(),
                optional: f[6..sep].join(" "),
                fstype: f.get(sep + 1).copied().unwrap_or("").to_owned(),
            }
        })
        .collect()
}

/// Collects failures instead of stopping at the first one: one run shows them all.
#[derive(Default)]
pub struct Checks {
    pub failures: Vec<String>,
}

impl Checks {
    pub fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.failures.push(what.into());
        }
    }

    pub fn exit_code(&self, scenario: &str) -> i32 {
        for f in &self.failures {
            eprintln!("FAIL [{scenario}]: {f}");
        }
        i32::from(!self.failures.is_empty())
    }
}

pub fn errno_of(r: std::io::Result<()>) -> Option<i32> {
    r.err().and_then(|e| e.raw_os_error())
}
