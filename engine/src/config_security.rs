//! The daemon's security settings: `--seccomp-profile`, `--no-new-privileges`,
//! `--default-ulimit`, `--userns-remap` (and their daemon.json keys), then resolved at start:
//! the profile file read and checked, the user's subordinate id ranges found.

use super::{ConfigError, DaemonConfig, FileConfig, Flags};
use crate::containers::security::{userns, DaemonProfile, DaemonSecurity, Ulimit};

/// The settings as given (flag or file, never both: checked with the other keys).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecurityFlags {
    /// A path, "unconfined" or "builtin"; None = builtin.
    pub seccomp_profile: Option<String>,
    pub no_new_privileges: bool,
    pub default_ulimits: Vec<Ulimit>,
    pub userns_remap: Option<String>,
}

impl SecurityFlags {
    pub(super) fn merge(flags: &Flags, file: &FileConfig) -> Result<SecurityFlags, ConfigError> {
        let default_ulimits = if flags.default_ulimits.is_empty() {
            let mut v: Vec<Ulimit> = file
                .default_ulimits
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(name, mut u)| {
                    // dockerd keys the map by name; the entry's own Name may be left out.
                    if u.name.is_empty() {
                        u.name = name;
                    }
                    u
                })
                .collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            for u in &v {
                Ulimit::parse(&format!("{}={}:{}", u.name, u.soft, u.hard))
                    .map_err(ConfigError::Ulimit)?;
            }
            v
        } else {
            flags
                .default_ulimits
                .iter()
                .map(|s| Ulimit::parse(s).map_err(ConfigError::Ulimit))
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(SecurityFlags {
            seccomp_profile: flags
                .seccomp_profile
                .clone()
                .or_else(|| file.seccomp_profile.clone())
                .filter(|s| !s.is_empty()),
            no_new_privileges: flags.no_new_privileges || file.no_new_privileges.unwrap_or(false),
            default_ulimits,
            userns_remap: flags
                .userns_remap
                .clone()
                .or_else(|| file.userns_remap.clone())
                .filter(|s| !s.is_empty()),
        })
    }
}

impl DaemonConfig {
    /// Reads the seccomp profile and finds the remapping's id ranges (for `default`, adding
    /// them to /etc/subuid and /etc/subgid first); any failure stops the daemon.
    pub fn resolve_security(&mut self) -> Result<(), ConfigError> {
        self.resolve_security_with(&userns::Files::host())
    }

    pub fn resolve_security_with(&mut self, files: &userns::Files) -> Result<(), ConfigError> {
        let f = &self.security_flags;
        let seccomp = match f.seccomp_profile.as_deref() {
            None | Some("builtin") => DaemonProfile::Builtin,
            Some("unconfined") => DaemonProfile::Unconfined,
            Some(path) => {
                let err = |reason: String| ConfigError::Seccomp {
                    path: path.to_string(),
                    reason,
                };
                let bytes = std::fs::read(path).map_err(|e| {
                    err(format!(
                        "open {path}: {}",
                        crate::containers::security::go_errno(&e)
                    ))
                })?;
                let profile = rdocker_seccomp::parse(&bytes).map_err(|e| err(e.to_string()))?;
                DaemonProfile::Custom {
                    path: path.to_string(),
                    profile: Box::new(profile),
                }
            }
        };
        let remap = match f.userns_remap.as_deref() {
            Some(spec) => Some(userns::resolve(spec, files)?),
            None => None,
        };
        self.security = DaemonSecurity {
            seccomp,
            no_new_privileges: f.no_new_privileges,
            default_ulimits: f.default_ulimits.clone(),
            remap,
        };
        Ok(())
    }
}
