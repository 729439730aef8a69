//! Platforms (`linux/amd64`, `linux/arm64/v8`) and the host's own, with the matching rules of
//! containerd's `platforms` package (arm64 without variant == arm64/v8, arm == arm/v7).

use std::fmt;

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// The platform of this build of the engine, in Go's names (GOOS/GOARCH).
    pub fn host() -> Platform {
        let (arch, variant) = goarch(std::env::consts::ARCH);
        Platform {
            os: std::env::consts::OS.to_string(),
            architecture: arch.to_string(),
            variant: variant.map(str::to_string),
        }
    }

    /// `os[/arch[/variant]]` or a bare architecture (`arm64`) as containerd accepts; Rust and
    /// other aliases are normalised (`x86_64` → `amd64`, `aarch64` → `arm64`).
    pub fn parse(s: &str) -> Result<Platform, StoreError> {
        let bad = |why| StoreError::InvalidPlatform(s.to_string(), why);
        let parts: Vec<&str> = s.trim().split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad("empty component"));
        }
        for p in &parts {
            if !p
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(bad("invalid character"));
            }
        }
        let (os, arch, variant) = match parts.as_slice() {
            [one] if is_known_os(&one.to_ascii_lowercase()) => {
                let host = Platform::host();
                (one.to_string(), host.architecture, host.variant)
            }
            [one] => ("linux".to_string(), one.to_string(), None),
            [os, arch] => (os.to_string(), arch.to_string(), None),
            [os, arch, v] => (os.to_string(), arch.to_string(), Some(v.to_string())),
            _ => return Err(bad("too many components")),
        };
        let os = os.to_ascii_lowercase();
        if os == "macos" {
            return Ok(Platform::normalized("darwin", &arch, variant));
        }
        Ok(Platform::normalized(&os, &arch, variant))
    }

    fn normalized(os: &str, arch: &str, variant: Option<String>) -> Platform {
        let arch = arch.to_ascii_lowercase();
        let variant = variant.map(|v| v.to_ascii_lowercase());
        let (arch, default_variant) = goarch(&arch);
        let variant = match (arch, variant.as_deref()) {
            // arm64 has only one meaningful variant; containerd drops "v8" when normalising.
            ("arm64", Some("v8")) | ("arm64", None) => None,
            ("arm", None) => Some("v7".to_string()),
            ("arm", Some("7")) => Some("v7".to_string()),
            ("arm", Some("6")) => Some("v6".to_string()),
            ("arm", Some("5")) => Some("v5".to_string()),
            ("amd64", Some("v1")) => None,
            (_, Some(v)) => Some(v.to_string()),
            (_, None) => default_variant
                .map(str::to_string)
                .filter(|_| arch != "arm64"),
        };
        Platform {
            os: os.to_string(),
            architecture: arch.to_string(),
            variant,
        }
    }

    /// Normalised copy (for comparing with entries of an image index).
    pub fn normalize(&self) -> Platform {
        Platform::normalized(&self.os, &self.architecture, self.variant.clone())
    }

    /// Whether an index entry for `other` can run where `self` was asked for. An entry without
    /// a variant matches any requested variant (older indexes leave it out).
    pub fn matches(&self, other: &Platform) -> bool {
        let a = self.normalize();
        let b = other.normalize();
        a.os == b.os
            && a.architecture == b.architecture
            && (a.variant == b.variant || b.variant.is_none())
    }

    /// Higher is better among matching entries: an exact variant beats a missing one.
    pub fn match_rank(&self, other: &Platform) -> u8 {
        if !self.matches(other) {
            0
        } else if self.normalize().variant == other.normalize().variant {
            2
        } else {
            1
        }
    }
}

fn is_known_os(s: &str) -> bool {
    matches!(
        s,
        "linux" | "windows" | "darwin" | "freebsd" | "netbsd" | "openbsd" | "solaris" | "illumos"
    )
}

/// Rust / uname / alias architecture names → (GOARCH, default variant).
fn goarch(arch: &str) -> (&str, Option<&'static str>) {
    match arch {
        "x86_64" | "x86-64" | "amd64" => ("amd64", None),
        "aarch64" | "arm64" => ("arm64", Some("v8")),
        "x86" | "i386" | "i686" | "386" => ("386", None),
        "arm" | "armhf" | "armel" | "armv7l" | "armv7" => ("arm", Some("v7")),
        "powerpc64" => ("ppc64", None),
        "powerpc64le" | "ppc64le" => ("ppc64le", None),
        "riscv64" | "riscv64gc" => ("riscv64", None),
        "s390x" => ("s390x", None),
        "loongarch64" | "loong64" => ("loong64", None),
        "mips64" => ("mips64", None),
        other => (other, None),
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(os: &str, a: &str, v: Option<&str>) -> Platform {
        Platform {
            os: os.into(),
            architecture: a.into(),
            variant: v.map(Into::into),
        }
    }

    #[test]
    fn host_uses_go_names() {
        let h = Platform::host();
        assert_eq!(h.os, "linux");
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            (h.architecture.as_str(), h.variant.as_deref()),
            ("amd64", None)
        );
        #[cfg(target_arch = "aarch64")]
        assert_eq!(
            (h.architecture.as_str(), h.variant.as_deref()),
            ("arm64", Some("v8"))
        );
        assert!(!h.architecture.contains('_'));
    }

    #[test]
    fn parse_forms() {
        assert_eq!(
            Platform::parse("linux/arm64/v8").unwrap(),
            p("linux", "arm64", None)
        );
        assert_eq!(
            Platform::parse("linux/amd64").unwrap(),
            p("linux", "amd64", None)
        );
        assert_eq!(
            Platform::parse("linux/x86_64").unwrap(),
            p("linux", "amd64", None)
        );
        assert_eq!(
            Platform::parse("linux/arm").unwrap(),
            p("linux", "arm", Some("v7"))
        );
        assert_eq!(
            Platform::parse("linux/arm/v6").unwrap(),
            p("linux", "arm", Some("v6"))
        );
        assert_eq!(Platform::parse("arm64").unwrap(), p("linux", "arm64", None));
        assert_eq!(
            Platform::parse("Linux/AMD64").unwrap(),
            p("linux", "amd64", None)
        );
        assert_eq!(Platform::parse("linux").unwrap().os, "linux");
        for bad in ["", "linux/", "/amd64", "a/b/c/d", "linux/am d64"] {
            let e = Platform::parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{bad}");
        }
        assert_eq!(p("linux", "arm", Some("v7")).to_string(), "linux/arm/v7");
    }

    #[test]
    fn matching() {
        let want = Platform::parse("linux/arm64").unwrap();
        assert!(want.matches(&p("linux", "arm64", Some("v8"))));
        assert!(want.matches(&p("linux", "arm64", None)));
        assert!(!want.matches(&p("linux", "amd64", None)));
        let arm6 = Platform::parse("linux/arm/v6").unwrap();
        assert!(!arm6.matches(&p("linux", "arm", Some("v7"))));
        assert!(arm6.matches(&p("linux", "arm", Some("v6"))));
        let amd = Platform::parse("linux/amd64").unwrap();
        assert_eq!(amd.match_rank(&p("linux", "amd64", None)), 2);
        assert_eq!(amd.match_rank(&p("windows", "amd64", None)), 0);
    }
}
