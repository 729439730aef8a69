//! Which rules of a profile apply on this host for a given capability set, and for which
//! architectures the filter is built: moby's `setupSeccomp` (profiles/seccomp/seccomp_linux.go).

use crate::profile::{Filter, KernelVersion, Profile, Syscall};
use crate::SeccompError;
use std::sync::OnceLock;

/// The host as the rule conditions see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Host {
    /// moby's name of the native architecture (`goToNative[runtime.GOARCH]`), used by the
    /// `arches` conditions.
    pub arch: &'static str,
    /// libseccomp's name of the native architecture, matched against `archMap`.
    pub scmp_arch: &'static str,
    pub kernel: KernelVersion,
}

impl Host {
    pub(crate) fn current() -> Result<Host, SeccompError> {
        static KERNEL: OnceLock<Result<KernelVersion, String>> = OnceLock::new();
        let kernel = KERNEL
            .get_or_init(|| {
                let uname = rustix::system::uname();
                let release = uname.release().to_string_lossy();
                parse_release(&release)
            })
            .clone()
            .map_err(SeccompError::Lib)?;
        let (arch, scmp_arch) = native_arch();
        Ok(Host {
            arch,
            scmp_arch,
            kernel,
        })
    }
}

/// The host's architecture as (moby name, libseccomp name).
fn native_arch() -> (&'static str, &'static str) {
    if cfg!(target_arch = "x86_64") {
        ("amd64", "SCMP_ARCH_X86_64")
    } else if cfg!(target_arch = "x86") {
        ("x86", "SCMP_ARCH_X86")
    } else if cfg!(target_arch = "aarch64") {
        ("arm64", "SCMP_ARCH_AARCH64")
    } else if cfg!(target_arch = "arm") {
        ("arm", "SCMP_ARCH_ARM")
    } else if cfg!(target_arch = "riscv64") {
        ("riscv64", "SCMP_ARCH_RISCV64")
    } else if cfg!(target_arch = "s390x") {
        ("s390x", "SCMP_ARCH_S390X")
    } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
        ("ppc64le", "SCMP_ARCH_PPC64LE")
    } else if cfg!(target_arch = "powerpc64") {
        ("ppc64", "SCMP_ARCH_PPC64")
    } else if cfg!(target_arch = "loongarch64") {
        ("loongarch64", "SCMP_ARCH_LOONGARCH64")
    } else {
        ("", "")
    }
}

/// "6.18.3-amd64" → 6.18; like moby's `Sscanf("%d.%d")`, suffixes are ignored.
pub(crate) fn parse_release(release: &str) -> Result<KernelVersion, String> {
    let bad = || format!("failed to parse kernel version \"{release}\"");
    let mut parts = release.splitn(2, '.');
    let kernel = parts.next().and_then(leading_number).ok_or_else(bad)?;
    let major = parts.next().and_then(leading_number).ok_or_else(bad)?;
    Ok(KernelVersion {
        // Kernel numbers beyond 255 cannot be compared with a u8 minKernel; saturate.
        kernel: u8::try_from(kernel).unwrap_or(u8::MAX),
        major: u8::try_from(major).unwrap_or(u8::MAX),
    })
}

fn leading_number(s: &str) -> Option<u64> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().ok()
}

/// The architectures (libseccomp names) the filter must cover besides the native one.
pub(crate) fn architectures<'a>(p: &'a Profile, host: &Host) -> Vec<&'a str> {
    if !p.architectures.is_empty() {
        return p.architectures.iter().map(String::as_str).collect();
    }
    p.arch_map
        .iter()
        .find(|m| m.architecture == host.scmp_arch)
        .map(|m| {
            std::iter::once(&m.architecture)
                .chain(&m.sub_architectures)
                .map(String::as_str)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `rule` is part of the filter for a process with capabilities `caps` (normalised
/// `CAP_*` names) on `host`.
pub(crate) fn applies(rule: &Syscall, caps: &[String], host: &Host) -> bool {
    let has_cap = |c: &String| {
        caps.iter()
            .any(|have| have.eq_ignore_ascii_case(&normalize_cap(c)))
    };
    if let Some(ex) = &rule.excludes {
        if ex.arches.iter().any(|a| a == host.arch)
            || ex.caps.iter().any(has_cap)
            || ex.min_kernel.is_some_and(|v| host.kernel >= v)
        {
            return false;
        }
    }
    if let Some(Filter {
        caps: inc_caps,
        arches,
        min_kernel,
    }) = &rule.includes
    {
        if (!arches.is_empty() && !arches.iter().any(|a| a == host.arch))
            || !inc_caps.iter().all(has_cap)
            || min_kernel.is_some_and(|v| host.kernel < v)
        {
            return false;
        }
    }
    true
}

/// `sys_admin` → `CAP_SYS_ADMIN`: the engine passes Docker's spelling, but a profile or a
/// caller may omit the prefix as `--cap-add` allows.
pub(crate) fn normalize_cap(cap: &str) -> String {
    let upper = cap.to_ascii_uppercase();
    if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_parsing_ignores_suffixes() {
        assert_eq!(
            parse_release("6.18.3-amd64"),
            Ok(KernelVersion {
                kernel: 6,
                major: 18
            })
        );
        assert_eq!(
            parse_release("3.12-1-amd64"),
            Ok(KernelVersion {
                kernel: 3,
                major: 12
            })
        );
        assert_eq!(
            parse_release("4.8"),
            Ok(KernelVersion {
                kernel: 4,
                major: 8
            })
        );
        assert!(parse_release("garbage").is_err());
        assert!(parse_release("6").is_err());
    }

    #[test]
    fn kernel_versions_order_numerically() {
        let v = |kernel, major| KernelVersion { kernel, major };
        assert!(v(6, 18) >= v(4, 8));
        assert!(v(4, 10) > v(4, 8));
        assert!(v(3, 99) < v(4, 0));
    }

    #[test]
    fn caps_are_normalised() {
        assert_eq!(normalize_cap("sys_admin"), "CAP_SYS_ADMIN");
        assert_eq!(normalize_cap("CAP_KILL"), "CAP_KILL");
    }
}
