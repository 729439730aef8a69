//! A short program put in front of libseccomp's, for syscalls that libseccomp 2.5 (Debian 12)
//! cannot name, as runc's `patchbpf` does for the second half:
//!
//! - the profile's no-argument rules for syscalls newer than the library (`statmount`, `mseal`,
//!   `*xattrat`, `lsm_*`, `uretprobe`, …), by the numbers below, so that they act as Docker
//!   with a current libseccomp makes them act instead of falling to the default action;
//! - with a refusing default action, `ENOSYS` for syscall numbers above the largest the profile
//!   names on that architecture: a syscall newer than the profile must look unimplemented, so
//!   that libc and programs fall back to the older call, not fail with `EPERM`.
//!
//! Only syscalls the libseccomp program would send to the default action are touched.

use crate::profile::Action;
use libseccomp::{ScmpAction, ScmpArch};

/// Syscalls the embedded profile names that libseccomp 2.5.4 does not know, by the numbers of
/// the unified table (the same on every architecture supported here since 5.1; x32 adds its
/// bit). `None` in `only`: every architecture; otherwise just that one.
const NEWER_SYSCALLS: &[(&str, u32, Option<ScmpArch>)] = &[
    ("uretprobe", 335, Some(ScmpArch::X8664)),
    ("statmount", 457, None),
    ("listmount", 458, None),
    ("lsm_get_self_attr", 459, None),
    ("lsm_set_self_attr", 460, None),
    ("lsm_list_modules", 461, None),
    ("mseal", 462, None),
    ("setxattrat", 463, None),
    ("getxattrat", 464, None),
    ("listxattrat", 465, None),
    ("removexattrat", 466, None),
    ("open_tree_attr", 467, None),
    ("file_getattr", 468, None),
    ("file_setattr", 469, None),
];

const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// `AUDIT_ARCH_*` of the architectures whose tables [`NEWER_SYSCALLS`] fits; others get no
/// prefix (their filter is libseccomp's alone).
fn audit_arch(arch: ScmpArch) -> Option<u32> {
    Some(match arch {
        ScmpArch::X8664 | ScmpArch::X32 => 0xC000_003E,
        ScmpArch::X86 => 0x4000_0003,
        ScmpArch::Aarch64 => 0xC000_00B7,
        ScmpArch::Arm => 0x4000_0028,
        ScmpArch::Riscv64 => 0xC000_00F3,
        ScmpArch::S390X => 0x8000_0016,
        ScmpArch::S390 => 0x0000_0016,
        ScmpArch::Ppc64Le => 0xC000_0015,
        ScmpArch::Ppc64 => 0x8000_0015,
        ScmpArch::Loongarch64 => 0xC000_0102,
        _ => return None,
    })
}

/// The number of `name` on `arch` when libseccomp does not know it but the table above does.
pub(crate) fn newer_syscall(name: &str, arch: ScmpArch) -> Option<u32> {
    audit_arch(arch)?;
    let &(_, nr, only) = NEWER_SYSCALLS.iter().find(|(n, _, _)| *n == name)?;
    if only.is_some_and(|a| a != arch) {
        return None;
    }
    Some(if arch == ScmpArch::X32 {
        nr | X32_SYSCALL_BIT
    } else {
        nr
    })
}

/// What the prefix does for one architecture.
#[derive(Debug, Default)]
pub(crate) struct ArchPatch {
    /// (syscall number, `SECCOMP_RET_*` value)
    pub rules: Vec<(u32, u32)>,
    /// The largest syscall number the profile names on this architecture; above it, ENOSYS.
    pub enosys_above: Option<u32>,
}

/// runc leaves permissive profiles alone: there the default already lets new syscalls through.
pub(crate) fn wants_enosys(default: Option<Action>) -> bool {
    !matches!(default, None | Some(Action::Allow) | Some(Action::Log))
}

/// The `SECCOMP_RET_*` value of an action, as the kernel reads a filter's return.
pub(crate) fn ret_value(a: ScmpAction) -> u32 {
    match a {
        ScmpAction::KillProcess => 0x8000_0000,
        ScmpAction::KillThread => 0,
        ScmpAction::Trap => 0x0003_0000,
        ScmpAction::Errno(e) => 0x0005_0000 | (e as u32 & 0xffff),
        ScmpAction::Trace(t) => 0x7ff0_0000 | u32::from(t),
        ScmpAction::Log => 0x7ffc_0000,
        // Allow, and Notify (refused earlier).
        _ => 0x7fff_0000,
    }
}

const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JMP_JA: u16 = 0x05; // BPF_JMP | BPF_JA
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGT_K: u16 = 0x25;
const JMP_JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;
/// Offsets in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const RET_ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;

type Insn = (u16, u8, u8, u32);

/// The prefix for `patches` (architectures without an audit number are left out), as
/// `struct sock_filter` bytes; it ends by falling through to the program that follows.
pub(crate) fn prefix(patches: &[(ScmpArch, ArchPatch)]) -> Vec<u8> {
    let blocks: Vec<Vec<Insn>> = patches
        .iter()
        .filter(|(_, p)| !p.rules.is_empty() || p.enosys_above.is_some())
        .filter_map(|(arch, p)| Some(block(*arch, audit_arch(*arch)?, p)))
        .collect();
    let mut out = Vec::new();
    for (i, mut b) in blocks.iter().cloned().enumerate() {
        // The block's last instruction jumps over the blocks after it, to libseccomp's program.
        let rest: usize = blocks[i + 1..].iter().map(Vec::len).sum();
        if let Some(last) = b.last_mut() {
            last.3 = rest as u32;
        }
        out.extend(b);
    }
    out.iter()
        .flat_map(|&(code, jt, jf, k)| {
            let mut bytes = [0u8; 8];
            bytes[..2].copy_from_slice(&code.to_ne_bytes());
            bytes[2] = jt;
            bytes[3] = jf;
            bytes[4..].copy_from_slice(&k.to_ne_bytes());
            bytes
        })
        .collect()
}

/// `ld arch; jeq audit ? body : next; [body: ld nr; (x86_64/x32: jset bit); rules; enosys; ja]`.
/// Blocks stay far below 255 instructions, the reach of a conditional jump.
fn block(arch: ScmpArch, audit: u32, p: &ArchPatch) -> Vec<Insn> {
    let mut tail: Vec<Insn> = Vec::new();
    for &(nr, ret) in &p.rules {
        tail.push((JMP_JEQ_K, 0, 1, nr));
        tail.push((RET_K, 0, 0, ret));
    }
    if let Some(max) = p.enosys_above {
        tail.push((JMP_JGT_K, 0, 1, max));
        tail.push((RET_K, 0, 0, RET_ENOSYS));
    }
    // To libseccomp's program; the distance is set by `prefix`.
    tail.push((JMP_JA, 0, 0, 0));
    // x86_64 and x32 share an audit number: the syscall number's bit tells them apart, and a
    // block skips the numbers of the other.
    let skip = tail.len() as u8;
    let jset = match arch {
        ScmpArch::X8664 => Some((JMP_JSET_K, skip, 0, X32_SYSCALL_BIT)),
        ScmpArch::X32 => Some((JMP_JSET_K, 0, skip, X32_SYSCALL_BIT)),
        _ => None,
    };
    let mut body: Vec<Insn> = vec![(LD_W_ABS, 0, 0, DATA_NR)];
    body.extend(jset);
    body.extend(tail);
    let mut b: Vec<Insn> = vec![
        (LD_W_ABS, 0, 0, DATA_ARCH),
        (JMP_JEQ_K, 0, body.len() as u8, audit),
    ];
    b.extend(body);
    b
}
