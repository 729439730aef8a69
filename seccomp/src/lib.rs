//! seccomp profiles in Docker's JSON format (moby `profiles/seccomp/default.json`, embedded)
//! compiled to a classic BPF program with libseccomp.
//!
//! CONTRACT (the engine codes against this API; implementations may add, not change):
//! - The engine compiles once per distinct (profile, capability set) and caches the bytes.
//! - [`compile`] returns the filter as the kernel takes it: an array of `struct sock_filter`
//!   (8 bytes each: u16 code, u8 jt, u8 jf, u32 k; native endianness), for the host's native
//!   architecture (and its compat arches as the profile's `archMap` says).
//! - The runtime loads those bytes with `seccomp(SECCOMP_SET_MODE_FILTER)` (runtime/PROTOCOL.md,
//!   annotation `io.rdocker.seccomp.bpf`); it never links libseccomp.

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// The profile is not valid JSON or not a valid profile; worded for the user (engine → 400).
    #[error("{0}")]
    Invalid(String),
    #[error("libseccomp: {0}")]
    Lib(String),
}

/// A profile in Docker's format.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    #[serde(flatten)]
    pub raw: serde_json::Value,
}

/// Docker's default profile (moby `profiles/seccomp/default.json`).
pub fn default_profile() -> &'static Profile {
    todo!("helper: seccomp")
}

/// Parses and validates a profile (`--security-opt seccomp=<file>` arrives as the file's JSON).
pub fn parse(json: &[u8]) -> Result<Profile, SeccompError> {
    let _ = json;
    todo!("helper: seccomp")
}

/// Compiles `profile` for a process with capabilities `caps` (names as `CAP_SYS_ADMIN`), which
/// select the profile's `includes.caps` / `excludes.caps` rules.
pub fn compile(profile: &Profile, caps: &[String]) -> Result<Vec<u8>, SeccompError> {
    let _ = (profile, caps);
    todo!("helper: seccomp")
}
