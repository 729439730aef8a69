//! Issue 4 from inside containers: Docker's security defaults, escape attempts that must fail,
//! limits that hold, bad input that leaves nothing behind, and userns-remap.

mod bad_input;
mod escape;
mod limits;
mod security_defaults;
mod userns;

use rdocker_tests::e2e::registry_and_daemon;
use rdocker_tests::{probe, CliOutput, RegistryAuth, TestDaemon, TestRegistry};

pub fn setup() -> (TestRegistry, TestDaemon) {
    setup_with(&[])
}

/// A registry with busybox and a daemon started with `flags`, busybox pulled.
pub fn setup_with(flags: &[&str]) -> (TestRegistry, TestDaemon) {
    let (reg, d) = if flags.is_empty() {
        registry_and_daemon(&["busybox"], RegistryAuth::None)
    } else {
        let reg = TestRegistry::start(RegistryAuth::None).expect("registry starts");
        rdocker_tests::fixtures::push_sets(&reg, &["busybox"]).expect("fixtures push");
        let d = TestDaemon::start(&[reg.url()], flags).expect("rdockerd starts");
        (reg, d)
    };
    d.cli(&["pull", "busybox"]).assert_ok();
    (reg, d)
}

/// `rdocker run --rm <flags> -v <probe>:/probe:ro busybox sh -c <script>`.
pub fn run_sh(d: &TestDaemon, flags: &[&str], script: &str) -> CliOutput {
    let dir = probe::probe_dir().expect("probe builds");
    let vol = probe::volume_arg(&dir);
    let mut args = vec!["run", "--rm", "-v", &vol];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "sh", "-c", script]);
    d.cli(&args)
}

/// The `Cap*:` lines of /proc/self/status as name → hex.
pub fn caps(out: &str) -> std::collections::BTreeMap<String, String> {
    out.lines()
        .filter(|l| l.starts_with("Cap"))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// Our own bounding set (the daemon's is the same: it runs as root from the test).
pub fn host_cap_bnd() -> String {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    caps(&status).get("CapBnd").cloned().unwrap_or_default()
}

/// Every cgroup dir of a container on this host (v1: one per controller; v2: one).
pub fn cgroup_dirs_of(id: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let root = std::path::Path::new("/sys/fs/cgroup");
    let Ok(rd) = std::fs::read_dir(root) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path().join("rdocker").join(id);
        if p.exists() {
            out.push(p);
        }
    }
    let v2 = root.join("rdocker").join(id);
    if v2.exists() {
        out.push(v2);
    }
    out
}
