//! The byte pipeline under the tar parser:
//!
//! ```text
//! compressed ─▶ Counting ─▶ decoder (gzip | zstd | none) ─▶ HashLimit ─▶ BufReader ─▶ MetaBudget ─▶ tar
//! ```
//!
//! `Counting` counts compressed bytes (for the ratio guard), `HashLimit` hashes every decompressed
//! byte (the diff_id) and enforces the size/ratio limits, the 128 KiB `BufReader` turns the tar
//! crate's 512-byte reads into large decoder reads, and `MetaBudget` caps how many bytes the tar
//! crate may consume while it parses one entry's headers (GNU long names and PAX records are read
//! into memory by the tar crate, so an unbounded one is a memory bomb).
//!
//! A limit violation is reported to the tar crate as an `io::Error` (that is all it can carry) and
//! recorded in [`StreamState`], so [`StreamState::classify`] can turn it back into a typed error.

use std::cell::Cell;
use std::io::{self, BufReader, Read};
use std::rc::Rc;

use sha2::{Digest, Sha256};

use super::{Compression, UnpackError, UnpackLimits};

/// Past this many decompressed bytes the ratio guard applies: small layers may compress
/// extremely well (a tar of empty files is mostly zeros) without being bombs.
pub(super) const RATIO_GRACE_BYTES: u64 = 1 << 30;

/// How many bytes the tar crate may read while parsing one entry's headers (ustar header, GNU
/// long name/link, PAX records). Real layers need a few KiB; xattrs are capped at 64 KiB each.
pub(super) const META_BUDGET_BYTES: u64 = 16 << 20;

/// Read buffer between the decoder and the tar parser.
pub(super) const BUF_SIZE: usize = 128 * 1024;

impl Compression {
    /// Maps an OCI / Docker layer media type to its compression.
    pub fn from_media_type(mt: &str) -> Result<Compression, UnpackError> {
        match mt {
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
            | "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" => {
                Ok(Compression::Gzip)
            }
            "application/vnd.docker.image.rootfs.diff.tar.zstd"
            | "application/vnd.oci.image.layer.v1.tar+zstd"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => {
                Ok(Compression::Zstd)
            }
            "application/vnd.docker.image.rootfs.diff.tar"
            | "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar" => Ok(Compression::None),
            other => Err(UnpackError::UnsupportedMediaType(other.to_string())),
        }
    }
}

/// Which limit tripped; kept aside because the tar crate only passes `io::Error`s through.
#[derive(Debug, Clone, Copy)]
enum Violation {
    TooLarge {
        limit: u64,
    },
    Bomb {
        decompressed: u64,
        compressed: u64,
        max_ratio: u64,
    },
    Meta {
        limit: u64,
    },
}

/// Counters shared by the readers of one unpack (single-threaded, hence `Rc<Cell>`).
pub(super) struct StreamState {
    limits: UnpackLimits,
    /// Decompressed bytes before the ratio guard applies ([`RATIO_GRACE_BYTES`] but in tests).
    ratio_grace: u64,
    compressed: Cell<u64>,
    decompressed: Cell<u64>,
    violation: Cell<Option<Violation>>,
    /// `Some(remaining)` while the tar crate parses headers, `None` while entry data is read.
    meta_budget: Cell<Option<u64>>,
}

impl StreamState {
    pub(super) fn new(limits: &UnpackLimits, ratio_grace: u64) -> Rc<StreamState> {
        Rc::new(StreamState {
            limits: limits.clone(),
            ratio_grace,
            compressed: Cell::new(0),
            decompressed: Cell::new(0),
            violation: Cell::new(None),
            meta_budget: Cell::new(None),
        })
    }

    /// Arms the header budget before asking the tar crate for the next entry.
    pub(super) fn begin_headers(&self) {
        self.meta_budget.set(Some(META_BUDGET_BYTES));
    }

    pub(super) fn end_headers(&self) {
        self.meta_budget.set(None);
    }

