//! bench-pull: cold-pull timings and rdockerd memory, printed, never asserted.
//!
//! For each run a fresh rdockerd with a fresh data root (HOST-NOTES: deleting and recreating a
//! tree on this ext4 measures inode reuse, not the engine, so old roots are removed only at
//! the end). Reports median and min of: cold `rdocker pull busybox` (CLI wall time, through
//! the docker.io mirror), cold pull of `large` (≈100 MB, 7 layers, 20,000 small files), the
//! daemon's idle RSS and peak RSS (VmHWM) during the large pull. Then `docker pull` side by
//! side when a docker daemon answers on /var/run/docker.sock.
//!
//!   cargo build --release --workspace --bins
//!   RDOCKER_BIN_DIR=target/release target/release/bench-pull [--runs 5] [--large-runs 3] [--no-large]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
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
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    println!(
        "{label:<44} median {median:>9.2} {unit}   min {:>9.2} {unit}   (n={}; {})",
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

fn docker_available() -> bool {
    Path::new("/var/run/docker.sock").exists()
        && Command::new("curl")
            .args([
                "-sf",
                "--max-time",
                "2",
                "--unix-socket",
                "/var/run/docker.sock",
                "http://localhost/_ping",
            ])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
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

    let (mut times, mut idles, mut peaks) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.runs {
        let (s, idle, peak, d) = cold_pull(&reg, "busybox")?;
        times.push(s);
        idles.push(idle);
        peaks.push(peak);
        keep.push(d);
    }
    println!();
    stats("cold `rdocker pull busybox` (CLI, mirror)", &times, "s");
    stats("rdockerd idle RSS", &idles, "MiB");
    stats("rdockerd peak RSS, busybox pull", &peaks, "MiB");

    if sets.contains(&"large") {
        let large = pushed
            .iter()
            .find(|p| p.reference == "large:latest")
            .context("large pushed")?;
        let name = format!("{}/large", reg.addr());
        let (mut times, mut peaks) = (Vec::new(), Vec::new());
        for _ in 0..args.large_runs {
            let (s, _, peak, d) = cold_pull(&reg, &name)?;
            times.push(s);
            peaks.push(peak);
            keep.push(d);
        }
        stats(
            &format!(
                "cold pull of large ({})",
                rdocker_tests::e2e::short(&large.digest)
            ),
            &times,
            "s",
        );
        stats("rdockerd peak RSS (VmHWM), large pull", &peaks, "MiB");
    }

    println!();
    if docker_available() {
        let mut times = Vec::new();
        let image = format!("{}/busybox", reg.addr());
        for _ in 0..args.runs {
            let _ = Command::new("docker").args(["rmi", "-f", &image]).output();
            let t = Instant::now();
            let ok = Command::new("docker")
                .args(["pull", "-q", &image])
                .output()?
                .status
                .success();
            if ok {
                times.push(t.elapsed().as_secs_f64());
            }
        }
        stats("cold `docker pull` of the same busybox", &times, "s");
    } else {
        println!("docker: not available (no docker daemon on /var/run/docker.sock)");
    }
    drop(keep); // removes the data roots, after all measurements
    Ok(())
}
