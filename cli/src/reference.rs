//! The CLI's side of image references. Parsing and normalisation are `rdocker-reference`'s (the
//! same code the engine uses, so the CLI sends credentials to the registry the engine pulls
//! from); here are only what the client adds: the credentials key and docker's `TagNameOnly`.

pub use rdocker_reference::Reference;

/// The key docker uses for Docker Hub in config.json and in auth requests.
pub const INDEX_SERVER: &str = "https://index.docker.io/v1/";

pub trait ReferenceExt {
    /// Neither tag nor digest was given (`busybox`).
    fn is_name_only(&self) -> bool;
    /// reference.TagNameOnly: add `latest` when neither tag nor digest is given.
    fn with_default_tag(self) -> Reference;
    /// The registry key used to look up credentials (Docker Hub's is the v1 index URL).
    fn auth_key(&self) -> String;
}

impl ReferenceExt for Reference {
    fn is_name_only(&self) -> bool {
        self.tag().is_none() && self.digest().is_none()
    }

    fn with_default_tag(self) -> Reference {
        if self.is_name_only() {
            self.with_tag(rdocker_reference::DEFAULT_TAG)
        } else {
            self
        }
    }

    fn auth_key(&self) -> String {
        if self.registry() == rdocker_reference::DOCKER_HUB {
            INDEX_SERVER.to_string()
        } else {
            self.registry().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Reference {
        Reference::parse_no_default_tag(s).expect(s)
    }

    #[test]
    fn auth_keys() {
        assert_eq!(p("busybox").auth_key(), INDEX_SERVER);
        assert_eq!(p("index.docker.io/busybox:1").auth_key(), INDEX_SERVER);
        assert_eq!(p("docker.io/user/app").auth_key(), INDEX_SERVER);
        assert_eq!(p("localhost:5000/a/b:t").auth_key(), "localhost:5000");
        assert_eq!(
            p("registry.example.com/a").auth_key(),
            "registry.example.com"
        );
    }

    #[test]
    fn default_tag_only_when_name_only() {
        let r = p("busybox");
        assert!(r.is_name_only());
        assert_eq!(
            r.with_default_tag().to_string(),
            "docker.io/library/busybox:latest"
        );
        let r = p("busybox:1");
        assert!(!r.is_name_only());
        assert_eq!(r.clone().with_default_tag(), r);
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let r = p(&format!("busybox@{d}"));
        assert!(!r.is_name_only());
        assert_eq!(r.clone().with_default_tag(), r);
    }
}
