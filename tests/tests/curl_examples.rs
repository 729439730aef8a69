//! The container scripts in examples/curl/ run against a private rdockerd; what they print must
//! match their `.out` files (ids normalised). `RDOCKER_UPDATE_EXAMPLES=1` rewrites the `.out`
//! files from this run instead of comparing.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use rdocker_tests::daemon::run;
use rdocker_tests::e2e::registry_and_daemon;
use rdocker_tests::util::workspace_root;
use rdocker_tests::{require_root, RegistryAuth, TestDaemon};

/// 64-hex ids (containers, execs) differ on every run.
fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let run = b[i..]
            .iter()
            .take_while(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
            .count();
        if run == 64 {
            out.push_str("<id>");
            i += 64;
        } else {
            let n = run.max(1);
            out.push_str(&String::from_utf8_lossy(&b[i..i + n]));
            i += n;
        }
    }
    out
}

fn check_script(d: &TestDaemon, name: &str) {
    check_script_env(d, name, &[]);
}

fn check_script_env(d: &TestDaemon, name: &str, env: &[(&str, String)]) {
    let dir: PathBuf = workspace_root().join("examples/curl");
    let out = run(
        Command::new("sh")
            .arg(dir.join(format!("{name}.sh")))
            .env("RDOCKER_SOCK", d.socket())
            .envs(env.iter().map(|(k, v)| (k, v))),
        Duration::from_secs(120),
    );
    assert!(
        out.success(),
        "{name}.sh failed: {out}\ndaemon log:\n{}",
        d.log()
    );
    let expected_path = dir.join(format!("{name}.out"));
    if std::env::var_os("RDOCKER_UPDATE_EXAMPLES").is_some() {
        std::fs::write(&expected_path, &out.stdout).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap();
    let (got, want) = (normalise(&out.stdout), normalise(&expected));
    if got != want {
        let tmp = tempfile::tempdir().unwrap();
        let (g, w) = (
            tmp.path().join("got"),
            tmp.path().join(format!("{name}.out")),
        );
        std::fs::write(&g, &got).unwrap();
        std::fs::write(&w, &want).unwrap();
        let diff = run(
            Command::new("diff").arg("-u").arg(&w).arg(&g),
            Duration::from_secs(10),
        );
        panic!(
            "{name}.sh output differs from {name}.out (ids normalised):\n{}\n--- stderr\n{}",
            diff.stdout, out.stderr
        );
    }
}

#[test]
fn container_scripts_match_their_out_files() {
    require_root!();
    let (_reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    d.cli(&["pull", "busybox"]).assert_ok();
    for name in ["container-run", "container-exec", "volumes"] {
        check_script(&d, name);
    }
}

#[test]
fn network_script_matches_its_out_file() {
    require_root!();
    let (_reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    d.cli(&["pull", "busybox"]).assert_ok();
    // A free host port (the .out shows it as <port>); the default subnet 10.99.77.0/24 is
    // outside the pools other test daemons pick from.
    let port = rdocker_tests::util::free_port().unwrap().to_string();
    check_script_env(&d, "networks", &[("DEMO_PORT", port)]);
}

#[test]
fn normalises_ids() {
    let id = "a".repeat(64);
    assert_eq!(normalise(&format!("x{id}y abc")), "x<id>y abc");
    assert_eq!(normalise(&"b".repeat(65)), "b".repeat(65));
}
