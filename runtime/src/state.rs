//! `state.json`: what the engine reads to learn a container's pid and exit, written atomically.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Context, ShimError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Exited,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct State {
    pub shim_pid: i32,
    pub pid: i32,
    pub status: Status,
    pub started_at: Option<String>,
    pub exit_code: Option<i32>,
    pub finished_at: Option<String>,
    pub error: Option<String>,
}

/// Writes `value` as JSON to `path` so that a crash leaves the old or the new file, never a mix:
/// temp file in the same directory, fsync, rename.
pub fn write_atomic(path: &Path, value: &State) -> Result<(), ShimError> {
    let data = serde_json::to_vec(value)
        .map_err(|e| ShimError::sys("encode state", std::io::Error::other(e)))?;
    let tmp = tmp_path(path);
    let result = (|| {
        let mut f: File = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .ctx(|| format!("create {}", tmp.display()))?;
        f.write_all(&data)
            .ctx(|| format!("write {}", tmp.display()))?;
        f.sync_all().ctx(|| format!("fsync {}", tmp.display()))?;
        fs::rename(&tmp, path).ctx(|| format!("rename {} to {}", tmp.display(), path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        let mut st = State {
            shim_pid: 1,
            pid: 2,
            status: Status::Created,
            started_at: None,
            exit_code: None,
            finished_at: None,
            error: None,
        };
        write_atomic(&p, &st).unwrap();
        st.status = Status::Exited;
        st.exit_code = Some(3);
        write_atomic(&p, &st).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        assert_eq!(v["status"], "exited");
        assert_eq!(v["exit_code"], 3);
        assert!(v["finished_at"].is_null());
        assert!(!dir.path().join("state.json.tmp").exists());
    }
}
