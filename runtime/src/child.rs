//! The child side of the shim's clone: the container's init (or the exec process) from the
//! moment it exists until execve, written as a list of named steps.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Process, Spec};

use crate::error::{Context, ShimError};
use crate::isolation::Isolation;
use crate::timings::{timed, Timings};
use crate::{caps, cgroupjoin, cwd, lookup, procattrs, pty, sys, sysctl, timings, tinyinit, user};

pub enum Stdio {
    Pipes {
        stdin: OwnedFd,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    /// The child creates the PTY and sends the master over this socket.
    Terminal { sock: OwnedFd },
}

pub enum Target<'a> {
    /// A new container: the rootfs crate builds its filesystem. `join` are namespaces given by
    /// path in the spec (setns), with their CLONE_NEW* type.
    Container {
        spec: &'a Spec,
        bundle: &'a Path,
        join: Vec<(OwnedFd, libc::c_int)>,
        new_uts: bool,
        new_net: bool,
        /// CLONE_NEWCGROUP is left out of the clone and unshared after the cgroup join, so
        /// that the namespace's root is the container's cgroup, not the shim's.
        new_cgroup: bool,
        iso: Isolation,
    },
    /// An exec: the container's namespaces, mount namespace last.
    Exec {
        ns: Vec<(OwnedFd, libc::c_int)>,
        iso: Isolation,
    },
}

impl Target<'_> {
    pub fn isolation(&self) -> &Isolation {
        match self {
            Target::Container { iso, .. } | Target::Exec { iso, .. } => iso,
        }
    }
}

pub struct ChildSetup<'a> {
    pub target: Target<'a>,
    pub process: &'a Process,
    /// Docker's `User` string when given; else `process.user` ids are used.
    pub user: Option<String>,
    pub group_add: Vec<String>,
    pub stdio: Stdio,
    /// Child → shim: the ready line, later an execve error; CLOEXEC, so EOF means execve worked.
    pub sync_w: OwnedFd,
    /// Shim → child: one byte = "start"; EOF = the shim is gone.
    pub start_r: OwnedFd,
    pub init: bool,
    /// The shim's pid when it is visible from the child (no new pid namespace).
    pub shim_pid: Option<libc::pid_t>,
    /// userns-remap: the container's user namespace (made by the shim), joined last.
    pub userns: Option<crate::userns::UserNs>,
}

/// Everything execve needs, computed before the ready line so that "start" cannot fail on it.
pub struct Prepared {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    pub arg0: String,
    pub terminal: bool,
}

/// Runs in the child; never returns.
pub fn run(setup: ChildSetup<'_>) -> ! {
    let mut t = Timings::default();
    let prepared = match prepare(&setup, &mut t) {
        Ok(p) => p,
        Err(e) => {
            report(&setup.sync_w, &error_line(&e));
            sys::exit_now(1);
        }
    };
    // From here on (with no_new_privs) the seccomp filter is in force: only write, read,
    // close, rt_sig*, close_range and execve (or the init's fork/wait) follow.
    report(&setup.sync_w, &timings::ready_line(&t));
    match sys::read_byte(&setup.start_r) {
        Ok(Some(_)) => {}
        // The shim is gone (or asked us to go away): never run the process.
        _ => sys::exit_now(1),
    }
    drop(setup.start_r);
    if setup.init {
        tinyinit::run(&prepared, setup.sync_w)
    } else {
        exec(&prepared, &setup.sync_w)
    }
}

pub fn error_line(e: &ShimError) -> String {
    let v = serde_json::json!({"error": e.to_string(), "exit_code": e.exit_code()});
    format!("{v}\n")
}

fn report(sync_w: &OwnedFd, line: &str) {
    if sys::write_all(sync_w, line.as_bytes()).is_err() {
        // The shim cannot hear us any more; nothing else to do.
        sys::exit_now(1);
    }
}

