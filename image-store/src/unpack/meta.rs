//! Ownership, mode, times and xattrs of an entry, from its header and PAX records.

use std::io::{self, Read};
use std::os::fd::BorrowedFd;

use rustix::fs::Timespec;
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, Timestamps};
use rustix::io::Errno;
use tar::Entry;

use super::path::LayerPath;
use super::UnpackError;

const PAX_XATTR: &[u8] = b"SCHILY.xattr.";

/// Xattr namespaces a layer may not set: overlay markers must only come from `.wh.` entries,
/// which we translate ourselves (`user.overlay.*` is overlay's unprivileged variant).
const FORBIDDEN_XATTRS: [&[u8]; 2] = [b"trusted.overlay.", b"user.overlay."];

#[derive(Debug, Clone)]
pub(super) struct Meta {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits including setuid/setgid/sticky.
    pub mode: u32,
    pub mtime: (i64, u32),
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Meta {
    /// Reads the header (the tar crate already applied PAX `uid`/`gid`/`size`), then PAX
    /// `mtime` (sub-second) and `SCHILY.xattr.*` records.
    pub(super) fn read<R: Read>(
        entry: &mut Entry<'_, R>,
        path: &LayerPath,
    ) -> Result<Meta, UnpackError> {
        let bad = |e: io::Error| UnpackError::Header {
            path: path.display(),
            source: e,
        };
        let h = entry.header();
        let id = |v: u64| match u32::try_from(v) {
            // u32::MAX is chown's "leave unchanged": refuse it rather than silently keep ours.
            Ok(v) if v != u32::MAX => Ok(v),
            _ => Err(bad(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("owner id {v} out of range"),
            ))),
        };
        let uid = id(h.uid().map_err(bad)?)?;
        let gid = id(h.gid().map_err(bad)?)?;
        let mode = h.mode().map_err(bad)? & 0o7777;
        let secs = h.mtime().map_err(bad)?;
        let mut meta = Meta {
            uid,
            gid,
            mode,
            mtime: (i64::try_from(secs).unwrap_or(i64::MAX), 0),
            xattrs: Vec::new(),
        };
        if let Some(exts) = entry.pax_extensions().map_err(bad)? {
            for ext in exts {
                let ext = ext.map_err(bad)?;
                let key = ext.key_bytes();
                if let Some(name) = key.strip_prefix(PAX_XATTR) {
                    if name.is_empty()
                        || name.contains(&0)
                        || FORBIDDEN_XATTRS.iter().any(|p| name.starts_with(p))
                    {
                        tracing::debug!(path = %path.display(), "xattr from layer skipped");
                        continue;
                    }
                    meta.xattrs
                        .push((name.to_vec(), ext.value_bytes().to_vec()));
                } else if key == b"mtime" {
                    if let Some(t) = parse_pax_time(ext.value_bytes()) {
                        meta.mtime = t;
                    }
                }
            }
        }
        Ok(meta)
    }

    pub(super) fn times(&self) -> Timestamps {
        let t = Timespec {
            tv_sec: self.mtime.0,
            tv_nsec: i64::from(self.mtime.1),
        };
        // atime = mtime, as the layer's atime is meaningless and Docker does the same.
        Timestamps {
            last_access: t,
            last_modification: t,
        }
    }
}

/// PAX time: `[-]seconds[.fraction]`. Returns `None` on anything else (the header's whole
/// seconds are kept then).
fn parse_pax_time(v: &[u8]) -> Option<(i64, u32)> {
    let s = std::str::from_utf8(v).ok()?;
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let secs: i64 = int.parse().ok()?;
    let mut nanos: u32 = 0;
    for (i, d) in frac.bytes().take(9).enumerate() {
        nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
    }
    if !neg {
        return Some((secs, nanos));
    }
    // -1.25 s is -2 s + 0.75 s in timespec form.
    if nanos == 0 {
        Some((-secs, 0))
    } else {
        Some((-secs - 1, 1_000_000_000 - nanos))
    }
}

/// The Linux 6.6 `fchmodat2` syscall number (the same on every architecture with the generic
/// syscall table, x86_64 included); libc only names it for a few targets.
const SYS_FCHMODAT2: libc::c_long = 452;

/// chmod of `name` in `parent` without following a symlink.
///
/// Used for device nodes and FIFOs, which we cannot open to `fchmod` (opening a device can have
/// side effects, opening a FIFO blocks). `fchmodat2(AT_SYMLINK_NOFOLLOW)` does it on Linux ≥ 6.6;
/// older kernels get `fchmodat` after checking that `name` (which we just created through the
/// same parent fd, in a layer directory nobody else writes) is not a symlink.
pub(super) fn chmod_nofollow(parent: BorrowedFd<'_>, name: &[u8], mode: u32) -> io::Result<()> {
    let cname =
        std::ffi::CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: fchmodat2(int dirfd, const char *path, mode_t mode, unsigned int flags): `parent`
    // is a live borrowed fd and `cname` a NUL-terminated string that outlives the call; the
    // kernel reads nothing else.
    let rc = unsafe {
        libc::syscall(
            SYS_FCHMODAT2,
            std::os::fd::AsRawFd::as_raw_fd(&parent),
            cname.as_ptr(),
            mode as libc::mode_t,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOSYS) {
        return Err(err);
    }
    let st = rfs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
        return Err(io::Error::from_raw_os_error(Errno::LOOP.raw_os_error()));
    }
    rfs::chmodat(parent, name, Mode::from_raw_mode(mode), AtFlags::empty()).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::parse_pax_time;

    #[test]
    fn pax_times() {
        assert_eq!(parse_pax_time(b"1700000000"), Some((1_700_000_000, 0)));
        assert_eq!(
            parse_pax_time(b"1700000000.5"),
            Some((1_700_000_000, 500_000_000))
        );
        assert_eq!(parse_pax_time(b"-1.25"), Some((-2, 750_000_000)));
        assert_eq!(parse_pax_time(b"x"), None);
        assert_eq!(parse_pax_time(b""), None);
    }
}
