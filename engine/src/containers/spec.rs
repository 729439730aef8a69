//! The OCI runtime spec (`<bundle>/config.json`) for a container, and the `process.json` of an
//! exec. The security pieces (capabilities, seccomp, masked paths, devices, rlimits, sysctls,
//! user namespace) come from [`super::security::Applied`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    BoxBuilder, LinuxBuilder, LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespaceBuilder,
    LinuxNamespaceType, Mount, MountBuilder, Process, ProcessBuilder, RootBuilder, Spec,
    SpecBuilder, UserBuilder,
};

use super::error::ContainerError;
use super::record::{Container, MountKind, MountSpec};
use super::security::{self, caps, devices, rlimits, userns::IdMap, Applied, Security};

/// Annotation naming the compiled seccomp filter (runtime/PROTOCOL.md).
pub const SECCOMP_ANNOTATION: &str = "io.rdocker.seccomp.bpf";
/// The filter's file in the bundle.
pub const SECCOMP_FILE: &str = "seccomp.bpf";

pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A container mount with its host side resolved (volume names → data dirs).
#[derive(Debug, Clone)]
pub struct ResolvedMount {
    pub spec: MountSpec,
    pub host_path: PathBuf,
    /// Named/anonymous volume that is new or empty: fill it from the image first.
    pub copyup: bool,
}

fn mount(dst: &str, typ: &str, src: &str, opts: &[&str]) -> Result<Mount, oci_spec::OciSpecError> {
    MountBuilder::default()
        .destination(PathBuf::from(dst))
        .typ(typ)
        .source(PathBuf::from(src))
        .options(opts.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()
}

/// docker's `CreateDaemonEnvironment` + the container's env: PATH, HOSTNAME, TERM with a TTY,
/// then the config's env replacing by key.
pub fn process_env(c: &Container, extra: &[String], tty: bool) -> Vec<String> {
    let mut base = vec![
        DEFAULT_PATH.to_string(),
        format!("HOSTNAME={}", c.config.hostname.as_deref().unwrap_or("")),
    ];
    if tty {
        base.push("TERM=xterm".to_string());
    }
    let cfg_env: Vec<String> = c.config.env.clone().unwrap_or_default();
    let env = super::create::merge_env(&base, &cfg_env);
    super::create::merge_env(&env, extra)
}

/// What the process gets beyond its command: capabilities, no_new_privs, rlimits.
struct ProcSec<'a> {
    caps: u64,
    no_new_privileges: bool,
    rlimits: &'a [security::Ulimit],
}

fn process(
    args: Vec<String>,
    env: Vec<String>,
    cwd: &str,
    tty: bool,
    console: Option<(u64, u64)>,
    sec: &ProcSec,
) -> Result<Process, oci_spec::OciSpecError> {
    let mut p = ProcessBuilder::default()
        .terminal(tty)
        .user(UserBuilder::default().uid(0u32).gid(0u32).build()?)
        .args(args)
        .env(env)
        .cwd(PathBuf::from(if cwd.is_empty() { "/" } else { cwd }))
        .capabilities(caps::spec(sec.caps)?)
        .no_new_privileges(sec.no_new_privileges);
    if !sec.rlimits.is_empty() {
        p = p.rlimits(rlimits::spec(sec.rlimits)?);
    }
    if let (true, Some((h, w))) = (tty, console) {
        p = p.console_size(BoxBuilder::default().height(h).width(w).build()?);
    }
    let mut p = p.build()?;
    // The builder's default is RLIMIT_NOFILE 1024; docker sets only what was asked for and the
    // process otherwise inherits the daemon's limits.
    if sec.rlimits.is_empty() {
        p.set_rlimits(None);
    }
    Ok(p)
}

fn id_maps(m: &[IdMap]) -> Result<Vec<LinuxIdMapping>, oci_spec::OciSpecError> {
    m.iter()
        .map(|m| {
            LinuxIdMappingBuilder::default()
                .container_id(m.container_id)
                .host_id(m.host_id)
                .size(m.size)
                .build()
        })
        .collect()
}

fn console_of(v: &Option<Vec<usize>>) -> Option<(u64, u64)> {
    match v.as_deref() {
        Some([h, w]) if *h > 0 && *w > 0 => Some((*h as u64, *w as u64)),
        _ => None,
    }
}

