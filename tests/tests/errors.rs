//! Pull failures as Docker reports them: unknown repository or tag (404 with the registry's
//! message), registry down (connection refused, fast), registry that hangs (bounded),
//! invalid references (400 `invalid reference format`).

use std::time::Duration;

use rdocker_tests::e2e::registry_and_daemon;
use rdocker_tests::netfault::{DeadPort, HangingServer};
use rdocker_tests::{require_root, RegistryAuth, TestDaemon};

/// The hanging-registry daemon runs with `--registry-timeout 3`; the pull must fail within that
/// plus slack (connect, manifest and retries over the endpoints).
const HANG_TIMEOUT_SECS: &str = "3";
const HANG_BOUND: Duration = Duration::from_secs(20);

fn pull_api(d: &TestDaemon, image: &str, tag: &str) -> (u16, String) {
    d.api(
        "POST",
        &format!("/images/create?fromImage={image}&tag={tag}"),
    )
}

#[test]
fn unknown_repository_and_tag() {
    require_root!();
    let (reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);

    let out = d.cli(&["pull", &format!("{}/nosuchrepo", reg.addr())]);
    out.assert_fail();
    assert_eq!(out.code, Some(1));
    let msg = out.all();
    assert!(msg.contains("Error response from daemon"), "{out}");
    // distribution 2.8 answers MANIFEST_UNKNOWN for a repository it never saw (others say
    // NAME_UNKNOWN); Docker words each its own way, both carrying the registry's message.
    let manifest_unknown = format!(
        "manifest for {}/nosuchrepo:latest not found: manifest unknown",
        reg.addr()
    );
    let name_unknown = format!(
        "repository {}/nosuchrepo not found: name unknown",
        reg.addr()
    );
    assert!(
        msg.contains(&manifest_unknown) || msg.contains(&name_unknown),
        "{out}"
    );
    let (code, body) = pull_api(&d, &format!("{}/nosuchrepo", reg.addr()), "latest");
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("\"message\""), "{body}");

    let out = d.cli(&["pull", &format!("{}/busybox:nosuch", reg.addr())]);
    out.assert_fail();
    let want = format!(
        "manifest for {}/busybox:nosuch not found: manifest unknown",
        reg.addr()
    );
    assert!(out.all().contains(&want), "want {want:?}: {out}");
    let (code, body) = pull_api(&d, &format!("{}/busybox", reg.addr()), "nosuch");
    assert_eq!(code, 404, "{body}");

    // Through the mirror: docker.io names the mirror lacks.
    let out = d.cli(&["pull", "busybox:nosuch"]);
    out.assert_fail();
    assert!(
        out.all().contains("manifest for busybox:nosuch not found"),
        "{out}"
    );
    assert!(d.ping(), "daemon still up");
}

#[test]
fn registry_down_fails_fast() {
    require_root!();
    let d = TestDaemon::start(&[], &[]).expect("rdockerd starts");
    let dead = DeadPort::new().unwrap();
    let addr = dead.addr();
    let out = d.cli(&["pull", &format!("{addr}/busybox")]);
    out.assert_fail();
    assert!(
        out.elapsed < Duration::from_secs(15),
        "took {:?}: {out}",
        out.elapsed
    );
    assert!(
        out.all().to_lowercase().contains("connection refused"),
        "{out}"
    );
    let (code, _) = pull_api(&d, &format!("{addr}/busybox"), "latest");
    assert!(
        code >= 500 || code == 404,
        "pull from a dead registry: {code}"
    );
}

#[test]
fn registry_that_hangs_fails_in_bounded_time() {
    require_root!();
    let hang = HangingServer::start().unwrap();
    let d = TestDaemon::start(&[], &["--registry-timeout", HANG_TIMEOUT_SECS])
        .expect("rdockerd starts");
    let out = d.cli_timeout(
        &["pull", &format!("{}/busybox", hang.addr())],
        HANG_BOUND + Duration::from_secs(10),
    );
    assert!(
        !out.timed_out,
        "pull from a hanging registry did not end: {out}"
    );
    out.assert_fail();
    assert!(out.elapsed <= HANG_BOUND, "took {:?}", out.elapsed);
    assert!(hang.connections() >= 1, "the daemon never connected");
    assert!(d.ping(), "daemon still up");
}

#[test]
fn invalid_reference_format() {
    require_root!();
    let d = TestDaemon::start(&[], &[]).expect("rdockerd starts");
    for bad in ["Busybox", "busybox:", "bad name", "busybox@sha256:123"] {
        let out = d.cli(&["pull", bad]);
        out.assert_fail();
        assert!(
            out.all().contains("invalid reference format"),
            "{bad:?}: {out}"
        );
    }
    let (code, body) = pull_api(&d, "bad%20name", "latest");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("invalid reference format"), "{body}");
    let (code, body) = pull_api(&d, "Busybox", "latest");
    assert_eq!(code, 400, "{body}");
}
