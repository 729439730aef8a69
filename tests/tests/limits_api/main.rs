//! Resource limits end to end: cgroups made at start and gone at rm, stats, update,
//! pause/unpause, OOM, dockerd's validation messages, and the stock docker CLI's `stats` and
//! `update` against rdockerd. Real cgroups (v1 hybrid here), real containers; needs root.

#[allow(dead_code)]
#[path = "../containers_api/http.rs"]
mod http;

mod edges;
mod live;
mod restore;

use std::path::PathBuf;
use std::time::Duration;

use http::api;
use rdocker_tests::TestDaemon;
use serde_json::Value;

pub const MIB: i64 = 1024 * 1024;

/// Prints "tick" five times a second: progress that stops while frozen.
pub const TICKER: &str = "while true; do echo tick; sleep 0.2; done";

/// Every directory this container's cgroup could have, in every hierarchy.
pub fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        out.push(d.path().join("rdocker").join(id));
    }
    out
}

pub fn assert_no_cgroup(id: &str) {
    let left: Vec<_> = cgroup_dirs(id).into_iter().filter(|p| p.exists()).collect();
    assert!(left.is_empty(), "cgroup dirs left behind: {left:?}");
}

/// Removes the cgroups of the given containers when a test ends, failed or not: declared
/// before the daemon so that it drops after it (the daemon's drop kills the shims, and with
/// them the containers, but nobody removes their cgroups then).
#[derive(Default)]
pub struct CgroupGuard(std::cell::RefCell<Vec<String>>);

impl CgroupGuard {
    pub fn add(&self, id: &str) {
        self.0.borrow_mut().push(id.to_string());
    }
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        for id in self.0.borrow().iter() {
            for dir in cgroup_dirs(id) {
                for _ in 0..40 {
                    if !dir.exists() || std::fs::remove_dir(&dir).is_ok() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
}

pub fn cg_file(ctrl: &str, id: &str, file: &str) -> String {
    let p = PathBuf::from("/sys/fs/cgroup")
        .join(ctrl)
        .join("rdocker")
        .join(id)
        .join(file);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

pub fn start(d: &TestDaemon, id: &str) {
    let r = api(d, "POST", &format!("/containers/{id}/start"), None);
    assert_eq!(r.status, 204, "{}", r.text());
}

pub fn stats_once(d: &TestDaemon, id: &str, query: &str) -> Value {
    let r = api(d, "GET", &format!("/containers/{id}/stats?{query}"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

pub fn events_of(d: &TestDaemon, id: &str) -> Vec<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    api(d, "GET", &format!("/events?since=0&until={now}"), None)
        .text()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["Type"] == "container" && e["Actor"]["ID"] == id)
        .map(|e| e["Action"].as_str().unwrap_or("").to_string())
        .collect()
}

/// How many "tick" lines the container has logged.
pub fn ticks(d: &TestDaemon, id: &str) -> usize {
    let r = api(
        d,
        "GET",
        &format!("/containers/{id}/logs?stdout=1&stderr=1"),
        None,
    );
    r.text().matches("tick").count()
}

/// The shim's pid from its state file in the bundle.
pub fn shim_pid(d: &TestDaemon, id: &str) -> i32 {
    let p = d.data_root().join("containers").join(id).join("state.json");
    let state: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    state["shim_pid"].as_i64().unwrap() as i32
}
