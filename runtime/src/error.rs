//! The shim's error type: every failure says what failed and why, and maps to Docker's exit codes.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    #[error("{what}: {source}")]
    Sys { what: String, source: io::Error },
    #[error(transparent)]
    Rootfs(#[from] rdocker_rootfs::RootfsError),
    #[error("invalid spec: {0}")]
    Spec(String),
    #[error("usage: {0}")]
    Usage(String),
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UnknownUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    UnknownGroup(String),
    #[error("exec: \"{0}\": executable file not found in $PATH")]
    NotInPath(String),
    /// A path given with a slash that does not exist (docker: 127).
    #[error("exec: \"{path}\": stat {path}: no such file or directory")]
    NoSuchFile { path: String },
    #[error("exec: \"{0}\": is a directory")]
    IsDirectory(String),
    #[error("exec: \"{path}\": {reason}")]
    CannotExecute { path: String, reason: String },
    /// The child reported a failure through the sync pipe; code and message are its own.
    #[error("{message}")]
    Reported { message: String, exit_code: i32 },
}

impl ShimError {
    /// Docker's convention: 127 not found, 126 found but cannot be run, 125 anything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            ShimError::NotInPath(_) | ShimError::NoSuchFile { .. } => 127,
            ShimError::IsDirectory(_) | ShimError::CannotExecute { .. } => 126,
            ShimError::Reported { exit_code, .. } => *exit_code,
            _ => 125,
        }
    }

    pub fn sys(what: impl Into<String>, source: impl Into<io::Error>) -> Self {
        ShimError::Sys {
            what: what.into(),
            source: source.into(),
        }
    }
}

/// Attaches "what was being done" to an OS error.
pub trait Context<T> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, ShimError>;
}

impl<T, E: Into<io::Error>> Context<T> for Result<T, E> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, ShimError> {
        self.map_err(|e| ShimError::sys(what(), e))
    }
}

/// Lower-case strerror text as Go prints it ("permission denied", "exec format error").
pub fn errno_text(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::EACCES) => "permission denied".into(),
        Some(libc::ENOEXEC) => "exec format error".into(),
        Some(libc::ENOENT) => "no such file or directory".into(),
        Some(libc::EISDIR) => "is a directory".into(),
        Some(libc::ETXTBSY) => "text file busy".into(),
        _ => err.to_string(),
    }
}
