//! Docker's default profile, compiled and loaded for real in a child process.

mod common;

use common::{caps_with, default_caps, outcomes, sys, Outcome, Probe};
use libc::{EFAULT, EINVAL, ENOENT, ENOSYS, EPERM, ESRCH};
use rdocker_seccomp::{compile, default_profile};

const MOUNT_TARGET: &std::ffi::CStr = c"/nonexistent/rdocker-seccomp-probe";

/// The probes of the default-profile tests, in a fixed order (see `Expect`).
fn probes() -> Vec<Probe> {
    let s = |p: &'static std::ffi::CStr| p.as_ptr() as libc::c_long;
    vec![
        sys(libc::SYS_getpid, &[]),
        sys(libc::SYS_unshare, &[libc::CLONE_NEWNS as _]),
        // The target does not exist: where seccomp lets it through, the kernel says ENOENT.
        sys(
            libc::SYS_mount,
            &[s(c"none"), s(MOUNT_TARGET), s(c"tmpfs"), 0, 0],
        ),
        // KEYCTL_GET_KEYRING_ID of the session keyring, without creating it.
        sys(libc::SYS_keyctl, &[0, -3, 0]),
        // A NULL type: the kernel would say EFAULT.
        sys(libc::SYS_add_key, &[0, 0, 0, 0, 0]),
        // An unknown command: the kernel would say EINVAL.
        sys(libc::SYS_bpf, &[9999, 0, 0]),
        // size 0: the kernel would say EINVAL.
        sys(libc::SYS_clone3, &[0, 0]),
        // CLONE_NEWNS with CLONE_FS: the kernel would say EINVAL, no process is made.
        sys(
            libc::SYS_clone,
            &[(libc::CLONE_NEWNS | libc::CLONE_FS) as _, 0, 0, 0, 0],
        ),
        Probe::Fork,
        sys(libc::SYS_personality, &[0xffff_ffff]),
        // PER_LINUX32, then back to PER_LINUX.
        sys(libc::SYS_personality, &[0x0008]),
        sys(libc::SYS_personality, &[0]),
        // ADDR_NO_RANDOMIZE, alone and with PER_LINUX32: not in moby's list.
        sys(libc::SYS_personality, &[0x0040000]),
        sys(libc::SYS_personality, &[0x0040008]),
        // PTRACE_ATTACH to a pid that cannot exist: allowed by the minKernel 4.8 rule, so the
        // kernel answers ESRCH.
        sys(
            libc::SYS_ptrace,
            &[libc::PTRACE_ATTACH as _, 0x7fff_fff0, 0, 0],
        ),
        sys(
            libc::SYS_socket,
            &[libc::AF_INET as _, libc::SOCK_STREAM as _, 0],
        ),
        // AF_VSOCK is not among the families the profile allows.
        sys(
            libc::SYS_socket,
            &[libc::AF_VSOCK as _, libc::SOCK_STREAM as _, 0],
        ),
        // An invalid magic: even if allowed, the kernel says EINVAL.
        sys(libc::SYS_reboot, &[0, 0, 0, 0]),
        sys(libc::SYS_chroot, &[s(MOUNT_TARGET)]),
    ]
}

fn ok(o: Outcome) -> bool {
    o.is_ok()
}

