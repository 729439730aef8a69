//! A daemon restart: paused containers stay paused, dead ones lose their cgroup.

use std::time::Duration;

use crate::http::{self, api, create, inspect, setup, wait_until};
use crate::{assert_no_cgroup, cgroup_dirs, shim_pid, start, ticks, CgroupGuard, MIB, TICKER};
use rdocker_tests::require_root;
use serde_json::json;

#[test]
fn restore_keeps_paused_and_removes_dead_cgroups() {
    require_root!();
    let guard = CgroupGuard::default();
    let (_reg, mut d) = setup();
    let paused = create(
        &d,
        "pz",
        json!({"Image": "busybox", "Cmd": ["sh", "-c", TICKER], "HostConfig": {"Memory": 32 * MIB}}),
    );
    guard.add(&paused);
    start(&d, &paused);
    assert_eq!(
        api(&d, "POST", &format!("/containers/{paused}/pause"), None).status,
        204
    );
    let gone = create(
        &d,
        "gone",
        json!({"Image": "busybox", "Cmd": ["sleep", "300"], "HostConfig": {"Memory": 32 * MIB}}),
    );
    guard.add(&gone);
    start(&d, &gone);
    let gone_pid = inspect(&d, &gone)["State"]["Pid"].as_i64().unwrap();
    let shim = shim_pid(&d, &gone);

    // The daemon crashes; meanwhile one container dies with its shim.
    d.kill9();
    // SAFETY: kill(2) on a pid read from the shim's own state file.
    assert_eq!(unsafe { libc::kill(shim, libc::SIGKILL) }, 0);
    wait_until("the container's death", Duration::from_secs(10), || {
        !http::alive(gone_pid)
    });
    assert!(
        cgroup_dirs(&gone).iter().any(|p| p.exists()),
        "nobody should have removed the cgroup while the daemon was down"
    );
    d.restart().unwrap();
    wait_until("restore of the dead one", Duration::from_secs(20), || {
        inspect(&d, &gone)["State"]["Running"] == false
    });
    wait_until("its cgroup removed", Duration::from_secs(10), || {
        cgroup_dirs(&gone).iter().all(|p| !p.exists())
    });

    // The paused one is still paused (the freezer says so) and can be unpaused.
    let i = inspect(&d, &paused);
    assert_eq!(i["State"]["Status"], "paused", "{}", i["State"]);
    assert_eq!(i["State"]["Paused"], true);
    let n = ticks(&d, &paused);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(ticks(&d, &paused), n, "ran while paused");
    let r = api(&d, "POST", &format!("/containers/{paused}/unpause"), None);
    assert_eq!(r.status, 204, "{}", r.text());
    wait_until("ticks after unpause", Duration::from_secs(10), || {
        ticks(&d, &paused) > n
    });

    // stop of a paused container: the signal, then the thaw, then the exit.
    assert_eq!(
        api(&d, "POST", &format!("/containers/{paused}/pause"), None).status,
        204
    );
    let r = api(&d, "POST", &format!("/containers/{paused}/stop?t=1"), None);
    assert_eq!(r.status, 204, "{}", r.text());
    let st = inspect(&d, &paused)["State"].clone();
    assert_eq!(st["Status"], "exited", "{st}");
    assert_eq!(st["Paused"], false, "{st}");
    assert_no_cgroup(&paused);
    for id in [&paused, &gone] {
        let r = api(&d, "DELETE", &format!("/containers/{id}?force=1"), None);
        assert_eq!(r.status, 204, "{}", r.text());
        assert_no_cgroup(id);
    }
}
