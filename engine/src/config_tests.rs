use super::*;

fn flags(args: &[&str]) -> Flags {
    let mut v = vec!["rdockerd"];
    v.extend_from_slice(args);
    Flags::try_parse_from(v).unwrap()
}

fn merge(args: &[&str], file: &str) -> Result<DaemonConfig, ConfigError> {
    DaemonConfig::merge(
        &flags(args),
        Some((Path::new("/etc/rdocker/daemon.json"), file)),
    )
}

#[test]
fn defaults() {
    let c = DaemonConfig::merge(&flags(&[]), None).unwrap();
    assert_eq!(c.hosts, [PathBuf::from("/run/rdocker/rdocker.sock")]);
    assert_eq!(c.data_root, PathBuf::from("/var/lib/rdocker"));
    assert_eq!(c.exec_root, PathBuf::from("/run/rdocker"));
    assert_eq!(c.pidfile, PathBuf::from("/run/rdocker/rdockerd.pid"));
    assert_eq!(c.max_concurrent_downloads, 3);
    assert_eq!(c.log_level, LogLevel::Info);
    assert!(!c.debug);
    assert_eq!(c.config_file, None);
}

#[test]
fn flags_only() {
    let c = DaemonConfig::merge(
        &flags(&[
            "-H",
            "unix:///tmp/a.sock",
            "--host",
            "/tmp/b.sock",
            "--data-root",
            "/d",
            "--exec-root",
            "/e",
            "--registry-mirror",
            "http://127.0.0.1:5000",
            "--insecure-registry",
            "reg:5000",
            "--max-concurrent-downloads",
            "5",
            "-l",
            "warn",
        ]),
        None,
    )
    .unwrap();
    assert_eq!(
        c.hosts,
        [PathBuf::from("/tmp/a.sock"), PathBuf::from("/tmp/b.sock")]
    );
    assert_eq!(c.data_root, PathBuf::from("/d"));
    assert_eq!(c.pidfile, PathBuf::from("/e/rdockerd.pid"));
    assert_eq!(c.registry_mirrors, ["http://127.0.0.1:5000"]);
    assert_eq!(c.insecure_registries, ["reg:5000"]);
    assert_eq!(c.max_concurrent_downloads, 5);
    assert_eq!(c.log_level, LogLevel::Warn);
}

#[test]
fn file_and_flags_combine() {
    let c = merge(
        &["--data-root", "/d", "-D"],
        r#"{"hosts":["unix:///x.sock"],"registry-mirrors":["http://127.0.0.1:5055"],
            "registry-mirrors-per-host":{"ghcr.io":["http://127.0.0.1:5056"]},
            "insecure-registries":["10.0.0.0/8"],"max-concurrent-downloads":2,"log-level":"error"}"#,
    )
    .unwrap();
    assert_eq!(c.hosts, [PathBuf::from("/x.sock")]);
    assert_eq!(c.data_root, PathBuf::from("/d"));
    assert_eq!(c.registry_mirrors, ["http://127.0.0.1:5055"]);
    assert_eq!(
        c.registry_mirrors_per_host["ghcr.io"],
        ["http://127.0.0.1:5056"]
    );
    assert_eq!(c.insecure_registries, ["10.0.0.0/8"]);
    assert_eq!(c.max_concurrent_downloads, 2);
    // -D wins over the file's level, as in dockerd.
    assert_eq!(c.log_level, LogLevel::Debug);
    assert_eq!(
        c.config_file,
        Some(PathBuf::from("/etc/rdocker/daemon.json"))
    );
}

