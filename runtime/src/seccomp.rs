//! `io.rdocker.seccomp.bpf`: the engine compiles the profile once (rdocker-seccomp); the shim
//! reads the program before clone (the path means nothing inside the container), and the child
//! loads it with seccomp(SECCOMP_SET_MODE_FILTER). No libseccomp in the runtime.

use std::path::Path;

use crate::error::{Context, ShimError};

pub const ANNOTATION: &str = "io.rdocker.seccomp.bpf";

/// BPF_MAXINSNS: the kernel refuses longer classic BPF programs.
const MAX_INSNS: usize = 4096;
const INSN_SIZE: usize = 8;

/// A classic BPF program, ready for the kernel.
#[derive(Debug)]
pub struct Filter {
    insns: Vec<libc::sock_filter>,
}

impl Filter {
    /// Reads the annotation's file; no annotation = unconfined.
    pub fn from_annotation(value: Option<&String>) -> Result<Option<Filter>, ShimError> {
        let Some(path) = value else {
            return Ok(None);
        };
        let path = Path::new(path);
        let bytes =
            std::fs::read(path).ctx(|| format!("read seccomp filter {}", path.display()))?;
        Filter::from_bytes(&bytes)
            .map(Some)
            .map_err(|why| ShimError::Spec(format!("seccomp filter {}: {why}", path.display())))
    }

    /// An array of `struct sock_filter` (u16 code, u8 jt, u8 jf, u32 k; native endianness).
    pub fn from_bytes(bytes: &[u8]) -> Result<Filter, String> {
        if bytes.is_empty() {
            return Err("empty program".into());
        }
        if !bytes.len().is_multiple_of(INSN_SIZE) {
            return Err(format!(
                "{} bytes is not a whole number of 8-byte instructions",
                bytes.len()
            ));
        }
        let n = bytes.len() / INSN_SIZE;
        if n > MAX_INSNS {
            return Err(format!(
                "{n} instructions, the kernel takes at most {MAX_INSNS}"
            ));
        }
        let insns = bytes
            .chunks_exact(INSN_SIZE)
            .map(|c| libc::sock_filter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        Ok(Filter { insns })
    }

    pub fn len(&self) -> usize {
        self.insns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// Installs the filter on the calling thread (the process is single-threaded). Needs
    /// no_new_privs or CAP_SYS_ADMIN in the current user namespace.
    pub fn load(&self) -> Result<(), ShimError> {
        let prog = libc::sock_fprog {
            // from_bytes caps the length at 4096, which fits.
            len: u16::try_from(self.insns.len()).unwrap_or(u16::MAX),
            filter: self.insns.as_ptr().cast_mut(),
        };
        // SAFETY: `prog` points at `len` initialised sock_filter structs owned by `self`, alive
        // for the call; the kernel copies the program and keeps no pointer to our memory.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0u32,
                &prog as *const libc::sock_fprog,
            )
        };
        if r != 0 {
            return Err(ShimError::sys(
                "load the seccomp filter",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_validated() {
        assert!(Filter::from_bytes(&[]).unwrap_err().contains("empty"));
        assert!(Filter::from_bytes(&[0; 12]).unwrap_err().contains("8-byte"));
        assert!(Filter::from_bytes(&vec![0; 8 * 4097])
            .unwrap_err()
            .contains("at most 4096"));
        // ret ALLOW
        let mut one = 0x06u16.to_ne_bytes().to_vec();
        one.extend([0, 0]);
        one.extend(0x7fff_0000u32.to_ne_bytes());
        let f = Filter::from_bytes(&one).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f.insns[0].code, 0x06);
        assert_eq!(f.insns[0].k, 0x7fff_0000);
    }
}
