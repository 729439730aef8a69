//! PROTOCOL.md "Isolation (issue 4)" on the real kernel (root, cgroup v1 here): the cgroup join,
//! the seccomp filter, linux.sysctl and the set-up timings in the handshake. Each test drives
//! the real rdocker-shim binary.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::{json, Value};

/// A real v1 cgroup under `/sys/fs/cgroup/<ctrl>/rdocker-test-<rand>`, removed on drop.
struct TestCgroup {
    dir: PathBuf,
}

impl TestCgroup {
    fn new(ctrl: &str) -> TestCgroup {
        require_root();
        let dir = PathBuf::from(format!(
            "/sys/fs/cgroup/{ctrl}/rdocker-test-{}",
            rand_suffix()
        ));
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        TestCgroup { dir }
    }

    fn name(&self) -> String {
        self.dir.file_name().unwrap().to_string_lossy().into_owned()
    }

    fn procs(&self) -> Vec<i32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // A process that is still exiting keeps the cgroup busy for a moment.
        for _ in 0..100 {
            match std::fs::remove_dir(&self.dir) {
                Ok(()) => return,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return,
                Err(_) => {
                    for pid in self.procs() {
                        let _ = rustix::process::kill_process(
                            rustix::process::Pid::from_raw(pid).unwrap(),
                            rustix::process::Signal::KILL,
                        );
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
        }
        if !std::thread::panicking() {
            panic!("cgroup {} left behind", self.dir.display());
        }
        eprintln!("cgroup {} left behind", self.dir.display());
    }
}

fn cgroup_opts(cgs: &[&TestCgroup]) -> Opts {
    let dirs: Vec<String> = cgs.iter().map(|c| c.dir.display().to_string()).collect();
    Opts::default().annotate("io.rdocker.cgroup.paths", &json!(dirs).to_string())
}

/// `N:<ctrl>:<path>` of /proc/self/cgroup output.
fn cgroup_line<'a>(out: &'a str, ctrl: &str) -> &'a str {
    out.lines()
        .find(|l| l.split(':').nth(1) == Some(ctrl))
        .unwrap_or_else(|| panic!("no {ctrl} line in {out}"))
}

