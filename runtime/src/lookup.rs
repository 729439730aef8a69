//! `args[0]` looked up in the container's `PATH`, with Go's `exec.LookPath` rules and docker's
//! messages and exit codes.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{errno_text, ShimError};

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Returns the path to execve. Relative paths resolve against the current directory, so this runs
/// after chdir into the container's working directory.
pub fn find(cmd: &str, env: &[String]) -> Result<PathBuf, ShimError> {
    if cmd.is_empty() {
        return Err(ShimError::NotInPath(String::new()));
    }
    if cmd.contains('/') {
        return match check(Path::new(cmd)) {
            Ok(()) => Ok(PathBuf::from(cmd)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ShimError::NoSuchFile { path: cmd.into() })
            }
            Err(e) => Err(classify(cmd, &e)),
        };
    }
    let path_var = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(cmd);
        if check(&candidate).is_ok() {
            return Ok(candidate);
        }
    }
    Err(ShimError::NotInPath(cmd.into()))
}

/// Go's findExecutable: a directory is EISDIR; a file without any execute bit is EACCES.
fn check(p: &Path) -> std::io::Result<()> {
    let m = std::fs::metadata(p)?;
    if m.is_dir() {
        return Err(std::io::Error::from_raw_os_error(libc::EISDIR));
    }
    if m.permissions().mode() & 0o111 == 0 {
        return Err(std::io::Error::from_raw_os_error(libc::EACCES));
    }
    Ok(())
}

fn classify(cmd: &str, e: &std::io::Error) -> ShimError {
    if e.raw_os_error() == Some(libc::EISDIR) {
        ShimError::IsDirectory(cmd.into())
    } else {
        ShimError::CannotExecute {
            path: cmd.into(),
            reason: errno_text(e),
        }
    }
}

/// Maps an execve failure to docker's message and code (ENOENT: a missing interpreter, 127).
pub fn exec_error(cmd: &str, e: &std::io::Error) -> ShimError {
    match e.raw_os_error() {
        Some(libc::ENOENT) => ShimError::NoSuchFile { path: cmd.into() },
        _ => classify(cmd, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_search_and_errors() {
        let d = tempfile::tempdir().unwrap();
        let bin = d.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(bin.join("tool"), "").unwrap();
        std::fs::set_permissions(bin.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(bin.join("plain"), "").unwrap();
        std::fs::set_permissions(bin.join("plain"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let env = vec![format!("PATH=/nonexistent:{}", bin.display())];
        assert_eq!(find("tool", &env).unwrap(), bin.join("tool"));
        let e = find("nosuch", &env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "exec: \"nosuch\": executable file not found in $PATH"
        );
        assert_eq!(e.exit_code(), 127);
        // Not executable in PATH is "not found", as Go's LookPath says.
        assert_eq!(find("plain", &env).unwrap_err().exit_code(), 127);
        let dir = bin.display().to_string();
        let e = find(&dir, &env).unwrap_err();
        assert_eq!(e.to_string(), format!("exec: \"{dir}\": is a directory"));
        assert_eq!(e.exit_code(), 126);
        let plain = bin.join("plain").display().to_string();
        let e = find(&plain, &env).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("exec: \"{plain}\": permission denied")
        );
        assert_eq!(e.exit_code(), 126);
        assert_eq!(find("/no/such", &env).unwrap_err().exit_code(), 127);
    }
}
