//! User profiles (`--security-opt seccomp=<file>`): actions, argument conditions, conditions on
//! kernel and architecture, loaded for real.

mod common;

use common::{default_caps, outcomes, run, sys, ChildEnd, Outcome};
use libc::{EACCES, EPERM};
use rdocker_seccomp::{compile, parse};

fn bpf(json: &str) -> Vec<u8> {
    compile(&parse(json.as_bytes()).unwrap(), &default_caps()).unwrap()
}

/// getpriority(which, who): harmless, two arguments to put conditions on.
fn getpriority(which: i64, who: i64) -> common::Probe {
    sys(libc::SYS_getpriority, &[which as _, who as _])
}

#[test]
fn minimal_profile_refuses_one_syscall() {
    let b = bpf(r#"{"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]}"#);
    let o = outcomes(
        Some(&b),
        &[
            sys(libc::SYS_getppid, &[]),
            sys(libc::SYS_getpid, &[]),
            sys(libc::SYS_getuid, &[]),
        ],
    );
    assert_eq!(o[0], Outcome::Err(42));
    assert!(o[1].is_ok() && o[2].is_ok(), "{o:?}");
}

#[test]
fn errno_without_errno_ret_is_eperm_and_legacy_name_works() {
    let b = bpf(r#"{"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"name": "getppid", "action": "SCMP_ACT_ERRNO"}]}"#);
    assert_eq!(
        outcomes(Some(&b), &[sys(libc::SYS_getppid, &[])]),
        [Outcome::Err(EPERM)]
    );
}

#[test]
fn default_errno_ret_applies_to_the_default_action() {
    let b = bpf(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13,
        "syscalls": [{"names": ["write", "exit_group", "exit", "wait4", "getpid"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    let o = outcomes(
        Some(&b),
        &[sys(libc::SYS_getpid, &[]), sys(libc::SYS_getppid, &[])],
    );
    assert!(o[0].is_ok());
    assert_eq!(o[1], Outcome::Err(EACCES));
}

#[test]
fn conditions_on_distinct_args_are_anded() {
    let b = bpf(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpriority"],
        "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [
            {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
            {"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    let o = outcomes(
        Some(&b),
        &[
            getpriority(0, 0),
            getpriority(0, i64::from(std::process::id())),
            getpriority(1, 0),
        ],
    );
    assert_eq!(o[0], Outcome::Err(EACCES), "both conditions hold");
    assert!(o[1].is_ok(), "only the first holds: {:?}", o[1]);
    assert!(o[2].is_ok(), "only the second holds: {:?}", o[2]);
}

#[test]
fn repeated_arg_conditions_are_separate_rules() {
    let b = bpf(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpriority"],
        "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
            {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    let o = outcomes(
        Some(&b),
        &[getpriority(1, 0), getpriority(2, 0), getpriority(0, 0)],
    );
    assert_eq!(o[0], Outcome::Err(EACCES));
    assert_eq!(o[1], Outcome::Err(EACCES));
    assert!(o[2].is_ok(), "{:?}", o[2]);
}

#[test]
fn masked_eq_uses_value_as_mask_and_value_two_as_datum() {
    let b = bpf(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpriority"],
        "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [
            {"index": 0, "value": 240, "valueTwo": 16, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#,
    );
    // which & 0xf0 == 0x10 only for 0x15: refused; the others reach the kernel (EINVAL). 0x35
    // tells the roles apart: with mask 0x10 and datum 0xf0 (swapped) it would be refused.
    let o = outcomes(
        Some(&b),
        &[
            getpriority(0x15, 0),
            getpriority(0x25, 0),
            getpriority(0x05, 0),
            getpriority(0x35, 0),
        ],
    );
    let einval = Outcome::Err(libc::EINVAL);
    assert_eq!(o, [Outcome::Err(EACCES), einval, einval, einval]);
}

#[test]
fn comparison_operators() {
    let rule = |op: &str, v: u64| {
        format!(
            r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{{"names": ["getpriority"],
            "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
            "args": [{{"index": 1, "value": {v}, "op": "{op}"}}]}}]}}"#
        )
    };
    // who = 0, 1, 2 with which = PRIO_PROCESS; refused (EACCES) or not, per operator.
    let cases: [(&str, [bool; 3]); 6] = [
        ("SCMP_CMP_NE", [true, false, true]),
        ("SCMP_CMP_LT", [true, false, false]),
        ("SCMP_CMP_LE", [true, true, false]),
        ("SCMP_CMP_EQ", [false, true, false]),
        ("SCMP_CMP_GE", [false, true, true]),
        ("SCMP_CMP_GT", [false, false, true]),
    ];
    for (op, refused) in cases {
        let o = outcomes(
            Some(&bpf(&rule(op, 1))),
            &[getpriority(0, 0), getpriority(0, 1), getpriority(0, 2)],
        );
        let got: Vec<bool> = o.iter().map(|x| *x == Outcome::Err(EACCES)).collect();
        assert_eq!(got, refused, "{op}: {o:?}");
    }
}

#[test]
fn kill_and_trap_actions_end_the_process_with_sigsys() {
    for action in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",
    ] {
        let b = bpf(&format!(
            r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{{"names": ["getppid"], "action": "{action}"}}]}}"#
        ));
        assert_eq!(
            run(Some(&b), &[sys(libc::SYS_getppid, &[])]),
            ChildEnd::Signaled(libc::SIGSYS),
            "{action}"
        );
    }
}

#[test]
fn log_and_trace_actions() {
    // LOG allows (and logs); TRACE without a tracer fails the syscall with ENOSYS.
    let b = bpf(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_LOG"},
        {"names": ["getuid"], "action": "SCMP_ACT_TRACE"}]}"#);
    let o = outcomes(
        Some(&b),
        &[sys(libc::SYS_getppid, &[]), sys(libc::SYS_getuid, &[])],
    );
    assert!(o[0].is_ok(), "{:?}", o[0]);
    assert_eq!(o[1], Outcome::Err(libc::ENOSYS));
}

#[test]
fn min_kernel_arches_and_caps_select_rules() {
    let json = |filter: &str| {
        format!(
            r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{{"names": ["getppid"],
            "action": "SCMP_ACT_ERRNO", {filter}}}]}}"#
        )
    };
    let refused = |filter: &str| {
        outcomes(Some(&bpf(&json(filter))), &[sys(libc::SYS_getppid, &[])])[0]
            == Outcome::Err(EPERM)
    };
    assert!(refused(r#""includes": {"minKernel": "4.8"}"#));
    assert!(!refused(r#""includes": {"minKernel": "200.0"}"#));
    assert!(!refused(r#""excludes": {"minKernel": "4.8"}"#));
    assert!(refused(r#""excludes": {"minKernel": "200.0"}"#));
    assert!(refused(
        r#""includes": {"caps": ["CAP_KILL", "CAP_CHOWN"]}"#
    ));
    assert!(!refused(
        r#""includes": {"caps": ["CAP_KILL", "CAP_SYS_ADMIN"]}"#
    ));
    assert!(!refused(r#""excludes": {"caps": ["CAP_KILL"]}"#));
    if cfg!(target_arch = "x86_64") {
        assert!(refused(r#""includes": {"arches": ["amd64"]}"#));
        assert!(!refused(r#""includes": {"arches": ["arm64", "x86"]}"#));
        assert!(!refused(r#""excludes": {"arches": ["amd64"]}"#));
    }
}

#[test]
fn unknown_syscall_names_are_skipped() {
    let b = bpf(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["no_such_syscall", "getppid", "s390_runtime_instr"], "action": "SCMP_ACT_ERRNO"}]}"#);
    assert_eq!(
        outcomes(Some(&b), &[sys(libc::SYS_getppid, &[])]),
        [Outcome::Err(EPERM)]
    );
}

#[test]
fn explicit_architectures_list() {
    // Without x86 in the filter, a 32-bit syscall is a foreign architecture: killed.
    let b = bpf(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}"#,
    );
    assert_eq!(
        outcomes(Some(&b), &[sys(libc::SYS_getppid, &[])]),
        [Outcome::Err(EPERM)]
    );
    #[cfg(target_arch = "x86_64")]
    {
        if let ChildEnd::Ran(o) = run(None, &[common::Probe::I386(20, [0; 3])]) {
            if o[0].is_ok() {
                assert_eq!(
                    run(Some(&b), &[common::Probe::I386(20, [0; 3])]),
                    ChildEnd::Signaled(libc::SIGSYS)
                );
            }
        }
    }
}

#[test]
fn empty_profile_is_unconfined() {
    let p = parse(b"{}").unwrap();
    assert!(p.is_unconfined());
    let b = compile(&p, &[]).unwrap();
    let o = outcomes(
        Some(&b),
        &[sys(libc::SYS_unshare, &[0]), sys(libc::SYS_getppid, &[])],
    );
    assert!(o.iter().all(|x| x.is_ok()), "{o:?}");
}

#[test]
fn rules_for_syscalls_newer_than_libseccomp_apply() {
    const MSEAL: libc::c_long = 462;
    let b = bpf(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mseal"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]}"#);
    // A permissive default gets no ENOSYS: syscall 1000 reaches the kernel (ENOSYS there too,
    // so compare with the kernel's file_getattr instead: whatever it says, not our ENOSYS rule).
    let probes = [
        sys(MSEAL, &[0, 0, 0]),
        sys(libc::SYS_getpid, &[]),
        sys(468, &[-1, 0, 0, 0, 0]),
    ];
    let control = outcomes(None, &probes);
    let o = outcomes(Some(&b), &probes);
    assert_eq!(o[0], Outcome::Err(42));
    assert!(o[1].is_ok());
    assert_eq!(o[2], control[2]);
    #[cfg(target_arch = "x86_64")]
    {
        let b = bpf(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"architecture": "SCMP_ARCH_X86_64",
            "subArchitectures": ["SCMP_ARCH_X86"]}], "syscalls": [
            {"names": ["mseal"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]}"#,
        );
        let probes = [
            common::Probe::I386(462, [0; 3]),
            common::Probe::I386(20, [0; 3]),
        ];
        if let ChildEnd::Ran(control) = run(None, &probes) {
            if control[1].is_ok() {
                assert_eq!(
                    outcomes(Some(&b), &probes)[0],
                    Outcome::Err(42),
                    "x86 mseal"
                );
            }
        }
    }
}

/// x32 shares x86_64's audit number; its syscall numbers carry bit 30. The kernel here may
/// refuse x32 calls (ENOSYS) but only after seccomp has seen them.
#[cfg(target_arch = "x86_64")]
#[test]
fn x32_numbers_are_filtered_separately() {
    const X32: libc::c_long = 0x4000_0000;
    let b = bpf(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"architecture": "SCMP_ARCH_X86_64",
        "subArchitectures": ["SCMP_ARCH_X32"]}], "syscalls": [
        {"names": ["mseal"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42},
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 43}]}"#,
    );
    let probes = [
        sys(X32 | 462, &[0, 0, 0]),
        sys(X32 | 110, &[]),
        sys(462, &[0, 0, 0]),
        sys(libc::SYS_getppid, &[]),
    ];
    let o = outcomes(Some(&b), &probes);
    assert_eq!(
        o,
        [
            Outcome::Err(42),
            Outcome::Err(43),
            Outcome::Err(42),
            Outcome::Err(43)
        ]
    );

    // The default profile: x32 mount is refused by the filter, x32 getpid passes it.
    let b = compile(&rdocker_seccomp::default_profile().clone(), &default_caps()).unwrap();
    let o = outcomes(
        Some(&b),
        &[sys(X32 | 165, &[0, 0, 0, 0, 0]), sys(X32 | 39, &[])],
    );
    assert_eq!(o[0], Outcome::Err(EPERM), "x32 mount");
    assert_ne!(o[1], Outcome::Err(EPERM), "x32 getpid");
}
