//! The Python docker SDK (docker-py from PyPI, in a venv the test makes once) against
//! rdockerd: tests/py/sdk_smoke.py does what a user's script does, tests/py/sdk_network.py the
//! network calls (networks.create, connect, run with ports=…); we assert on their reports.

use std::process::Command;
use std::time::Duration;

use rdocker_tests::daemon::run;
use rdocker_tests::e2e::registry_and_daemon;
use rdocker_tests::pyenv::python_with_docker_sdk;
use rdocker_tests::util::workspace_root;
use rdocker_tests::{require_root, RegistryAuth};

#[test]
fn docker_sdk_pull_run_logs_exec_wait_remove_volumes() {
    require_root!();
    let python = python_with_docker_sdk().expect("python venv with the docker SDK");
    let (_reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    let out = run(
        Command::new(&python)
            .arg(workspace_root().join("tests/py/sdk_smoke.py"))
            .arg(d.host()),
        Duration::from_secs(180),
    );
    assert!(
        out.success(),
        "sdk_smoke.py failed: {out}\ndaemon log:\n{}",
        d.log()
    );
    let report: Vec<(&str, &str)> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once(": "))
        .collect();
    let get = |k: &str| {
        report
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no {k:?} in the report: {out}"))
    };
    assert_eq!(get("ping"), "True", "{out}");
    assert_eq!(get("pulled"), "['busybox:latest']", "{out}");
    assert_eq!(get("id").len(), 64, "{out}");
    assert_eq!(get("logs"), "hello", "{out}");
    assert_eq!(get("status"), "running", "{out}");
    assert_eq!(get("exec_exit"), "0", "{out}");
    assert_eq!(get("exec_output"), "hi", "{out}");
    assert_eq!(get("wait"), "137", "killed by SIGKILL: {out}");
    assert_eq!(get("removed"), "True", "{out}");
    assert_eq!(get("volume"), "v1", "{out}");
    assert_eq!(get("run_output"), "from-volume", "{out}");
    assert_eq!(get("volumes"), "['v1']", "{out}");
    assert_eq!(get("left"), "[]", "remove=True left no container: {out}");
    let (code, _) = d.api("GET", "/volumes/v1");
    assert_eq!(code, 404, "the script removed v1");
}

#[test]
fn docker_sdk_networks_create_connect_and_ports() {
    require_root!();
    let python = python_with_docker_sdk().expect("python venv with the docker SDK");
    let (_reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    d.cli(&["pull", "busybox"]).assert_ok();
    let port = rdocker_tests::util::free_port().unwrap();
    let out = run(
        Command::new(&python)
            .arg(workspace_root().join("tests/py/sdk_network.py"))
            .arg(d.host())
            .arg(port.to_string()),
        Duration::from_secs(180),
    );
    assert!(
        out.success(),
        "sdk_network.py failed: {out}\ndaemon log:\n{}",
        d.log()
    );
    let get = |k: &str| {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}: ")))
            .unwrap_or_else(|| panic!("no {k:?} in the report: {out}"))
            .to_string()
    };
    assert_eq!(get("network"), "sdknet", "{out}");
    assert_eq!(get("network_id_len"), "64", "{out}");
    assert_eq!(get("binding"), format!("127.0.0.1:{port}"), "{out}");
    assert_eq!(get("body"), "sdk-served", "{out}");
    assert_eq!(get("members"), "['sdkweb']", "{out}");
    assert_eq!(get("by_alias"), "sdk-served", "{out}");
    assert_eq!(get("members_after"), "[]", "{out}");
    assert_eq!(get("networks"), "['bridge', 'host', 'none']", "{out}");
}
