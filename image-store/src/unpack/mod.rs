//! Safe layer unpack: one pass over a (compressed) layer blob that decompresses it, hashes the tar
//! stream (the diff_id) and writes its entries below `dest` in overlayfs format — never outside.
//!
//! The stages, each in its own file:
//! - `decompress.rs`: the reader stack (compressed byte count, decoder, hash + size/ratio limits,
//!   header-size budget);
//! - `path.rs`: normalization of entry names (`..` refused, absolute names made relative);
//! - `resolve.rs`: in-root resolution (`openat2` `RESOLVE_IN_ROOT`) and the parent-fd cache;
//! - `entry.rs` / `meta.rs`: creating each entry and its owner, mode, xattrs and times;
//! - `whiteout.rs`: `.wh.` entries to overlay whiteouts and opaque markers;
//! - `corpus.rs`: crafted hostile layers, used by the tests here and by the e2e fixtures.
//!
//! The tar crate only parses; `Archive::unpack`/`Entry::unpack` are never used. On error, `dest`
//! is left partly written: the caller unpacks into a temporary directory and removes it.

use std::io::{self, Read};
use std::path::Path;

mod decompress;
mod entry;
mod meta;
mod path;
mod resolve;
mod walk;
mod whiteout;

#[cfg(any(test, feature = "corpus"))]
pub mod corpus;
#[cfg(any(test, feature = "corpus"))]
pub mod rawtar;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_corpus;

pub use path::PathProblem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    None,
}

/// Guards against hostile layers that are small on the wire and huge on disk.
#[derive(Debug, Clone)]
pub struct UnpackLimits {
    /// Maximum size of the decompressed tar stream.
    pub max_unpacked_bytes: u64,
    /// Maximum decompressed/compressed ratio, checked once more than 1 GiB was decompressed.
    pub max_ratio: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_unpacked_bytes: 64 << 30,
            max_ratio: 1000,
        }
    }
}

#[derive(Debug, Clone)]
pub struct UnpackOutcome {
    /// `"sha256:<hex>"` of the whole uncompressed tar stream (read to EOF, trailer included).
    pub diff_id: String,
    /// Bytes the layer occupies as Docker counts them: regular file contents plus symlink
    /// targets (hardlinks and directories count nothing).
    pub unpacked_bytes: u64,
    /// Tar entries applied (extension headers not counted).
    pub entries: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("unsupported layer media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("layer too large: more than {limit} bytes uncompressed")]
    TooLarge { limit: u64 },
    #[error("decompression bomb: {decompressed} bytes out of {compressed} compressed bytes exceeds the ratio limit {max_ratio}")]
    DecompressionBomb {
        decompressed: u64,
        compressed: u64,
        max_ratio: u64,
    },
    #[error("layer tar headers of one entry exceed {limit} bytes (long name or PAX records)")]
    HeaderTooLarge { limit: u64 },
    /// Decompression failed or the tar stream is malformed (truncated, bad checksum, …).
    #[error("reading layer: {0}")]
    Read(#[source] io::Error),
    #[error("invalid tar header for {path}: {source}")]
    Header { path: String, source: io::Error },
    #[error("invalid path {path:?} in layer: {reason}")]
    InvalidPath { path: String, reason: PathProblem },
    /// A parent of an entry is a dangling symlink (resolved in-root) or not a directory.
    #[error("{path} in layer is not a directory (or a symlink to a missing directory)")]
    NotADirectory { path: String },
    #[error("unsupported tar entry type {kind:?} for {path}")]
    UnsupportedEntry { path: String, kind: u8 },
    /// A filesystem operation failed: `write usr/lib/foo: No space left on device (os error 28)`.
    /// `path` is relative to the layer root.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        source: io::Error,
    },
}

/// Blocking: decompresses `compressed`, hashes the tar stream (diff_id) and writes its entries
/// below `dest` (created if missing) in overlay format, never outside it. The caller verifies the
/// compressed digest and compares the returned diff_id with the image config's.
pub fn unpack_layer(
    compressed: impl Read,
    compression: Compression,
    dest: &Path,
    limits: &UnpackLimits,
) -> Result<UnpackOutcome, UnpackError> {
    unpack_with_grace(
        compressed,
        compression,
        dest,
        limits,
        decompress::RATIO_GRACE_BYTES,
    )
}

/// `unpack_layer` with the ratio guard's grace as a parameter, so tests need not inflate GiBs.
fn unpack_with_grace(
    compressed: impl Read,
    compression: Compression,
    dest: &Path,
    limits: &UnpackLimits,
    ratio_grace: u64,
) -> Result<UnpackOutcome, UnpackError> {
    let state = decompress::StreamState::new(limits, ratio_grace);
    let stream = decompress::open_stream(compressed, compression, &state)?;
    let root = resolve::Root::open(dest)?;
    let mut unpacker = entry::Unpacker::new(root, state.clone());
    let mut archive = tar::Archive::new(stream);
    {
        let mut entries = archive.entries().map_err(|e| state.classify(e))?;
        loop {
            state.begin_headers();
            let next = entries.next();
            state.end_headers();
            let mut entry = match next {
                None => break,
                Some(r) => r.map_err(|e| state.classify(e))?,
            };
            unpacker.apply(&mut entry)?;
            // Drain what the entry did not consume (directories with data, whiteouts, …) here,
            // outside the header budget.
            io::copy(&mut entry, &mut io::sink()).map_err(|e| state.classify(e))?;
        }
    }
    // The tar parser stops at the first zero block; the diff_id covers the rest too.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| state.classify(e))?;
    let diff_id = rest.finish();
    unpacker.finish()?;
    Ok(UnpackOutcome {
        diff_id,
        unpacked_bytes: unpacker.unpacked_bytes,
        entries: unpacker.entries,
    })
}
