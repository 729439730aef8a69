//! bench-pull: cold-pull timings and rdockerd memory, printed, never asserted.
//!
//! For each run a fresh rdockerd with a fresh data root (HOST-NOTES: deleting and recreating a
//! tree on this ext4 measures inode reuse, not the engine, so old roots are removed only at
//! the end). Reports median and min of: cold `rdocker pull busybox` (CLI wall time, through
//! the docker.io mirror), cold pull of `large` (≈100 MB, 7 layers, 20,000 small files), the
//! daemon's idle RSS and peak RSS (VmHWM) during the large pull. Then the same cold pulls with
//! the stock `docker pull` through a private dockerd, when Debian's docker.io is installed.
//!
//!   cargo build --release --workspace --bins
//!   RDOCKER_BIN_DIR=target/release target/release/bench-pull [--runs 5] [--large-runs 3] [--no-large]

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use rdocker_tests::dockerd::PrivateDockerd;
use rdocker_tests::{fixtures, RegistryAuth, TestDaemon, TestRegistry};

#[derive(Parser)]
#[command(name = "bench-pull", about = "Cold-pull benchmark for rdockerd")]
struct Args {
    /// Cold busybox pulls.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Cold pulls of `large`.
    #[arg(long, default_value_t = 3)]
    large_runs: usize,
    /// Skip the large image (it takes a while to build and push).
    #[arg(long)]
    no_large: bool,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("bench-pull: {e:#}");
        std::process::exit(1);
    }
}

/// (VmRSS, VmHWM) of a process in KiB.
fn mem_kib(pid: u32) -> Option<(u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn stats(label: &str, xs: &[f64], unit: &str) {
    if xs.is_empty() {
        return;
    }
    // Sub-second timings read better in milliseconds.
    let (xs, unit): (Vec<f64>, &str) = if unit == "s" && xs.iter().all(|x| *x < 1.0) {
        (xs.iter().map(|x| x * 1000.0).collect(), "ms")
    } else {
        (xs.to_vec(), unit)
    };
    let xs = xs.as_slice();
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    println!(
        "{label:<48} median {median:>8.2} {unit:<3}  min {:>8.2} {unit:<3}  (n={}; {})",
        v[0],
        v.len(),
        xs.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
}

/// One cold pull in a fresh daemon: (seconds, idle RSS MiB, peak RSS MiB). The daemon is
/// returned stopped, its dirs kept until the end.
fn cold_pull(reg: &TestRegistry, image: &str) -> Result<(f64, f64, f64, TestDaemon)> {
    settle();
    let mut d = TestDaemon::with_registry(reg)?;
    let pid = d.pid().context("daemon pid")?;
    std::thread::sleep(Duration::from_millis(300));
    let (idle, _) = mem_kib(pid).context("reading /proc/<pid>/status")?;
    // RSS is sampled on a side thread so that the timing is the CLI's own exit, not the next
    // tick of a polling loop.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some((_, hwm)) = mem_kib(pid) {
                    peak = peak.max(hwm);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        })
    };
    let start = Instant::now();
    let mut child = d.cli_spawn(&["pull", image])?;
    let status = child.wait()?;
    let secs = start.elapsed().as_secs_f64();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut peak = sampler.join().unwrap_or(0);
    if let Some((_, hwm)) = mem_kib(pid) {
        peak = peak.max(hwm);
    }
    if !status.success() {
        let out = child.wait_with_output()?;
        bail!(
            "pull {image} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            d.log()
        );
    }
    d.stop(Duration::from_secs(10));
    Ok((secs, idle as f64 / 1024.0, peak as f64 / 1024.0, d))
}

/// Flushes what earlier runs left dirty, so one run's writeback does not land in the next
/// run's fsyncs (the runs alternate between engines; neither should pay for the other).
fn settle() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    std::thread::sleep(Duration::from_millis(200));
}

/// One cold `docker pull` through a fresh private dockerd (fresh data root, as for rdockerd),
/// timed around the stock CLI. The stopped daemon is returned so its dir outlives the runs.
fn docker_cold_pull(reg: &TestRegistry, image: &str) -> Result<(f64, PrivateDockerd)> {
    let name = format!("{}/{image}", reg.addr());
    let mut d = PrivateDockerd::start()?;
    settle();
    let t = Instant::now();
    let out = d.docker(&["pull", "-q", &name])?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "docker pull {name} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            d.log()
        );
    }
    d.stop();
    Ok((secs, d))
}

fn run(args: Args) -> Result<()> {
    println!(
        "bench-pull: binaries from {}",
        rdocker_tests::util::bin_dir().display()
    );
    let reg = TestRegistry::start(RegistryAuth::None)?;
    let t = Instant::now();
    let mut sets = vec!["busybox"];
    if !args.no_large && args.large_runs > 0 {
        sets.push("large");
    }
    let pushed = fixtures::push_sets(&reg, &sets)?;
    println!(
        "registry {} seeded with {sets:?} in {:.1} s",
        reg.addr(),
        t.elapsed().as_secs_f64()
    );
    let mut keep = Vec::new();
    let mut keep_docker = Vec::new();
    let docker = PrivateDockerd::installed();
    // rdocker and docker runs alternate, so both meet the file system in the same state.

    let (mut times, mut idles, mut peaks, mut dtimes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.runs {
        let (s, idle, peak, d) = cold_pull(&reg, "busybox")?;
        times.push(s);
        idles.push(idle);
        peaks.push(peak);
        keep.push(d);
        if docker {
            let (s, d) = docker_cold_pull(&reg, "busybox")?;
            dtimes.push(s);
            keep_docker.push(d);
        }
    }
    println!();
    stats("cold `rdocker pull busybox` (CLI, mirror)", &times, "s");
    stats("cold `docker pull busybox` (dockerd 20.10)", &dtimes, "s");
    stats("rdockerd idle RSS", &idles, "MiB");
    stats("rdockerd peak RSS, busybox pull", &peaks, "MiB");

    if sets.contains(&"large") {
        let large = pushed
            .iter()
            .find(|p| p.reference == "large:latest")
            .context("large pushed")?;
        let name = format!("{}/large", reg.addr());
        let (mut times, mut peaks, mut dtimes) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..args.large_runs {
            let (s, _, peak, d) = cold_pull(&reg, &name)?;
            times.push(s);
            peaks.push(peak);
            keep.push(d);
            if docker {
                let (s, d) = docker_cold_pull(&reg, "large")?;
                dtimes.push(s);
                keep_docker.push(d);
            }
        }
        let short = rdocker_tests::e2e::short(&large.digest);
        stats(&format!("cold `rdocker pull large` ({short})"), &times, "s");
        stats("cold `docker pull large` (dockerd 20.10)", &dtimes, "s");
        stats("rdockerd peak RSS (VmHWM), large pull", &peaks, "MiB");
    }

    if !docker {
        println!(
            "docker: not installed (examples/bench-pull --with-docker installs Debian's docker.io \
             and runs a private dockerd for the comparison)"
        );
    }
    drop(keep_docker);
    drop(keep); // removes the data roots, after all measurements
    Ok(())
}
