use super::*;
use bollard_stubs::models::{DeviceMapping, HostConfig, ResourcesUlimits};

fn hc(f: impl FnOnce(&mut HostConfig)) -> HostConfig {
    let mut h = HostConfig::default();
    f(&mut h);
    h
}

fn err(h: &HostConfig) -> String {
    validate_with(h, &[], false).unwrap_err().to_string()
}

#[test]
fn bad_inputs_are_400s_with_dockers_words() {
    let e = validate_with(&hc(|h| h.cap_add = Some(vec!["foo".into()])), &[], false).unwrap_err();
    assert!(matches!(e, ContainerError::Invalid(_)));
    assert_eq!(
        e.to_string(),
        r#"invalid CapAdd: unknown capability: "CAP_FOO""#
    );
    assert_eq!(
        err(&hc(|h| h.security_opt = Some(vec!["foo".into()]))),
        r#"invalid --security-opt 1: "foo""#
    );
    assert_eq!(
        err(&hc(|h| h.security_opt = Some(vec!["foo=1".into()]))),
        r#"invalid --security-opt 2: "foo=1""#
    );
    assert_eq!(
        err(&hc(|h| {
            h.network_mode = Some("host".into());
            h.sysctls = Some([("net.core.somaxconn".to_string(), "1".to_string())].into());
        })),
        r#"sysctl "net.core.somaxconn" not allowed in host network namespace"#
    );
    assert_eq!(
        err(&hc(|h| {
            h.ulimits = Some(vec![ResourcesUlimits {
                name: Some("foo".into()),
                soft: Some(1),
                hard: Some(1),
            }])
        })),
        "invalid ulimit type: foo"
    );
    assert_eq!(
        err(&hc(|h| {
            h.devices = Some(vec![DeviceMapping {
                path_on_host: Some("/dev/nosuch".into()),
                path_in_container: Some("/dev/nosuch".into()),
                cgroup_permissions: Some("rwm".into()),
            }])
        })),
        "error gathering device information while adding custom device \"/dev/nosuch\": \
         no such file or directory"
    );
    let priv_ = hc(|h| h.privileged = Some(true));
    assert!(validate_with(&priv_, &[], false).is_ok());
    assert!(validate_with(&priv_, &[], true)
        .unwrap_err()
        .to_string()
        .starts_with("privileged mode is incompatible with user namespaces."));
    // The daemon's default ulimits are checked with the container's.
    let over = Ulimit {
        name: "nofile".into(),
        soft: 1,
        hard: i64::MAX,
    };
    let r = validate_with(&HostConfig::default(), &[over], false);
    match r {
        Err(e) => assert!(
            e.to_string().starts_with("ulimit nofile: hard limit"),
            "{e}"
        ),
        // Only a daemon holding CAP_SYS_RESOURCE may hand out more than it has.
        Ok(()) => assert_ne!(caps::daemon_bounding() & (1 << 24), 0),
    }
    assert!(validate_with(&HostConfig::default(), &[], false).is_ok());
}

fn security(d: DaemonSecurity) -> Security {
    Security {
        bounding: caps::daemon_bounding(),
        daemon: d,
        seccomp: Arc::default(),
    }
}

/// Containers that need no seccomp compile (unconfined): the rest is tested end to end.
fn unconfined(h: &mut HostConfig) {
    h.security_opt = Some(vec!["seccomp=unconfined".into()]);
}

#[test]
fn applied_defaults_and_privileged() {
    let s = security(DaemonSecurity::default());
    let mut t = crate::containers::prepare::StepTimes::new();
    let a = s.for_container(&hc(unconfined), &mut t).unwrap();
    assert_eq!(a.caps, 0xa80425fb & caps::daemon_bounding());
    assert!(a.seccomp.is_none() && !a.no_new_privileges && !a.privileged);
    assert_eq!((a.masked.len(), a.readonly.len()), (12, 5));
    assert_eq!(a.shm_size, 64 << 20);
    assert_eq!(a.sysctls["net.ipv4.ip_unprivileged_port_start"], "0");
    assert!(a.userns.is_none() && a.devices.is_empty() && a.rlimits.is_empty());
    assert!(t.contains_key("caps") && t.contains_key("seccomp_compile"));
    // Privileged: everything we have, no paths hidden, no filter (no profile given).
    let a = s
        .for_container(&hc(|h| h.privileged = Some(true)), &mut t)
        .unwrap();
    assert_eq!(a.caps, caps::daemon_bounding());
    assert!(a.seccomp.is_none() && a.masked.is_empty() && a.readonly.is_empty());
    assert!(!a.devices.is_empty());
    let a = s
        .for_container(
            &hc(|h| {
                unconfined(h);
                h.shm_size = Some(1 << 20);
                h.security_opt
                    .as_mut()
                    .unwrap()
                    .push("no-new-privileges".into());
            }),
            &mut t,
        )
        .unwrap();
    assert_eq!(a.shm_size, 1 << 20);
    assert!(a.no_new_privileges);
    // The daemon-wide no-new-privileges, overridable per container.
    let s = security(DaemonSecurity {
        no_new_privileges: true,
        seccomp: DaemonProfile::Unconfined,
        default_ulimits: vec![Ulimit::parse("nofile=100:200").unwrap()],
        ..Default::default()
    });
    let a = s.for_container(&HostConfig::default(), &mut t).unwrap();
    assert!(a.no_new_privileges && a.seccomp.is_none());
    assert_eq!(a.rlimits[0].hard, 200);
    let a = s
        .for_container(
            &hc(|h| h.security_opt = Some(vec!["no-new-privileges=false".into()])),
            &mut t,
        )
        .unwrap();
    assert!(!a.no_new_privileges);
}

