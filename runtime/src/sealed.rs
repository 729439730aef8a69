//! CVE-2019-5736: a container that reaches `/proc/<shim>/exe` (a pid namespace shared with the
//! host, or a process joining the container) could rewrite the runtime binary on the host. The
//! engine runs the shim from a sealed in-memory copy instead: `/proc/<shim>/exe` is then that
//! memfd, which nobody can write, shrink or grow, and the file on disk is never exposed.

use std::fs::File;
use std::io::{self, Seek};
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{fcntl_add_seals, memfd_create, MemfdFlags, SealFlags};

/// Copies `path` into a memfd sealed against every change (F_SEAL_SEAL|SHRINK|GROW|WRITE).
/// Execute it through `/proc/self/fd/<n>` (or execveat with AT_EMPTY_PATH); the fd is CLOEXEC,
/// which execve of an ELF binary through that path allows.
pub fn sealed_copy(path: &Path) -> io::Result<OwnedFd> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rdocker-shim".into());
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
    // MFD_EXEC: hosts with vm.memfd_noexec=1 would otherwise make the copy non-executable;
    // kernels before 6.3 do not know the flag (EINVAL) and are executable by default.
    let fd = match memfd_create(&name, flags | MemfdFlags::EXEC) {
        Err(rustix::io::Errno::INVAL) => memfd_create(&name, flags)?,
        other => other?,
    };
    let mut src = File::open(path)?;
    let mut dst = File::from(fd);
    io::copy(&mut src, &mut dst)?;
    // Readers of the fd (a checksum, a copy) start at the beginning.
    dst.rewind()?;
    let fd = OwnedFd::from(dst);
    fcntl_add_seals(
        &fd,
        SealFlags::SEAL | SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE,
    )?;
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn the_copy_is_identical_and_cannot_change() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bin");
        std::fs::write(&p, b"\x7fELF pretend binary").unwrap();
        let fd = sealed_copy(&p).unwrap();
        let mut f = File::from(fd);
        let mut got = Vec::new();
        f.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"\x7fELF pretend binary");
        f.rewind().unwrap();
        let e = f.write(b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}");
        assert_eq!(f.set_len(1).unwrap_err().raw_os_error(), Some(libc::EPERM));
        let seals = rustix::fs::fcntl_get_seals(&f).unwrap();
        assert!(seals.contains(SealFlags::SEAL | SealFlags::WRITE));
        // Opening it again through /proc for writing does not help either.
        let again = std::fs::OpenOptions::new().write(true).open(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&f)
        ));
        if let Ok(mut w) = again {
            assert_eq!(w.write(b"x").unwrap_err().raw_os_error(), Some(libc::EPERM));
        }
    }
}
