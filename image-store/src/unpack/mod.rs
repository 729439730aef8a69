//! Safe layer unpack (owned by the unpack helper).

use std::io::Read;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    None,
}

#[derive(Debug, Clone)]
pub struct UnpackLimits {
    pub max_unpacked_bytes: u64,
    pub max_ratio: u64,
}

#[derive(Debug, Clone)]
pub struct UnpackOutcome {
    pub diff_id: String,
    pub unpacked_bytes: u64,
    pub entries: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

pub fn unpack_layer(
    compressed: impl Read,
    compression: Compression,
    dest: &Path,
    limits: &UnpackLimits,
) -> Result<UnpackOutcome, UnpackError> {
    let _ = (compressed, compression, dest, limits);
    todo!("unpack helper")
}
