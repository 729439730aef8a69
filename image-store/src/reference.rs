//! Image references, normalised as Docker does (`busybox` → `docker.io/library/busybox:latest`).

use std::fmt;

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Reference {
    pub fn parse(s: &str) -> Result<Reference, StoreError> {
        let _ = s;
        todo!("image-store helper")
    }
    pub fn parse_no_default_tag(s: &str) -> Result<Reference, StoreError> {
        let _ = s;
        todo!("image-store helper")
    }
    pub fn registry(&self) -> &str {
        &self.registry
    }
    pub fn repository(&self) -> &str {
        &self.repository
    }
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }
    pub fn familiar_name(&self) -> String {
        todo!("image-store helper")
    }
    pub fn familiar(&self) -> String {
        todo!("image-store helper")
    }
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}
