use super::*;
use crate::containers::record::RunState;
use bollard_stubs::models::{ContainerConfig, HostConfig};

fn sample() -> Container {
    Container {
        id: "0123456789ab".repeat(5) + "cdef",
        name: "/t".into(),
        created: String::new(),
        image_id: "sha256:x".into(),
        path: "sh".into(),
        args: vec!["-c".into(), "echo hi".into()],
        config: ContainerConfig {
            hostname: Some("0123456789ab".into()),
            env: Some(vec!["PATH=/bin".into(), "A=1".into()]),
            tty: Some(true),
            user: Some("nobody".into()),
            open_stdin: Some(true),
            ..Default::default()
        },
        host_config: HostConfig {
            network_mode: Some("host".into()),
            readonly_rootfs: Some(true),
            init: Some(true),
            ..Default::default()
        },
        mounts: vec![],
        state: RunState::default(),
        restart_count: 0,
        manually_stopped: false,
    }
}

/// What `Security::for_container` gives, without compiling a seccomp profile.
fn applied(hc: &HostConfig) -> Applied {
    let sec = Security::new(&Default::default());
    let mut hc = hc.clone();
    let mut opts = hc.security_opt.clone().unwrap_or_default();
    opts.push("seccomp=unconfined".into());
    hc.security_opt = Some(opts);
    sec.for_container(&hc, &mut Default::default()).unwrap()
}

fn mount_of<'a>(j: &'a serde_json::Value, dst: &str) -> &'a serde_json::Value {
    j["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == dst)
        .unwrap()
}

fn strs(v: &serde_json::Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap()).collect())
        .unwrap_or_default()
}

#[test]
fn default_security_in_the_spec() {
    let mut c = sample();
    c.host_config.network_mode = Some("bridge".into());
    let mut a = applied(&c.host_config);
    a.seccomp = Some(std::sync::Arc::new(vec![0; 8]));
    let cg = [PathBuf::from("/sys/fs/cgroup/memory/rdocker/x")];
    let spec = build(&c, Path::new("/b"), &[], &[], &a, &cg).unwrap();
    let j = serde_json::to_value(&spec).unwrap();
    let p = &j["process"]["capabilities"];
    let mut bounding = strs(&p["bounding"]);
    bounding.sort();
    let mut want = caps::DEFAULT.to_vec();
    want.sort();
    assert_eq!(bounding, want);
    assert_eq!(strs(&p["effective"]).len(), 14);
    assert_eq!(strs(&p["permitted"]).len(), 14);
    assert!(strs(&p["inheritable"]).is_empty() && strs(&p["ambient"]).is_empty());
    assert_eq!(j["process"]["noNewPrivileges"], false);
    assert_eq!(j["annotations"][SECCOMP_ANNOTATION], "/b/seccomp.bpf");
    assert_eq!(
        j["annotations"]["io.rdocker.cgroup.paths"],
        r#"["/sys/fs/cgroup/memory/rdocker/x"]"#
    );
    assert_eq!(strs(&j["linux"]["maskedPaths"]), security::paths::MASKED);
    assert_eq!(
        strs(&j["linux"]["readonlyPaths"]),
        security::paths::READONLY
    );
    assert!(strs(&mount_of(&j, "/sys")["options"]).contains(&"ro"));
    let cgm = mount_of(&j, "/sys/fs/cgroup");
    assert_eq!(
        (cgm["type"].as_str(), cgm["source"].as_str()),
        (Some("cgroup"), Some("cgroup"))
    );
    assert_eq!(
        strs(&cgm["options"]),
        ["nosuid", "noexec", "nodev", "relatime", "ro"]
    );
    assert!(strs(&mount_of(&j, "/dev/shm")["options"]).contains(&"size=67108864"));
    assert_eq!(
        j["linux"]["sysctl"]["net.ipv4.ip_unprivileged_port_start"],
        "0"
    );
    assert_eq!(
        j["linux"]["sysctl"]["net.ipv4.ping_group_range"],
        "0 2147483647"
    );
    assert!(j["linux"].get("uidMappings").is_none());
    assert!(j["process"].get("rlimits").is_none());

    // Unconfined: no annotation.
    a.seccomp = None;
    let j = serde_json::to_value(build(&c, Path::new("/b"), &[], &[], &a, &[]).unwrap()).unwrap();
    assert!(j["annotations"].get(SECCOMP_ANNOTATION).is_none());
    assert!(j["annotations"].get("io.rdocker.cgroup.paths").is_none());
}

