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