#[test]
fn default_profile_with_docker_default_caps() {
    let bpf = compile(default_profile(), &default_caps()).unwrap();
    let o = outcomes(Some(&bpf), &probes());
    let e = Outcome::Err;
    assert!(
        matches!(o[0], Outcome::Ok(pid) if pid > 0),
        "getpid: {:?}",
        o[0]
    );
    assert_eq!(o[1], e(EPERM), "unshare(CLONE_NEWNS)");
    assert_eq!(o[2], e(EPERM), "mount");
    assert_eq!(o[3], e(EPERM), "keyctl");
    assert_eq!(o[4], e(EPERM), "add_key");
    assert_eq!(o[5], e(EPERM), "bpf");
    assert_eq!(
        o[6],
        e(ENOSYS),
        "clone3 (moby: ENOSYS so that libc falls back to clone)"
    );
    assert_eq!(o[7], e(EPERM), "clone with namespace flags");
    assert!(ok(o[8]), "fork: {:?}", o[8]);
    assert!(ok(o[9]), "personality(0xffffffff): {:?}", o[9]);
    assert_eq!(
        o[10],
        Outcome::Ok(0),
        "personality(PER_LINUX32) returns the old persona"
    );
    assert_eq!(
        o[11],
        Outcome::Ok(0x0008),
        "personality(PER_LINUX) returns PER_LINUX32"
    );
    assert_eq!(o[12], e(EPERM), "personality(ADDR_NO_RANDOMIZE)");
    assert_eq!(
        o[13],
        e(EPERM),
        "personality(PER_LINUX32|ADDR_NO_RANDOMIZE)"
    );
    assert_eq!(
        o[14],
        e(ESRCH),
        "ptrace reaches the kernel on kernels >= 4.8"
    );
    assert!(ok(o[15]), "socket(AF_INET): {:?}", o[15]);
    assert_eq!(o[16], e(EPERM), "socket(AF_VSOCK)");
    assert_eq!(o[17], e(EPERM), "reboot without CAP_SYS_BOOT");
    assert_eq!(
        o[18],
        e(ENOENT),
        "chroot with CAP_SYS_CHROOT reaches the kernel"
    );
}

#[test]
fn cap_sys_admin_opens_the_admin_syscalls() {
    let default = compile(default_profile(), &default_caps()).unwrap();
    let admin = compile(default_profile(), &caps_with("CAP_SYS_ADMIN")).unwrap();
    assert_ne!(default, admin);
    let o = outcomes(Some(&admin), &probes());
    let e = Outcome::Err;
    assert_eq!(
        o[1],
        Outcome::Ok(0),
        "unshare(CLONE_NEWNS) with CAP_SYS_ADMIN"
    );
    assert_eq!(
        o[2],
        e(ENOENT),
        "mount reaches the kernel with CAP_SYS_ADMIN"
    );
    assert_eq!(o[3], e(EPERM), "keyctl stays refused");
    assert_eq!(o[5], e(EINVAL), "bpf reaches the kernel with CAP_SYS_ADMIN");
    assert_eq!(
        o[6],
        e(EINVAL),
        "clone3 reaches the kernel with CAP_SYS_ADMIN"
    );
    assert_eq!(
        o[7],
        e(EINVAL),
        "clone with namespace flags reaches the kernel"
    );
    assert_eq!(o[17], e(EPERM), "reboot still needs CAP_SYS_BOOT");
}

#[test]
fn other_caps_select_their_rules() {
    let without_chroot: Vec<String> = default_caps()
        .into_iter()
        .filter(|c| c != "CAP_SYS_CHROOT")
        .collect();
    let bpf = compile(default_profile(), &without_chroot).unwrap();
    let o = outcomes(Some(&bpf), &probes());
    assert_eq!(o[18], Outcome::Err(EPERM), "chroot without CAP_SYS_CHROOT");

    // Names without the CAP_ prefix and in lower case select the same rules.
    let bpf = compile(default_profile(), &caps_with("sys_boot")).unwrap();
    let o = outcomes(Some(&bpf), &probes());
    assert_eq!(
        o[17],
        Outcome::Err(EINVAL),
        "reboot reaches the kernel with CAP_SYS_BOOT"
    );
}

/// Without a filter the kernel answers differently: the EPERMs above come from the filter.
#[test]
fn control_run_without_filter() {
    let o = outcomes(None, &probes());
    let e = Outcome::Err;
    assert_eq!(o[1], Outcome::Ok(0), "unshare");
    assert_eq!(o[2], e(ENOENT), "mount");
    assert_ne!(o[3], e(EPERM), "keyctl");
    assert_eq!(o[4], e(EFAULT), "add_key");
    assert_eq!(o[5], e(EINVAL), "bpf");
    assert_eq!(o[6], e(EINVAL), "clone3");
    assert_eq!(o[12], Outcome::Ok(0), "personality(ADDR_NO_RANDOMIZE)");
}

