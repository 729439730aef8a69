//! Checks a decoded profile for what decoding alone cannot see, so that a bad profile is refused
//! when the user hands it in (engine → 400) and never while a container starts.

use crate::profile::{Action, Profile, Syscall};
use crate::SeccompError;
use std::str::FromStr;

/// Argument indexes a seccomp filter can inspect (`struct seccomp_data.args[6]`).
const MAX_ARGS: u32 = 6;

/// Filter flags the kernel knows (`SECCOMP_FILTER_FLAG_*`), with their values.
pub(crate) const FILTER_FLAGS: &[(&str, u32)] = &[
    ("SECCOMP_FILTER_FLAG_TSYNC", 1),
    ("SECCOMP_FILTER_FLAG_LOG", 2),
    ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4),
    ("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 32),
];

fn invalid(msg: impl Into<String>) -> SeccompError {
    SeccompError::Invalid(msg.into())
}

pub(crate) fn validate(p: &Profile) -> Result<(), SeccompError> {
    if p.default_action.is_none() && !p.syscalls.is_empty() {
        return Err(invalid(
            "seccomp profile has syscall rules but no defaultAction",
        ));
    }
    if p.default_action == Some(Action::Notify) {
        return Err(notify_unsupported("defaultAction"));
    }
    if p.listener_path.as_deref().is_some_and(|l| !l.is_empty()) {
        return Err(notify_unsupported("listenerPath"));
    }
    check_errno_ret("defaultErrnoRet", p.default_errno_ret)?;
    if !p.architectures.is_empty() && !p.arch_map.is_empty() {
        // moby's wording.
        return Err(invalid(
            "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'",
        ));
    }
    let arch_names = p.architectures.iter().chain(
        p.arch_map
            .iter()
            .flat_map(|m| std::iter::once(&m.architecture).chain(&m.sub_architectures)),
    );
    for arch in arch_names {
        if libseccomp::ScmpArch::from_str(arch).is_err() {
            return Err(invalid(format!("unknown seccomp architecture \"{arch}\"")));
        }
    }
    for flag in &p.flags {
        if !FILTER_FLAGS.iter().any(|(name, _)| name == flag) {
            return Err(invalid(format!("unknown seccomp filter flag \"{flag}\"")));
        }
    }
    p.syscalls.iter().try_for_each(validate_rule)
}

fn validate_rule(s: &Syscall) -> Result<(), SeccompError> {
    let names: Vec<&str> = s.all_names().collect();
    let at = || format!("seccomp rule for {names:?}");
    if s.name.is_some() && !s.names.is_empty() {
        // moby's wording.
        return Err(invalid(
            "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'",
        ));
    }
    if s.action == Action::Notify {
        return Err(notify_unsupported(&at()));
    }
    if s.errno_ret.is_some() && !matches!(s.action, Action::Errno | Action::Trace) {
        return Err(invalid(format!(
            "{}: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {}",
            at(),
            s.action
        )));
    }
    check_errno_ret(&at(), s.errno_ret)?;
    if let Some(arg) = s.args.iter().find(|a| a.index >= MAX_ARGS) {
        return Err(invalid(format!(
            "{}: argument index {} out of range (a syscall has arguments 0 to {})",
            at(),
            arg.index,
            MAX_ARGS - 1
        )));
    }
    Ok(())
}

fn check_errno_ret(what: &str, v: Option<u32>) -> Result<(), SeccompError> {
    match v {
        // The kernel keeps 16 bits of return data (SECCOMP_RET_DATA).
        Some(v) if v > u32::from(u16::MAX) => Err(invalid(format!(
            "{what}: errnoRet {v} out of range (0 to {})",
            u16::MAX
        ))),
        _ => Ok(()),
    }
}

fn notify_unsupported(what: &str) -> SeccompError {
    invalid(format!(
        "{what}: seccomp user notification (SCMP_ACT_NOTIFY, listenerPath) is not supported by rdocker"
    ))
}
