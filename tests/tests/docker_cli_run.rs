//! The stock docker CLI (DOCKER_HOST=unix://<rdockerd>) running containers: what a user sees
//! and the exit codes, against Docker's own behaviour (calibrated on dockerd 20.10 with the
//! docker 28 CLI). Fails without a docker CLI when CI is set.

use std::path::PathBuf;

use rdocker_tests::e2e::{docker_cli, registry_and_daemon};
use rdocker_tests::interactive::{tty_resize_detach_attach, used_by_session};
use rdocker_tests::scenarios::{self, Client};
use rdocker_tests::{require_root, RegistryAuth, TestDaemon, TestRegistry};

fn docker_or_skip(test: &str) -> Option<PathBuf> {
    let d = docker_cli();
    if d.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: no docker CLI and CI is set (scripts/install-deps installs docker.io)"
        );
        eprintln!("SKIP {test}: no docker CLI");
    }
    d
}

fn setup(docker: &std::path::Path) -> (TestRegistry, TestDaemon) {
    let (reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    let pull = d.docker(docker, &["pull", "busybox"]);
    pull.assert_ok();
    assert!(
        pull.stdout
            .contains("Status: Downloaded newer image for busybox:latest"),
        "{pull}"
    );
    (reg, d)
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("dcli-")
        .tempdir_in("/tmp")
        .unwrap()
}

#[test]
fn docker_run_it_and_exec_it() {
    require_root!();
    let Some(docker) = docker_or_skip("docker_run_it_and_exec_it") else {
        return;
    };
    let (_reg, d) = setup(&docker);
    let tmp = tmpdir();
    let t1 = tmp.path().join("t1");
    let vol = format!("{}:/mnt", t1.display());
    let cmd = d.docker_command(&docker, &["run", "-it", "-v", &vol, "busybox", "sh"]);
    used_by_session(&d, cmd, &t1);

    scenarios::exec_it(&Client::docker(&d, &docker));
}

#[test]
fn docker_tty_resize_detach_attach() {
    require_root!();
    let Some(docker) = docker_or_skip("docker_tty_resize_detach_attach") else {
        return;
    };
    let (_reg, d) = setup(&docker);
    let run = d.docker_command(&docker, &["run", "-it", "--name", "tt", "busybox", "sh"]);
    let attach = d.docker_command(&docker, &["attach", "tt"]);
    tty_resize_detach_attach(&d, run, attach, "tt");
}

#[test]
fn docker_lifecycle() {
    require_root!();
    let Some(docker) = docker_or_skip("docker_lifecycle") else {
        return;
    };
    let (_reg, d) = setup(&docker);
    scenarios::lifecycle(&Client::docker(&d, &docker));
}

#[test]
fn docker_volumes_and_errors() {
    require_root!();
    let Some(docker) = docker_or_skip("docker_volumes_and_errors") else {
        return;
    };
    let (_reg, d) = setup(&docker);
    scenarios::volumes_and_errors(&Client::docker(&d, &docker));
}
