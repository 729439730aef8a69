//! Decoding and validating profiles: the embedded default and the errors a user sees.

use rdocker_seccomp::{
    compile, default_profile, default_profile_json, parse, Action, KernelVersion, Op, Profile,
    SeccompError,
};

fn invalid(json: &str) -> String {
    match parse(json.as_bytes()) {
        Err(SeccompError::Invalid(msg)) => msg,
        other => panic!("expected Invalid for {json}, got {other:?}"),
    }
}

#[test]
fn embedded_default_profile_parses() {
    let p = default_profile();
    assert_eq!(p.default_action, Some(Action::Errno));
    assert_eq!(p.default_errno_ret, Some(1));
    let x86_64 = p
        .arch_map
        .iter()
        .find(|m| m.architecture == "SCMP_ARCH_X86_64")
        .unwrap();
    assert_eq!(x86_64.sub_architectures, ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    // `"subArchitectures": null` decodes as empty.
    let riscv = p
        .arch_map
        .iter()
        .find(|m| m.architecture == "SCMP_ARCH_RISCV64")
        .unwrap();
    assert!(riscv.sub_architectures.is_empty());

    let allow_all = &p.syscalls[0];
    assert_eq!(allow_all.action, Action::Allow);
    assert!(allow_all.names.len() > 350, "{}", allow_all.names.len());
    assert!(allow_all.names.iter().any(|n| n == "getpid"));
    assert!(!allow_all
        .names
        .iter()
        .any(|n| n == "mount" || n == "keyctl" || n == "unshare"));

    let clone3 = p
        .syscalls
        .iter()
        .find(|s| s.names == ["clone3"] && s.action == Action::Errno)
        .unwrap();
    assert_eq!(clone3.errno_ret, Some(38));
    assert_eq!(clone3.excludes.as_ref().unwrap().caps, ["CAP_SYS_ADMIN"]);

    let ptrace = p
        .syscalls
        .iter()
        .find(|s| s.names.iter().any(|n| n == "ptrace"))
        .unwrap();
    assert_eq!(
        ptrace.includes.as_ref().unwrap().min_kernel,
        Some(KernelVersion {
            kernel: 4,
            major: 8
        })
    );

    let clone = p
        .syscalls
        .iter()
        .find(|s| s.names == ["clone"] && !s.args.is_empty())
        .unwrap();
    assert_eq!(clone.args[0].op, Op::MaskedEqual);
    assert_eq!(clone.args[0].value, 2_114_060_288);
    assert_eq!(clone.args[0].value_two, 0);
}

#[test]
fn default_profile_is_embedded_verbatim() {
    // Go's MarshalIndent with tabs, as moby generates it; no trailing newline.
    let json = default_profile_json();
    assert!(
        json.starts_with("{\n\t\"defaultAction\": \"SCMP_ACT_ERRNO\",\n\t\"defaultErrnoRet\": 1,")
    );
    assert!(json.ends_with("\t\t\t\t\t\"CAP_PERFMON\"\n\t\t\t\t]\n\t\t\t}\n\t\t}\n\t]\n}"));
    assert_eq!(json.len(), 17219);
}

#[test]
fn profile_round_trips_through_json() {
    let p = default_profile();
    let again: Profile = parse(&serde_json::to_vec(p).unwrap()).unwrap();
    assert_eq!(&again, p);
}

#[test]
fn invalid_json_is_reported_as_docker_does() {
    let msg = invalid("{ not json");
    assert!(
        msg.starts_with("decoding seccomp profile failed: "),
        "{msg}"
    );
    let msg = invalid(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}}"#);
    assert!(
        msg.starts_with("decoding seccomp profile failed: "),
        "{msg}"
    );
}

#[test]
fn unknown_action_is_named() {
    let msg = invalid(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_MAYBE"}]}"#,
    );
    assert!(
        msg.contains("unknown seccomp action \"SCMP_ACT_MAYBE\""),
        "{msg}"
    );
    let msg = invalid(r#"{"defaultAction": "ALLOW"}"#);
    assert!(msg.contains("unknown seccomp action \"ALLOW\""), "{msg}");
}

#[test]
fn unknown_operator_is_named() {
    let msg = invalid(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ALMOST"}]}]}"#,
    );
    assert!(
        msg.contains("unknown seccomp operator \"SCMP_CMP_ALMOST\""),
        "{msg}"
    );
}

#[test]
fn notify_is_refused_clearly() {
    let msg = invalid(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    );
    assert!(
        msg.contains("SCMP_ACT_NOTIFY") && msg.contains("not supported"),
        "{msg}"
    );
    let msg = invalid(r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#);
    assert!(msg.contains("not supported"), "{msg}");
    let msg = invalid(r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock"}"#);
    assert!(
        msg.contains("listenerPath") && msg.contains("not supported"),
        "{msg}"
    );
}

#[test]
fn structural_errors() {
    let cases = [
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": []}]}"#,
            "both 'architectures' and 'archMap'",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ERRNO"}]}"#,
            "both 'name' and 'names'",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}"#,
            "SCMP_ARCH_Z80",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
            "argument index 6 out of range",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5}]}"#,
            "errnoRet is only valid",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]}"#,
            "errnoRet 70000 out of range",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_BOGUS"]}"#,
            "SECCOMP_FILTER_FLAG_BOGUS",
        ),
        (
            r#"{"syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]}"#,
            "no defaultAction",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
                "includes": {"minKernel": "4"}}]}"#,
            "invalid kernel version: \"4\"",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
                "includes": {"minKernel": "0.0"}}]}"#,
            "version cannot be 0.0",
        ),
    ];
    for (json, want) in cases {
        let msg = invalid(json);
        assert!(msg.contains(want), "{json}: got {msg:?}, want {want:?}");
    }
}

#[test]
fn compile_validates_hand_built_profiles() {
    let mut p = parse(br#"{"defaultAction": "SCMP_ACT_ALLOW"}"#).unwrap();
    p.default_action = Some(Action::Notify);
    assert!(matches!(compile(&p, &[]), Err(SeccompError::Invalid(_))));
}

#[test]
fn filter_flags() {
    let p = parse(br#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}"#)
        .unwrap();
    assert_eq!(p.filter_flags(), 2 | 4);
    assert_eq!(default_profile().filter_flags(), 0);
}

#[test]
fn unknown_fields_are_ignored_as_dockerd_does() {
    let p = parse(br#"{"defaultAction": "SCMP_ACT_ALLOW", "someFutureField": [1, 2]}"#).unwrap();
    assert_eq!(p.default_action, Some(Action::Allow));
}