/// The init sequence, step by step; each step says what failed in its error.
fn prepare(s: &ChildSetup<'_>, t: &mut Timings) -> Result<Prepared, ShimError> {
    // First, before any mount or allocation: from here on the container's cgroups pay.
    timed(&mut t.cgroup_join, || {
        cgroupjoin::join(&s.target.isolation().cgroups)
    })?;
    sys::set_nondumpable().ctx(|| "prctl(PR_SET_DUMPABLE)")?;
    if let Target::Container {
        new_cgroup: true, ..
    } = &s.target
    {
        sys::unshare(libc::CLONE_NEWCGROUP).ctx(|| "unshare(CLONE_NEWCGROUP)")?;
    }
    join_namespaces(&s.target)?;
    connect_pipes(&s.stdio)?;
    let root = build_root(&s.target, s.userns.as_ref(), t)?;
    if let Stdio::Terminal { sock } = &s.stdio {
        let pts = match &root {
            Some(r) => r.join("dev/pts"),
            None => PathBuf::from("/dev/pts"),
        };
        setup_terminal(s.process, sock, &pts, root.as_deref())?;
    }
    let cwd = working_dir(s.process);
    if let (Some(root), Target::Container { spec, .. }) = (&root, &s.target) {
        rdocker_rootfs::pivot(root)?;
        // Our own /proc is mounted; readonlyPaths (finish) make /proc/sys read-only.
        if let Some(keys) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) {
            sysctl::apply(keys)?;
        }
        // Before a read-only remount; created as root, as docker does.
        crate::userns::owned_by_root(s.userns.as_ref(), cwd, || cwd::create(cwd))?;
        rdocker_rootfs::finish(spec)?;
    } else {
        cwd::create(cwd)?;
    }
    let (ids, home) = resolve_user(s)?;
    become_user(s, &ids, t)?;
    cwd::enter(cwd)?;
    let env = environment(s.process, &home);
    let args = s.process.args().clone().unwrap_or_default();
    let arg0 = args
        .first()
        .cloned()
        .ok_or_else(|| ShimError::Spec("process.args is empty".into()))?;
    let path = lookup::find(&arg0, &env)?;
    arm_parent_death(s.shim_pid)?;
    if no_new_privs(s.process) {
        procattrs::no_new_privs(s.process)?;
        // The last step: the filter then covers everything the container runs.
        load_seccomp(s, t)?;
    }
    Ok(Prepared {
        path: cstring(path.as_os_str().as_bytes())?,
        argv: args
            .iter()
            .map(|a| cstring(a.as_bytes()))
            .collect::<Result<_, _>>()?,
        envp: env
            .iter()
            .map(|a| cstring(a.as_bytes()))
            .collect::<Result<_, _>>()?,
        arg0,
        terminal: matches!(s.stdio, Stdio::Terminal { .. }),
    })
}

fn connect_pipes(stdio: &Stdio) -> Result<(), ShimError> {
    if let Stdio::Pipes {
        stdin,
        stdout,
        stderr,
    } = stdio
    {
        pty::dup_to(stdin, 0)?;
        pty::dup_to(stdout, 1)?;
        pty::dup_to(stderr, 2)?;
    }
    Ok(())
}

/// For a container: loopback up, the rootfs crate's mounts, the hostname. Returns the root.
fn build_root(
    target: &Target<'_>,
    userns: Option<&crate::userns::UserNs>,
    t: &mut Timings,
) -> Result<Option<PathBuf>, ShimError> {
    let Target::Container {
        spec,
        bundle,
        new_uts,
        new_net,
        ..
    } = target
    else {
        return Ok(None);
    };
    if *new_net {
        sys::loopback_up().ctx(|| "set the loopback interface up")?;
    }
    let opts = rdocker_rootfs::PrepareOptions {
        idmap_userns: userns.map(|u| u.fd.as_fd()),
    };
    let root = timed(&mut t.rootfs, || {
        rdocker_rootfs::prepare_with(spec, bundle, &opts)
    })?;
    if *new_uts {
        set_hostname(spec)?;
    }
    Ok(Some(root))
}

