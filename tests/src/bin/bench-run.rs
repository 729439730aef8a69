//! bench-run: how long running a container takes, printed, never asserted.
//!
//! Starts the test registry (busybox) and a private rdockerd, then reports medians and minimums
//! of: `rdocker run --rm busybox true` end to end through the CLI; the same as separate API
//! calls, timed each (create; start, which covers mounts and spawn until its answer; wait for
//! the exit; delete); the throughput of N parallel `run -d` and the time to remove them; the
//! idle RSS of rdockerd and of one shim. Networking (issue 5): `run --rm busybox true` on the
//! default bridge next to `--network none` (interleaved), and `--sequence` containers started
//! one after another on one bridge, first 10 against last 10, to show the per-container cost
//! does not grow. With --with-docker the same against a private
//! dockerd (no bridge, no iptables) with `docker run --rm --network none busybox true`, the
//! runs interleaved so that both meet the machine in the same state.
//!
//!   cargo build --release --workspace --bins
//!   RDOCKER_BIN_DIR=target/release target/release/bench-run [--runs 20] [--parallel 100] [--with-docker]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use rdocker_tests::dockerd::PrivateDockerd;
use rdocker_tests::procs;
use rdocker_tests::unixhttp::request;
use rdocker_tests::{fixtures, RegistryAuth, TestDaemon, TestRegistry};

#[derive(Parser)]
#[command(name = "bench-run", about = "Container run benchmark for rdockerd")]
struct Args {
    /// Timed runs of each kind.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Containers started at once for the throughput figure.
    #[arg(long, default_value_t = 100)]
    parallel: usize,
    /// Containers started one after another on the default bridge (kept running until all
    /// are up) for the growth figure.
    #[arg(long, default_value_t = 100)]
    sequence: usize,
    /// Compare with a private dockerd (Debian's docker.io; examples/bench-run installs it).
    #[arg(long)]
    with_docker: bool,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("bench-run: {e:#}");
        std::process::exit(1);
    }
}

/// Builds an engine's CLI command for the given arguments.
type CliBuilder = Box<dyn Fn(&[&str]) -> Command>;

/// One engine under test: how to run its CLI and where its API listens.
struct Engine {
    name: &'static str,
    sock: PathBuf,
    cli: CliBuilder,
    /// Extra `run` flags (docker gets `--network none`: it has no bridge here).
    run_flags: Vec<&'static str>,
}

