//! Normalization of the names stored in a layer tar.
//!
//! A name is split on `/`; empty and `.` components are dropped (so `/tmp/x`, `./tmp/x` and
//! `tmp//x` are all `tmp/x`: absolute names are relative to the layer root, as in Docker and GNU
//! tar). A `..` component is refused outright: real layers never contain one, and refusing is
//! simpler to reason about than lexical cleaning (which would disagree with the filesystem as soon
//! as a symlink is involved). Resolution in-root (see `resolve.rs`) is what actually confines
//! paths; this is the first line, not the only one.

use std::fmt;

use super::UnpackError;

/// Linux `NAME_MAX`.
const NAME_MAX: usize = 255;
/// Linux `PATH_MAX` includes the terminating NUL.
const PATH_MAX: usize = 4095;
/// How much of a hostile name an error message repeats.
const SHOWN: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProblem {
    /// A `..` component.
    ParentComponent,
    /// A NUL byte (PAX records can carry one; no syscall can).
    NulByte,
    /// The name is empty (or only `/` and `.`) where an entry needs one.
    Empty,
    /// A component longer than 255 bytes.
    ComponentTooLong,
    /// More than 4095 bytes in all.
    TooLong,
    /// A whiteout without a name (`.wh.`), or naming `.`/`..`.
    BadWhiteout,
}

impl fmt::Display for PathProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathProblem::ParentComponent => "contains a \"..\" component",
            PathProblem::NulByte => "contains a NUL byte",
            PathProblem::Empty => "is empty",
            PathProblem::ComponentTooLong => "has a component longer than 255 bytes",
            PathProblem::TooLong => "is longer than 4095 bytes",
            PathProblem::BadWhiteout => "is an invalid whiteout",
        })
    }
}

/// A normalized layer path: `a/b/c`, no leading or doubled `/`, no `.` or `..`; `""` is the root.
#[derive(Debug, Clone)]
pub(super) struct LayerPath {
    norm: Vec<u8>,
    /// Index of the last `/` in `norm`, if any.
    split: Option<usize>,
}

impl LayerPath {
    pub(super) fn parse(raw: &[u8]) -> Result<LayerPath, UnpackError> {
        let bad = |reason| UnpackError::InvalidPath {
            path: lossy(raw),
            reason,
        };
        if raw.contains(&0) {
            return Err(bad(PathProblem::NulByte));
        }
        let mut norm = Vec::with_capacity(raw.len());
        let mut split = None;
        for comp in raw.split(|b| *b == b'/') {
            match comp {
                b"" | b"." => continue,
                b".." => return Err(bad(PathProblem::ParentComponent)),
                _ if comp.len() > NAME_MAX => return Err(bad(PathProblem::ComponentTooLong)),
                _ => {}
            }
            if !norm.is_empty() {
                split = Some(norm.len());
                norm.push(b'/');
            }
            norm.extend_from_slice(comp);
        }
        if norm.len() > PATH_MAX {
            return Err(bad(PathProblem::TooLong));
        }
        Ok(LayerPath { norm, split })
    }

    pub(super) fn is_root(&self) -> bool {
        self.norm.is_empty()
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.norm
    }

    /// The parent directory (`""` for entries at the top).
    pub(super) fn parent(&self) -> &[u8] {
        match self.split {
            Some(i) => &self.norm[..i],
            None => b"",
        }
    }

    /// The final component (empty only for the root).
    pub(super) fn name(&self) -> &[u8] {
        match self.split {
            Some(i) => &self.norm[i + 1..],
            None => &self.norm,
        }
    }

    pub(super) fn display(&self) -> String {
        if self.norm.is_empty() {
            return ".".to_string();
        }
        lossy(&self.norm)
    }
}

/// A name for messages: lossy UTF-8, cut short when hostile-long.
pub(super) fn lossy(raw: &[u8]) -> String {
    if raw.len() > SHOWN {
        format!("{}…", String::from_utf8_lossy(&raw[..SHOWN]))
    } else {
        String::from_utf8_lossy(raw).into_owned()
    }
}