#[test]
fn conflict_names_both_like_dockerd() {
    let e = merge(
        &["--registry-mirror", "http://a"],
        r#"{"registry-mirrors":["http://b"]}"#,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "unable to configure the Docker daemon with file /etc/rdocker/daemon.json: the following \
         directives are specified both as a flag and in the configuration file: registry-mirrors: \
         (from flag: [http://a], from file: [http://b])"
    );
}

#[test]
fn several_conflicts() {
    let e = merge(
        &[
            "-D",
            "-H",
            "unix:///a.sock",
            "--max-concurrent-downloads",
            "4",
        ],
        r#"{"debug":false,"hosts":["unix:///b.sock","/c.sock"],"max-concurrent-downloads":1}"#,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "unable to configure the Docker daemon with file /etc/rdocker/daemon.json: the following \
         directives are specified both as a flag and in the configuration file: debug: (from flag: \
         true, from file: false), hosts: (from flag: [unix:///a.sock], from file: [unix:///b.sock \
         /c.sock]), max-concurrent-downloads: (from flag: 4, from file: 1)"
    );
}

#[test]
fn unknown_keys() {
    let e = merge(&[], r#"{"foo":1,"debug":true}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unable to configure the Docker daemon with file /etc/rdocker/daemon.json: the following \
         directives don't match any configuration option: foo"
    );
}

#[test]
fn bad_file_values() {
    assert!(merge(&[], r#"{"debug":"yes"}"#)
        .unwrap_err()
        .to_string()
        .starts_with("unable to configure the Docker daemon with file /etc/rdocker/daemon.json: "));
    assert!(merge(&[], "{").is_err());
    assert!(merge(&[], r#"{"log-level":"loud"}"#).is_err());
    assert!(merge(&[], r#"{"max-concurrent-downloads":0}"#).is_err());
    assert!(merge(&[], r#"{"registry-mirrors":["ftp://x"]}"#).is_err());
    assert!(merge(&[], r#"{"registry-mirrors-per-host":{"ghcr.io":["x"]}}"#).is_err());
    // An empty file is no configuration, not an error.
    assert_eq!(
        merge(&[], " \n").unwrap().hosts,
        [PathBuf::from(DEFAULT_SOCKET)]
    );
}

#[test]
fn hosts() {
    assert_eq!(
        parse_host("unix:///run/x.sock").unwrap(),
        PathBuf::from("/run/x.sock")
    );
    assert_eq!(
        parse_host("unix://").unwrap(),
        PathBuf::from(DEFAULT_SOCKET)
    );
    assert_eq!(
        parse_host("/tmp/y.sock").unwrap(),
        PathBuf::from("/tmp/y.sock")
    );
    let e = parse_host("tcp://0.0.0.0:2375").unwrap_err();
    assert!(matches!(e, ConfigError::UnsupportedHost(_)));
    assert!(e.to_string().contains("only listens on unix sockets"));
    assert!(parse_host("fd://").is_err());
    assert!(parse_host("relative.sock").is_err());
    assert!(DaemonConfig::merge(&flags(&["-H", "tcp://1.2.3.4:2375"]), None).is_err());
}

#[test]
fn config_file_presence() {
    let dir = tempfile::tempdir().unwrap();
    // Missing explicit file: an error naming it.
    let missing = dir.path().join("nope.json");
    let f = flags(&["--config-file", missing.to_str().unwrap()]);
    let e = DaemonConfig::load(&f).unwrap_err().to_string();
    assert!(e.contains("no such file or directory"), "{e}");
    assert!(e.contains("nope.json"), "{e}");
    // Present explicit file is read.
    let p = dir.path().join("daemon.json");
    std::fs::write(&p, r#"{"data-root":"/srv/rd"}"#).unwrap();
    let f = flags(&["--config-file", p.to_str().unwrap()]);
    assert_eq!(
        DaemonConfig::load(&f).unwrap().data_root,
        PathBuf::from("/srv/rd")
    );
}

#[test]
fn security_flags_and_keys() {
    use crate::containers::security::Ulimit;
    let c = DaemonConfig::merge(
        &flags(&[
            "--seccomp-profile",
            "unconfined",
            "--no-new-privileges",
            "--default-ulimit",
            "nofile=1024:2048",
            "--default-ulimit",
            "nproc=50",
            "--userns-remap",
            "default",
        ]),
        None,
    )
    .unwrap();
    let f = &c.security_flags;
    assert_eq!(f.seccomp_profile.as_deref(), Some("unconfined"));
    assert!(f.no_new_privileges);
    assert_eq!(
        f.default_ulimits[0],
        Ulimit {
            name: "nofile".into(),
            soft: 1024,
            hard: 2048
        }
    );
    assert_eq!(f.default_ulimits[1].hard, 50);
    assert_eq!(f.userns_remap.as_deref(), Some("default"));

    let c = merge(
        &[],
        r#"{"seccomp-profile":"builtin","no-new-privileges":true,"userns-remap":"u:g",
            "default-ulimits":{"nofile":{"Name":"nofile","Hard":64000,"Soft":64000}}}"#,
    )
    .unwrap();
    let f = &c.security_flags;
    assert_eq!(f.default_ulimits.len(), 1);
    assert_eq!(
        (f.default_ulimits[0].soft, f.default_ulimits[0].hard),
        (64000, 64000)
    );
    assert!(f.no_new_privileges);
    assert_eq!(f.userns_remap.as_deref(), Some("u:g"));

    let e = DaemonConfig::merge(&flags(&["--default-ulimit", "bogus=1"]), None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid default ulimit: invalid ulimit type: bogus"
    );
    let e = merge(&["--userns-remap", "a"], r#"{"userns-remap":"b"}"#).unwrap_err();
    assert!(
        e.to_string()
            .contains("userns-remap: (from flag: a, from file: b)"),
        "{e}"
    );
}

#[test]
fn security_resolves_at_start() {
    use crate::containers::security::{userns::Files, DaemonProfile};
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f);
    std::fs::write(p("subuid"), "").unwrap();
    std::fs::write(p("subgid"), "").unwrap();
    std::fs::write(p("passwd"), "").unwrap();
    std::fs::write(p("group"), "").unwrap();
    let (a, b, c, d) = (p("subuid"), p("subgid"), p("passwd"), p("group"));
    let files = Files {
        subuid: &a,
        subgid: &b,
        passwd: &c,
        group: &d,
    };
    let mut cfg = DaemonConfig::merge(&flags(&["--userns-remap", "default"]), None).unwrap();
    cfg.resolve_security_with(&files).unwrap();
    let remap = cfg.security.remap.clone().unwrap();
    assert_eq!(remap.root(), (100000, 100000));
    assert_eq!(cfg.security.seccomp, DaemonProfile::Builtin);

    let mut cfg = DaemonConfig::merge(&flags(&["--userns-remap", "nobody9"]), None).unwrap();
    let e = cfg.resolve_security_with(&files).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("user \"nobody9\" has no ranges in {}", a.display())
    );

    let missing = p("nosuch.json");
    let mut cfg = DaemonConfig::merge(
        &flags(&["--seccomp-profile", missing.to_str().unwrap()]),
        None,
    )
    .unwrap();
    let e = cfg.resolve_security_with(&files).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "opening seccomp profile ({0}) failed: open {0}: no such file or directory",
            missing.display()
        )
    );
    std::fs::write(p("prof.json"), rdocker_seccomp::default_profile_json()).unwrap();
    let mut cfg = DaemonConfig::merge(
        &flags(&["--seccomp-profile", p("prof.json").to_str().unwrap()]),
        None,
    )
    .unwrap();
    cfg.resolve_security_with(&files).unwrap();
    assert!(matches!(cfg.security.seccomp, DaemonProfile::Custom { .. }));
    std::fs::write(p("bad.json"), "{").unwrap();
    let mut cfg = DaemonConfig::merge(
        &flags(&["--seccomp-profile", p("bad.json").to_str().unwrap()]),
        None,
    )
    .unwrap();
    assert!(cfg.resolve_security_with(&files).is_err());
}
