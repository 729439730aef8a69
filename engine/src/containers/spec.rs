//! The OCI runtime spec (`<bundle>/config.json`) for a container, and the `process.json` of an
//! exec. Capabilities, seccomp, masked paths and cgroups are the next issue's: left out here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    BoxBuilder, LinuxBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, Mount, MountBuilder,
    Process, ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};

use super::record::{Container, MountKind, MountSpec};

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

fn process(
    c: &Container,
    args: Vec<String>,
    env: Vec<String>,
    cwd: &str,
    tty: bool,
    console: Option<(u64, u64)>,
) -> Result<Process, oci_spec::OciSpecError> {
    let mut p = ProcessBuilder::default()
        .terminal(tty)
        .user(UserBuilder::default().uid(0u32).gid(0u32).build()?)
        .args(args)
        .env(env)
        .cwd(PathBuf::from(if cwd.is_empty() { "/" } else { cwd }));
    if let (true, Some((h, w))) = (tty, console) {
        p = p.console_size(BoxBuilder::default().height(h).width(w).build()?);
    }
    let _ = c;
    p.build()
}

fn console_of(v: &Option<Vec<usize>>) -> Option<(u64, u64)> {
    match v.as_deref() {
        Some([h, w]) if *h > 0 && *w > 0 => Some((*h as u64, *w as u64)),
        _ => None,
    }
}

pub fn build(
    c: &Container,
    bundle: &Path,
    lower_dirs: &[PathBuf],
    volumes: &[ResolvedMount],
) -> Result<Spec, oci_spec::OciSpecError> {
    let hc = &c.host_config;
    let tty = c.tty();
    let args: Vec<String> = std::iter::once(c.path.clone())
        .chain(c.args.iter().cloned())
        .collect();
    let proc = process(
        c,
        args,
        process_env(c, &[], tty),
        c.config.working_dir.as_deref().unwrap_or(""),
        tty,
        console_of(&hc.console_size),
    )?;

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
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
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
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
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
        .linux(LinuxBuilder::default().namespaces(namespaces).build()?)
        .annotations(ann);
    if new_uts {
        spec = spec.hostname(c.config.hostname.clone().unwrap_or_default());
    }
    spec.build()
}

/// An exec's process: the container's env with the exec's on top, its user and cwd.
pub fn exec_process(
    c: &Container,
    cfg: &bollard_stubs::models::ExecConfig,
) -> Result<Process, oci_spec::OciSpecError> {
    let tty = cfg.tty.unwrap_or(false);
    let env = process_env(c, cfg.env.as_deref().unwrap_or_default(), tty);
    let cwd = cfg
        .working_dir
        .clone()
        .filter(|w| !w.is_empty())
        .or_else(|| c.config.working_dir.clone())
        .unwrap_or_default();
    let mut p = process(
        c,
        cfg.cmd.clone().unwrap_or_default(),
        env,
        &cwd,
        tty,
        console_of(&cfg.console_size),
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
mod tests {
    use super::*;
    use crate::containers::record::RunState;
    use bollard_stubs::models::{ContainerConfig, HostConfig};

    fn sample() -> Container {
        Container {
            id: "0123456789ab".repeat(5) + "cdef",
            name: "/t".into(),
            created: String::new(),
            image_id: "sha256:x".into(),
            path: "sh".into(),
            args: vec!["-c".into(), "echo hi".into()],
            config: ContainerConfig {
                hostname: Some("0123456789ab".into()),
                env: Some(vec!["PATH=/bin".into(), "A=1".into()]),
                tty: Some(true),
                user: Some("nobody".into()),
                open_stdin: Some(true),
                ..Default::default()
            },
            host_config: HostConfig {
                network_mode: Some("host".into()),
                readonly_rootfs: Some(true),
                init: Some(true),
                ..Default::default()
            },
            mounts: vec![],
            state: RunState::default(),
            restart_count: 0,
            manually_stopped: false,
        }
    }

    #[test]
    fn spec_has_the_protocols_pieces() {
        let c = sample();
        let vol = ResolvedMount {
            spec: crate::containers::binds::parse_bind("/tmp/t1:/mnt:ro").unwrap(),
            host_path: "/tmp/t1".into(),
            copyup: false,
        };
        let spec = build(
            &c,
            Path::new("/d/containers/x"),
            &["/l/a".into(), "/l/b".into()],
            &[vol],
        )
        .unwrap();
        let j = serde_json::to_value(&spec).unwrap();
        assert_eq!(j["root"]["path"], "rootfs");
        assert_eq!(j["root"]["readonly"], true);
        assert_eq!(j["hostname"], "0123456789ab");
        assert_eq!(
            j["process"]["args"],
            serde_json::json!(["sh", "-c", "echo hi"])
        );
        assert_eq!(
            j["process"]["env"],
            serde_json::json!(["PATH=/bin", "HOSTNAME=0123456789ab", "TERM=xterm", "A=1"])
        );
        assert_eq!(j["process"]["terminal"], true);
        let ann = &j["annotations"];
        assert_eq!(ann["io.rdocker.overlay.lowerdir"], r#"["/l/b","/l/a"]"#);
        assert_eq!(ann["io.rdocker.overlay.upperdir"], "/d/containers/x/upper");
        assert_eq!(ann["io.rdocker.user"], "nobody");
        assert_eq!(ann["io.rdocker.init"], "true");
        assert_eq!(ann["io.rdocker.stdin"], "true");
        let ns: Vec<&str> = j["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert_eq!(ns, ["mount", "pid", "uts", "ipc"]);
        let mounts = j["mounts"].as_array().unwrap();
        let mnt = mounts.iter().find(|m| m["destination"] == "/mnt").unwrap();
        assert_eq!(
            mnt["options"],
            serde_json::json!(["rbind", "rprivate", "ro", "rdocker.mkdir-source"])
        );
        let hosts = mounts
            .iter()
            .find(|m| m["destination"] == "/etc/hosts")
            .unwrap();
        assert_eq!(hosts["source"], "/d/containers/x/hosts");
        assert!(mounts
            .iter()
            .any(|m| m["destination"] == "/dev/pts" && m["type"] == "devpts"));
    }
}
