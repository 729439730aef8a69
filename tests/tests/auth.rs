//! Registries that need credentials: HTTP Basic (htpasswd) and Bearer tokens from a token
//! service. Pull without login fails as Docker's does; `login` then pull works; a wrong
//! password is refused; `logout` forgets.

use rdocker_tests::e2e::registry_and_daemon;
use rdocker_tests::{require_root, RegistryAuth, TestDaemon, TestRegistry};

fn mentions_auth(s: &str) -> bool {
    let s = s.to_lowercase();
    [
        "unauthorized",
        "authentication required",
        "no basic auth credentials",
        "pull access denied",
        "denied",
        "401",
    ]
    .iter()
    .any(|w| s.contains(w))
}

fn login_flow(reg: &TestRegistry, d: &TestDaemon) {
    let (user, pass) = reg.auth().credentials().expect("auth registry");
    let name = format!("{}/busybox", reg.addr());

    let out = d.cli(&["pull", &name]);
    out.assert_fail();
    assert_eq!(out.code, Some(1), "{out}");
    assert!(mentions_auth(&out.all()), "not an auth error: {out}");
    assert!(out.stderr.contains("Error response from daemon"), "{out}");

    let bad = d.cli(&["login", "-u", user, "-p", "wrong-password", reg.addr()]);
    bad.assert_fail();
    assert!(
        mentions_auth(&bad.all()) || bad.all().to_lowercase().contains("incorrect"),
        "{bad}"
    );
    let (code, body) = d.api("GET", "/images/json");
    assert_eq!((code, body.trim()), (200, "[]"), "nothing pulled");

    let ok = d.cli(&["login", "-u", user, "-p", pass, reg.addr()]);
    ok.assert_ok();
    assert!(ok.stdout.contains("Login Succeeded"), "{ok}");
    let cfg = std::fs::read_to_string(d.dir().join("cli-config/config.json")).unwrap_or_default();
    assert!(
        cfg.contains(reg.addr()),
        "credentials stored for {}: {cfg}",
        reg.addr()
    );

    let pulled = d.cli(&["pull", &name]);
    pulled.assert_ok();
    assert!(
        pulled
            .all()
            .contains(&format!("Status: Downloaded newer image for {name}:latest")),
        "{pulled}"
    );

    let out = d.cli(&["logout", reg.addr()]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains(&format!("Removing login credentials for {}", reg.addr())),
        "{out}"
    );
    let again = d.cli(&["pull", &format!("{}/busybox:oci", reg.addr())]);
    again.assert_fail();
    assert!(mentions_auth(&again.all()), "{again}");
}

#[test]
fn basic_auth_registry() {
    require_root!();
    let (reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::basic("alice", "s3cret-Basic"));
    login_flow(&reg, &d);
}

#[test]
fn token_auth_registry() {
    require_root!();
    let (reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::token("bob", "s3cret-Token"));
    login_flow(&reg, &d);
}

/// The engine's own auth check: `POST /auth` as docker login sends it.
#[test]
fn api_auth_endpoint() {
    require_root!();
    let (reg, d) = registry_and_daemon(&[], RegistryAuth::token("carol", "pw"));
    let body = |p: &str| {
        serde_json::json!({"username": "carol", "password": p, "serveraddress": reg.addr()})
            .to_string()
    };
    let curl = |json: String| {
        rdocker_tests::daemon::run(
            std::process::Command::new("curl")
                .args([
                    "-s",
                    "-w",
                    "\n%{http_code}",
                    "-X",
                    "POST",
                    "-H",
                    "Content-Type: application/json",
                    "-d",
                    &json,
                ])
                .arg("--unix-socket")
                .arg(d.socket())
                .arg("http://localhost/auth"),
            std::time::Duration::from_secs(30),
        )
    };
    let ok = curl(body("pw"));
    assert!(ok.stdout.ends_with("200"), "{ok}");
    assert!(ok.stdout.contains("Login Succeeded"), "{ok}");
    let bad = curl(body("nope"));
    assert!(bad.stdout.ends_with("401"), "{bad}");
    assert!(bad.stdout.contains("\"message\""), "{bad}");
}
