//! A sealed in-memory copy of `rdocker-shim` (CVE-2019-5736): the shim runs from a memfd that
//! nobody can write, so a container that reaches `/proc/<shim>/exe` cannot replace the runtime
//! on the host. Made once per daemon; every spawn executes it through `/proc/self/fd/<n>`.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The shim's path and its sealed copy (None when the copy could not be made).
static SEALED: OnceLock<(PathBuf, Option<OwnedFd>)> = OnceLock::new();

/// The runtime crate's: memfd (close-on-exec, sealable, MFD_EXEC where needed), copy, seal.
pub use rdocker_runtime::sealed_copy;

/// Makes the daemon's sealed copy of `shim` (first call wins; later calls are no-ops).
pub fn init(shim: &Path) {
    SEALED.get_or_init(|| {
        let fd = match sealed_copy(shim) {
            Ok(fd) => Some(fd),
            Err(e) => {
                tracing::warn!(
                    "cannot make a sealed copy of {}: {e}; running it from its path",
                    shim.display()
                );
                None
            }
        };
        (shim.to_path_buf(), fd)
    });
}

/// What to execute for `shim`: the sealed copy, or the path itself when there is none.
///
/// The copy is reached through `/proc/self/fd/<n>`: the fd is close-on-exec, and the kernel
/// opens the path in the child before closing it, so the shim inherits no fd of ours (this
/// works for ELF binaries, not scripts). The kernel names a process after the last component
/// of the path it was executed by, so the path is a symlink `<dir>/rdocker-shim` to that
/// magic link (resolved in the child, whose fd `<n>` is the same file): `ps` and `pgrep` see
/// `rdocker-shim`, not `13`. `dir` is the spawn's run dir (ours, 0700, removed with it).
pub fn program(shim: &Path, dir: &Path) -> PathBuf {
    let Some((p, Some(fd))) = SEALED.get() else {
        return shim.to_path_buf();
    };
    if p != shim {
        return shim.to_path_buf();
    }
    via_link(fd, dir)
}

fn via_link(fd: &OwnedFd, dir: &Path) -> PathBuf {
    let target = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    let link = dir.join("rdocker-shim");
    // A previous daemon's link may name another fd number.
    let _ = std::fs::remove_file(&link);
    match std::os::unix::fs::symlink(&target, &link) {
        Ok(()) => link,
        Err(_) => target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::SealFlags;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;

    #[test]
    fn the_copy_is_sealed_and_runs() {
        let fd = sealed_copy(Path::new("/bin/true")).unwrap();
        let seals = rustix::fs::fcntl_get_seals(&fd).unwrap();
        assert!(seals.contains(SealFlags::WRITE | SealFlags::SEAL | SealFlags::GROW));
        // Writing through any path fails: the copy cannot be changed.
        let p = format!("/proc/self/fd/{}", fd.as_raw_fd());
        let w = std::fs::OpenOptions::new().write(true).open(&p);
        assert!(w.and_then(|mut f| f.write_all(b"x")).is_err());
        // And it executes (CLOEXEC fd by path), as the shim's spawn does.
        let st = std::process::Command::new(&p).status().unwrap();
        assert!(st.success());
        let st = std::process::Command::new(&p)
            .arg0("false")
            .status()
            .unwrap();
        assert!(st.success(), "arg0 does not change what runs");
    }

    #[test]
    fn run_through_the_link_it_is_named_rdocker_shim() {
        let fd = sealed_copy(Path::new("/bin/sleep")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let prog = via_link(&fd, dir.path());
        assert_eq!(prog, dir.path().join("rdocker-shim"));
        let mut child = std::process::Command::new(&prog).arg("5").spawn().unwrap();
        // The name is set by execve: wait until the child is past it.
        let pid = child.id();
        let mut comm = String::new();
        for _ in 0..200 {
            comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "rdocker-shim" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(comm.trim(), "rdocker-shim");
        // The memfd is named after the file it copies (the daemon's is rdocker-shim).
        assert!(exe.to_string_lossy().starts_with("/memfd:sleep"), "{exe:?}");
        // Relinking (a new daemon, another fd number) replaces the old link.
        assert_eq!(via_link(&fd, dir.path()), prog);
    }

    #[test]
    fn program_falls_back_to_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Not the path the daemon sealed (or nothing sealed in this test process).
        assert_eq!(program(&f, dir.path()), f);
    }
}