/// The x86 (32-bit) syscall table is filtered too: the archMap adds x86 and x32 on x86_64.
#[cfg(target_arch = "x86_64")]
#[test]
fn compat_x86_syscalls_are_filtered() {
    // x86 syscall numbers.
    const GETPID: u32 = 20;
    const MOUNT: u32 = 21;
    const UNSHARE: u32 = 310;
    let probes = [
        Probe::I386(GETPID, [0; 3]),
        Probe::I386(MOUNT, [0; 3]),
        Probe::I386(UNSHARE, [0x20000, 0, 0]),
    ];
    match common::run(None, &probes[..1]) {
        common::ChildEnd::Ran(o) if o[0].is_ok() => {}
        other => {
            eprintln!("SKIP: no ia32 emulation in this kernel ({other:?})");
            return;
        }
    }
    let bpf = compile(default_profile(), &default_caps()).unwrap();
    let o = outcomes(Some(&bpf), &probes);
    assert!(
        matches!(o[0], Outcome::Ok(pid) if pid > 0),
        "x86 getpid: {:?}",
        o[0]
    );
    assert_eq!(o[1], Outcome::Err(EPERM), "x86 mount");
    assert_eq!(o[2], Outcome::Err(EPERM), "x86 unshare");
}

/// Syscalls libseccomp 2.5 cannot name (by the prefix program), and runc's ENOSYS for syscalls
/// newer than the profile.
#[test]
fn newer_syscalls_follow_the_profile_and_unknown_ones_are_enosys() {
    const STATMOUNT: libc::c_long = 457;
    const LSM_LIST_MODULES: libc::c_long = 461;
    const MSEAL: libc::c_long = 462;
    const FILE_GETATTR: libc::c_long = 468;
    let probes = [
        sys(STATMOUNT, &[0, 0, 0, 0]),
        sys(MSEAL, &[0, 0, 0]),
        sys(LSM_LIST_MODULES, &[0, 0, 0]),
        sys(FILE_GETATTR, &[-1, 0, 0, 0, 0]),
        sys(1000, &[]),
        sys(libc::SYS_getpid, &[]),
    ];
    let control = outcomes(None, &probes);
    let default = outcomes(
        Some(&compile(default_profile(), &default_caps()).unwrap()),
        &probes,
    );
    let admin = outcomes(
        Some(&compile(default_profile(), &caps_with("CAP_SYS_ADMIN")).unwrap()),
        &probes,
    );
    // Allowed by the profile: the kernel's own answer.
    assert_eq!(default[0], control[0], "statmount");
    assert_eq!(default[1], control[1], "mseal");
    assert_ne!(default[0], Outcome::Err(EPERM), "statmount");
    // lsm_* need CAP_SYS_ADMIN.
    assert_eq!(default[2], Outcome::Err(EPERM), "lsm_list_modules");
    assert_eq!(admin[2], control[2], "lsm_list_modules with CAP_SYS_ADMIN");
    // Newer than the profile: unimplemented, whatever the kernel has.
    assert_eq!(default[3], Outcome::Err(ENOSYS), "file_getattr");
    assert_eq!(default[4], Outcome::Err(ENOSYS), "syscall 1000");
    assert!(default[5].is_ok());

    #[cfg(target_arch = "x86_64")]
    {
        let probes = [
            Probe::I386(457, [0; 3]),
            Probe::I386(468, [u32::MAX, 0, 0]),
            Probe::I386(20, [0; 3]),
        ];
        if let common::ChildEnd::Ran(control) = common::run(None, &probes) {
            if control[2].is_ok() {
                let o = outcomes(
                    Some(&compile(default_profile(), &default_caps()).unwrap()),
                    &probes,
                );
                assert_eq!(o[0], control[0], "x86 statmount");
                assert_eq!(o[1], Outcome::Err(ENOSYS), "x86 file_getattr");
                assert!(o[2].is_ok(), "x86 getpid");
            }
        }
    }
}