    /// Turns an error that came out of the reader stack into the typed error: a limit violation
    /// if one was recorded (whatever the tar crate wrapped it into), else a read error.
    pub(super) fn classify(&self, e: io::Error) -> UnpackError {
        match self.violation.get() {
            Some(Violation::TooLarge { limit }) => UnpackError::TooLarge { limit },
            Some(Violation::Bomb {
                decompressed,
                compressed,
                max_ratio,
            }) => UnpackError::DecompressionBomb {
                decompressed,
                compressed,
                max_ratio,
            },
            Some(Violation::Meta { limit }) => UnpackError::HeaderTooLarge { limit },
            None => UnpackError::Read(e),
        }
    }

    fn fail(&self, v: Violation) -> io::Error {
        self.violation.set(Some(v));
        io::Error::other("layer stream limit exceeded")
    }
}

/// Counts the compressed bytes the decoder pulls.
struct Counting<R> {
    inner: R,
    state: Rc<StreamState>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.state
            .compressed
            .set(self.state.compressed.get() + n as u64);
        Ok(n)
    }
}

/// Hashes the decompressed stream and enforces the size and ratio limits.
pub(super) struct HashLimit<'a> {
    inner: Box<dyn Read + 'a>,
    hasher: Sha256,
    state: Rc<StreamState>,
}

impl Read for HashLimit<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.state.violation.get().is_some() {
            // Once tripped, stay tripped: callers may retry reads after an error.
            return Err(io::Error::other("layer stream limit exceeded"));
        }
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        let st = &self.state;
        let total = st.decompressed.get() + n as u64;
        st.decompressed.set(total);
        if total > st.limits.max_unpacked_bytes {
            return Err(st.fail(Violation::TooLarge {
                limit: st.limits.max_unpacked_bytes,
            }));
        }
        let compressed = st.compressed.get();
        if total > st.ratio_grace && total > compressed.saturating_mul(st.limits.max_ratio) {
            return Err(st.fail(Violation::Bomb {
                decompressed: total,
                compressed,
                max_ratio: st.limits.max_ratio,
            }));
        }
        Ok(n)
    }
}

/// Caps the bytes consumed while the tar crate parses headers (see module docs).
pub(super) struct MetaBudget<'a> {
    inner: BufReader<HashLimit<'a>>,
    state: Rc<StreamState>,
}

impl Read for MetaBudget<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(left) = self.state.meta_budget.get() {
            match left.checked_sub(n as u64) {
                Some(left) => self.state.meta_budget.set(Some(left)),
                None => {
                    return Err(self.state.fail(Violation::Meta {
                        limit: META_BUDGET_BYTES,
                    }))
                }
            }
        }
        Ok(n)
    }
}

impl MetaBudget<'_> {
    /// `"sha256:<hex>"` of everything decompressed so far; call after draining to EOF.
    pub(super) fn finish(self) -> String {
        let hashed = self.inner.into_inner();
        format!("sha256:{}", hex::encode(hashed.hasher.finalize()))
    }
}

/// Builds the reader stack for one layer.
pub(super) fn open_stream<'a>(
    compressed: impl Read + 'a,
    compression: Compression,
    state: &Rc<StreamState>,
) -> Result<MetaBudget<'a>, UnpackError> {
    let counted = Counting {
        inner: compressed,
        state: state.clone(),
    };
    let decoder: Box<dyn Read + 'a> = match compression {
        // Multi-member: some tools write concatenated gzip members; all of them are the layer.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counted)),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::new(counted).map_err(UnpackError::Read)?)
        }
        Compression::None => Box::new(counted),
    };
    let hashed = HashLimit {
        inner: decoder,
        hasher: Sha256::new(),
        state: state.clone(),
    };
    Ok(MetaBudget {
        inner: BufReader::with_capacity(BUF_SIZE, hashed),
        state: state.clone(),
    })
}