/// `cgroup_dirs`: `io.rdocker.cgroup.paths` (empty = no cgroup join).
pub fn build(
    c: &Container,
    bundle: &Path,
    lower_dirs: &[PathBuf],
    volumes: &[ResolvedMount],
    sec: &Applied,
    cgroup_dirs: &[PathBuf],
) -> Result<Spec, oci_spec::OciSpecError> {
    let hc = &c.host_config;
    let tty = c.tty();
    let args: Vec<String> = std::iter::once(c.path.clone())
        .chain(c.args.iter().cloned())
        .collect();
    let proc = process(
        args,
        process_env(c, &[], tty),
        c.config.working_dir.as_deref().unwrap_or(""),
        tty,
        console_of(&hc.console_size),
        &ProcSec {
            caps: sec.caps,
            no_new_privileges: sec.no_new_privileges,
            rlimits: &sec.rlimits,
        },
    )?;
    // Privileged: /sys and the cgroup file system writable, as docker.
    let ro = if sec.privileged { "rw" } else { "ro" };
    let shm_size = format!("size={}", sec.shm_size);

    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount("/sys", "sysfs", "sysfs", &["nosuid", "noexec", "nodev", ro])?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", ro],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_size],
        )?,
    ];
    for f in ["resolv.conf", "hostname", "hosts"] {
        let src = bundle.join(f);
        mounts.push(mount(
            &format!("/etc/{f}"),
            "bind",
            &src.display().to_string(),
            &["rbind", "rprivate"],
        )?);
    }
    for v in volumes {
        let m = &v.spec;
        match m.kind {
            MountKind::Tmpfs => {
                let opts: Vec<&str> = m.options.iter().map(String::as_str).collect();
                mounts.push(mount(&m.destination, "tmpfs", "tmpfs", &opts)?);
            }
            MountKind::Bind | MountKind::Volume => {
                let prop = if m.propagation.is_empty() {
                    "rprivate"
                } else {
                    m.propagation.as_str()
                };
                let mut opts = vec!["rbind", prop];
                if !m.rw {
                    opts.push("ro");
                }
                if m.mkdir_source {
                    opts.push("rdocker.mkdir-source");
                }
                if v.copyup {
                    opts.push("rdocker.copyup");
                }
                mounts.push(mount(
                    &m.destination,
                    "bind",
                    &v.host_path.display().to_string(),
                    &opts,
                )?);
            }
        }
    }

    let host = |m: &Option<String>| m.as_deref() == Some("host");
    let mut ns = vec![LinuxNamespaceType::Mount];
    if !host(&hc.pid_mode) {
        ns.push(LinuxNamespaceType::Pid);
    }
    let new_uts = !host(&hc.uts_mode);
    if new_uts {
        ns.push(LinuxNamespaceType::Uts);
    }
    if !host(&hc.ipc_mode) {
        ns.push(LinuxNamespaceType::Ipc);
    }
    if !host(&hc.network_mode) {
        ns.push(LinuxNamespaceType::Network);
    }
    if sec.userns.is_some() {
        ns.push(LinuxNamespaceType::User);
    }
    let namespaces = ns
        .into_iter()
        .map(|t| LinuxNamespaceBuilder::default().typ(t).build())
        .collect::<Result<Vec<_>, _>>()?;

    let mut ann: HashMap<String, String> = HashMap::new();
    let lower: Vec<String> = lower_dirs
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    ann.insert(
        "io.rdocker.overlay.lowerdir".into(),
        serde_json::to_string(&lower).unwrap_or_default(),
    );
    ann.insert(
        "io.rdocker.overlay.upperdir".into(),
        bundle.join("upper").display().to_string(),
    );
    ann.insert(
        "io.rdocker.overlay.workdir".into(),
        bundle.join("work").display().to_string(),
    );
    if let Some(u) = c.config.user.as_deref().filter(|u| !u.is_empty()) {
        ann.insert("io.rdocker.user".into(), u.to_string());
    }
    if let Some(g) = hc.group_add.as_ref().filter(|g| !g.is_empty()) {
        ann.insert(
            "io.rdocker.group-add".into(),
            serde_json::to_string(g).unwrap_or_default(),
        );
    }
    if hc.init.unwrap_or(false) {
        ann.insert("io.rdocker.init".into(), "true".into());
    }
    if c.config.open_stdin.unwrap_or(false) {
        ann.insert("io.rdocker.stdin".into(), "true".into());
    }
    if sec.seccomp.is_some() {
        ann.insert(
            SECCOMP_ANNOTATION.into(),
            bundle.join(SECCOMP_FILE).display().to_string(),
        );
    }
    if !cgroup_dirs.is_empty() {
        let dirs: Vec<String> = cgroup_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        ann.insert(
            "io.rdocker.cgroup.paths".into(),
            serde_json::to_string(&dirs).unwrap_or_default(),
        );
    }
    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces)
        .masked_paths(sec.masked.clone())
        .readonly_paths(sec.readonly.clone());
    if !sec.devices.is_empty() {
        linux = linux.devices(devices::spec(&sec.devices)?);
    }
    if !sec.sysctls.is_empty() {
        linux = linux.sysctl(sec.sysctls.clone());
    }
    if let Some(r) = &sec.userns {
        linux = linux
            .uid_mappings(id_maps(&r.uids)?)
            .gid_mappings(id_maps(&r.gids)?);
    }

    let mut spec = SpecBuilder::default()
        .version("1.0.2")
        .root(
            RootBuilder::default()
                .path(PathBuf::from("rootfs"))
                .readonly(hc.readonly_rootfs.unwrap_or(false))
                .build()?,
        )
        .process(proc)
        .mounts(mounts)
        .linux(linux.build()?)
        .annotations(ann);
    if new_uts {
        spec = spec.hostname(c.config.hostname.clone().unwrap_or_default());
    }
    spec.build()
}

