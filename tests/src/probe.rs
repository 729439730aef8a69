//! The syscall probe (probe/probe.c), compiled statically once per source version and
//! bind-mounted into containers: the busybox image has no applet for keyctl, add_key, bpf,
//! clone3 or ptrace, and no libc for a Rust binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::util::sha256_digest;

const SOURCE: &str = include_str!("probe/probe.c");

/// A directory holding `probe` (static, 0755), to mount at e.g. `/probe`.
pub fn probe_dir() -> Result<PathBuf> {
    let hash = sha256_digest(SOURCE.as_bytes());
    let short = hash.trim_start_matches("sha256:");
    let dir = PathBuf::from(format!("/tmp/rdocker-probe-{}", &short[..12]));
    let bin = dir.join("probe");
    if bin.is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("mkdir {}", dir.display()))?;
    let src = dir.join(format!("probe-{}.c", std::process::id()));
    std::fs::write(&src, SOURCE)?;
    let tmp = dir.join(format!("probe.{}", std::process::id()));
    let out = Command::new("gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&tmp)
        .arg(&src)
        .output()
        .context("running gcc (scripts/install-deps installs gcc and libc6-dev)")?;
    let _ = std::fs::remove_file(&src);
    if !out.status.success() {
        bail!(
            "gcc -static probe.c failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Concurrent tests may race here: rename is atomic, the last one wins with the same bytes.
    std::fs::rename(&tmp, &bin)?;
    Ok(dir)
}

/// `<dir>:/probe:ro` for `-v`.
pub fn volume_arg(dir: &Path) -> String {
    format!("{}:/probe:ro", dir.display())
}

/// Parses the probe's "name: result" lines.
pub fn results(stdout: &str) -> std::collections::BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}
