//! Docker's seccomp profile format (moby `profiles/seccomp`: the OCI `LinuxSeccomp` fields plus
//! `archMap`, `names`/`name`, `comment`, `includes`/`excludes`).

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// A profile in Docker's format.
///
/// Unknown fields are ignored, as Go's `encoding/json` does for dockerd.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// `None` only for a profile with no syscall rules either, which Docker treats as
    /// "seccomp disabled" (see [`Profile::is_unconfined`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_action: Option<Action>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// OCI-style explicit architecture list (`SCMP_ARCH_*`); exclusive with `arch_map`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub architectures: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub arch_map: Vec<ArchMap>,
    /// `SECCOMP_FILTER_FLAG_*` names; see [`Profile::filter_flags`].
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub flags: Vec<String>,
    /// Accepted by the format, refused by [`crate::parse`]: rdocker has no seccomp agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_metadata: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub syscalls: Vec<Syscall>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArchMap {
    pub architecture: String,
    #[serde(rename = "subArchitectures", default, deserialize_with = "nullable")]
    pub sub_architectures: Vec<String>,
}

/// One rule: a set of syscalls, an action, optional argument conditions and the conditions
/// (capabilities, architecture, kernel) under which the rule is part of the filter at all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Syscall {
    /// Legacy single-name form; exclusive with `names`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub names: Vec<String>,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub args: Vec<Arg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub includes: Option<Filter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excludes: Option<Filter>,
}

impl Syscall {
    /// The syscall names of this rule, whichever of `name`/`names` the profile used.
    pub fn all_names(&self) -> impl Iterator<Item = &str> {
        self.name
            .as_deref()
            .into_iter()
            .chain(self.names.iter().map(String::as_str))
    }
}

/// A condition on one syscall argument. For `SCMP_CMP_MASKED_EQ`, `value` is the mask and
/// `value_two` the datum the masked argument must equal (runc's reading of the OCI spec).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    pub index: u32,
    pub value: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub value_two: u64,
    pub op: Op,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// `includes` / `excludes` of a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub caps: Vec<String>,
    /// Docker's architecture names as Go spells them after moby's mapping (`amd64`, `x86`,
    /// `x32`, `arm64`, `s390x`, …), matched against the host's native architecture only.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub arches: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<KernelVersion>,
}

/// `"<kernel>.<major>"`, as moby's `KernelVersion` (each part 0..=255, not both 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KernelVersion {
    pub kernel: u8,
    pub major: u8,
}

impl TryFrom<String> for KernelVersion {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let bad = |why: &str| {
            format!("invalid kernel version: \"{s}\", expected \"<kernel>.<major>\"{why}")
        };
        let mut parts = s.splitn(3, '.');
        let (Some(k), Some(m), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad(""));
        };
        let kernel = k.parse::<u8>().map_err(|e| bad(&format!(": {e}")))?;
        let major = m.parse::<u8>().map_err(|e| bad(&format!(": {e}")))?;
        if kernel == 0 && major == 0 {
            return Err(bad(": version cannot be 0.0"));
        }
        Ok(KernelVersion { kernel, major })
    }
}

impl From<KernelVersion> for String {
    fn from(v: KernelVersion) -> String {
        v.to_string()
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kernel, self.major)
    }
}

/// Declares a string enum whose unknown values fail decoding with a message naming them.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name {
            $($variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(s: String) -> Result<Self, String> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let known: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    format!(concat!("unknown seccomp ", $what, " \"{}\" (known: {})"), s, known.join(", "))
                })
            }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str {
                v.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// What the filter does with a matching syscall. `SCMP_ACT_NOTIFY` decodes (it is part of
    /// the format) but [`crate::parse`] refuses it.
    Action, "action", {
        Allow = "SCMP_ACT_ALLOW",
        Errno = "SCMP_ACT_ERRNO",
        Kill = "SCMP_ACT_KILL",
        KillProcess = "SCMP_ACT_KILL_PROCESS",
        KillThread = "SCMP_ACT_KILL_THREAD",
        Trap = "SCMP_ACT_TRAP",
        Trace = "SCMP_ACT_TRACE",
        Log = "SCMP_ACT_LOG",
        Notify = "SCMP_ACT_NOTIFY",
    }
);

string_enum!(
    /// Comparison of a syscall argument with `value`.
    Op, "operator", {
        NotEqual = "SCMP_CMP_NE",
        LessThan = "SCMP_CMP_LT",
        LessOrEqual = "SCMP_CMP_LE",
        Equal = "SCMP_CMP_EQ",
        GreaterOrEqual = "SCMP_CMP_GE",
        GreaterThan = "SCMP_CMP_GT",
        MaskedEqual = "SCMP_CMP_MASKED_EQ",
    }
);

/// Go decodes `null` into an empty slice; the default profile itself has
/// `"subArchitectures": null`.
fn nullable<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}