fn working_dir(p: &Process) -> &Path {
    let cwd = p.cwd();
    if cwd.as_os_str().is_empty() {
        Path::new("/")
    } else {
        cwd.as_path()
    }
}

fn no_new_privs(p: &Process) -> bool {
    p.no_new_privileges() == Some(true)
}

fn load_seccomp(s: &ChildSetup<'_>, t: &mut Timings) -> Result<(), ShimError> {
    match &s.target.isolation().seccomp {
        Some(f) => timed(&mut t.seccomp_load, || f.load()),
        None => Ok(()),
    }
}

/// rlimits, seccomp (without no_new_privs), capabilities and the uid/gid change, in the order
/// the kernel needs them.
fn become_user(s: &ChildSetup<'_>, ids: &Ids, t: &mut Timings) -> Result<(), ShimError> {
    t.userns += crate::userns::enter(s.userns.as_ref())?;
    let p = s.process;
    procattrs::before_user(p)?;
    if !no_new_privs(p) {
        // Without no_new_privs the kernel wants CAP_SYS_ADMIN for this, which the bounding-set
        // drop and the uid change are about to take away (runc loads it here too).
        load_seccomp(s, t)?;
    }
    let caps = p.capabilities().as_ref();
    if let Some(c) = caps {
        timed(&mut t.caps, || caps::before_user(c))?;
    }
    switch_user(ids)?;
    // A uid change resets "dumpable" to fs.suid_dumpable, which may be 1.
    sys::set_nondumpable().ctx(|| "prctl(PR_SET_DUMPABLE)")?;
    if let Some(c) = caps {
        timed(&mut t.caps, || caps::after_user(c))?;
    }
    Ok(())
}

/// PDEATHSIG after the uid change (which clears it). With the parent outside our pid namespace
/// getppid is 0; then the sync pipe tells us if it died before this point (the ready write
/// fails, the start read sees EOF).
fn arm_parent_death(shim_pid: Option<libc::pid_t>) -> Result<(), ShimError> {
    sys::set_pdeathsig(libc::SIGKILL).ctx(|| "prctl(PR_SET_PDEATHSIG)")?;
    if let Some(shim) = shim_pid {
        if rustix::process::getppid().map(|p| p.as_raw_nonzero().get()) != Some(shim) {
            return Err(ShimError::Spec("the shim exited during set-up".into()));
        }
    }
    Ok(())
}

fn cstring(b: &[u8]) -> Result<CString, ShimError> {
    CString::new(b).map_err(|_| ShimError::Spec("a NUL byte in args, env or path".into()))
}

fn join_namespaces(t: &Target<'_>) -> Result<(), ShimError> {
    let list = match t {
        Target::Container { join, .. } => join,
        Target::Exec { ns, .. } => ns,
    };
    for (fd, kind) in list {
        sys::setns(fd.as_fd(), *kind).ctx(|| format!("join namespace ({})", ns_name(*kind)))?;
    }
    Ok(())
}

pub fn ns_name(kind: libc::c_int) -> &'static str {
    match kind {
        libc::CLONE_NEWNET => "net",
        libc::CLONE_NEWIPC => "ipc",
        libc::CLONE_NEWUTS => "uts",
        libc::CLONE_NEWNS => "mnt",
        libc::CLONE_NEWPID => "pid",
        libc::CLONE_NEWCGROUP => "cgroup",
        libc::CLONE_NEWUSER => "user",
        _ => "namespace",
    }
}

fn set_hostname(spec: &Spec) -> Result<(), ShimError> {
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        rustix::system::sethostname(h.as_bytes()).ctx(|| format!("sethostname {h:?}"))?;
    }
    Ok(())
}

