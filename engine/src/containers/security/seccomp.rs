//! seccomp: which profile a container gets, and the compiled filters, cached per (profile,
//! capability set) so that the default profile is compiled once per daemon, not per start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rdocker_seccomp::Profile;

use super::opts::SeccompOpt;

/// The daemon's `seccomp-profile`.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum DaemonProfile {
    #[default]
    Builtin,
    Unconfined,
    /// Read from the file given at daemon start.
    Custom {
        path: String,
        profile: Box<Profile>,
    },
}

impl DaemonProfile {
    /// `docker info`'s `name=seccomp,profile=…`.
    pub fn info_name(&self) -> &str {
        match self {
            DaemonProfile::Builtin => "builtin",
            DaemonProfile::Unconfined => "unconfined",
            DaemonProfile::Custom { path, .. } => path,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Builtin,
    Daemon,
    /// A container's own profile, by its JSON text.
    Custom(String),
}

/// "Decoding seccomp profile failed: …" as dockerd words it.
pub fn parse_user(json: &str) -> Result<Profile, String> {
    rdocker_seccomp::parse(json.as_bytes()).map_err(|e| {
        let msg = e.to_string();
        let msg = msg
            .strip_prefix("decoding seccomp profile failed: ")
            .unwrap_or(&msg)
            .to_string();
        format!("Decoding seccomp profile failed: {msg}")
    })
}

/// (profile, capability mask) → compiled filter.
type Filters = HashMap<(Key, u64), Arc<Vec<u8>>>;

#[derive(Default)]
pub struct Cache {
    map: Mutex<Filters>,
}

impl Cache {
    /// The filter for a container, None = unconfined. moby's choice: `unconfined` wins, then a
    /// profile of the container's own (honoured even when privileged), then none for a
    /// privileged container, then the daemon's profile.
    pub fn filter(
        &self,
        opt: &SeccompOpt,
        privileged: bool,
        daemon: &DaemonProfile,
        caps: u64,
    ) -> Result<Option<Arc<Vec<u8>>>, String> {
        let custom;
        let (key, profile): (Key, &Profile) = match (opt, daemon) {
            (SeccompOpt::Unconfined, _) => return Ok(None),
            (SeccompOpt::Profile(json), _) => {
                custom = parse_user(json)?;
                (Key::Custom(json.clone()), &custom)
            }
            (SeccompOpt::Builtin, _) => (Key::Builtin, rdocker_seccomp::default_profile()),
            (SeccompOpt::Default, _) if privileged => return Ok(None),
            (SeccompOpt::Default, DaemonProfile::Unconfined) => return Ok(None),
            (SeccompOpt::Default, DaemonProfile::Builtin) => {
                (Key::Builtin, rdocker_seccomp::default_profile())
            }
            (SeccompOpt::Default, DaemonProfile::Custom { profile, .. }) => (Key::Daemon, profile),
        };
        if profile.is_unconfined() {
            return Ok(None);
        }
        let k = (key, caps);
        if let Some(f) = self.lock().get(&k) {
            return Ok(Some(f.clone()));
        }
        // Compiled outside the lock: a slow custom profile must not hold up other starts.
        let bpf = rdocker_seccomp::compile(profile, &super::caps::names(caps))
            .map_err(|e| format!("compiling the seccomp profile: {e}"))?;
        let bpf = Arc::new(bpf);
        self.lock().insert(k, bpf.clone());
        Ok(Some(bpf))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Filters> {
        // A map of finished compiles stays consistent even if a holder panicked.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(test)]
    pub fn compiled(&self) -> usize {
        self.lock().len()
    }
}
