//! The rdocker CLI through the same scenarios as the stock docker CLI (tests/src/scenarios.rs):
//! the same commands must print what docker prints and exit as docker exits.

use rdocker_tests::e2e::registry_and_daemon;
use rdocker_tests::scenarios::{self, Client};
use rdocker_tests::{require_root, RegistryAuth, TestDaemon, TestRegistry};

fn setup() -> (TestRegistry, TestDaemon) {
    let (reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    d.cli(&["pull", "busybox"]).assert_ok();
    (reg, d)
}

#[test]
fn rdocker_exec_it() {
    require_root!();
    let (_reg, d) = setup();
    scenarios::exec_it(&Client::rdocker(&d));
}

#[test]
fn rdocker_lifecycle() {
    require_root!();
    let (_reg, d) = setup();
    scenarios::lifecycle(&Client::rdocker(&d));
}

#[test]
fn rdocker_volumes_and_errors() {
    require_root!();
    let (_reg, d) = setup();
    scenarios::volumes_and_errors(&Client::rdocker(&d));
}