fn setup_terminal(
    process: &Process,
    sock: &OwnedFd,
    pts: &Path,
    root: Option<&Path>,
) -> Result<(), ShimError> {
    let t = pty::open(pts)?;
    if let Some(size) = process.console_size() {
        let h = u16::try_from(size.height()).unwrap_or(u16::MAX);
        let w = u16::try_from(size.width()).unwrap_or(u16::MAX);
        pty::set_size(&t.master, h, w)?;
    }
    pty::send_master(sock, &t.master)?;
    drop(t.master);
    pty::make_controlling(&t.slave)?;
    if let Some(root) = root {
        rdocker_rootfs::bind_console(root, &t.slave_path)?;
    }
    Ok(())
}

struct Ids {
    uid: u32,
    gid: u32,
    groups: Vec<u32>,
}

fn resolve_user(s: &ChildSetup<'_>) -> Result<(Ids, String), ShimError> {
    let spec_user = s.user.as_deref().filter(|u| !u.is_empty());
    if let Some(u) = spec_user {
        let r = user::resolve(Path::new("/"), u, &s.group_add)?;
        return Ok((
            Ids {
                uid: r.uid,
                gid: r.gid,
                groups: r.groups,
            },
            r.home,
        ));
    }
    let pu = s.process.user();
    let mut groups = pu.additional_gids().clone().unwrap_or_default();
    // group-add without a user still applies (docker resolves it for root too).
    if !s.group_add.is_empty() {
        let r = user::resolve(Path::new("/"), &pu.uid().to_string(), &s.group_add)?;
        for g in r.groups {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
    }
    let home = user::resolve(Path::new("/"), &pu.uid().to_string(), &[])
        .map(|r| r.home)
        .unwrap_or_else(|_| "/".into());
    Ok((
        Ids {
            uid: pu.uid(),
            gid: pu.gid(),
            groups,
        },
        home,
    ))
}

fn switch_user(ids: &Ids) -> Result<(), ShimError> {
    let groups: Vec<libc::gid_t> = ids.groups.clone();
    // SAFETY: setgroups reads `groups.len()` gids from a live Vec; setgid/setuid take integers.
    // The process is single-threaded, so the libc wrappers' cross-thread broadcast is moot.
    unsafe {
        if libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
            return Err(ShimError::sys(
                format!("setgroups {groups:?}"),
                std::io::Error::last_os_error(),
            ));
        }
        if libc::setgid(ids.gid) != 0 {
            return Err(ShimError::sys(
                format!("setgid {}", ids.gid),
                std::io::Error::last_os_error(),
            ));
        }
        if libc::setuid(ids.uid) != 0 {
            return Err(ShimError::sys(
                format!("setuid {}", ids.uid),
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(())
}

fn environment(process: &Process, home: &str) -> Vec<String> {
    let mut env = process.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={home}"));
    }
    env
}

/// The last step: execve; on failure the error goes to the shim through the sync pipe.
pub fn exec(p: &Prepared, sync_w: &OwnedFd) -> ! {
    sys::reset_signals();
    let err = match sys::cloexec_from_3() {
        Err(e) => ShimError::sys("close_range(CLOSE_RANGE_CLOEXEC)", e),
        Ok(()) => {
            let mut argv: Vec<*const libc::c_char> = p.argv.iter().map(|a| a.as_ptr()).collect();
            argv.push(std::ptr::null());
            let mut envp: Vec<*const libc::c_char> = p.envp.iter().map(|a| a.as_ptr()).collect();
            envp.push(std::ptr::null());
            // SAFETY: path, argv and envp are NUL-terminated C strings kept alive by `p`, and
            // both arrays end with a NULL pointer as execve requires.
            unsafe { libc::execve(p.path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
            lookup::exec_error(&p.arg0, &std::io::Error::last_os_error())
        }
    };
    let _ = sys::write_all(sync_w, error_line(&err).as_bytes());
    sys::exit_now(err.exit_code())
}
