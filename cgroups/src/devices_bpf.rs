//! cgroup v2 device control: a `BPF_PROG_TYPE_CGROUP_DEVICE` program generated from the rules
//! and attached to the container's cgroup directory.
//!
//! No maintained crate emits these few instructions without pulling in a whole BPF toolchain
//! (aya, libbpf-rs need object files), so this is a small hand-written emitter in the shape of
//! runc's `devicefilter.go` and crun's `ebpf.c`: load the context, then one block per rule,
//! last rule first (the last matching rule wins, as in the v1 lists), default deny.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::fsutil::io_err;
use crate::{CgroupError, DeviceRule};

// Instruction classes and opcodes (linux/bpf.h, linux/bpf_common.h).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54;
const ALU32_RSH_K: u8 = 0x74;
const ALU32_MOV_K: u8 = 0xb4;
const ALU32_MOV_X: u8 = 0xbc;
const JMP_JNE_K: u8 = 0x55;
const JMP_JNE_X: u8 = 0x5d;
const JMP_JEQ_K: u8 = 0x15;
const EXIT: u8 = 0x95;

// struct bpf_cgroup_dev_ctx { u32 access_type /* access << 16 | type */; u32 major; u32 minor; }
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// One `struct bpf_insn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    fn encode(&self) -> [u8; 8] {
        // The register nibbles follow the bitfield order of the target's endianness.
        #[cfg(target_endian = "little")]
        let regs = (self.dst & 0xf) | (self.src << 4);
        #[cfg(target_endian = "big")]
        let regs = (self.dst << 4) | (self.src & 0xf);
        let off = self.off.to_ne_bytes();
        let imm = self.imm.to_ne_bytes();
        [
            self.code, regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3],
        ]
    }
}

