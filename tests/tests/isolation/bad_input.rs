//! Impossible limits and unknown names: a clear error, nothing half-created.

use rdocker_tests::e2e::Checks;
use rdocker_tests::require_root;

use crate::{cgroup_dirs_of, setup};

#[test]
fn impossible_limits_are_refused_with_the_reason() {
    require_root!();
    let (_reg, d) = setup();
    let mut c = Checks::default();
    let ncpu = std::thread::available_parallelism().map_or(2, |n| n.get());
    let too_many = format!("{}", ncpu + 97);
    let absent_cpu = format!("{}", ncpu + 5);
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--memory", "1k"],
            "Minimum memory limit allowed is 6MB".into(),
        ),
        (
            vec!["--cpus", &too_many],
            format!(
                "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
            ),
        ),
        (
            vec!["--cpuset-cpus", &absent_cpu],
            format!("Requested CPUs are not available - requested {absent_cpu}"),
        ),
        (
            vec!["--memory", "64m", "--memory-swap", "32m"],
            "Minimum memoryswap limit should be larger than memory limit".into(),
        ),
        (vec!["--cap-add", "NOPE"], "unknown capability".into()),
        (vec!["--cap-drop", "CAP_NOPE"], "unknown capability".into()),
        (vec!["--ulimit", "nofile=999999:999999"], "nofile".into()),
        (vec!["--sysctl", "kernel.hostname_nope=1"], "sysctl".into()),
    ];
    for (flags, msg) in &cases {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "true"]);
        let out = d.cli(&args);
        c.check(
            out.code == Some(125) && out.stderr.contains(msg.as_str()),
            format!("{flags:?} → 125 with {msg:?}: {out}"),
        );
    }
    // Nothing was created: no container, no bundle.
    let ps = d.cli(&["ps", "-aq"]);
    c.check(
        ps.stdout.trim().is_empty(),
        format!("no container left: {ps}"),
    );
    let bundles: Vec<_> = std::fs::read_dir(d.data_root().join("containers"))
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    c.check(bundles.is_empty(), format!("no bundle left: {bundles:?}"));
    c.finish();
}

/// A start that fails after the cgroup was made (the command does not exist) removes it.
#[test]
fn failed_start_leaves_no_cgroup() {
    require_root!();
    let (_reg, d) = setup();
    let out = d.cli(&[
        "create", "--name", "nf", "--memory", "64m", "busybox", "nosuch",
    ]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    let start = d.cli(&["start", "nf"]);
    assert!(!start.success(), "{start}");
    assert!(
        cgroup_dirs_of(&id).is_empty(),
        "no cgroup after a failed start: {:?}",
        cgroup_dirs_of(&id)
    );
    d.cli(&["rm", "nf"]).assert_ok();
}
