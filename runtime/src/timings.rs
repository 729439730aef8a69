//! Set-up timings measured in the init and carried to the engine in the handshake line
//! (`"timings_us"`, PROTOCOL.md "Isolation"): the engine's start benchmark prints them.

use serde::Serialize;

/// Microseconds per step; a step that did not run stays 0.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Timings {
    pub cgroup_join: u64,
    pub rootfs: u64,
    pub seccomp_load: u64,
    /// The capability parts of the user change (bounding set, capset, ambient).
    pub caps: u64,
    /// Joining the user namespace (the userns work fills it).
    pub userns: u64,
}

/// CLOCK_MONOTONIC in microseconds: never jumps with the wall clock.
pub fn now_us() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let secs = u64::try_from(t.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(t.tv_nsec).unwrap_or(0);
    secs * 1_000_000 + nanos / 1_000
}

/// Runs `f`, adding its duration to `slot` (added, so a step split in parts sums up).
pub fn timed<T>(slot: &mut u64, f: impl FnOnce() -> T) -> T {
    let t0 = now_us();
    let r = f();
    *slot += now_us().saturating_sub(t0);
    r
}

/// The child's ready line: `{"ok":true,"timings_us":{...}}`.
pub fn ready_line(t: &Timings) -> String {
    let v = serde_json::json!({"ok": true, "timings_us": t});
    format!("{v}\n")
}

/// The timings in a child's ready line, if it carries any.
pub fn from_ready_line(line: &[u8]) -> Option<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    v.get("timings_us").filter(|t| t.is_object()).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_line_round_trips_and_sums_steps() {
        let mut t = Timings::default();
        timed(&mut t.caps, || {
            std::thread::sleep(std::time::Duration::from_millis(2))
        });
        timed(&mut t.caps, || {
            std::thread::sleep(std::time::Duration::from_millis(2))
        });
        assert!(t.caps >= 4000, "{t:?}");
        let line = ready_line(&t);
        assert!(line.ends_with('\n'));
        let back = from_ready_line(line.trim_end().as_bytes()).unwrap();
        assert_eq!(back["caps"], t.caps);
        for k in ["cgroup_join", "rootfs", "seccomp_load", "userns"] {
            assert_eq!(back[k], 0, "{k} in {back}");
        }
        assert!(from_ready_line(b"{\"ok\":true}").is_none());
    }
}
