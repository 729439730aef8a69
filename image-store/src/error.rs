//! Errors of the image store. `Display` is the message a user sees (Docker's wording where
//! Docker has one); [`StoreError::kind`] tells the engine which HTTP status to answer.

use std::io;
use std::path::PathBuf;

use crate::unpack::UnpackError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidArgument,
    NotFound,
    Unauthorized,
    Forbidden,
    Conflict,
    Unavailable,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid reference format")]
    InvalidReference,
    /// A name that does not parse as a reference; Docker's message (`invalid reference format…`).
    #[error(transparent)]
    Reference(#[from] rdocker_reference::ReferenceError),
    #[error("invalid platform {0:?}: {1}")]
    InvalidPlatform(String, &'static str),
    #[error("invalid X-Registry-Auth header: {0}")]
    InvalidAuthHeader(String),
    #[error("refusing to create a tag with a digest reference")]
    TagWithDigest,
    #[error("invalid registry configuration: {0}")]
    InvalidConfig(String),

    #[error("No such image: {0}")]
    NoSuchImage(String),
    /// The reference names an id prefix that more than one image shares.
    #[error("No such image: {0} (ambiguous image id prefix)")]
    AmbiguousImageId(String),
    /// Registry answered MANIFEST_UNKNOWN: `manifest for busybox:nosuch not found: manifest unknown: manifest unknown`.
    #[error("manifest for {reference} not found: {detail}")]
    ManifestNotFound { reference: String, detail: String },
    /// Registry answered NAME_UNKNOWN.
    #[error("repository {name} not found: {detail}")]
    RepositoryNotFound { name: String, detail: String },
    /// Registry answered DENIED (Docker reports it as not found, status 404).
    #[error("pull access denied for {name}, repository does not exist or may require 'docker login': {detail}")]
    PullAccessDenied { name: String, detail: String },
    #[error("no matching manifest for {platform} in the manifest list entries")]
    NoMatchingPlatform { platform: String },
    #[error("image with reference {reference} was found but does not match the specified platform: wanted {wanted}, actual: {actual}")]
    PlatformMismatch {
        reference: String,
        wanted: String,
        actual: String,
    },

    /// 401 from the registry or its token service.
    #[error("{method} \"{url}\": unauthorized: {detail}")]
    Unauthorized {
        method: &'static str,
        url: String,
        detail: String,
    },
    /// 403 from the registry.
    #[error("{method} \"{url}\": denied: {detail}")]
    Forbidden {
        method: &'static str,
        url: String,
        detail: String,
    },

    /// The registry could not be reached, answered 5xx or something we cannot use.
    #[error("{method} \"{url}\": {detail}")]
    Registry {
        method: &'static str,
        url: String,
        detail: String,
    },
    #[error("{method} \"{url}\": timeout waiting for the registry")]
    Timeout { method: &'static str, url: String },
    #[error("[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of {0} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2.")]
    Schema1Unsupported(String),
    #[error("unsupported manifest media type {0:?}")]
    UnsupportedManifest(String),
    /// Used by `unpack::Compression::from_media_type` too.
    #[error("unsupported layer media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("invalid manifest or image config {digest}: {detail}")]
    InvalidManifest { digest: String, detail: String },
    #[error("filesystem layer verification failed for digest {digest}: got {actual}")]
    DigestMismatch { digest: String, actual: String },
    #[error("blob {digest} is larger than its declared size {expected}")]
    BlobTooLong { digest: String, expected: u64 },
    #[error("blob {digest} is shorter than its declared size: {actual} of {expected} bytes")]
    BlobTooShort {
        digest: String,
        expected: u64,
        actual: u64,
    },
    #[error(
        "layer {digest}: diff_id mismatch: image config says {expected}, layer content is {actual}"
    )]
    DiffIdMismatch {
        digest: String,
        expected: String,
        actual: String,
    },
    #[error(transparent)]
    Unpack(#[from] UnpackError),

    #[error("{0}")]
    Conflict(String),
    /// The pull was cancelled by the caller (client went away).
    #[error("context canceled")]
    Cancelled,

    /// A local file operation failed: `write /var/lib/rdocker/blobs/tmp/x: no space left on device`.
    #[error("{op} {}: {}", path.display(), io_text(source))]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("corrupt {}: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
    /// A blocking task panicked or was aborted.
    #[error("internal error: {0}")]
    Task(String),
}

/// Go-style lower-case errno text ("no space left on device") without Rust's "(os error 28)",
/// so messages read like Docker's.
pub fn io_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let s = io::Error::from_raw_os_error(code).to_string();
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
                None => s,
            }
        }
        None => e.to_string(),
    }
}

impl StoreError {
    pub fn kind(&self) -> ErrorKind {
        use StoreError::*;
        match self {
            InvalidReference | Reference(_) | InvalidPlatform(..) | InvalidAuthHeader(_)
            | TagWithDigest | InvalidConfig(_) => ErrorKind::InvalidArgument,
            NoSuchImage(_)
            | AmbiguousImageId(_)
            | ManifestNotFound { .. }
            | RepositoryNotFound { .. }
            | PullAccessDenied { .. }
            | NoMatchingPlatform { .. }
            | PlatformMismatch { .. } => ErrorKind::NotFound,
            Unauthorized { .. } => ErrorKind::Unauthorized,
            Forbidden { .. } => ErrorKind::Forbidden,
            Registry { .. }
            | Timeout { .. }
            | InvalidManifest { .. }
            | DigestMismatch { .. }
            | BlobTooLong { .. }
            | BlobTooShort { .. }
            | DiffIdMismatch { .. }
            | Cancelled => ErrorKind::Unavailable,
            Schema1Unsupported(_) | UnsupportedManifest(_) | UnsupportedMediaType(_) => {
                ErrorKind::InvalidArgument
            }
            Conflict(_) => ErrorKind::Conflict,
            Unpack(_) | Io { .. } | Corrupt { .. } | Task(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> StoreError {
        StoreError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// `map_err` helper: `fs::write(p, b).map_err(io_err("write", p))`.
pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.into();
    move |e| StoreError::io(op, path, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_reads_like_docker() {
        let e = StoreError::io(
            "write",
            "/x/blobs/tmp/1",
            io::Error::from_raw_os_error(libc::ENOSPC),
        );
        assert_eq!(
            e.to_string(),
            "write /x/blobs/tmp/1: no space left on device"
        );
        assert_eq!(e.kind(), ErrorKind::Internal);
    }
}
