//! The stock docker CLI against rdockerd: `DOCKER_HOST=unix://… docker pull busybox`,
//! `docker images`, `docker image inspect`. Skipped (with the reason) without a docker CLI.

use rdocker_tests::e2e::{docker_cli, registry_and_daemon, short};
use rdocker_tests::fixtures::busybox::busybox_ids;
use rdocker_tests::fixtures::image::Format;
use rdocker_tests::{require_root, RegistryAuth};

#[test]
fn docker_cli_pull_images_inspect() {
    require_root!();
    let Some(docker) = docker_cli() else {
        eprintln!(
            "SKIP docker_cli_pull_images_inspect: no docker CLI (/usr/local/bin/docker or PATH)"
        );
        return;
    };
    let (_reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    let (image_id, manifest_digest, _) = busybox_ids(Format::Docker).unwrap();

    let v = d.docker(&docker, &["version"]);
    assert!(
        v.stdout.contains("Server"),
        "docker version sees the server: {v}"
    );

    let out = d.docker(&docker, &["pull", "busybox"]);
    out.assert_ok();
    assert!(
        out.all()
            .contains("Status: Downloaded newer image for busybox:latest"),
        "{out}"
    );
    assert!(out.all().contains(&manifest_digest), "{out}");

    let images = d.docker(&docker, &["images"]);
    images.assert_ok();
    let row = images
        .stdout
        .lines()
        .find(|l| l.starts_with("busybox "))
        .unwrap_or_else(|| panic!("{images}"));
    assert!(
        row.contains("latest") && row.contains(short(&image_id)),
        "{images}"
    );

    let inspect = d.docker(
        &docker,
        &[
            "image",
            "inspect",
            "--format",
            "{{.Id}} {{json .Config.Cmd}}",
            "busybox",
        ],
    );
    inspect.assert_ok();
    assert_eq!(
        inspect.stdout.trim(),
        format!("{image_id} [\"sh\"]"),
        "{inspect}"
    );

    let rmi = d.docker(&docker, &["rmi", "busybox"]);
    rmi.assert_ok();
    assert!(
        rmi.stdout.contains(&format!("Deleted: {image_id}")),
        "{rmi}"
    );
}

/// docker login goes through rdockerd's `POST /auth`; docker pull then sends the credentials
/// in `X-Registry-Auth`. Against a Bearer-token registry.
#[test]
fn docker_cli_login_and_pull_private() {
    require_root!();
    let Some(docker) = docker_cli() else {
        eprintln!("SKIP docker_cli_login_and_pull_private: no docker CLI");
        return;
    };
    let (reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::token("dave", "pw-Docker"));
    let name = format!("{}/busybox", reg.addr());
    // No anonymous pull here: on a 401 the docker CLI prompts for a login and, with stdin at
    // EOF, hangs (docker 28.2; dockerd answers 401 there too).
    let bad = d.docker(&docker, &["login", "-u", "dave", "-p", "wrong", reg.addr()]);
    bad.assert_fail();
    let ok = d.docker(
        &docker,
        &["login", "-u", "dave", "-p", "pw-Docker", reg.addr()],
    );
    ok.assert_ok();
    assert!(ok.stdout.contains("Login Succeeded"), "{ok}");
    let out = d.docker(&docker, &["pull", &name]);
    out.assert_ok();
    assert!(
        out.all()
            .contains(&format!("Status: Downloaded newer image for {name}:latest")),
        "{out}"
    );
}
