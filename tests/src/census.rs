//! A count of everything a container can leave behind on the host, scoped to one daemon so
//! that other work on the machine does not disturb it: mounts, shims, tagged container
//! processes, the daemon's fds, state and run directories, volumes and cgroups, and the
//! network's veths, netns files, nftables elements and IP leases ([`NetCensus`]).

use std::fs;
use std::path::Path;

use crate::netcensus::NetCensus;
use crate::procs;
use crate::TestDaemon;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Census {
    /// Lines of /proc/self/mountinfo (the host's mount table) naming the daemon's dir.
    pub mounts: Vec<String>,
    /// All lines of /proc/self/mountinfo: reported, not compared (other work mounts too).
    pub host_mount_lines: usize,
    pub shims: Vec<u32>,
    /// Processes carrying the census tag in their environment.
    pub tagged: Vec<u32>,
    pub daemon_fds: usize,
    pub data_containers: Vec<String>,
    pub exec_containers: Vec<String>,
    pub exec_execs: Vec<String>,
    pub volumes: Vec<String>,
    /// Directories below `/sys/fs/cgroup/<controller>/` whose path mentions rdocker.
    pub cgroups: Vec<String>,
    pub net: NetCensus,
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Cgroup directories (two levels deep) under every hierarchy whose name mentions rdocker.
fn rdocker_cgroups() -> Vec<String> {
    let mut out = Vec::new();
    for ctrl in entries(Path::new("/sys/fs/cgroup")) {
        let base = Path::new("/sys/fs/cgroup").join(&ctrl);
        for top in entries(&base) {
            if !top.contains("rdocker") || !base.join(&top).is_dir() {
                continue;
            }
            out.push(format!("{ctrl}/{top}"));
            for sub in entries(&base.join(&top)) {
                if base.join(&top).join(&sub).is_dir() {
                    out.push(format!("{ctrl}/{top}/{sub}"));
                }
            }
        }
    }
    out
}

/// The cgroup dirs of this daemon's containers (every container id its event log ever named):
/// other tests' daemons make and remove their own cgroups meanwhile, and the `rdocker` parent
/// dir is shared by all of them.
fn own_cgroups(d: &TestDaemon) -> Vec<String> {
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.as_secs() + 1)
        .unwrap_or(0);
    let (_, body) = d.api("GET", &format!("/events?since=0&until={until}"));
    let ids: std::collections::HashSet<String> = body
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["Type"] == "container")
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect();
    rdocker_cgroups()
        .into_iter()
        .filter(|c| c.rsplit('/').next().is_some_and(|last| ids.contains(last)))
        .collect()
}

impl Census {
    /// Counts now. `tag` is the `KEY=VALUE` the test's containers carry (`-e`).
    pub fn take(d: &TestDaemon, tag: &str) -> Census {
        let dir = d.dir().display().to_string();
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        Census {
            mounts: mountinfo
                .lines()
                .filter(|l| l.contains(&dir))
                .map(String::from)
                .collect(),
            host_mount_lines: mountinfo.lines().count(),
            shims: procs::shims_under(d.dir()),
            tagged: procs::with_env(tag),
            daemon_fds: d.pid().map(procs::fd_count).unwrap_or(0),
            data_containers: entries(&d.data_root().join("containers")),
            exec_containers: entries(&d.exec_root().join("containers")),
            exec_execs: entries(&d.exec_root().join("exec")),
            volumes: entries(&d.data_root().join("volumes")),
            cgroups: own_cgroups(d),
            net: NetCensus::take(d),
        }
    }

    /// What `after` holds beyond `self`, one line per leak. `fd_slack` allows for fds a
    /// daemon opens lazily once (thread pools, epoll) and keeps.
    pub fn leaks(&self, after: &Census, fd_slack: usize) -> Vec<String> {
        let mut out = Vec::new();
        let extra = |what: &str, a: &[String], b: &[String], out: &mut Vec<String>| {
            for x in b.iter().filter(|x| !a.contains(x)) {
                out.push(format!("{what}: {x}"));
            }
        };
        extra("mount", &self.mounts, &after.mounts, &mut out);
        extra(
            "container dir",
            &self.data_containers,
            &after.data_containers,
            &mut out,
        );
        extra(
            "run dir",
            &self.exec_containers,
            &after.exec_containers,
            &mut out,
        );
        extra(
            "exec run dir",
            &self.exec_execs,
            &after.exec_execs,
            &mut out,
        );
        extra("volume", &self.volumes, &after.volumes, &mut out);
        extra("cgroup", &self.cgroups, &after.cgroups, &mut out);
        out.extend(self.net.leaks(&after.net));
        for p in after.shims.iter().filter(|p| !self.shims.contains(p)) {
            out.push(format!("shim process {p}"));
        }
        for p in after.tagged.iter().filter(|p| !self.tagged.contains(p)) {
            out.push(format!(
                "container process {p} ({})",
                procs::comm(*p).unwrap_or_default()
            ));
        }
        if after.daemon_fds > self.daemon_fds + fd_slack {
            out.push(format!(
                "rdockerd fds: {} before, {} after",
                self.daemon_fds, after.daemon_fds
            ));
        }
        out
    }
}
