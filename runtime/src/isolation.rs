//! What the shim reads from the bundle for the child before clone (PROTOCOL.md "Isolation"):
//! the cgroups to join and the seccomp program. The exec shim reads the same annotations from
//! the bundle's config.json, so exec processes land in the same cgroups under the same filter.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::error::ShimError;
use crate::{cgroupjoin, seccomp};

#[derive(Default)]
pub struct Isolation {
    /// `<dir>/cgroup.procs` gets the child's pid first thing.
    pub cgroups: Vec<PathBuf>,
    pub seccomp: Option<seccomp::Filter>,
}

impl Isolation {
    pub fn from_annotations(a: &HashMap<String, String>) -> Result<Isolation, ShimError> {
        Ok(Isolation {
            cgroups: cgroupjoin::parse(a.get(cgroupjoin::ANNOTATION))?,
            seccomp: seccomp::Filter::from_annotation(a.get(seccomp::ANNOTATION))?,
        })
    }

    /// For an exec: the container's annotations, from `<bundle>/config.json`.
    pub fn from_bundle(bundle: &Path) -> Result<Isolation, ShimError> {
        let config = bundle.join("config.json");
        let spec = Spec::load(&config)
            .map_err(|e| ShimError::Spec(format!("{}: {e}", config.display())))?;
        Isolation::from_annotations(&spec.annotations().clone().unwrap_or_default())
    }
}
