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
//!
//! # How the engine uses it
//!
//! - `--security-opt seccomp=unconfined`: no filter, no annotation.
//! - No option: [`default_profile`]. `--security-opt seccomp=<file>`: the CLI sends the file's
//!   JSON, the engine calls [`parse`] when the container is created and answers 400 with the
//!   [`SeccompError::Invalid`] text, so a bad profile never reaches a container start.
//! - At start, [`compile`] with the container's final capability list (after `--cap-add`,
//!   `--cap-drop`, `--privileged` and the daemon's bounding set): the profile's `includes.caps` /
//!   `excludes.caps` rules depend on it (`--cap-add SYS_ADMIN` allows `mount`, `unshare`, …).
//!   Compiling the default profile takes about 13 ms (libseccomp's BPF generation for x86_64,
//!   x86 and x32; measured by the `compile_time` test), so the engine keeps the result per
//!   (profile, caps), best warmed for the default profile and caps at daemon start, and writes
//!   it to the bundle file that the `io.rdocker.seccomp.bpf` annotation names. [`compile`] is
//!   blocking CPU work: call it from `spawn_blocking`.
//! - [`Profile::filter_flags`] gives the profile's `flags` as `SECCOMP_FILTER_FLAG_*` bits for
//!   a loader that passes them to `seccomp(2)`; the BPF bytes cannot carry them.
//!
//! Rules are selected as moby's `setupSeccomp` does (capabilities, the native architecture's
//! moby name such as `amd64`, the running kernel's `<kernel>.<major>` against `minKernel`) and
//! added as runc does (syscalls unknown to libseccomp skipped, rules equal to the default action
//! skipped, conditions on distinct arguments ANDed, repeated arguments as separate rules). The
//! libseccomp no-new-privileges attribute is off: it only matters when libseccomp loads a filter.
//!
//! Debian 12's libseccomp (2.5.4) does not know the newest syscalls the profile allows
//! (`statmount`, `listmount`, `mseal`, `*xattrat`, `lsm_*`, `uretprobe`). A short program in
//! front of libseccomp's applies those rules by number, and, as runc's `patchbpf`, answers
//! `ENOSYS` for syscalls newer than any the profile names (non-permissive profiles only), so
//! that programs fall back instead of failing with `EPERM` (module `patch`).

mod compile;
mod patch;
mod profile;
mod select;
mod validate;

pub use compile::SOCK_FILTER_SIZE;
pub use profile::{Action, ArchMap, Arg, Filter, KernelVersion, Op, Profile, Syscall};

use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// The profile is not valid JSON or not a valid profile; worded for the user (engine → 400).
    #[error("{0}")]
    Invalid(String),
    #[error("libseccomp: {0}")]
    Lib(String),
}

/// moby/profiles `seccomp/default.json` at commit 02e898b137aed1024e232d59bcb05e6179b72177
/// (the newest version found; byte for byte, so that it can be diffed against upstream).
const DEFAULT_JSON: &str = include_str!("default.json");

/// Docker's default profile (moby `profiles/seccomp/default.json`).
pub fn default_profile() -> &'static Profile {
    static DEFAULT: OnceLock<Profile> = OnceLock::new();
    DEFAULT.get_or_init(|| match parse(DEFAULT_JSON.as_bytes()) {
        Ok(p) => p,
        // The file is part of the crate and a test parses it: this cannot happen at run time.
        Err(e) => panic!("embedded default seccomp profile is invalid: {e}"),
    })
}

/// The embedded default profile as JSON, e.g. for `docker info`-like output or to diff with
/// a user's profile.
pub fn default_profile_json() -> &'static str {
    DEFAULT_JSON
}

/// Parses and validates a profile (`--security-opt seccomp=<file>` arrives as the file's JSON).
pub fn parse(json: &[u8]) -> Result<Profile, SeccompError> {
    let profile: Profile = serde_json::from_slice(json)
        .map_err(|e| SeccompError::Invalid(format!("decoding seccomp profile failed: {e}")))?;
    validate::validate(&profile)?;
    Ok(profile)
}

/// Compiles `profile` for a process with capabilities `caps` (names as `CAP_SYS_ADMIN`), which
/// select the profile's `includes.caps` / `excludes.caps` rules.
pub fn compile(profile: &Profile, caps: &[String]) -> Result<Vec<u8>, SeccompError> {
    validate::validate(profile)?;
    compile::compile(profile, caps)
}

impl Profile {
    /// Docker runs a container unconfined when its profile has neither a default action nor
    /// rules (`{}`); [`compile`] gives an allow-all filter for it, the engine may skip loading.
    pub fn is_unconfined(&self) -> bool {
        self.default_action.is_none() && self.syscalls.is_empty()
    }

    /// The profile's `flags` as the `flags` argument of `seccomp(SECCOMP_SET_MODE_FILTER)`.
    pub fn filter_flags(&self) -> u32 {
        self.flags
            .iter()
            .filter_map(|f| validate::FILTER_FLAGS.iter().find(|(name, _)| name == f))
            .fold(0, |acc, (_, bit)| acc | bit)
    }
}
