//! The two shim commands: set up (everything that can fail before the `{"pid"}` line), then hand
//! over to the event loop.

use std::collections::HashMap;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};
use rustix::fs::{Mode, OFlags};

use crate::args::Command;
use crate::child::{ns_name, Target};
use crate::error::{Context, ShimError};
use crate::isolation::Isolation;
use crate::logfile::LogWriter;
use crate::server::{Server, Sockets};
use crate::spawn::{spawn, SpawnRequest};
use crate::state::{write_atomic, State, Status};
use crate::{sys, sysctl};

/// Runs a command to the end; returns the shim's exit status.
pub fn main(cmd: Command) -> i32 {
    // Whatever the caller leaked to us (fds without CLOEXEC) must never reach a container.
    let _ = sys::close_from_3();
    // A new session: signals to the daemon's process group must not reach the shim.
    let _ = rustix::process::setsid();
    let mut sockets = Vec::new();
    match setup(cmd, &mut sockets) {
        Ok((server, timings)) => {
            let pid = server.state.pid;
            let line = match timings {
                Some(t) => serde_json::json!({"pid": pid, "timings_us": t}),
                None => serde_json::json!({"pid": pid}),
            };
            announce(&format!("{line}\n"));
            crate::trim::drop_text_pages();
            server.run();
            0
        }
        Err(e) => {
            let line = serde_json::json!({"error": e.to_string(), "exit_code": e.exit_code()});
            announce(&format!("{line}\n"));
            for p in sockets {
                let _ = std::fs::remove_file(p);
            }
            1
        }
    }
}

/// Prints the one line the engine waits for, then points stdout at /dev/null so that nothing
/// later can write into (or block on) the engine's pipe.
fn announce(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
    if let Ok(null) = rustix::fs::open("/dev/null", OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())
    {
        let _ = rustix::stdio::dup2_stdout(&null);
    }
}

/// The server, and the init's set-up timings from its ready line.
type Setup = (Server, Option<serde_json::Value>);

fn setup(cmd: Command, sockets: &mut Vec<PathBuf>) -> Result<Setup, ShimError> {
    match cmd {
        Command::Container {
            id: _,
            bundle,
            run_dir,
            log_path,
        } => {
            let config = bundle.join("config.json");
            let spec = Spec::load(&config)
                .map_err(|e| ShimError::Spec(format!("{}: {e}", config.display())))?;
            let process = spec
                .process()
                .clone()
                .ok_or_else(|| ShimError::Spec("no process in config.json".into()))?;
            let annotations = spec.annotations().clone().unwrap_or_default();
            let iso = Isolation::from_annotations(&annotations)?;
            let (flags, join, joined_pid) = namespaces(&spec)?;
            check_sysctl(&spec, flags, &join)?;
            let bound = listen(&run_dir, sockets)?;
            let log = log_path.as_deref().map(LogWriter::open).transpose()?;
            let created = spawn(SpawnRequest {
                target: Target::Container {
                    spec: &spec,
                    bundle: &bundle,
                    join,
                    new_uts: flags & libc::CLONE_NEWUTS != 0,
                    new_net: flags & libc::CLONE_NEWNET != 0,
                    new_cgroup: flags & libc::CLONE_NEWCGROUP != 0,
                    iso,
                },
                // The cgroup namespace is unshared by the child, after its cgroup join.
                clone_flags: flags & !libc::CLONE_NEWCGROUP,
                process: &process,
                user: annotations.get("io.rdocker.user").cloned(),
                group_add: group_add(&annotations)?,
                init: flag(&annotations, "io.rdocker.init"),
                open_stdin: flag(&annotations, "io.rdocker.stdin"),
                parent_visible: flags & libc::CLONE_NEWPID == 0 && !joined_pid,
            })?;
            finish(bound, created, log, bundle.join("state.json"), &process)
        }
        Command::Exec {
            id: _,
            container_pid,
            bundle,
            run_dir,
            process,
            stdin,
        } => {
            let text = std::fs::read(&process).ctx(|| format!("read {}", process.display()))?;
            let proc: Process = serde_json::from_slice(&text)
                .map_err(|e| ShimError::Spec(format!("{}: {e}", process.display())))?;
            // The container's cgroups and seccomp filter apply to its exec processes too.
            let iso = Isolation::from_bundle(&bundle)?;
            let bound = listen(&run_dir, sockets)?;
            let ns = container_namespaces(container_pid)?;
            let created = spawn(SpawnRequest {
                target: Target::Exec { ns, iso },
                clone_flags: 0,
                process: &proc,
                user: proc.user().username().clone(),
                group_add: Vec::new(),
                init: false,
                open_stdin: stdin,
                parent_visible: false,
            })?;
            finish(bound, created, None, run_dir.join("state.json"), &proc)
        }
    }
}

fn finish(
    sockets: Sockets,
    mut created: crate::spawn::Created,
    log: Option<LogWriter>,
    state_path: PathBuf,
    process: &Process,
) -> Result<Setup, ShimError> {
    let timings = created.timings.take();
    let state = State {
        shim_pid: rustix::process::getpid().as_raw_nonzero().get(),
        pid: created.pid,
        status: Status::Created,
        started_at: None,
        exit_code: None,
        finished_at: None,
        error: None,
    };
    if let Err(e) = write_atomic(&state_path, &state) {
        let _ = sys::kill(created.pid, libc::SIGKILL);
        let _ = crate::spawn::reap(created.pid);
        return Err(e);
    }
    let server = Server::new(
        sockets,
        created,
        log,
        state,
        state_path,
        process.terminal().unwrap_or(false),
    );
    Ok((server, timings))
}

