//! Builds the libseccomp filter the way runc does from the OCI profile moby derives
//! (runc `libcontainer/seccomp/seccomp_linux.go`), and exports it as classic BPF.

use crate::patch::{self, ArchPatch};
use crate::profile::{Action, Arg, Op, Profile, Syscall};
use crate::select::{self, Host};
use crate::SeccompError;
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use std::io::{Read, Seek, SeekFrom};
use std::str::FromStr;

fn lib(what: &str) -> impl FnOnce(libseccomp::error::SeccompError) -> SeccompError + '_ {
    move |e| SeccompError::Lib(format!("{what}: {e}"))
}

pub(crate) fn compile(p: &Profile, caps: &[String]) -> Result<Vec<u8>, SeccompError> {
    let host = Host::current()?;
    let caps: Vec<String> = caps.iter().map(|c| select::normalize_cap(c)).collect();
    // A profile with neither a default action nor rules means "unconfined" to Docker; the
    // equivalent filter allows everything.
    let default = match p.default_action {
        Some(a) => to_scmp(a, p.default_errno_ret, "defaultAction")?,
        None => ScmpAction::Allow,
    };
    let mut ctx = ScmpFilterContext::new(default).map_err(lib("creating the filter"))?;
    // The runtime decides no_new_privs itself; the exported program must not depend on it.
    ctx.set_ctl_nnp(false)
        .map_err(lib("clearing the no_new_privs attribute"))?;
    let mut arches = vec![ScmpArch::native()];
    for name in select::architectures(p, &host) {
        let arch = ScmpArch::from_str(name).map_err(|_| {
            SeccompError::Invalid(format!("unknown seccomp architecture \"{name}\""))
        })?;
        ctx.add_arch(arch)
            .map_err(lib(&format!("adding architecture {name}")))?;
        if !arches.contains(&arch) {
            arches.push(arch);
        }
    }
    let rules: Vec<&Syscall> = p
        .syscalls
        .iter()
        .filter(|r| select::applies(r, &caps, &host))
        .collect();
    for rule in &rules {
        add_rule(&mut ctx, rule, default)?;
    }
    let enosys = patch::wants_enosys(p.default_action);
    let patches = arches
        .iter()
        .map(|&arch| Ok((arch, arch_patch(arch, &rules, default, enosys)?)))
        .collect::<Result<Vec<(ScmpArch, ArchPatch)>, SeccompError>>()?;
    let mut bpf = patch::prefix(&patches);
    bpf.extend(export(&ctx)?);
    let insns = bpf.len() / SOCK_FILTER_SIZE;
    if insns > BPF_MAXINSNS {
        return Err(SeccompError::Invalid(format!(
            "the seccomp profile compiles to {insns} instructions, more than the kernel's {BPF_MAXINSNS}"
        )));
    }
    Ok(bpf)
}

/// The kernel's limit on a filter's length.
const BPF_MAXINSNS: usize = 4096;

/// What [`patch::prefix`] must do on `arch`: see the `patch` module.
fn arch_patch(
    arch: ScmpArch,
    rules: &[&Syscall],
    default: ScmpAction,
    enosys: bool,
) -> Result<ArchPatch, SeccompError> {
    let mut out = ArchPatch::default();
    let mut max: Option<u32> = None;
    for rule in rules {
        let action = to_scmp(rule.action, rule.errno_ret, "syscall rule")?;
        for name in rule.all_names() {
            if let Ok(nr) = ScmpSyscall::from_name_by_arch(name, arch) {
                // Negative numbers are libseccomp's pseudo-syscalls (e.g. socket on x86).
                if let Ok(nr) = u32::try_from(nr.as_raw_syscall()) {
                    max = max.max(Some(nr));
                }
            } else if let Some(nr) = patch::newer_syscall(name, arch) {
                max = max.max(Some(nr));
                // Conditions on arguments would need libseccomp's code generation: such rules
                // stay unapplied (the default action), as without the prefix.
                let known = out.rules.iter().any(|&(n, _)| n == nr);
                if rule.args.is_empty() && action != default && !known {
                    out.rules.push((nr, patch::ret_value(action)));
                }
            }
        }
    }
    out.enosys_above = max.filter(|_| enosys);
    Ok(out)
}