#[test]
fn privileged_userns_and_limits_in_the_spec() {
    let mut c = sample();
    c.host_config.privileged = Some(true);
    c.host_config.shm_size = Some(1 << 20);
    c.host_config.ulimits = Some(vec![bollard_stubs::models::ResourcesUlimits {
        name: Some("nproc".into()),
        soft: Some(10),
        hard: Some(20),
    }]);
    let a = applied(&c.host_config);
    let j = serde_json::to_value(build(&c, Path::new("/b"), &[], &[], &a, &[]).unwrap()).unwrap();
    assert!(strs(&j["linux"]["maskedPaths"]).is_empty());
    assert!(strs(&j["linux"]["readonlyPaths"]).is_empty());
    assert!(strs(&mount_of(&j, "/sys")["options"]).contains(&"rw"));
    assert!(strs(&mount_of(&j, "/sys/fs/cgroup")["options"]).contains(&"rw"));
    assert!(strs(&mount_of(&j, "/dev/shm")["options"]).contains(&"size=1048576"));
    let bnd = strs(&j["process"]["capabilities"]["bounding"]).len();
    assert_eq!(bnd as u32, caps::daemon_bounding().count_ones());
    assert!(!j["linux"]["devices"].as_array().unwrap().is_empty());
    // Host network: docker's default sysctls are left out.
    assert!(j["linux"].get("sysctl").is_none());
    assert_eq!(j["process"]["rlimits"][0]["type"], "RLIMIT_NPROC");
    assert_eq!(j["process"]["rlimits"][0]["hard"], 20);

    let mut a = applied(&HostConfig::default());
    let m = security::userns::IdMap {
        container_id: 0,
        host_id: 100000,
        size: 65536,
    };
    a.userns = Some(security::Remap {
        user: "u".into(),
        group: "u".into(),
        uids: vec![m],
        gids: vec![m],
    });
    let mut c = sample();
    c.host_config.network_mode = Some("bridge".into());
    let j = serde_json::to_value(build(&c, Path::new("/b"), &[], &[], &a, &[]).unwrap()).unwrap();
    let ns = j["linux"]["namespaces"].as_array().unwrap();
    assert!(ns.iter().any(|n| n["type"] == "user"));
    assert_eq!(j["linux"]["uidMappings"][0]["hostID"], 100000);
    assert_eq!(j["linux"]["gidMappings"][0]["size"], 65536);
    assert_eq!(j["linux"]["uidMappings"][0]["containerID"], 0);
}

#[test]
fn exec_gets_the_containers_caps_or_all() {
    let sec = Security::new(&Default::default());
    let mut c = sample();
    c.host_config.cap_drop = Some(vec!["ALL".into()]);
    c.host_config.cap_add = Some(vec!["kill".into()]);
    c.host_config.security_opt = Some(vec!["no-new-privileges".into()]);
    let cfg = bollard_stubs::models::ExecConfig {
        cmd: Some(vec!["id".into()]),
        ..Default::default()
    };
    let j = serde_json::to_value(exec_process(&c, &cfg, &sec).unwrap()).unwrap();
    assert_eq!(strs(&j["capabilities"]["bounding"]), ["CAP_KILL"]);
    assert_eq!(j["noNewPrivileges"], true);
    let cfg = bollard_stubs::models::ExecConfig {
        privileged: Some(true),
        ..cfg
    };
    let j = serde_json::to_value(exec_process(&c, &cfg, &sec).unwrap()).unwrap();
    let n = strs(&j["capabilities"]["bounding"]).len() as u32;
    assert_eq!(n, caps::daemon_bounding().count_ones());
}

#[test]
fn spec_has_the_protocols_pieces() {
    let c = sample();
    let vol = ResolvedMount {
        spec: crate::containers::binds::parse_bind("/tmp/t1:/mnt:ro").unwrap(),
        host_path: "/tmp/t1".into(),
        copyup: false,
    };
    let spec = build(
        &c,
        Path::new("/d/containers/x"),
        &["/l/a".into(), "/l/b".into()],
        &[vol],
        &applied(&c.host_config),
        &[],
    )
    .unwrap();
    let j = serde_json::to_value(&spec).unwrap();
    assert_eq!(j["root"]["path"], "rootfs");
    assert_eq!(j["root"]["readonly"], true);
    assert_eq!(j["hostname"], "0123456789ab");
    assert_eq!(
        j["process"]["args"],
        serde_json::json!(["sh", "-c", "echo hi"])
    );
    assert_eq!(
        j["process"]["env"],
        serde_json::json!(["PATH=/bin", "HOSTNAME=0123456789ab", "TERM=xterm", "A=1"])
    );
    assert_eq!(j["process"]["terminal"], true);
    let ann = &j["annotations"];
    assert_eq!(ann["io.rdocker.overlay.lowerdir"], r#"["/l/b","/l/a"]"#);
    assert_eq!(ann["io.rdocker.overlay.upperdir"], "/d/containers/x/upper");
    assert_eq!(ann["io.rdocker.user"], "nobody");
    assert_eq!(ann["io.rdocker.init"], "true");
    assert_eq!(ann["io.rdocker.stdin"], "true");
    let ns: Vec<&str> = j["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(ns, ["mount", "pid", "uts", "ipc"]);
    let mounts = j["mounts"].as_array().unwrap();
    let mnt = mounts.iter().find(|m| m["destination"] == "/mnt").unwrap();
    assert_eq!(
        mnt["options"],
        serde_json::json!(["rbind", "rprivate", "ro", "rdocker.mkdir-source"])
    );
    let hosts = mounts
        .iter()
        .find(|m| m["destination"] == "/etc/hosts")
        .unwrap();
    assert_eq!(hosts["source"], "/d/containers/x/hosts");
    assert!(mounts
        .iter()
        .any(|m| m["destination"] == "/dev/pts" && m["type"] == "devpts"));
}