impl Engine {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = (self.cli)(args);
        c.stdin(Stdio::null());
        c
    }

    fn run_args<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut v = vec!["run"];
        v.extend(self.run_flags.iter().copied());
        v.extend(rest);
        v
    }

    /// Wall time of one `run --rm busybox true`, in ms.
    fn run_rm(&self) -> Result<f64> {
        self.run_rm_with(&[])
    }

    /// Wall time of one `run --rm <flags> busybox true`, in ms.
    fn run_rm_with(&self, flags: &[&str]) -> Result<f64> {
        let mut rest = vec!["--rm"];
        rest.extend(flags);
        rest.extend(["busybox", "true"]);
        let args = self.run_args(&rest);
        let t = Instant::now();
        let out = self.cmd(&args).output()?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if !out.status.success() {
            bail!(
                "{}: run failed: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(ms)
    }

    /// create, start, wait, delete as separate API calls: ms each.
    fn api_steps(&self) -> Result<[f64; 4]> {
        let body = r#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"none"}}"#;
        let t = Instant::now();
        let r = request(&self.sock, "POST", "/containers/create", Some(body))?;
        let create = ms_since(t);
        if r.status != 201 {
            bail!("{}: create answered {}: {}", self.name, r.status, r.body);
        }
        let v: serde_json::Value = serde_json::from_str(&r.body)?;
        let id = v["Id"].as_str().context("create without Id")?.to_string();
        let t = Instant::now();
        let r = request(&self.sock, "POST", &format!("/containers/{id}/start"), None)?;
        let start = ms_since(t);
        if r.status != 204 {
            bail!("{}: start answered {}: {}", self.name, r.status, r.body);
        }
        let t = Instant::now();
        let r = request(
            &self.sock,
            "POST",
            &format!("/containers/{id}/wait?condition=not-running"),
            None,
        )?;
        let wait = ms_since(t);
        if r.status != 200 {
            bail!("{}: wait answered {}: {}", self.name, r.status, r.body);
        }
        let t = Instant::now();
        let r = request(&self.sock, "DELETE", &format!("/containers/{id}"), None)?;
        let rm = ms_since(t);
        if r.status != 204 {
            bail!("{}: delete answered {}: {}", self.name, r.status, r.body);
        }
        Ok([create, start, wait, rm])
    }

    /// `n` × `run -d busybox sleep 120` at once: (containers per second, seconds to remove
    /// them all with one `rm -f`).
    fn parallel(&self, n: usize) -> Result<(f64, f64)> {
        let args = self.run_args(&["-d", "busybox", "sleep", "120"]);
        let t = Instant::now();
        let children: Vec<_> = (0..n)
            .map(|_| {
                self.cmd(&args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
            })
            .collect::<std::io::Result<_>>()?;
        let mut ids = Vec::new();
        let mut failed = Vec::new();
        for c in children {
            let out = c.wait_with_output()?;
            if out.status.success() {
                ids.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
            } else {
                failed.push(String::from_utf8_lossy(&out.stderr).into_owned());
            }
        }
        let rate = ids.len() as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut rm = vec!["rm", "-f"];
        rm.extend(ids.iter().map(String::as_str));
        let out = self.cmd(&rm).output()?;
        let rm_secs = t.elapsed().as_secs_f64();
        if !failed.is_empty() || !out.status.success() {
            bail!(
                "{}: {} of {n} parallel runs failed (first: {}); rm -f: {}",
                self.name,
                failed.len(),
                failed.first().map(String::as_str).unwrap_or("-"),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok((rate, rm_secs))
    }
}

/// `n` × `run -d busybox sleep 300` on the default bridge, one after another, all kept
/// running until the last is up: the wall time of each in ms. Then removes them.
fn sequence(e: &Engine, n: usize) -> Result<Vec<f64>> {
    let mut times = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    let mut res = Ok(());
    for _ in 0..n {
        let t = Instant::now();
        let out = e.cmd(&["run", "-d", "busybox", "sleep", "300"]).output()?;
        times.push(ms_since(t));
        if !out.status.success() {
            res = Err(anyhow::anyhow!(
                "{}: run -d #{} on the bridge failed: {}",
                e.name,
                ids.len() + 1,
                String::from_utf8_lossy(&out.stderr)
            ));
            break;
        }
        ids.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    if !ids.is_empty() {
        let mut rm = vec!["rm", "-f"];
        rm.extend(ids.iter().map(String::as_str));
        e.cmd(&rm).output()?;
    }
    res.map(|_| times)
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// (median, min) of a sample.
fn median_min(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let m = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    Some((m, v[0]))
}

fn cell(xs: &[f64], unit: &str) -> String {
    match median_min(xs) {
        Some((m, min)) if xs.len() > 1 => format!("{m:.1} {unit} (min {min:.1})"),
        Some((m, _)) => format!("{m:.1} {unit}"),
        None => "—".to_string(),
    }
}

/// For rates, where more is better: median and the best round.
fn rate_cell(xs: &[f64], unit: &str) -> String {
    match median_min(xs) {
        Some((m, _)) => {
            let best = xs.iter().copied().fold(f64::MIN, f64::max);
            format!("{m:.1} {unit} (best {best:.1})")
        }
        None => "—".to_string(),
    }
}

fn rss_mib(pid: u32) -> Option<f64> {
    procs::rss_kib(pid).map(|k| k as f64 / 1024.0)
}

fn rdocker_engine(d: &TestDaemon) -> Engine {
    let host = d.host();
    let config = d.dir().join("cli-config");
    let bin = rdocker_tests::util::bin_dir().join("rdocker");
    Engine {
        name: "rdocker",
        sock: d.socket(),
        cli: Box::new(move |args| {
            let mut c = Command::new(&bin);
            c.arg("-H")
                .arg(&host)
                .args(args)
                .env("RDOCKER_CONFIG", &config)
                .env_remove("DOCKER_HOST");
            c
        }),
        run_flags: vec![],
    }
}

fn docker_engine(dd: &PrivateDockerd) -> Engine {
    let host = format!("unix://{}", dd.socket().display());
    Engine {
        name: "docker",
        sock: dd.socket(),
        cli: Box::new(move |args| {
            let mut c = Command::new("docker");
            c.arg("-H").arg(&host).args(args);
            c
        }),
        run_flags: vec!["--network", "none"],
    }
}

fn docker_setup(reg: &TestRegistry) -> Result<PrivateDockerd> {
    let dd = PrivateDockerd::start()?;
    let name = format!("{}/busybox", reg.addr());
    for args in [
        vec!["pull", "-q", name.as_str()],
        vec!["tag", name.as_str(), "busybox:latest"],
    ] {
        let out = dd.docker(&args)?;
        if !out.status.success() {
            bail!(
                "docker {args:?}: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                dd.log()
            );
        }
    }
    Ok(dd)
}

#[derive(Default)]
struct Figures {
    e2e: Vec<f64>,
    /// rdocker only: the same with `--network none` (e2e is then the default bridge).
    e2e_none: Vec<f64>,
    steps: [Vec<f64>; 4],
    rate: Vec<f64>,
    rm_all: Vec<f64>,
}

fn measure_round(e: &Engine, f: &mut Figures) -> Result<()> {
    f.e2e.push(e.run_rm()?);
    let s = e.api_steps()?;
    for (i, x) in s.into_iter().enumerate() {
        f.steps[i].push(x);
    }
    Ok(())
}

fn run(args: Args) -> Result<()> {
    println!(
        "bench-run: binaries from {}",
        rdocker_tests::util::bin_dir().display()
    );
    let reg = TestRegistry::start(RegistryAuth::None)?;
    fixtures::push_sets(&reg, &["busybox"])?;
    // -D: the daemon logs each start split by step ("start timings: …"), read back below.
    let d = TestDaemon::start(&[reg.url()], &["-D"])?;
    let dpid = d.pid().context("rdockerd pid")?;
    std::thread::sleep(Duration::from_millis(300));
    let fresh_rss = rss_mib(dpid);
    let pull = d.cli(&["pull", "busybox"]);
    if !pull.success() {
        bail!("rdocker pull busybox: {pull}");
    }
    let rd = rdocker_engine(&d);
    let docker = if args.with_docker {
        if !PrivateDockerd::installed() {
            bail!(
                "--with-docker: dockerd/docker not on PATH (examples/bench-run installs docker.io)"
            );
        }
        Some(docker_setup(&reg)?)
    } else {
        None
    };
    let dk = docker.as_ref().map(docker_engine);

    // Warm-up: first runs page in binaries and fill caches on both sides.
    for _ in 0..2 {
        let mut scratch = Figures::default();
        measure_round(&rd, &mut scratch)?;
        if let Some(e) = &dk {
            measure_round(e, &mut scratch)?;
        }
    }
    let (mut fr, mut fd) = (Figures::default(), Figures::default());
    let log_before = d.log().len();
    for _ in 0..args.runs {
        measure_round(&rd, &mut fr)?;
        fr.e2e_none.push(rd.run_rm_with(&["--network", "none"])?);
        if let Some(e) = &dk {
            measure_round(e, &mut fd)?;
        }
    }
    let split = start_split(&d.log()[log_before..]);
    // The API steps run with `--network none` (≈ 0 ms here): keep the bridge runs' figures.
    let net_step: Vec<f64> = start_steps(&d.log()[log_before..])
        .remove("network")
        .unwrap_or_default()
        .into_iter()
        .filter(|ms| *ms > 0.05)
        .collect();
    let seq = sequence(&rd, args.sequence)?;
    let security = security_rows(&start_steps(&d.log()[log_before..]));
    for _ in 0..3 {
        let (rate, rm) = rd.parallel(args.parallel)?;
        fr.rate.push(rate);
        fr.rm_all.push(rm);
        if let Some(e) = &dk {
            let (rate, rm) = e.parallel(args.parallel)?;
            fd.rate.push(rate);
            fd.rm_all.push(rm);
        }
    }

    // One idle shim, next to a settled daemon.
    let out = d.cli(&["run", "-d", "busybox", "sleep", "60"]);
    if !out.success() {
        bail!("run -d: {out}");
    }
    // Idle = settled: rdockerd hands freed heap pages back every 5 s.
    std::thread::sleep(Duration::from_secs(6));
    let shims = procs::shims_under(d.dir());
    let shim_rss: Vec<f64> = shims.iter().filter_map(|p| rss_mib(*p)).collect();
    let idle_rss = rss_mib(dpid);
    d.cli(&["rm", "-f", out.stdout.trim()]);
    let dockerd_rss = docker.as_ref().and_then(|dd| rss_mib(dd.pid()));

    let n = args.runs;
    let p = args.parallel;
    let dash = |v: Option<f64>, unit: &str| v.map_or("—".into(), |x| format!("{x:.1} {unit}"));
    let rows: Vec<(String, String, String)> = vec![
        (
            format!("`run --rm busybox true`, CLI end to end (n={n})"),
            cell(&fr.e2e, "ms"),
            cell(&fd.e2e, "ms"),
        ),
        (
            format!("  the same with `--network none` (n={n})"),
            cell(&fr.e2e_none, "ms"),
            cell(&fd.e2e, "ms"),
        ),
        (
            "  the default bridge adds (median difference; goal ≤ 15 ms)".into(),
            match (median_min(&fr.e2e), median_min(&fr.e2e_none)) {
                (Some((b, _)), Some((none, _))) => format!("{:.1} ms", b - none),
                _ => "—".into(),
            },
            "not measured (the private dockerd runs without a bridge)".into(),
        ),
        (
            "API `POST /containers/create`".into(),
            cell(&fr.steps[0], "ms"),
            cell(&fd.steps[0], "ms"),
        ),
        (
            "API `POST …/start` (mounts, spawn, until the answer)".into(),
            cell(&fr.steps[1], "ms"),
            cell(&fd.steps[1], "ms"),
        ),
        (
            "  of which: bundle (dirs, /etc files, config.json)".into(),
            cell(&split[0], "ms"),
            "".into(),
        ),
        (
            "  of which: shim until created (namespaces, overlay, mounts, pivot_root, user)".into(),
            cell(&split[1], "ms"),
            "".into(),
        ),
        (
            "  of which: attach + start until execve".into(),
            cell(&split[2], "ms"),
            "".into(),
        ),
        (
            "  of which: state recorded (container.json, fsync)".into(),
            cell(&split[3], "ms"),
            "".into(),
        ),
        (
            "  network set-up in start (netns, veth, IPAM, ports; bridge runs only)".into(),
            cell(&net_step, "ms"),
            "".into(),
        ),
        (
            format!(
                "{} × `run -d` on one bridge in sequence: first 10 / last 10",
                args.sequence
            ),
            format!(
                "{} / {}",
                cell(&seq[..10.min(seq.len())], "ms"),
                cell(&seq[seq.len().saturating_sub(10)..], "ms")
            ),
            "".into(),
        ),
    ];
    let mut rows = rows;
    for (k, v) in security {
        rows.push((k, v, String::new()));
    }
    rows.extend(vec![
        (
            "API `POST …/wait` (the exit)".into(),
            cell(&fr.steps[2], "ms"),
            cell(&fd.steps[2], "ms"),
        ),
        (
            "API `DELETE /containers/{id}` (cleanup)".into(),
            cell(&fr.steps[3], "ms"),
            cell(&fd.steps[3], "ms"),
        ),
        (
            format!("{p} × `run -d` in parallel (3 rounds)"),
            rate_cell(&fr.rate, "containers/s"),
            rate_cell(&fd.rate, "containers/s"),
        ),
        (
            format!("`rm -f` of those {p}"),
            cell(&fr.rm_all, "s"),
            cell(&fd.rm_all, "s"),
        ),
        (
            "daemon RSS, fresh / idle after the runs".into(),
            format!("{} / {}", dash(fresh_rss, "MiB"), dash(idle_rss, "MiB")),
            format!("— / {} (dockerd alone)", dash(dockerd_rss, "MiB")),
        ),
        (
            "one idle shim's RSS".into(),
            cell(&shim_rss, "MiB"),
            "—".into(),
        ),
    ]);
    println!();
    println!("| measure | rdocker | docker 20.10 (`--network none`) |");
    println!("|---|---|---|");
    for (a, b, c) in rows {
        println!("| {a} | {b} | {c} |");
    }
    if dk.is_none() {
        println!(
            "\n(docker: not measured; examples/bench-run --with-docker adds a private dockerd)"
        );
    }
    println!(
        "\nmedian (min) over {n} runs each; {} cores; binaries from {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        Path::new(&rdocker_tests::util::bin_dir()).display()
    );
    Ok(())
}

/// The engine's per-start split (`start timings: bundle=…ms create=…ms exec=…ms record=…ms`
/// lines of a `-D` daemon): four series in ms.
fn start_split(log: &str) -> [Vec<f64>; 4] {
    let all = start_steps(log);
    ["bundle", "create", "exec", "record"].map(|k| all.get(k).cloned().unwrap_or_default())
}

/// Every `key=…ms` of the `start timings:` lines (engine steps such as `cgroup` and
/// `seccomp_compile`, the init's as `init.caps`, …), as series in ms.
fn start_steps(log: &str) -> std::collections::BTreeMap<String, Vec<f64>> {
    let mut out: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for line in log.lines().filter(|l| l.contains("start timings:")) {
        let Some((_, rest)) = line.split_once("start timings:") else {
            continue;
        };
        for w in rest.split_whitespace() {
            let Some((k, v)) = w.split_once('=') else {
                continue;
            };
            if let Ok(v) = v.trim_end_matches("ms").parse::<f64>() {
                out.entry(k.to_string()).or_default().push(v);
            }
        }
    }
    out
}

/// The security set-up of one start (issue 4's budget: ≤ 3 ms together): cgroup creation,
/// seccomp (compile or cache hit, then load in the init) and capabilities, summed per start.
const SECURITY_STEPS: [&str; 6] = [
    "cgroup",
    "seccomp_compile",
    "caps",
    "init.cgroup_join",
    "init.seccomp_load",
    "init.caps",
];

fn security_rows(steps: &std::collections::BTreeMap<String, Vec<f64>>) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut total: Vec<f64> = Vec::new();
    for k in SECURITY_STEPS {
        let Some(xs) = steps.get(k) else { continue };
        rows.push((format!("  security: {k}"), cell(xs, "ms")));
        if total.is_empty() {
            total = xs.clone();
        } else {
            for (t, x) in total.iter_mut().zip(xs) {
                *t += x;
            }
        }
    }
    if !total.is_empty() {
        rows.push((
            "  security set-up together (goal ≤ 3 ms)".into(),
            cell(&total, "ms"),
        ));
    }
    rows
}