#[test]
fn init_and_exec_join_the_cgroups_first() {
    let pids = TestCgroup::new("pids");
    let mem = TestCgroup::new("memory");
    let b = bundle(&["sleep", "100"], cgroup_opts(&[&pids, &mem]));
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    // Created, not started: the init is already in (it joined before its mounts).
    assert_eq!(pids.procs(), vec![shim.pid]);
    assert_eq!(mem.procs(), vec![shim.pid]);
    let usage: u64 = std::fs::read_to_string(mem.dir.join("memory.usage_in_bytes"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        usage > 0,
        "the init's set-up was not charged to the container"
    );
    assert_eq!(shim.start(), json!({"ok": true}));
    let (code, out, err) = run_exec(
        &shim,
        &b,
        json!({"args": ["cat", "/proc/self/cgroup"], "env": ["PATH=/bin"], "cwd": "/",
               "user": {"uid": 0, "gid": 0}}),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        cgroup_line(&out, "pids"),
        format!(
            "{}:pids:/{}",
            cgroup_line(&out, "pids").split(':').next().unwrap(),
            pids.name()
        )
    );
    assert!(
        cgroup_line(&out, "memory").ends_with(&format!(":/{}", mem.name())),
        "{out}"
    );
    kill_and_reap(shim);
}

#[test]
fn a_cgroup_namespace_is_rooted_at_the_containers_cgroup() {
    let pids = TestCgroup::new("pids");
    let mut o = cgroup_opts(&[&pids]);
    o.namespaces.push("cgroup");
    let b = bundle(&["sleep", "100"], o);
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    assert_eq!(shim.start(), json!({"ok": true}));
    let host_view = std::fs::read_to_string(format!("/proc/{}/cgroup", shim.pid)).unwrap();
    assert!(
        cgroup_line(&host_view, "pids").ends_with(&format!(":/{}", pids.name())),
        "{host_view}"
    );
    // The init, and an exec (which joins the container's cgroup namespace after its cgroups).
    for args in [
        json!(["cat", "/proc/1/cgroup"]),
        json!(["cat", "/proc/self/cgroup"]),
    ] {
        let (code, out, err) = run_exec(
            &shim,
            &b,
            json!({"args": args, "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}}),
        );
        assert_eq!(code, 0, "{err}");
        assert!(
            cgroup_line(&out, "pids").ends_with(":pids:/"),
            "{args}: {out}"
        );
    }
    assert_eq!(
        pids.procs().len(),
        1,
        "the exec has left, the init is there"
    );
    kill_and_reap(shim);
}

#[test]
fn a_cgroup_that_cannot_be_joined_is_named_in_the_error() {
    let missing = "/sys/fs/cgroup/pids/rdocker-test-missing-xyz";
    let o = Opts::default().annotate("io.rdocker.cgroup.paths", &json!([missing]).to_string());
    let b = bundle(&["true"], o);
    let (v, mut child) = create(&b).err().expect("create must fail");
    assert_eq!(v["exit_code"], 125);
    let msg = v["error"].as_str().unwrap();
    assert!(msg.starts_with(&format!("join cgroup {missing}:")), "{msg}");
    assert!(!child.wait().unwrap().success());
}

/// ld [nr]; jeq mkdir → EPERM; jeq mkdirat → EPERM; ret ALLOW.
#[cfg(target_arch = "x86_64")]
fn deny_mkdir_filter(dir: &std::path::Path) -> String {
    let insn = |code: u16, jt: u8, jf: u8, k: u32| {
        let mut v = code.to_ne_bytes().to_vec();
        v.extend([jt, jf]);
        v.extend(k.to_ne_bytes());
        v
    };
    let ret_errno_eperm = 0x0005_0000 | libc::EPERM as u32;
    let prog = [
        insn(0x20, 0, 0, 0),                        // ld [0] (seccomp_data.nr)
        insn(0x15, 2, 0, libc::SYS_mkdir as u32),   // jeq → 4
        insn(0x15, 1, 0, libc::SYS_mkdirat as u32), // jeq → 4
        insn(0x06, 0, 0, 0x7fff_0000),              // ret ALLOW
        insn(0x06, 0, 0, ret_errno_eperm),          // ret ERRNO(EPERM)
    ]
    .concat();
    let path = dir.join("filter.bpf");
    std::fs::write(&path, prog).unwrap();
    path.display().to_string()
}

#[cfg(target_arch = "x86_64")]
#[test]
fn seccomp_filter_with_and_without_no_new_privs_as_root_and_nobody() {
    let tmp = tempfile::tempdir().unwrap();
    let filter = deny_mkdir_filter(tmp.path());
    // /tmp is 0755 root: nobody gets EACCES from the kernel unless the filter answers first.
    for (nnp, user) in [
        (true, "0"),
        (false, "0"),
        (true, "nobody"),
        (false, "nobody"),
    ] {
        let o = Opts {
            process_extra: json!({"noNewPrivileges": nnp}),
            ..Default::default()
        }
        .annotate("io.rdocker.seccomp.bpf", &filter)
        .annotate("io.rdocker.user", user);
        let (code, out, err, _b) = run(
            &[
                "sh",
                "-c",
                "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; id -u; mkdir /tmp/x",
            ],
            o,
        );
        let what = format!("nnp={nnp} user={user}: {out} {err}");
        assert_eq!(code, 1, "{what}");
        assert!(err.contains("Operation not permitted"), "{what}");
        assert!(out.contains("Seccomp:\t2\n"), "{what}");
        assert!(
            out.contains(&format!("NoNewPrivs:\t{}\n", u8::from(nnp))),
            "{what}"
        );
        let uid = if user == "0" { "0" } else { "65534" };
        assert!(out.ends_with(&format!("{uid}\n")), "{what}");
    }
    // The control: without the annotation root may mkdir, nobody gets EACCES.
    let (code, _, err, _b) = run(&["mkdir", "/tmp/x"], Opts::default());
    assert_eq!(code, 0, "{err}");
    let o = Opts::default().annotate("io.rdocker.user", "nobody");
    let (code, _, err, _b) = run(&["mkdir", "/tmp/x"], o);
    assert_eq!(code, 1);
    assert!(err.contains("Permission denied"), "{err}");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn exec_processes_and_the_init_get_the_filter_too() {
    let tmp = tempfile::tempdir().unwrap();
    let filter = deny_mkdir_filter(tmp.path());
    let o = Opts::default()
        .annotate("io.rdocker.seccomp.bpf", &filter)
        .annotate("io.rdocker.init", "true");
    let b = bundle(&["sleep", "100"], o);
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    assert_eq!(shim.start(), json!({"ok": true}));
    let (code, out, err) = run_exec(
        &shim,
        &b,
        json!({"args": ["sh", "-c", "grep Seccomp: /proc/1/status /proc/self/status; mkdir /x"],
               "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}}),
    );
    assert_eq!(code, 1, "{out} {err}");
    assert!(err.contains("Operation not permitted"), "{err}");
    assert_eq!(
        out, "/proc/1/status:Seccomp:\t2\n/proc/self/status:Seccomp:\t2\n",
        "--init's PID 1 and the exec are both filtered"
    );
    kill_and_reap(shim);
}

#[test]
fn bad_seccomp_programs_are_refused_before_the_container_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let odd = tmp.path().join("odd.bpf");
    std::fs::write(&odd, [0u8; 12]).unwrap();
    let missing = tmp.path().join("missing.bpf");
    for (path, want) in [
        (&odd, "8-byte instructions"),
        (&missing, "read seccomp filter"),
    ] {
        let o = Opts::default().annotate("io.rdocker.seccomp.bpf", &path.display().to_string());
        let b = bundle(&["true"], o);
        let (v, mut child) = create(&b).err().expect("create must fail");
        assert!(v["error"].as_str().unwrap().contains(want), "{v}");
        assert_eq!(v["exit_code"], 125);
        assert!(!child.wait().unwrap().success());
    }
}

fn host_sysctl(key: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/{key}")).unwrap()
}

#[test]
fn sysctls_are_written_in_the_container_only_before_proc_sys_turns_read_only() {
    let port_before = host_sysctl("net/ipv4/ip_unprivileged_port_start");
    let ping_before = host_sysctl("net/ipv4/ping_group_range");
    let shm_before = host_sysctl("kernel/shmmni");
    let o = Opts {
        linux_extra: json!({
            "sysctl": {
                "net.ipv4.ip_unprivileged_port_start": "0",
                "net.ipv4.ping_group_range": "0 2147483647",
                "kernel.shmmni": "1234",
            },
            "readonlyPaths": ["/proc/sys"],
        }),
        ..Default::default()
    };
    let (code, out, err, _b) = run(
        &["sh", "-c", "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range /proc/sys/kernel/shmmni; echo 5 > /proc/sys/net/ipv4/ip_unprivileged_port_start"],
        o,
    );
    assert_eq!(
        code, 1,
        "the write after set-up must fail (read-only): {out} {err}"
    );
    assert!(err.contains("Read-only file system"), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["0", "2147483647"]
    );
    assert_eq!(lines[2], "1234");
    assert_eq!(
        host_sysctl("net/ipv4/ip_unprivileged_port_start"),
        port_before
    );
    assert_eq!(host_sysctl("net/ipv4/ping_group_range"), ping_before);
    assert_eq!(host_sysctl("kernel/shmmni"), shm_before);
}

#[test]
fn sysctls_outside_the_containers_namespaces_are_refused() {
    let cases: [(&str, Vec<&'static str>, &str); 3] = [
        ("vm.swappiness", vec!["pid", "mount", "uts", "ipc", "network"],
         "invalid spec: sysctl \"vm.swappiness\" is not in a separate kernel namespace"),
        ("net.ipv4.ip_forward", vec!["pid", "mount", "uts", "ipc"],
         "invalid spec: sysctl \"net.ipv4.ip_forward\" is not allowed in the hosts network namespace"),
        ("kernel.shmmax", vec!["pid", "mount", "uts", "network"],
         "invalid spec: sysctl \"kernel.shmmax\" is not allowed in the hosts ipc namespace"),
    ];
    for (key, namespaces, want) in cases {
        let o = Opts {
            namespaces,
            linux_extra: json!({"sysctl": {key: "1"}}),
            ..Default::default()
        };
        let b = bundle(&["true"], o);
        let (v, mut child) = create(&b).err().expect("create must fail");
        assert_eq!(v, json!({"error": want, "exit_code": 125}));
        assert!(!child.wait().unwrap().success());
    }
}

#[test]
fn the_handshake_carries_the_init_timings() {
    let pids = TestCgroup::new("pids");
    let b = bundle(&["true"], cgroup_opts(&[&pids]));
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    let t = &shim.hello["timings_us"];
    let keys: Vec<&String> = t.as_object().expect("timings_us").keys().collect();
    assert_eq!(
        keys,
        ["caps", "cgroup_join", "rootfs", "seccomp_load", "userns"]
    );
    assert!(t.as_object().unwrap().values().all(Value::is_u64), "{t}");
    assert!(t["rootfs"].as_u64().unwrap() > 0, "{t}");
    assert!(t["cgroup_join"].as_u64().unwrap() > 0, "{t}");
    eprintln!("FIGURES: init set-up timings {t}");
    let (code, _, err) = run_created(shim, &["true"], &b);
    assert_eq!(code, 0, "{err}");
}

/// Docker's default 14 capabilities.
const DOCKER_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Everything the init does after loading the filter (ready line, start, close_range, execve,
/// or --init's fork and wait) must be allowed by Docker's real default profile, on both load
/// paths; what the profile forbids stays forbidden (a user namespace needs no capability, only
/// the profile stops it).
#[test]
fn dockers_default_profile_lets_the_init_finish_and_blocks_unshare() {
    let caps: Vec<String> = DOCKER_CAPS.iter().map(|c| c.to_string()).collect();
    let bpf = rdocker_seccomp::compile(rdocker_seccomp::default_profile(), &caps).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    eprintln!(
        "FIGURES: docker's default profile: {} BPF instructions",
        bpf.len() / 8
    );
    let path = tmp.path().join("default.bpf");
    std::fs::write(&path, bpf).unwrap();
    let filter = path.display().to_string();
    for (nnp, user, init, filtered) in [
        (false, "0", false, false),
        (false, "0", false, true),
        (true, "0", false, true),
        (false, "nobody", false, true),
        (true, "nobody", true, true),
        (false, "0", true, true),
    ] {
        let mut o = Opts {
            process_extra: json!({
                "noNewPrivileges": nnp,
                "capabilities": {"bounding": DOCKER_CAPS, "effective": DOCKER_CAPS,
                                 "permitted": DOCKER_CAPS},
            }),
            ..Default::default()
        };
        if filtered {
            o = o.annotate("io.rdocker.seccomp.bpf", &filter);
        }
        let o = o
            .annotate("io.rdocker.user", user)
            .annotate("io.rdocker.init", if init { "true" } else { "false" });
        let script = "grep Seccomp: /proc/self/status; \
                      unshare -U true && echo unshared; \
                      mkdir -p /tmp/ok && echo fine";
        let b = bundle(&["sh", "-c", script], o);
        std::os::unix::fs::symlink("busybox", b.bundle.join("rootfs/bin/unshare")).unwrap();
        std::fs::set_permissions(
            b.bundle.join("rootfs/tmp"),
            std::os::unix::fs::PermissionsExt::from_mode(0o1777),
        )
        .unwrap();
        let what = format!("nnp={nnp} user={user} init={init} filtered={filtered}");
        let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{what}: {v}"));
        eprintln!("FIGURES: {what}: timings {}", shim.hello["timings_us"]);
        let (code, out, err) = run_created(shim, &["sh"], &b);
        assert_eq!(code, 0, "{what}: {out} {err}");
        if filtered {
            assert_eq!(out, "Seccomp:\t2\nfine\n", "{what}: {err}");
            assert!(err.contains("Operation not permitted"), "{what}: {err}");
        } else {
            assert_eq!(out, "Seccomp:\t0\nunshared\nfine\n", "{what}: {err}");
        }
    }
}
