//! Bad input at create, and the stock docker CLI's stats/update/pause.

use std::time::Duration;

use crate::http::{api, inspect, setup};
use crate::{assert_no_cgroup, cg_file, CgroupGuard, MIB, TICKER};
use rdocker_tests::e2e::docker_cli;
use rdocker_tests::require_root;
use serde_json::json;

#[test]
fn impossible_limits_are_400_and_leave_nothing() {
    require_root!();
    let (_reg, d) = setup();
    let n = std::thread::available_parallelism().unwrap().get();
    let cases = [
        (
            json!({"Memory": 1024}),
            "Minimum memory limit allowed is 6MB".to_string(),
        ),
        (
            json!({"NanoCpus": 99_000_000_000i64}),
            format!("Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available"),
        ),
        (
            json!({"CpusetCpus": "7"}),
            "Requested CPUs are not available - requested 7, available: ".to_string(),
        ),
        (
            json!({"BlkioWeight": 5}),
            "Range of blkio weight is from 10 to 1000".to_string(),
        ),
        (
            json!({"MemorySwap": 64 * MIB}),
            "You should always set the Memory limit when using Memoryswap limit, see usage"
                .to_string(),
        ),
        (
            json!({"NanoCpus": 1_000_000_000, "CpuQuota": 50000}),
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set".to_string(),
        ),
    ];
    for (hc, msg) in cases {
        let r = api(
            &d,
            "POST",
            "/containers/create",
            Some(json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": hc})),
        );
        assert_eq!(r.status, 400, "{hc}: {}", r.text());
        let m = r.json()["message"].as_str().unwrap_or("").to_string();
        assert!(m.starts_with(&msg), "{hc}: {m:?} (want {msg:?})");
    }
    let all = api(&d, "GET", "/containers/json?all=1", None).json();
    assert_eq!(all.as_array().unwrap().len(), 0, "{all}");
    let dirs = std::fs::read_dir(d.data_root().join("containers"))
        .map(|r| r.count())
        .unwrap_or(0);
    assert_eq!(dirs, 0);

    // A knob this host lacks is a warning, as dockerd words it, not an error.
    if !std::path::Path::new("/sys/fs/cgroup/blkio/blkio.weight").exists()
        && !std::path::Path::new("/sys/fs/cgroup/blkio/blkio.bfq.weight").exists()
    {
        let r = api(
            &d,
            "POST",
            "/containers/create",
            Some(json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"BlkioWeight": 500}})),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(
            r.json()["Warnings"],
            json!(["Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."])
        );
        let id = r.json()["Id"].as_str().unwrap().to_string();
        assert!(inspect(&d, &id)["HostConfig"]["BlkioWeight"].is_null());
    }
    let r = api(
        &d,
        "POST",
        "/containers/create",
        Some(json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"OomKillDisable": true}})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let w = r.json()["Warnings"].to_string();
    assert!(
        w.contains("OOM killer is disabled for the container, but no memory limit is set"),
        "{w}"
    );
}

#[test]
fn docker_cli_stats_update_pause() {
    require_root!();
    let Some(docker) = docker_cli() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "no docker CLI and CI is set"
        );
        eprintln!("SKIP docker_cli_stats_update_pause: no docker CLI");
        return;
    };
    let guard = CgroupGuard::default();
    let (_reg, d) = setup();
    let run = d.docker(
        &docker,
        &[
            "run",
            "-d",
            "--name",
            "dst",
            "--memory",
            "64m",
            "--pids-limit",
            "20",
            "busybox",
            "sh",
            "-c",
            TICKER,
        ],
    );
    run.assert_ok();
    let id = run.stdout.trim().to_string();
    guard.add(&id);
    let st = d.docker(&docker, &["stats", "--no-stream", "dst"]);
    st.assert_ok();
    let out = st.stdout.clone();
    assert!(
        out.contains("MEM USAGE / LIMIT") && out.contains("PIDS"),
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.contains("dst"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains("/ 64MiB"), "{row}");
    let cols: Vec<&str> = row.split_whitespace().collect();
    let pids: u32 = cols
        .last()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{row}"));
    assert!(pids >= 1, "{row}");
    assert!(cols[2].ends_with('%'), "CPU % column: {row}");

    let up = d.docker(&docker, &["update", "--memory", "100m", "dst"]);
    up.assert_ok();
    assert_eq!(
        cg_file("memory", &id, "memory.limit_in_bytes"),
        (100 * MIB).to_string()
    );
    let st = d.docker(
        &docker,
        &["stats", "--no-stream", "--format", "{{.MemUsage}}", "dst"],
    );
    st.assert_ok();
    assert!(st.stdout.contains("/ 100MiB"), "{st}");

    d.docker(&docker, &["update", "--restart", "on-failure:3", "dst"])
        .assert_ok();
    let rp = inspect(&d, &id)["HostConfig"]["RestartPolicy"].clone();
    assert_eq!(rp, json!({"Name": "on-failure", "MaximumRetryCount": 3}));

    // Streaming (the CLI's default): rows keep coming.
    let mut cmd = d.docker_command(
        &docker,
        &[
            "stats",
            "--format",
            "{{.Name}} {{.MemUsage}} {{.PIDs}}",
            "dst",
        ],
    );
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(3500));
    // SAFETY: kill(2) on the child we just spawned and have not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.matches("dst ").count() >= 2 && text.contains("/ 100MiB"),
        "{text}"
    );

    // --cpus 0.5 holds a busy loop near 50 %, and stats shows it.
    let busy = d.docker(
        &docker,
        &[
            "run",
            "-d",
            "--name",
            "busy",
            "--cpus",
            "0.5",
            "busybox",
            "sh",
            "-c",
            "while :; do :; done",
        ],
    );
    busy.assert_ok();
    guard.add(busy.stdout.trim());
    let st = d.docker(
        &docker,
        &["stats", "--no-stream", "--format", "{{.CPUPerc}}", "busy"],
    );
    st.assert_ok();
    let pct: f64 = st
        .stdout
        .trim()
        .trim_end_matches('%')
        .parse()
        .unwrap_or_else(|_| panic!("{st}"));
    assert!(
        (10.0..=65.0).contains(&pct),
        "CPU % of a 0.5-cpu busy loop: {pct}"
    );
    d.docker(&docker, &["rm", "-f", "busy"]).assert_ok();

    d.docker(&docker, &["pause", "dst"]).assert_ok();
    let ps = d.docker(
        &docker,
        &[
            "ps",
            "--filter",
            "status=paused",
            "--format",
            "{{.Names}} {{.Status}}",
        ],
    );
    ps.assert_ok();
    assert!(
        ps.stdout.contains("dst Up") && ps.stdout.contains("(Paused)"),
        "{ps}"
    );
    d.docker(&docker, &["unpause", "dst"]).assert_ok();
    d.docker(&docker, &["rm", "-f", "dst"]).assert_ok();
    assert_no_cgroup(&id);
}
