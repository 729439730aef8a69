//! How long compiling the default profile takes (the engine caches the result per profile and
//! capability set; this is the cost of a cache miss). Run with `--nocapture` to see it.

mod common;

use rdocker_seccomp::{compile, default_profile, SOCK_FILTER_SIZE};
use std::time::{Duration, Instant};

#[test]
fn compile_time_of_the_default_profile() {
    let caps = common::default_caps();
    // The first call also parses the embedded JSON and reads the kernel version.
    let start = Instant::now();
    let first = compile(default_profile(), &caps).unwrap();
    let cold = start.elapsed();

    let mut times: Vec<Duration> = (0..20)
        .map(|_| {
            let start = Instant::now();
            let bpf = compile(default_profile(), &caps).unwrap();
            let t = start.elapsed();
            assert_eq!(bpf, first, "compiling is deterministic");
            t
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "seccomp compile (default profile, Docker's 14 caps): cold {:.2} ms, median {:.2} ms, min {:.2} ms; {} instructions ({} bytes)",
        cold.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        first.len() / SOCK_FILTER_SIZE,
        first.len()
    );
    // Generous, for a debug build on a loaded machine: a regression to per-rule re-exports or
    // the like would show up as tens of milliseconds.
    assert!(
        median < Duration::from_millis(50),
        "median compile time {median:?}"
    );
}