fn add_rule(
    ctx: &mut ScmpFilterContext,
    rule: &Syscall,
    default: ScmpAction,
) -> Result<(), SeccompError> {
    let action = to_scmp(rule.action, rule.errno_ret, "syscall rule")?;
    // libseccomp refuses a rule that repeats the default action; runc skips it too.
    if action == default {
        return Ok(());
    }
    let conditions: Vec<ScmpArgCompare> = rule.args.iter().map(condition).collect();
    // runc: conditions on distinct arguments form one rule (AND); when an argument is named
    // twice, libseccomp cannot express that in one rule, so each condition becomes its own
    // rule (OR).
    let repeats_an_arg = rule
        .args
        .iter()
        .enumerate()
        .any(|(i, a)| rule.args[..i].iter().any(|b| b.index == a.index));
    for name in rule.all_names() {
        // Names libseccomp does not know for this architecture are skipped, as Docker does, so
        // one profile serves every kernel and architecture.
        let Ok(nr) = ScmpSyscall::from_name(name) else {
            continue;
        };
        let added = if repeats_an_arg {
            conditions.iter().try_for_each(|c| {
                ctx.add_rule_conditional(action, nr, std::slice::from_ref(c))
                    .map(drop)
            })
        } else {
            ctx.add_rule_conditional(action, nr, &conditions).map(drop)
        };
        added.map_err(lib(&format!("adding the rule for {name}")))?;
    }
    Ok(())
}

fn condition(a: &Arg) -> ScmpArgCompare {
    let (op, datum) = match a.op {
        Op::NotEqual => (ScmpCompareOp::NotEqual, a.value),
        Op::LessThan => (ScmpCompareOp::Less, a.value),
        Op::LessOrEqual => (ScmpCompareOp::LessOrEqual, a.value),
        Op::Equal => (ScmpCompareOp::Equal, a.value),
        Op::GreaterOrEqual => (ScmpCompareOp::GreaterEqual, a.value),
        Op::GreaterThan => (ScmpCompareOp::Greater, a.value),
        Op::MaskedEqual => (ScmpCompareOp::MaskedEqual(a.value), a.value_two),
    };
    ScmpArgCompare::new(a.index, op, datum)
}

fn to_scmp(action: Action, errno_ret: Option<u32>, what: &str) -> Result<ScmpAction, SeccompError> {
    // runc's default for both ERRNO and TRACE without errnoRet.
    let data = errno_ret.unwrap_or(libc::EPERM as u32);
    let data16 = u16::try_from(data).map_err(|_| {
        SeccompError::Invalid(format!(
            "{what}: errnoRet {data} out of range (0 to {})",
            u16::MAX
        ))
    })?;
    Ok(match action {
        Action::Allow => ScmpAction::Allow,
        Action::Errno => ScmpAction::Errno(i32::from(data16)),
        Action::Trace => ScmpAction::Trace(data16),
        Action::Kill | Action::KillThread => ScmpAction::KillThread,
        Action::KillProcess => ScmpAction::KillProcess,
        Action::Trap => ScmpAction::Trap,
        Action::Log => ScmpAction::Log,
        Action::Notify => {
            return Err(SeccompError::Invalid(format!(
                "{what}: seccomp user notification (SCMP_ACT_NOTIFY) is not supported by rdocker"
            )))
        }
    })
}

/// `seccomp_export_bpf` writes to a file descriptor; a memfd takes any size without a reader
/// on the other end (a pipe would block past 64 KiB). `seccomp_export_bpf_mem` needs
/// libseccomp 2.6, newer than Debian 12's.
fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>, SeccompError> {
    let io =
        |what: &'static str| move |e: std::io::Error| SeccompError::Lib(format!("{what}: {e}"));
    let fd = rustix::fs::memfd_create(c"rdocker-seccomp-bpf", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| SeccompError::Lib(format!("memfd_create: {e}")))?;
    let mut file = std::fs::File::from(fd);
    ctx.export_bpf(&file)
        .map_err(lib("exporting the BPF program"))?;
    file.seek(SeekFrom::Start(0))
        .map_err(io("rewinding the exported program"))?;
    let mut bpf = Vec::new();
    file.read_to_end(&mut bpf)
        .map_err(io("reading the exported program"))?;
    if bpf.is_empty() || bpf.len() % SOCK_FILTER_SIZE != 0 {
        return Err(SeccompError::Lib(format!(
            "exported BPF program has {} bytes, not a whole number of instructions",
            bpf.len()
        )));
    }
    Ok(bpf)
}

/// `struct sock_filter`: u16 code, u8 jt, u8 jf, u32 k.
pub const SOCK_FILTER_SIZE: usize = 8;