/// The network namespace networking chose: none of ours (host), a new one, or a path to join.
pub fn set_netns(
    spec: &mut Spec,
    ns: &crate::network::hooks::NsChoice,
) -> Result<(), oci_spec::OciSpecError> {
    use crate::network::hooks::NsChoice;
    let Some(linux) = spec.linux_mut() else {
        return Ok(());
    };
    let mut list = linux.namespaces().clone().unwrap_or_default();
    list.retain(|n| n.typ() != LinuxNamespaceType::Network);
    match ns {
        NsChoice::Host => {}
        NsChoice::New => list.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Network)
                .build()?,
        ),
        NsChoice::Path(p) => list.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Network)
                .path(p.clone())
                .build()?,
        ),
    }
    linux.set_namespaces(Some(list));
    Ok(())
}

/// An exec's process: the container's env with the exec's on top, its user and cwd, the
/// container's capabilities (every one the daemon has with `--privileged`) and no_new_privs.
/// The exec shim loads the container's seccomp filter itself.
pub fn exec_process(
    c: &Container,
    cfg: &bollard_stubs::models::ExecConfig,
    security: &Security,
) -> Result<Process, ContainerError> {
    let hc = &c.host_config;
    let caps = if cfg.privileged.unwrap_or(false) {
        security.all_caps()
    } else {
        security.caps(hc)?
    };
    let rlimits = security.rlimits(hc)?;
    let sec = ProcSec {
        caps,
        no_new_privileges: security.no_new_privileges(hc)?,
        rlimits: &rlimits,
    };
    let tty = cfg.tty.unwrap_or(false);
    let env = process_env(c, cfg.env.as_deref().unwrap_or_default(), tty);
    let cwd = cfg
        .working_dir
        .clone()
        .filter(|w| !w.is_empty())
        .or_else(|| c.config.working_dir.clone())
        .unwrap_or_default();
    let mut p = process(
        cfg.cmd.clone().unwrap_or_default(),
        env,
        &cwd,
        tty,
        console_of(&cfg.console_size),
        &sec,
    )?;
    // The shim resolves a docker `User` for an exec from `user.username` (names need the
    // container's /etc/passwd, which only the shim can read).
    let user = cfg
        .user
        .clone()
        .filter(|u| !u.is_empty())
        .or_else(|| c.config.user.clone().filter(|u| !u.is_empty()));
    if let Some(u) = user {
        p.set_user(
            UserBuilder::default()
                .uid(0u32)
                .gid(0u32)
                .username(u)
                .build()?,
        );
    }
    Ok(p)
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
