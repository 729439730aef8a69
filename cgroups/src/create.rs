//! Making the cgroup directories (every level of `rel`, in every hierarchy) and undoing that.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::fsutil::{io_err, read_opt, write_knob};
use crate::CgroupError;

/// The directories one create made, deepest last, so a failure can remove exactly those.
#[derive(Debug, Default)]
pub(crate) struct Made {
    pub dirs: Vec<PathBuf>,
}

impl Made {
    pub fn rollback(&self) {
        for d in self.dirs.iter().rev() {
            // Best effort: a dir that cannot go is reported by the caller's original error.
            let _ = std::fs::remove_dir(d);
        }
    }
}

fn levels(mount: &Path, rel: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut cur = mount.to_path_buf();
    for c in rel.components() {
        if let std::path::Component::Normal(n) = c {
            cur.push(n);
            out.push(cur.clone());
        }
    }
    out
}

fn mkdir(p: &Path, made: &mut Made) -> Result<bool, CgroupError> {
    match std::fs::create_dir(p) {
        Ok(()) => {
            made.dirs.push(p.to_path_buf());
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_err("mkdir", p, e)),
    }
}

/// `mkdir -p <mount>/<rel>` in one v1 hierarchy. In the cpuset hierarchy each level gets the
/// parent's cpus and mems when its own are empty: a new v1 cpuset starts empty, and nothing
/// can join an empty cpuset.
pub(crate) fn v1_hierarchy(
    mount: &Path,
    rel: &Path,
    cpuset: bool,
    made: &mut Made,
) -> Result<(), CgroupError> {
    let mut parent = mount.to_path_buf();
    for level in levels(mount, rel) {
        mkdir(&level, made)?;
        if cpuset {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let mine = read_opt(&level.join(f))?.unwrap_or_default();
                if mine.trim().is_empty() {
                    let theirs = read_opt(&parent.join(f))?.unwrap_or_default();
                    if !theirs.trim().is_empty() {
                        write_knob(&level.join(f), theirs.trim())?;
                    }
                }
            }
        }
        parent = level;
    }
    Ok(())
}

/// The controllers rdocker limits on v2.
const V2_CONTROLLERS: [&str; 5] = ["cpuset", "cpu", "io", "memory", "pids"];

/// `mkdir -p <root>/<rel>` on v2, enabling in each ancestor's `cgroup.subtree_control` the
/// controllers it has (from its `cgroup.controllers`) so that the leaf gets their knobs.
pub(crate) fn v2_tree(root: &Path, rel: &Path, made: &mut Made) -> Result<(), CgroupError> {
    let lv = levels(root, rel);
    let mut parent = root.to_path_buf();
    for level in lv {
        enable_controllers(&parent)?;
        mkdir(&level, made)?;
        parent = level;
    }
    Ok(())
}

fn enable_controllers(dir: &Path) -> Result<(), CgroupError> {
    let available = read_opt(&dir.join("cgroup.controllers"))?.unwrap_or_default();
    let enabled = read_opt(&dir.join("cgroup.subtree_control"))?.unwrap_or_default();
    let want: Vec<String> = V2_CONTROLLERS
        .iter()
        .filter(|c| available.split_whitespace().any(|a| a == **c))
        .filter(|c| !enabled.split_whitespace().any(|a| a == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if want.is_empty() {
        return Ok(());
    }
    write_knob(&dir.join("cgroup.subtree_control"), &want.join(" ")).map_err(|e| match e {
        CgroupError::Invalid(_) => CgroupError::Invalid(format!(
            "cannot enable the {} controllers in {} (a cgroup with processes cannot \
             delegate controllers to children): {e}",
            want.join(" "),
            dir.display()
        )),
        e => e,
    })
}
