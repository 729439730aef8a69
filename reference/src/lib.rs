//! Image references, normalised as Docker does (`busybox` → `docker.io/library/busybox:latest`).
//!
//! The grammar is docker/distribution's `reference` package, written out by hand so the errors
//! and the normalisation (`ParseNormalizedNamed`, `splitDockerDomain`) match Docker exactly:
//! `name[:tag][@digest]`, `name := [domain/]path`, `domain := host[:port]`.
//!
//! This is the one normaliser in rdocker: the image store uses it to name what it pulls and
//! stores, the CLI to pick the registry whose credentials it sends. Two that drifted apart would
//! send credentials to the wrong registry.

use std::fmt;

/// Docker Hub's canonical domain.
pub const DOCKER_HUB: &str = "docker.io";
/// Docker Hub's old domain; normalised to [`DOCKER_HUB`].
pub const DOCKER_HUB_LEGACY: &str = "index.docker.io";
/// Repository prefix of Docker Hub's official images (`busybox` → `library/busybox`).
pub const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag added when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// Longest full name (`domain/path`) Docker accepts.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Why a string is not a reference. `Display` is Docker's wording; every variant starts with
/// `invalid reference format` except [`ReferenceError::IsId`], which is Docker's id message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    InvalidFormat,
    /// Docker: `invalid reference format: repository name (library/Busybox) must be lowercase`.
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    NotLowercase(String),
    #[error("invalid reference format: repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")]
    NameTooLong,
    /// A 64-hex string is an image id, never a name.
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    IsId(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Reference {
    /// Docker's `ParseNormalizedNamed` + `TagNameOnly`: `latest` when neither tag nor digest.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        let mut r = Self::parse_no_default_tag(s)?;
        if r.tag.is_none() && r.digest.is_none() {
            r.tag = Some(DEFAULT_TAG.to_string());
        }
        Ok(r)
    }

    /// Docker's `ParseNormalizedNamed`: normalised, tag and digest as given.
    pub fn parse_no_default_tag(s: &str) -> Result<Reference, ReferenceError> {
        use ReferenceError::*;
        if is_full_hex_id(s) {
            return Err(IsId(s.to_string()));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(d)),
            None => (s, None),
        };
        // A tag is a ':' after the last '/' (a ':' before it belongs to host:port).
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        if name.is_empty() {
            return Err(InvalidFormat);
        }
        let (mut registry, mut repository) = split_docker_domain(name);
        if registry == DOCKER_HUB_LEGACY {
            registry = DOCKER_HUB.to_string();
        }
        if registry == DOCKER_HUB && !repository.contains('/') {
            repository = format!("{OFFICIAL_REPO_PREFIX}{repository}");
        }
        // Docker checks case before anything else, on the normalised path.
        if repository.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(NotLowercase(repository));
        }
        if let Some(d) = digest {
            validate_digest(d)?;
        }
        if let Some(t) = tag {
            validate_tag(t)?;
        }
        validate_domain(&registry)?;
        validate_path(&repository)?;
        if registry.len() + 1 + repository.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(NameTooLong);
        }
        Ok(Reference {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        })
    }

    /// The same repository at `digest` (no tag); the digest is not validated again.
    pub fn with_digest(&self, digest: &str) -> Reference {
        Reference {
            tag: None,
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }

    /// The same repository at `tag` (no digest); the tag is not validated again.
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    /// `docker.io`, `localhost:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }
    /// Path inside the registry: `library/busybox`.
    pub fn repository(&self) -> &str {
        &self.repository
    }
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// Full name without tag or digest: `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// Docker's `FamiliarName`: `busybox`, `foo/bar`, `127.0.0.1:5000/foo`.
    pub fn familiar_name(&self) -> String {
        if self.registry == DOCKER_HUB {
            match self.repository.strip_prefix(OFFICIAL_REPO_PREFIX) {
                Some(short) if !short.contains('/') => short.to_string(),
                _ => self.repository.clone(),
            }
        } else {
            self.name()
        }
    }

    /// Docker's `FamiliarString`: `busybox:latest`, `busybox@sha256:…`, `busybox:1@sha256:…`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        self.push_suffix(&mut s);
        s
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
    }
}

impl fmt::Display for Reference {
    /// The full form: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

/// A full image id without its `sha256:` prefix: 64 lower-case hex digits.
pub fn is_full_hex_id(s: &str) -> bool {
    s.len() == 64 && is_lower_hex(s)
}

/// `sha256:<64 hex>` or `sha512:<128 hex>`, lower case.
pub fn validate_digest(d: &str) -> Result<(), ReferenceError> {
    let ok = match d.split_once(':') {
        Some(("sha256", hex)) => hex.len() == 64 && is_lower_hex(hex),
        Some(("sha512", hex)) => hex.len() == 128 && is_lower_hex(hex),
        _ => false,
    };
    ok.then_some(()).ok_or(ReferenceError::InvalidFormat)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Docker's `splitDockerDomain`: the first component is a registry only if it looks like one
/// (contains `.` or `:`, is `localhost`, or has upper case letters, which a path cannot have).
fn split_docker_domain(name: &str) -> (String, String) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    }
}

/// `[\w][\w.-]{0,127}`
fn validate_tag(t: &str) -> Result<(), ReferenceError> {
    let ok = t.len() <= 128
        && t.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    ok.then_some(()).ok_or(ReferenceError::InvalidFormat)
}

/// `host[:port]` where host is a DNS name, an IPv4 address or `[IPv6]`.
fn validate_domain(domain: &str) -> Result<(), ReferenceError> {
    let bad = Err(ReferenceError::InvalidFormat);
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return bad;
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return bad;
        }
        match after {
            "" => return Ok(()),
            p => match p.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return bad,
            },
        }
    } else {
        match domain.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (domain, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return bad;
        }
    }
    let is_v6 = domain.starts_with('[');
    if !is_v6 {
        for comp in host.split('.') {
            let b = comp.as_bytes();
            let ok = !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-');
            if !ok {
                return bad;
            }
        }
    }
    Ok(())
}

/// Path components: `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`, joined by `/`.
fn validate_path(path: &str) -> Result<(), ReferenceError> {
    if path.split('/').all(valid_component) {
        Ok(())
    } else {
        Err(ReferenceError::InvalidFormat)
    }
}

fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
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

#[cfg(test)]
mod tests;
