//! userns-remap through the real shim: the busybox rootfs is an overlay lower layer owned by
//! host root, mounted id-mapped, with the container's root mapped to host uid 100000.

mod common;

use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const HOST_ROOT: u32 = 100_000;

/// Applets the common bundle lacks, linked into the layer.
const MORE_APPLETS: &[&str] = &["stat", "touch", "mount", "sed"];

struct Remapped {
    b: Bundle,
    layer: PathBuf,
    upper: PathBuf,
}

/// A bundle whose root is an overlay: the common busybox rootfs moved to a layer directory
/// (host root's, never chowned), an upper and work dir owned by the remapped root as the
/// engine makes them. `userns` false: the same overlay without remapping (for timing).
fn remapped(args: &[&str], opts: Opts, userns: bool) -> Remapped {
    let b = bundle(args, opts);
    let layer = b.tmp.path().join("layer");
    std::fs::rename(b.bundle.join("rootfs"), &layer).unwrap();
    std::fs::create_dir_all(layer.join("mnt")).unwrap();
    // busybox itself is hard-linked into every test's bundle (its ctime moves with each link).
    std::fs::write(layer.join("etc/image-file"), "from the image\n").unwrap();
    for a in MORE_APPLETS {
        symlink("busybox", layer.join("bin").join(a)).unwrap();
    }
    std::fs::create_dir(b.bundle.join("rootfs")).unwrap();
    let upper = b.tmp.path().join("upper");
    let work = b.tmp.path().join("work");
    for d in [&upper, &work] {
        std::fs::create_dir(d).unwrap();
        if userns {
            std::os::unix::fs::chown(d, Some(HOST_ROOT), Some(HOST_ROOT)).unwrap();
        }
    }
    let config = b.bundle.join("config.json");
    let mut spec: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    let ann = &mut spec["annotations"];
    ann["io.rdocker.overlay.lowerdir"] = json!(json!([layer]).to_string());
    ann["io.rdocker.overlay.upperdir"] = json!(upper);
    ann["io.rdocker.overlay.workdir"] = json!(work);
    if userns {
        let map = json!([{"containerID": 0, "hostID": HOST_ROOT, "size": 65536}]);
        let linux = &mut spec["linux"];
        linux["uidMappings"] = map.clone();
        linux["gidMappings"] = map;
        linux["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
    }
    std::fs::write(&config, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
    Remapped { b, layer, upper }
}

fn owner(p: &Path) -> (u32, u32) {
    let m = std::fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.uid(), m.gid())
}

fn ctime(p: &Path) -> (i64, i64) {
    let m = std::fs::symlink_metadata(p).unwrap();
    (m.ctime(), m.ctime_nsec())
}

fn status_ids(pid: i32, key: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn all_caps() -> Value {
    let caps = json!([
        "CAP_SYS_ADMIN",
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FOWNER",
        "CAP_SETUID",
        "CAP_SETGID"
    ]);
    json!({"capabilities": {"bounding": caps, "effective": caps, "permitted": caps}})
}

const SCRIPT: &str = "id -u; id -g; cat /proc/self/uid_map; stat -c %u:%g /etc/image-file; \
    touch /newfile && echo touched; echo extra >> /etc/passwd && echo copied-up; \
    mount -t tmpfs none /mnt; echo mount=$?; grep CapEff /proc/self/status; \
    stat -c %u:%g /dev; touch /dev/x && echo dev-writable";

#[test]
fn remapped_root_is_root_inside_and_100000_outside_with_layers_untouched() {
    let r = remapped(
        &["sh", "-c", SCRIPT],
        Opts {
            process_extra: all_caps(),
            ..Opts::default()
        },
        true,
    );
    let busybox = r.layer.join("bin/busybox");
    let passwd = r.layer.join("etc/passwd");
    let image_file = r.layer.join("etc/image-file");
    let before = (
        ctime(&image_file),
        ctime(&passwd),
        ctime(&r.layer.join("bin")),
    );
    let shim = create(&r.b).unwrap_or_else(|(v, _)| panic!("create failed: {v}"));
    eprintln!(
        "userns create {:?}, timings {}",
        shim.create_time, shim.hello
    );
    let (code, out, err) = run_created(shim, &["sh"], &r.b);
    assert_eq!(code, 0, "{out} {err}");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines[0], "0", "id -u inside: {out}");
    assert_eq!(lines[1], "0", "id -g inside: {out}");
    let map: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(map, ["0", "100000", "65536"], "uid_map: {out}");
    assert_eq!(
        lines[3], "0:0",
        "the id-mapped layer shows host root as 0: {out}"
    );
    assert_eq!(lines[4], "touched", "{out} {err}");
    assert_eq!(lines[5], "copied-up", "{out} {err}");
    assert_ne!(
        lines[6], "mount=0",
        "mount inside must fail even with CAP_SYS_ADMIN: {err}"
    );
    assert!(lines[6].starts_with("mount="), "{out}");
    let cap_eff = u64::from_str_radix(lines[7].trim_start_matches("CapEff:").trim(), 16).unwrap();
    assert_ne!(cap_eff & (1 << 21), 0, "CAP_SYS_ADMIN was effective: {out}");
    // /dev (a tmpfs the init mounts as host root) belongs to the container's root, as when
    // runc mounts it inside the user namespace.
    assert_eq!(lines[8], "0:0", "/dev owner: {out}");
    assert_eq!(lines[9], "dev-writable", "{out} {err}");

    assert_eq!(owner(&r.upper.join("newfile")), (HOST_ROOT, HOST_ROOT));
    assert_eq!(owner(&r.upper.join("etc/passwd")), (HOST_ROOT, HOST_ROOT));
    assert!(std::fs::read_to_string(r.upper.join("etc/passwd"))
        .unwrap()
        .ends_with("extra\n"));
    // The layer: still host root's, not written, not chowned (a chown changes ctime).
    assert_eq!(owner(&busybox), (0, 0));
    assert_eq!(owner(&image_file), (0, 0));
    assert_eq!(owner(&passwd), (0, 0));
    assert!(!std::fs::read_to_string(&passwd).unwrap().contains("extra"));
    assert_eq!(
        before,
        (
            ctime(&image_file),
            ctime(&passwd),
            ctime(&r.layer.join("bin"))
        )
    );
    assert!(!r.layer.join("newfile").exists());
}

#[test]
fn the_init_runs_as_100000_on_the_host_and_exec_joins_its_user_namespace() {
    let r = remapped(&["sleep", "100"], Opts::default(), true);
    let shim = create(&r.b).unwrap_or_else(|(v, _)| panic!("create failed: {v}"));
    assert_eq!(shim.start(), json!({"ok": true}));
    assert_eq!(status_ids(shim.pid, "Uid:"), "100000 100000 100000 100000");
    assert_eq!(status_ids(shim.pid, "Gid:"), "100000 100000 100000 100000");
    let (code, out, err) = run_exec(
        &shim,
        &r.b,
        json!({"args": ["sh", "-c", "id -u; cat /proc/self/uid_map; stat -c %u /bin/busybox"],
               "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}}),
    );
    assert_eq!(code, 0, "{out} {err}");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines[0], "0", "{out}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    assert_eq!(lines[2], "0", "{out}");
    kill_and_reap(shim);
}

#[test]
fn an_image_user_maps_to_its_offset_on_the_host() {
    let r = remapped(
        &["sleep", "100"],
        Opts::default().annotate("io.rdocker.user", "alice"),
        true,
    );
    let shim = create(&r.b).unwrap_or_else(|(v, _)| panic!("create failed: {v}"));
    assert_eq!(shim.start(), json!({"ok": true}));
    assert_eq!(status_ids(shim.pid, "Uid:"), "101000 101000 101000 101000");
    assert_eq!(status_ids(shim.pid, "Gid:"), "101000 101000 101000 101000");
    let (code, out, err) = run_exec(
        &shim,
        &r.b,
        json!({"args": ["sh", "-c", "id -u; id -g"], "env": ["PATH=/bin"], "cwd": "/",
               "user": {"uid": 1000, "gid": 1000}}),
    );
    assert_eq!((code, out.as_str()), (0, "1000\n1000\n"), "{err}");
    kill_and_reap(shim);
}

#[test]
fn a_user_namespace_without_mappings_is_refused() {
    let r = remapped(&["true"], Opts::default(), true);
    let config = r.b.bundle.join("config.json");
    let mut spec: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    spec["linux"].as_object_mut().unwrap().remove("gidMappings");
    std::fs::write(&config, spec.to_string()).unwrap();
    match create(&r.b) {
        Ok(_) => panic!("created without gidMappings"),
        Err((v, mut child)) => {
            assert_eq!(v["exit_code"], 125, "{v}");
            let msg = v["error"].as_str().unwrap();
            assert!(msg.contains("needs linux.gidMappings"), "{msg}");
            assert!(!child.wait().unwrap().success());
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Prints the create time (spawn → `{"pid"}` line) of the same overlay bundle with and without
/// remapping; not asserted (shared 2-core machines), the goal is ≤ 2 ms of difference.
#[test]
fn bench_create_time_with_and_without_userns() {
    const RUNS: usize = 9;
    let mut plain = Vec::new();
    let mut userns = Vec::new();
    let mut timing = Value::Null;
    for i in 0..RUNS * 2 {
        let with = i % 2 == 1;
        let r = remapped(&["true"], Opts::default(), with);
        let shim = create(&r.b).unwrap_or_else(|(v, _)| panic!("create failed: {v}"));
        if with {
            userns.push(shim.create_time);
            timing = shim.hello["timings_us"].clone();
        } else {
            plain.push(shim.create_time);
        }
        let (code, _, err) = run_created(shim, &["true"], &r.b);
        assert_eq!(code, 0, "{err}");
    }
    let (p, u) = (median(plain.clone()), median(userns.clone()));
    eprintln!(
        "BENCH create: without userns median {p:?} min {:?}; with userns median {u:?} min {:?}; \
         difference of medians {:?}; last userns timings_us {timing}",
        plain.iter().min().unwrap(),
        userns.iter().min().unwrap(),
        u.saturating_sub(p),
    );
}

#[test]
fn a_missing_working_directory_belongs_to_the_remapped_root() {
    let r = remapped(
        &["sh", "-c", "stat -c %u:%g . ..; touch x && echo writable"],
        Opts {
            cwd: "/work/dir".into(),
            ..Opts::default()
        },
        true,
    );
    let shim = create(&r.b).unwrap_or_else(|(v, _)| panic!("create failed: {v}"));
    let (code, out, err) = run_created(shim, &["sh"], &r.b);
    assert_eq!((code, out.as_str()), (0, "0:0\n0:0\nwritable\n"), "{err}");
    assert_eq!(owner(&r.upper.join("work/dir")), (HOST_ROOT, HOST_ROOT));
}

#[test]
fn a_terminal_under_remapping_with_init() {
    let o = Opts {
        terminal: true,
        ..Default::default()
    }
    .annotate("io.rdocker.init", "true");
    let r = remapped(
        &["sh", "-c", "tty; stat -c %g $(tty); id -u; echo done"],
        o,
        true,
    );
    let shim = create(&r.b).unwrap_or_else(|(v, _)| panic!("create failed: {v}"));
    let wait = shim.wait_conn();
    let mut a = shim.attach(json!({"stdin": false, "stdout": true}));
    assert_eq!(shim.start(), json!({"ok": true}));
    let out = read_until(&mut a, "done\r\n");
    // devpts' gid=5 (tty) is read in the container's terms, as if mounted inside its namespace.
    assert_eq!(out, "/dev/pts/0\r\n5\r\n0\r\ndone\r\n");
    assert_eq!(finish_wait(wait), 0);
    shim.reap();
}
