//! `io.rdocker.cgroup.paths`: the engine makes and limits the cgroups; the init (and every exec
//! process) moves itself in as its very first step, so every page it touches later is charged
//! to the container, not to the shim.

use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use crate::error::{Context, ShimError};

pub const ANNOTATION: &str = "io.rdocker.cgroup.paths";

/// Parses the annotation in the shim (before clone), so the child has nothing left to parse.
pub fn parse(value: Option<&String>) -> Result<Vec<PathBuf>, ShimError> {
    let Some(v) = value else {
        return Ok(Vec::new());
    };
    let dirs: Vec<PathBuf> = serde_json::from_str(v)
        .map_err(|e| ShimError::Spec(format!("annotation {ANNOTATION}: {e}")))?;
    if let Some(bad) = dirs.iter().find(|d| !d.is_absolute()) {
        return Err(ShimError::Spec(format!(
            "annotation {ANNOTATION}: {} is not an absolute path",
            bad.display()
        )));
    }
    Ok(dirs)
}

/// Writes "0" (= the caller) to each `<dir>/cgroup.procs`.
pub fn join(dirs: &[PathBuf]) -> Result<(), ShimError> {
    for dir in dirs {
        join_one(dir).ctx(|| format!("join cgroup {}", dir.display()))?;
    }
    Ok(())
}

fn join_one(dir: &Path) -> rustix::io::Result<()> {
    let fd = rustix::fs::open(
        dir.join("cgroup.procs"),
        OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    // One write: cgroup files take the whole value in a single write(2).
    let n = rustix::io::write(&fd, b"0")?;
    if n != 1 {
        return Err(rustix::io::Errno::IO);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_wants_a_json_array_of_absolute_dirs() {
        assert!(parse(None).unwrap().is_empty());
        let v =
            r#"["/sys/fs/cgroup/memory/rdocker/x","/sys/fs/cgroup/pids/rdocker/x"]"#.to_string();
        assert_eq!(parse(Some(&v)).unwrap().len(), 2);
        let rel = r#"["rdocker/x"]"#.to_string();
        assert!(parse(Some(&rel))
            .unwrap_err()
            .to_string()
            .contains("not an absolute path"));
        let junk = "/sys/fs/cgroup/x".to_string();
        assert!(parse(Some(&junk))
            .unwrap_err()
            .to_string()
            .contains(ANNOTATION));
    }
}