#[test]
fn userns_applies_unless_host() {
    let remap = Remap {
        user: "dockremap".into(),
        group: "dockremap".into(),
        uids: vec![userns::IdMap {
            container_id: 0,
            host_id: 100000,
            size: 65536,
        }],
        gids: vec![userns::IdMap {
            container_id: 0,
            host_id: 100000,
            size: 65536,
        }],
    };
    let s = security(DaemonSecurity {
        remap: Some(remap.clone()),
        seccomp: DaemonProfile::Unconfined,
        ..Default::default()
    });
    let mut t = Default::default();
    let a = s.for_container(&HostConfig::default(), &mut t).unwrap();
    assert_eq!(a.userns, Some(remap));
    assert!(!a.sysctls.contains_key("net.ipv4.ping_group_range"));
    let a = s
        .for_container(&hc(|h| h.userns_mode = Some("host".into())), &mut t)
        .unwrap();
    assert!(a.userns.is_none());
    assert_eq!(
        s.info_options(),
        ["name=seccomp,profile=unconfined", "name=userns"]
    );
    assert_eq!(
        security(DaemonSecurity {
            no_new_privileges: true,
            ..Default::default()
        })
        .info_options(),
        ["name=seccomp,profile=builtin", "name=no-new-privileges"]
    );
}

#[test]
fn go_errno_text() {
    let e = std::io::Error::from_raw_os_error(libc::ENOENT);
    assert_eq!(go_errno(&e), "no such file or directory");
}

#[test]
fn seccomp_filters_are_compiled_once_per_caps() {
    let s = security(DaemonSecurity::default());
    let mut t = Default::default();
    let a = s.for_container(&HostConfig::default(), &mut t).unwrap();
    let bpf = a.seccomp.expect("the default profile applies");
    assert!(!bpf.is_empty() && bpf.len().is_multiple_of(8));
    let b = s.for_container(&HostConfig::default(), &mut t).unwrap();
    assert!(
        Arc::ptr_eq(&bpf, &b.seccomp.unwrap()),
        "served from the cache"
    );
    assert_eq!(s.seccomp.compiled(), 1);
    // Another capability set selects other rules: its own entry.
    let c = s
        .for_container(&hc(|h| h.cap_add = Some(vec!["SYS_ADMIN".into()])), &mut t)
        .unwrap();
    assert_ne!(*c.seccomp.unwrap(), *bpf);
    assert_eq!(s.seccomp.compiled(), 2);
    // Privileged: none, unless a profile is given explicitly.
    let p = hc(|h| h.privileged = Some(true));
    assert!(s.for_container(&p, &mut t).unwrap().seccomp.is_none());
    let json = rdocker_seccomp::default_profile_json();
    let p = hc(|h| {
        h.privileged = Some(true);
        h.security_opt = Some(vec![format!("seccomp={json}")]);
    });
    assert!(s.for_container(&p, &mut t).unwrap().seccomp.is_some());
    // `{}` has no rules and no default action: docker runs that unconfined.
    let e = hc(|h| h.security_opt = Some(vec!["seccomp={}".into()]));
    assert!(validate_with(&e, &[], false).is_ok());
    assert!(s.for_container(&e, &mut t).unwrap().seccomp.is_none());
}

#[test]
fn bad_seccomp_profiles_and_device_rules_are_400s() {
    let e = err(&hc(|h| {
        h.security_opt = Some(vec!["seccomp={not json".into()])
    }));
    assert!(e.starts_with("Decoding seccomp profile failed: "), "{e}");
    assert!(!e.contains("failed: decoding"), "{e}");
    let e = err(&hc(|h| {
        h.security_opt = Some(vec![r#"seccomp={"defaultAction":"SCMP_ACT_NOPE"}"#.into()])
    }));
    assert!(e.starts_with("Decoding seccomp profile failed: "), "{e}");
    assert_eq!(
        err(&hc(
            |h| h.device_cgroup_rules = Some(vec!["x 1:2 rwm".into()])
        )),
        "invalid device cgroup format 'x 1:2 rwm'"
    );
    let ok = hc(|h| h.device_cgroup_rules = Some(vec!["c 42:* rmw".into()]));
    assert!(validate_with(&ok, &[], false).is_ok());
    let s = security(DaemonSecurity::default());
    let last = s.device_rules(&ok).pop().unwrap();
    assert_eq!((last.kind, last.major, last.minor), ('c', Some(42), None));
}

#[test]
fn the_default_filter_is_compiled_at_start() {
    let s = Security::new(&Default::default());
    for _ in 0..500 {
        if s.seccomp.compiled() == 1 {
            let a = s.for_container(&HostConfig::default(), &mut Default::default());
            assert!(a.unwrap().seccomp.is_some());
            assert_eq!(s.seccomp.compiled(), 1, "the start used the warm entry");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the default profile was not compiled in the background");
}
