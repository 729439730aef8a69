//! Image references the way docker's distribution/reference normalises them
//! (`busybox` → `docker.io/library/busybox:latest`). The CLI needs this to print the
//! full reference after a pull, to pick the registry whose credentials to send, and to
//! split `tag` targets into `repo` and `tag` — without linking the engine's image store.

use std::fmt;

pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The key docker uses for Docker Hub in config.json and in auth requests.
pub const INDEX_SERVER: &str = "https://index.docker.io/v1/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub domain: String,
    /// Repository path inside the registry, e.g. `library/busybox`.
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct RefError(pub String);

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for RefError {}

fn invalid() -> RefError {
    RefError("invalid reference format".into())
}

impl Reference {
    /// distribution/reference ParseNormalizedNamed.
    pub fn parse(s: &str) -> Result<Reference, RefError> {
        if s.is_empty() {
            return Err(invalid());
        }
        let (name_part, digest) = match s.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (s, None),
        };
        // A tag is a ':' after the last '/' (a ':' before it belongs to host:port).
        let last_slash = name_part.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_part[last_slash..].rfind(':') {
            Some(i) => (
                &name_part[..last_slash + i],
                Some(&name_part[last_slash + i + 1..]),
            ),
            None => (name_part, None),
        };
        let (domain, path) = split_domain(name);
        // Docker Hub's old name is the same registry.
        let domain = if domain == "index.docker.io" {
            DEFAULT_DOMAIN
        } else {
            &domain
        };
        Self::finish(domain, path, tag, digest)
    }

    fn finish(
        domain: &str,
        mut path: String,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Result<Reference, RefError> {
        if domain == DEFAULT_DOMAIN && !path.contains('/') {
            path = format!("library/{path}");
        }
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(RefError(format!(
                "invalid reference format: repository name ({path}) must be lowercase"
            )));
        }
        if !valid_domain(domain) || !path.split('/').all(valid_component) {
            return Err(invalid());
        }
        if domain.len() + 1 + path.len() > 255 {
            return Err(RefError(
                "invalid reference format: repository name must not be more than 255 characters"
                    .into(),
            ));
        }
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(invalid());
            }
        }
        if let Some(d) = digest {
            if !valid_digest(d) {
                return Err(invalid());
            }
        }
        Ok(Reference {
            domain: domain.to_string(),
            path,
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        })
    }

    /// `docker.io/library/busybox`
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// reference.FamiliarName: `busybox`, `user/app`, `localhost:5000/app`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix("library/") {
                Some(rest) if !rest.contains('/') => rest.to_string(),
                _ => self.path.clone(),
            }
        } else {
            self.name()
        }
    }

    pub fn is_name_only(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }

    /// reference.TagNameOnly: add `latest` when neither tag nor digest is given.
    pub fn with_default_tag(mut self) -> Reference {
        if self.is_name_only() {
            self.tag = Some("latest".into());
        }
        self
    }

    /// The registry key used to look up credentials (Docker Hub's is the v1 index URL).
    pub fn auth_key(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            INDEX_SERVER.to_string()
        } else {
            self.domain.clone()
        }
    }
}

impl fmt::Display for Reference {
    /// The full form docker prints after a pull: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// distribution/reference splitDockerDomain.
fn split_domain(name: &str) -> (String, String) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    }
}

fn valid_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || d.starts_with('[') => (h, Some(p)),
        _ => (d, None),
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    if let Some(v6) = host.strip_prefix('[') {
        return v6.ends_with(']') && v6.len() > 1;
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&x| x.is_ascii_alphanumeric() || x == b'_' || x == b'.' || x == b'-')
}

/// `algorithm:hex` with at least 32 hex digits.
fn valid_digest(d: &str) -> bool {
    match d.split_once(':') {
        Some((alg, hex)) => {
            !alg.is_empty()
                && alg
                    .bytes()
                    .all(|b| is_alnum(b) || matches!(b, b'.' | b'+' | b'_' | b'-'))
                && hex.len() >= 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Reference {
        Reference::parse(s).expect(s)
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(p("busybox").to_string(), "docker.io/library/busybox");
        assert_eq!(
            p("busybox").with_default_tag().to_string(),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(p("user/app:1.0").to_string(), "docker.io/user/app:1.0");
        assert_eq!(
            p("index.docker.io/busybox:1").to_string(),
            "docker.io/library/busybox:1"
        );
        let r = p("localhost:5000/a/b:t");
        assert_eq!(
            (r.domain.as_str(), r.path.as_str()),
            ("localhost:5000", "a/b")
        );
        assert_eq!(r.tag.as_deref(), Some("t"));
        assert_eq!(r.familiar_name(), "localhost:5000/a/b");
        assert_eq!(r.auth_key(), "localhost:5000");
        assert_eq!(p("localhost/x").domain, "localhost");
        assert_eq!(p("docker.io/library/busybox").familiar_name(), "busybox");
        assert_eq!(p("docker.io/library/a/b").familiar_name(), "library/a/b");
        assert_eq!(p("busybox").auth_key(), INDEX_SERVER);
    }

    #[test]
    fn digests() {
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let r = p(&format!("busybox@{d}"));
        assert_eq!(r.digest.as_deref(), Some(d));
        assert!(r.tag.is_none());
        assert_eq!(r.clone().with_default_tag(), r);
        let r = p(&format!("busybox:1.36@{d}"));
        assert_eq!(r.to_string(), format!("docker.io/library/busybox:1.36@{d}"));
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "",
            ":tag",
            "a:",
            "a//b",
            "-a",
            "a@sha256:abc",
            "a:t@x",
            "a b",
            "a:-t",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Reference::parse("Busybox").err().map(|e| e.to_string()),
            Some(
                "invalid reference format: repository name (library/Busybox) must be lowercase"
                    .into()
            )
        );
        assert!(Reference::parse(&format!("a:{}", "t".repeat(129))).is_err());
        assert!(Reference::parse("a__b.c-d---e").is_ok());
    }
}