/// linux.sysctl: only keys scoped by the container's own namespaces (refused before clone).
fn check_sysctl(spec: &Spec, flags: libc::c_int, join: &Joins) -> Result<(), ShimError> {
    let Some(keys) = spec.linux().as_ref().and_then(|l| l.sysctl().clone()) else {
        return Ok(());
    };
    let joined_other = |kind: libc::c_int| -> Result<bool, ShimError> {
        for (fd, k) in join {
            if *k == kind {
                return sys::is_other_ns(fd.as_fd(), ns_name(kind))
                    .ctx(|| format!("stat the joined {} namespace", ns_name(kind)));
            }
        }
        Ok(false)
    };
    let scope = sysctl::Scope {
        new_net: flags & libc::CLONE_NEWNET != 0 || joined_other(libc::CLONE_NEWNET)?,
        new_ipc: flags & libc::CLONE_NEWIPC != 0 || joined_other(libc::CLONE_NEWIPC)?,
        new_uts: flags & libc::CLONE_NEWUTS != 0 || joined_other(libc::CLONE_NEWUTS)?,
    };
    sysctl::check(&keys, scope)
}

/// Binds both sockets; `cleanup` learns each path as soon as it exists.
fn listen(run_dir: &Path, cleanup: &mut Vec<PathBuf>) -> Result<Sockets, ShimError> {
    let mut bind = |name: &str| {
        let p = run_dir.join(name);
        // A stale socket from a previous shim of the same id would make bind fail.
        let _ = std::fs::remove_file(&p);
        let l = UnixListener::bind(&p).ctx(|| format!("listen on {}", p.display()))?;
        cleanup.push(p);
        Ok::<_, ShimError>(l)
    };
    let ctl = bind("ctl.sock")?;
    let attach = bind("attach.sock")?;
    Ok(Sockets {
        ctl,
        attach,
        paths: cleanup.clone(),
    })
}

fn flag(a: &HashMap<String, String>, key: &str) -> bool {
    a.get(key).is_some_and(|v| v == "true")
}

fn group_add(a: &HashMap<String, String>) -> Result<Vec<String>, ShimError> {
    match a.get("io.rdocker.group-add") {
        None => Ok(Vec::new()),
        Some(v) => serde_json::from_str(v)
            .map_err(|e| ShimError::Spec(format!("annotation io.rdocker.group-add: {e}"))),
    }
}

type Joins = Vec<(OwnedFd, libc::c_int)>;

/// CLONE_NEW* flags for namespaces without a path; those with a path are opened to be joined.
/// A pid namespace given by path is joined here, in the shim: setns(CLONE_NEWPID) only affects
/// the caller's future children.
fn namespaces(spec: &Spec) -> Result<(libc::c_int, Joins, bool), ShimError> {
    let mut flags = 0;
    let mut joined_pid = false;
    let mut join = Vec::new();
    let list = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    for ns in list {
        let kind = match ns.typ() {
            LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
            LinuxNamespaceType::Network => libc::CLONE_NEWNET,
            LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
            LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
            LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
            LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
            // Made (or opened) by spawn and joined last by the init: userns.rs.
            LinuxNamespaceType::User => continue,
            other => {
                return Err(ShimError::Spec(format!(
                    "namespace {other:?} is not supported"
                )));
            }
        };
        match ns.path() {
            None => flags |= kind,
            Some(path) => {
                let fd = open_ns(path)?;
                if kind == libc::CLONE_NEWPID {
                    sys::setns(fd.as_fd(), kind)
                        .ctx(|| format!("join pid namespace {}", path.display()))?;
                    joined_pid = true;
                } else {
                    join.push((fd, kind));
                }
            }
        }
    }
    if flags & libc::CLONE_NEWNS == 0 {
        return Err(ShimError::Spec(
            "a new mount namespace is required (the container's mounts must not reach the host)"
                .into(),
        ));
    }
    Ok((flags, join, joined_pid))
}

fn open_ns(path: &Path) -> Result<OwnedFd, ShimError> {
    rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .ctx(|| format!("open namespace {}", path.display()))
}

/// For an exec: the container's ipc, uts, net, cgroup (when it has its own; the child joins
/// it after its cgroups) and mnt namespaces (mnt last, it changes our root); its pid namespace
/// is joined here so that the forked child is born in it.
fn container_namespaces(pid: i32) -> Result<Joins, ShimError> {
    let mut out = Vec::new();
    let pidns = open_ns(Path::new(&format!("/proc/{pid}/ns/pid")))?;
    for kind in [
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWCGROUP,
        libc::CLONE_NEWNS,
    ] {
        let path = format!("/proc/{pid}/ns/{}", ns_name(kind));
        let fd = open_ns(Path::new(&path))?;
        let own_cgroupns = || {
            sys::is_other_ns(fd.as_fd(), "cgroup")
                .map(|other| !other)
                .ctx(|| format!("stat {path}"))
        };
        if kind == libc::CLONE_NEWCGROUP && own_cgroupns()? {
            continue;
        }
        out.push((fd, kind));
    }
    // userns-remap: the user namespace last, after the joins that need host root.
    if let Some(fd) = crate::userns::open_container(pid)? {
        out.push((fd, libc::CLONE_NEWUSER));
    }
    sys::setns(pidns.as_fd(), libc::CLONE_NEWPID)
        .ctx(|| format!("join the pid namespace of container process {pid}"))?;
    Ok(out)
}
