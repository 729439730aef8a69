//! Manifest formats we accept: Docker schema2, OCI manifest, OCI index, Docker manifest list.
//! Parsed with small serde types of our own rather than `oci_spec`'s, whose strict media-type
//! enums reject some valid Docker manifests; schema1 is recognised only to be refused clearly.

use serde::{Deserialize, Serialize};

use crate::{Platform, StoreError};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Sent in every manifest request: distribution 2.8 answers 404 MANIFEST_UNKNOWN for an OCI
/// manifest or index unless its exact media type is listed.
pub const MANIFEST_TYPES: [&str; 4] = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformJson>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PlatformJson {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl PlatformJson {
    pub fn to_platform(&self) -> Platform {
        Platform {
            os: self.os.clone(),
            architecture: self.architecture.clone(),
            variant: self.variant.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Manifest {
    Image {
        media_type: String,
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    Index {
        media_type: String,
        manifests: Vec<Descriptor>,
    },
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "schemaVersion", default)]
    schema_version: Option<i64>,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

/// `name` is the familiar reference, for the schema1 message.
pub fn parse(bytes: &[u8], digest: &str, name: &str) -> Result<Manifest, StoreError> {
    let invalid = |detail: String| StoreError::InvalidManifest {
        digest: digest.to_string(),
        detail,
    };
    let raw: Raw = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    let mt = raw.media_type.clone().unwrap_or_default();
    if raw.schema_version == Some(1) || mt == DOCKER_SCHEMA1 || mt == DOCKER_SCHEMA1_SIGNED {
        return Err(StoreError::Schema1Unsupported(name.to_string()));
    }
    if raw.schema_version != Some(2) {
        return Err(invalid(format!(
            "unsupported schemaVersion {:?}",
            raw.schema_version
        )));
    }
    let is_index = match mt.as_str() {
        OCI_INDEX | DOCKER_LIST => true,
        OCI_MANIFEST | DOCKER_MANIFEST => false,
        // OCI allows leaving mediaType out: go by the fields.
        "" => raw.manifests.is_some(),
        other => return Err(StoreError::UnsupportedManifest(other.to_string())),
    };
    if is_index {
        let manifests = raw
            .manifests
            .ok_or_else(|| invalid("index without manifests".into()))?;
        let media_type = if mt.is_empty() { OCI_INDEX.into() } else { mt };
        return Ok(Manifest::Index {
            media_type,
            manifests,
        });
    }
    let config = raw
        .config
        .ok_or_else(|| invalid("manifest without config".into()))?;
    let layers = raw.layers.unwrap_or_default();
    for d in std::iter::once(&config).chain(layers.iter()) {
        crate::reference::validate_digest(&d.digest)
            .map_err(|_| invalid(format!("bad digest {:?}", d.digest)))?;
    }
    let media_type = if mt.is_empty() {
        OCI_MANIFEST.into()
    } else {
        mt
    };
    Ok(Manifest::Image {
        media_type,
        config,
        layers,
    })
}

/// The best entry of an index for `want` (exact variant first), skipping attestation
/// manifests (`unknown/unknown`) and entries that are not image manifests.
pub fn select<'a>(
    manifests: &'a [Descriptor],
    want: &Platform,
) -> Result<&'a Descriptor, StoreError> {
    manifests
        .iter()
        .filter(|d| matches!(d.media_type.as_str(), OCI_MANIFEST | DOCKER_MANIFEST | ""))
        .filter_map(|d| {
            let p = d.platform.as_ref()?.to_platform();
            let rank = want.match_rank(&p);
            (rank > 0).then_some((rank, d))
        })
        // max_by_key keeps the last maximum; reverse so the first listed wins ties.
        .rev()
        .max_by_key(|(rank, _)| *rank)
        .map(|(_, d)| d)
        .ok_or_else(|| StoreError::NoMatchingPlatform {
            platform: want.to_string(),
        })
}

/// Platforms listed by an index, attestation entries left out.
pub fn platforms(manifests: &[Descriptor]) -> Vec<Platform> {
    manifests
        .iter()
        .filter_map(|d| d.platform.as_ref())
        .filter(|p| p.os != "unknown")
        .map(PlatformJson::to_platform)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(arch: &str, variant: Option<&str>, n: char) -> Descriptor {
        Descriptor {
            media_type: OCI_MANIFEST.into(),
            digest: format!("sha256:{}", n.to_string().repeat(64)),
            size: 1,
            urls: None,
            platform: Some(PlatformJson {
                architecture: arch.into(),
                os: "linux".into(),
                variant: variant.map(Into::into),
            }),
        }
    }

    #[test]
    fn selects_platform() {
        let list = vec![
            entry("amd64", None, 'a'),
            entry("arm", Some("v6"), 'b'),
            entry("arm", Some("v7"), 'c'),
            entry("arm64", Some("v8"), 'd'),
        ];
        let pick = |s: &str| select(&list, &Platform::parse(s).unwrap()).map(|d| d.digest.clone());
        assert!(pick("linux/amd64").unwrap().ends_with('a'));
        assert!(pick("linux/arm/v7").unwrap().ends_with('c'));
        assert!(pick("linux/arm/v6").unwrap().ends_with('b'));
        assert!(pick("linux/arm64").unwrap().ends_with('d'));
        let e = pick("linux/s390x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "no matching manifest for linux/s390x in the manifest list entries"
        );
        assert_eq!(platforms(&list).len(), 4);
    }

    #[test]
    fn parses_kinds_and_refuses_schema1() {
        let d = "sha256:".to_string() + &"1".repeat(64);
        let img = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"x","digest":"{d}","size":3}},"layers":[]}}"#
        );
        assert!(matches!(
            parse(img.as_bytes(), &d, "x").unwrap(),
            Manifest::Image { .. }
        ));
        let idx = r#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(
            parse(idx.as_bytes(), &d, "x").unwrap(),
            Manifest::Index { .. }
        ));
        let s1 = r#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#;
        let e = parse(s1.as_bytes(), &d, "busybox:old").unwrap_err();
        assert!(matches!(e, StoreError::Schema1Unsupported(_)));
        assert!(e.to_string().contains("schema 1 support has been removed"));
        let bad = r#"{"schemaVersion":2,"config":{"digest":"sha256:../x","size":3},"layers":[]}"#;
        assert!(parse(bad.as_bytes(), &d, "x").is_err());
    }
}
