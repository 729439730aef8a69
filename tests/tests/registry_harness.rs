//! Self-tests of the registry harness (no rdockerd needed, no root needed): the three auth
//! modes answer as a Docker client expects, checked with curl as a user would.

use std::process::Command;

use rdocker_tests::client::RegistryClient;
use rdocker_tests::{RegistryAuth, TestRegistry};

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-s", "-i", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn plain_registry_answers_v2() {
    let reg = TestRegistry::start(RegistryAuth::None).expect("registry starts");
    let r = curl(&[&format!("{}/v2/", reg.url())]);
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(reg.addr().starts_with("127.0.0.1:"));
}

#[test]
fn basic_registry_challenges_and_accepts_credentials() {
    let reg = TestRegistry::start(RegistryAuth::basic("alice", "s3cret")).expect("registry starts");
    let r = curl(&[&format!("{}/v2/", reg.url())]);
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    assert!(
        r.contains("Www-Authenticate: Basic realm=\"rdocker-test-realm\""),
        "{r}"
    );
    let ok = curl(&["-u", "alice:s3cret", &format!("{}/v2/", reg.url())]);
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let bad = curl(&["-u", "alice:wrong", &format!("{}/v2/", reg.url())]);
    assert!(bad.starts_with("HTTP/1.1 401"), "{bad}");
}

#[test]
fn token_registry_issues_and_accepts_bearer_tokens() {
    let reg = TestRegistry::start(RegistryAuth::token("bob", "hunter2")).expect("registry starts");
    let r = curl(&[&format!("{}/v2/", reg.url())]);
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    let challenge = r
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("www-authenticate: bearer")
        })
        .unwrap_or_else(|| panic!("no Bearer challenge: {r}"));
    let params = rdocker_tests::client::parse_challenge(challenge.split_once("Bearer ").unwrap().1);
    let realm = &params["realm"];
    assert_eq!(params["service"], "rdocker-test-registry");

    // Right credentials: a token that opens /v2/ and a push scope.
    let scope = "repository:foo:pull,push";
    let url = format!("{realm}?service=rdocker-test-registry&scope={scope}");
    let body = curl(&["-u", "bob:hunter2", &url]);
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    let json: serde_json::Value =
        serde_json::from_str(body.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let token = json["token"].as_str().unwrap();
    assert_eq!(json["access_token"].as_str(), Some(token));
    assert_eq!(json["expires_in"], 300);
    let ok = curl(&[
        "-H",
        &format!("Authorization: Bearer {token}"),
        &format!("{}/v2/", reg.url()),
    ]);
    assert!(
        ok.starts_with("HTTP/1.1 200"),
        "{ok}\nregistry log: {}",
        reg.log()
    );

    // Wrong password: the token service says 401.
    let bad = curl(&["-u", "bob:nope", &url]);
    assert!(bad.starts_with("HTTP/1.1 401"), "{bad}");

    // Anonymous: a token without access; a pull with it is refused.
    let anon = curl(&[&url]);
    let json: serde_json::Value =
        serde_json::from_str(anon.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let anon_token = json["token"].as_str().unwrap();
    let denied = curl(&[
        "-H",
        &format!("Authorization: Bearer {anon_token}"),
        &format!("{}/v2/foo/manifests/latest", reg.url()),
    ]);
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");

    // The push client walks the challenge itself.
    let client = RegistryClient::new(reg.addr(), Some(("bob", "hunter2")));
    client
        .push_blob(
            "foo",
            &rdocker_tests::util::sha256_digest(b"hello"),
            b"hello",
        )
        .expect("push with token");
}
