//! Helpers for the end-to-end suites: finding unpacked layers in a data root, checking the
//! store's invariants, snapshots of directories that must not change.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::util::sha256_digest;

/// Skips (or, under CI, fails) a test that needs root; call first in every e2e test.
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::util::require_root(module_path!()) {
            return;
        }
    };
}

/// The unpacked layer dirs of a data root: `layers/<id>/diff` (the contract's layout).
pub fn layer_dirs(data_root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(data_root.join("layers")) {
        for e in rd.flatten() {
            let diff = e.path().join("diff");
            if diff.is_dir() {
                out.push(diff);
            }
        }
    }
    out.sort();
    out
}

/// The layer dirs holding `rel` (not following a final symlink).
pub fn layers_with(data_root: &Path, rel: &str) -> Vec<PathBuf> {
    layer_dirs(data_root)
        .into_iter()
        .filter(|d| fs::symlink_metadata(d.join(rel)).is_ok())
        .collect()
}

/// The one layer dir whose `rel` holds exactly `content`.
pub fn layer_with_content(data_root: &Path, rel: &str, content: &[u8]) -> Option<PathBuf> {
    layer_dirs(data_root)
        .into_iter()
        .find(|d| fs::read(d.join(rel)).ok().as_deref() == Some(content))
}

pub fn file_sha256(p: &Path) -> Option<String> {
    fs::read(p).ok().map(|d| sha256_digest(&d))
}

/// Whether `p` is an overlay whiteout: a character device 0:0.
pub fn is_whiteout(p: &Path) -> bool {
    fs::symlink_metadata(p)
        .map(|m| m.file_type().is_char_device() && m.rdev() == 0)
        .unwrap_or(false)
}

/// An extended attribute of `p` itself (lgetxattr), if set.
pub fn xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let path = CString::new(p.as_os_str().as_bytes()).ok()?;
    let name = CString::new(name).ok()?;
    let mut buf = vec![0u8; 256];
    // SAFETY: valid NUL-terminated strings and a buffer of the length passed.
    let n = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return None;
    }
    buf.truncate(n as usize);
    Some(buf)
}

/// Every path below `root` with its type, mode, size and content hash: compare two snapshots
/// to prove nothing changed.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    walk(root, &mut |p, m| {
        let ft = m.file_type();
        let what = if ft.is_file() {
            format!(
                "file {:o} {} {}",
                m.mode(),
                m.len(),
                file_sha256(p).unwrap_or_default()
            )
        } else if ft.is_symlink() {
            format!("link {:?}", fs::read_link(p).ok())
        } else if ft.is_dir() {
            format!("dir {:o}", m.mode())
        } else {
            format!("other {:o} {}", m.mode(), m.rdev())
        };
        out.insert(p.to_path_buf(), what);
    });
    out.insert(
        root.to_path_buf(),
        format!("{:?}", fs::symlink_metadata(root).map(|m| m.mode())),
    );
    out
}

/// Depth-first walk that never follows symlinks.
pub fn walk(root: &Path, f: &mut dyn FnMut(&Path, &fs::Metadata)) {
    let Ok(rd) = fs::read_dir(root) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(m) = fs::symlink_metadata(&p) else {
            continue;
        };
        f(&p, &m);
        if m.is_dir() {
            walk(&p, f);
        }
    }
}

/// What a crash or a refused pull must never leave in a data root: blobs whose bytes do not
/// hash to their name, and files that look temporary. Returns one line per problem.
pub fn store_problems(data_root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    if let Ok(rd) = fs::read_dir(data_root.join("blobs/sha256")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let ok_name = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
            if !ok_name {
                problems.push(format!("unexpected entry in blobs/sha256: {name}"));
                continue;
            }
            if file_sha256(&e.path()).as_deref() != Some(&format!("sha256:{name}")) {
                problems.push(format!("blob {name} does not hash to its name"));
            }
        }
    }
    let layers = data_root.join("layers");
    walk(data_root, &mut |p, m| {
        // Inside an unpacked layer, any name is the image's business.
        if p.strip_prefix(&layers)
            .map(|r| r.components().count() > 2)
            .unwrap_or(false)
        {
            return;
        }
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        // An empty staging dir is fine; anything in it, or a temp-named file, is a leftover.
        let empty_dir = m.is_dir()
            && fs::read_dir(p)
                .map(|mut r| r.next().is_none())
                .unwrap_or(false);
        let temp_name = ["tmp", "partial", "incoming", "ingest", "download"]
            .iter()
            .any(|t| name.contains(t));
        if temp_name && !empty_dir {
            problems.push(format!("temporary-looking leftover: {}", p.display()));
        }
    });
    problems
}

/// The stock docker CLI, if installed (`/usr/local/bin/docker` or on PATH).
pub fn docker_cli() -> Option<PathBuf> {
    let local = PathBuf::from("/usr/local/bin/docker");
    if local.exists() {
        return Some(local);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("docker"))
            .find(|p| p.exists())
    })
}

/// The 12-hex short form Docker prints for a digest or id.
pub fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..12.min(hex.len())]
}

/// A registry with `sets` pushed, and an rdockerd using it as docker.io mirror.
pub fn registry_and_daemon(
    sets: &[&str],
    auth: crate::RegistryAuth,
) -> (crate::TestRegistry, crate::TestDaemon) {
    let reg = crate::TestRegistry::start(auth).expect("registry starts");
    crate::fixtures::push_sets(&reg, sets).expect("fixtures push");
    let d = crate::TestDaemon::with_registry(&reg).expect("rdockerd starts");
    (reg, d)
}

/// Soft assertions: a test that checks many independent behaviours records every failure and
/// reports them all at the end, so one early bug does not hide the others.
#[derive(Default)]
pub struct Checks(Vec<String>);

impl Checks {
    #[track_caller]
    pub fn check(&mut self, ok: bool, what: impl std::fmt::Display) {
        if !ok {
            let at = std::panic::Location::caller();
            self.0.push(format!("{}:{}: {what}", at.file(), at.line()));
        }
    }

    /// Panics with every recorded failure.
    #[track_caller]
    pub fn finish(self) {
        assert!(
            self.0.is_empty(),
            "{} check(s) failed:\n\n{}",
            self.0.len(),
            self.0.join("\n\n")
        );
    }
}