/// The program for `rules` (applied in order, last match wins, everything else denied).
pub(crate) fn program(rules: &[DeviceRule]) -> Result<Vec<Insn>, CgroupError> {
    let mut p = vec![
        // r2 = type, r3 = access, r4 = major, r5 = minor (r1 = ctx)
        Insn::new(LDX_MEM_W, 2, 1, 0, 0),
        Insn::new(ALU32_AND_K, 2, 0, 0, 0xffff),
        Insn::new(LDX_MEM_W, 3, 1, 0, 0),
        Insn::new(ALU32_RSH_K, 3, 0, 0, 16),
        Insn::new(LDX_MEM_W, 4, 1, 4, 0),
        Insn::new(LDX_MEM_W, 5, 1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        p.extend(rule_block(rule)?);
    }
    p.push(Insn::new(ALU32_MOV_K, 0, 0, 0, 0));
    p.push(Insn::new(EXIT, 0, 0, 0, 0));
    Ok(p)
}

fn rule_block(rule: &DeviceRule) -> Result<Vec<Insn>, CgroupError> {
    let typ = match rule.kind {
        'a' => None,
        'b' => Some(DEV_BLOCK),
        'c' => Some(DEV_CHAR),
        k => return Err(CgroupError::Invalid(format!("invalid device type '{k}'"))),
    };
    let mut acc = 0;
    for (c, bit) in [('m', ACC_MKNOD), ('r', ACC_READ), ('w', ACC_WRITE)] {
        if rule.has(c) {
            acc |= bit;
        }
    }
    let num = |v: Option<i64>| -> Result<Option<i32>, CgroupError> {
        v.map(|n| {
            i32::try_from(n)
                .map_err(|_| CgroupError::Invalid(format!("device number {n} is out of range")))
        })
        .transpose()
    };
    // Each check jumps to the end of the block (patched below) when the rule does not match.
    let mut b: Vec<Insn> = Vec::new();
    let mut jumps: Vec<usize> = Vec::new();
    if let Some(t) = typ {
        jumps.push(b.len());
        b.push(Insn::new(JMP_JNE_K, 2, 0, 0, t));
    }
    if acc != ACC_MKNOD | ACC_READ | ACC_WRITE {
        b.push(Insn::new(ALU32_MOV_X, 1, 3, 0, 0));
        b.push(Insn::new(ALU32_AND_K, 1, 0, 0, acc));
        jumps.push(b.len());
        if rule.allow {
            // allow only when every requested access is in the rule: (acc & req) == req
            b.push(Insn::new(JMP_JNE_X, 1, 3, 0, 0));
        } else {
            // deny as soon as any requested access is in the rule: (acc & req) != 0
            b.push(Insn::new(JMP_JEQ_K, 1, 0, 0, 0));
        }
    }
    if let Some(m) = num(rule.major)? {
        jumps.push(b.len());
        b.push(Insn::new(JMP_JNE_K, 4, 0, 0, m));
    }
    if let Some(m) = num(rule.minor)? {
        jumps.push(b.len());
        b.push(Insn::new(JMP_JNE_K, 5, 0, 0, m));
    }
    b.push(Insn::new(ALU32_MOV_K, 0, 0, 0, i32::from(rule.allow)));
    b.push(Insn::new(EXIT, 0, 0, 0, 0));
    let end = b.len();
    for j in jumps {
        // Offsets count from the instruction after the jump.
        b[j].off = i16::try_from(end - j - 1).unwrap_or(i16::MAX);
    }
    Ok(b)
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<i64> {
    // SAFETY: attr is a live, properly sized #[repr(C)] prefix of union bpf_attr; the kernel
    // reads at most size_of::<T>() bytes and treats the rest of its union as zero.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn load(insns: &[Insn]) -> Result<OwnedFd, CgroupError> {
    let code: Vec<u8> = insns.iter().flat_map(|i| i.encode()).collect();
    let license = CString::from(c"Apache-2.0");
    let mut name = [0u8; 16];
    name[..11].copy_from_slice(b"rdocker_dev");
    let mut log = vec![0u8; 0];
    let attempt = |log_level: u32, log: &mut Vec<u8>| {
        let mut attr = ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
            insn_cnt: insns.len() as u32,
            insns: code.as_ptr() as u64,
            license: license.as_ptr() as u64,
            log_level,
            log_size: log.len() as u32,
            log_buf: if log.is_empty() {
                0
            } else {
                log.as_mut_ptr() as u64
            },
            prog_name: name,
            expected_attach_type: BPF_CGROUP_DEVICE,
            ..Default::default()
        };
        bpf(BPF_PROG_LOAD, &mut attr)
    };
    match attempt(0, &mut log) {
        Ok(fd) => Ok(owned(fd)),
        Err(first) => {
            // Only pay for the verifier log when something went wrong.
            let mut log = vec![0u8; 64 * 1024];
            let detail = match attempt(1, &mut log) {
                Ok(fd) => return Ok(owned(fd)),
                Err(_) => {
                    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                    String::from_utf8_lossy(&log[..end]).trim().to_string()
                }
            };
            Err(CgroupError::Unavailable(format!(
                "loading the eBPF device program: {first}{}{detail}",
                if detail.is_empty() { "" } else { ": " }
            )))
        }
    }
}

fn owned(fd: i64) -> OwnedFd {
    // SAFETY: a successful BPF_PROG_LOAD returns a new fd that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

/// Loads the program for `rules` and attaches it to the cgroup v2 directory `dir`. The kernel
/// keeps the program alive while attached and detaches it when the cgroup is removed.
pub(crate) fn attach(dir: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    let prog = load(&program(rules)?)?;
    let cg = std::fs::File::open(dir).map_err(|e| io_err("open", dir, e))?;
    let mut attr = ProgAttachAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map_err(|e| {
        CgroupError::Unavailable(format!(
            "attaching the eBPF device program to {}: {e}",
            dir.display()
        ))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(s: &str, allow: bool) -> DeviceRule {
        DeviceRule::parse(s, allow).unwrap()
    }

    #[test]
    fn block_for_char_rule_jumps_past_itself() {
        let b = rule_block(&rule("c 1:3 rw", true)).unwrap();
        // jne type; mov r1,r3; and r1,acc; jne r1,r3; jne major; jne minor; mov r0,1; exit
        assert_eq!(b.len(), 8);
        assert_eq!(b[0], Insn::new(JMP_JNE_K, 2, 0, 7, DEV_CHAR));
        assert_eq!(b[2], Insn::new(ALU32_AND_K, 1, 0, 0, ACC_READ | ACC_WRITE));
        assert_eq!(b[3], Insn::new(JMP_JNE_X, 1, 3, 4, 0));
        assert_eq!(b[4], Insn::new(JMP_JNE_K, 4, 0, 3, 1));
        assert_eq!(b[5], Insn::new(JMP_JNE_K, 5, 0, 2, 3));
        assert_eq!(b[6], Insn::new(ALU32_MOV_K, 0, 0, 0, 1));
    }

    #[test]
    fn wildcard_rule_is_unconditional() {
        let b = rule_block(&rule("a", true)).unwrap();
        assert_eq!(
            b,
            [
                Insn::new(ALU32_MOV_K, 0, 0, 0, 1),
                Insn::new(EXIT, 0, 0, 0, 0)
            ]
        );
    }

    #[test]
    fn program_is_reversed_and_default_denies() {
        let p = program(&[rule("c 1:3 rwm", true), rule("c *:* m", true)]).unwrap();
        // prologue 6, "c *:* m" block 6 first, then "c 1:3 rwm" 5, then default 2
        assert_eq!(p.len(), 6 + 6 + 5 + 2);
        assert_eq!(p[8].imm, ACC_MKNOD);
        assert_eq!(p[p.len() - 2], Insn::new(ALU32_MOV_K, 0, 0, 0, 0));
        assert_eq!(
            Insn::new(JMP_JNE_K, 2, 0, 7, 2).encode(),
            [0x55, 0x02, 7, 0, 2, 0, 0, 0]
        );
    }
}
