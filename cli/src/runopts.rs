//! The flags `run` and `create` share, and their translation into the create body
//! (Config + HostConfig), following docker's cli/command/container/opts.go parse().

use std::collections::HashMap;

use bollard_stubs::models::{
    ContainerCreateBody, HostConfig, RestartPolicy, RestartPolicyNameEnum,
};
use clap::Args;

use crate::kvfile::{env_list, label_map};
use crate::mountspec::{parse_mount, parse_tmpfs, parse_volume, VolumeFlag};

pub mod limits;
mod netopt;
mod network;
mod resources;
mod security;

use network::NetworkOpts;
use resources::ResourceOpts;
use security::SecurityOpts;

#[derive(Args, Debug, Default, Clone)]
pub struct ContainerOpts {
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short = 'a', long = "attach", value_name = "list")]
    pub attach: Vec<String>,
    /// Override the default ENTRYPOINT of the image
    #[arg(long, value_name = "string")]
    pub entrypoint: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Add additional groups to join
    #[arg(long = "group-add", value_name = "list")]
    pub group_add: Vec<String>,
    /// Container host name
    #[arg(short = 'h', long, value_name = "string")]
    pub hostname: Option<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// IPC mode to use
    #[arg(long, value_name = "string")]
    pub ipc: Option<String>,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label", value_name = "list")]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels
    #[arg(long = "label-file", value_name = "list")]
    pub label_file: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long = "mount", value_name = "mount")]
    pub mount: Vec<String>,
    /// Assign a name to the container
    #[arg(long, value_name = "string")]
    pub name: Option<String>,
    /// PID namespace to use
    #[arg(long, value_name = "string")]
    pub pid: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string", env = "DOCKER_DEFAULT_PLATFORM")]
    pub platform: Option<String>,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Pull image before running ("always", "missing", "never")
    #[arg(long, value_name = "string", default_value = "missing")]
    pub pull: String,
    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Restart policy to apply when a container exits
    #[arg(long, value_name = "string")]
    pub restart: Option<String>,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long)]
    pub rm: bool,
    /// Signal to stop the container
    #[arg(long = "stop-signal", value_name = "string")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout", value_name = "int")]
    pub stop_timeout: Option<i64>,
    /// Mount a tmpfs directory
    #[arg(long, value_name = "list")]
    pub tmpfs: Vec<String>,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long, value_name = "string")]
    pub user: Option<String>,
    /// UTS namespace to use
    #[arg(long, value_name = "string")]
    pub uts: Option<String>,
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume", value_name = "list")]
    pub volume: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long, value_name = "string")]
    pub workdir: Option<String>,
    #[command(flatten)]
    pub resources: ResourceOpts,
    #[command(flatten)]
    pub security: SecurityOpts,
    #[command(flatten)]
    pub network: NetworkOpts,
    /// The image, then the command and its arguments (flags after the image are theirs)
    #[arg(value_name = "IMAGE [COMMAND] [ARG...]", trailing_var_arg = true)]
    pub args: Vec<String>,
}

/// A flag value docker's CLI refuses before talking to the daemon. `flag` set means
/// pflag's wording (`invalid argument "v" for "--flag" flag: …`).
#[derive(Debug, PartialEq)]
pub struct OptsError {
    pub flag: Option<(&'static str, String)>,
    pub message: String,
    /// Reported by docker as the bare message with exit status 1.
    pub plain: bool,
}

impl std::fmt::Display for OptsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.flag {
            Some((flag, value)) => write!(
                f,
                "invalid argument \"{value}\" for \"{flag}\" flag: {}",
                self.message
            ),
            None => f.write_str(&self.message),
        }
    }
}

fn plain(message: impl ToString) -> OptsError {
    OptsError {
        flag: None,
        message: message.to_string(),
        plain: false,
    }
}

pub fn flag_err(flag: &'static str, value: &str, message: impl ToString) -> OptsError {
    OptsError {
        flag: Some((flag, value.to_string())),
        message: message.to_string(),
        plain: false,
    }
}

/// What `attach` streams the create body asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttachSet {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// docker's ParseRestartPolicy, plus the policy-name check the daemon would do.
pub fn parse_restart(policy: &str) -> Result<RestartPolicy, String> {
    let (name, count) = match policy.split_once(':') {
        Some(("", _)) => {
            return Err("invalid restart policy format: no policy provided before colon".into())
        }
        Some((n, c)) => (n, Some(c)),
        None => (policy, None),
    };
    let mut p = RestartPolicy::default();
    if let Some(c) = count.filter(|c| !c.is_empty()) {
        let n: i64 = c.parse().map_err(|_| {
            "invalid restart policy format: maximum retry count must be an integer".to_string()
        })?;
        p.maximum_retry_count = Some(n);
    }
    p.name = Some(name.parse::<RestartPolicyNameEnum>().map_err(|_| {
        format!("invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'")
    })?);
    Ok(p)
}

impl ContainerOpts {
    pub fn image(&self) -> Option<&str> {
        self.args.first().map(String::as_str)
    }

    /// The streams to attach: `-a` as given, else stdout+stderr, and stdin with `-i`.
    pub fn attach_set(&self) -> Result<AttachSet, OptsError> {
        let mut set = AttachSet {
            stdin: false,
            stdout: self.attach.is_empty(),
            stderr: self.attach.is_empty(),
        };
        for a in &self.attach {
            match a.to_lowercase().as_str() {
                "stdin" => set.stdin = true,
                "stdout" => set.stdout = true,
                "stderr" => set.stderr = true,
                _ => {
                    return Err(flag_err(
                        "-a, --attach",
                        a,
                        "valid streams are STDIN, STDOUT and STDERR",
                    ))
                }
            }
        }
        set.stdin |= self.interactive;
        Ok(set)
    }

    /// The create body; `detach` is run's `-d` (nothing attached then).
    pub fn body(&self, detach: bool) -> Result<ContainerCreateBody, OptsError> {
        let attach = self.attach_set()?;
        let mut binds = Vec::new();
        let mut anon = Vec::new();
        for v in &self.volume {
            match parse_volume(v).map_err(plain)? {
                VolumeFlag::Bind(b) => binds.push(b),
                VolumeFlag::Anonymous(t) => anon.push(t),
            }
        }
        let mut mounts = Vec::new();
        for m in &self.mount {
            mounts.push(parse_mount(m).map_err(|e| flag_err("--mount", m, e))?);
        }
        let tmpfs: HashMap<String, String> = self.tmpfs.iter().map(|t| parse_tmpfs(t)).collect();
        let env = env_list(&self.env_file, &self.env).map_err(plain)?;
        for l in &self.label {
            label_map(&[], std::slice::from_ref(l)).map_err(|e| flag_err("-l, --label", l, e))?;
        }
        let labels = label_map(&self.label_file, &self.label).map_err(plain)?;
        let restart = match self.restart.as_deref().filter(|r| !r.is_empty()) {
            Some(r) => Some(parse_restart(r).map_err(plain)?),
            None => None,
        };
        let restarts = restart
            .as_ref()
            .and_then(|r| r.name)
            .is_some_and(|n| n != RestartPolicyNameEnum::NO && n != RestartPolicyNameEnum::EMPTY);
        if self.rm && restarts {
            return Err(plain(
                "conflicting options: cannot specify both --restart and --rm",
            ));
        }
        if detach && !self.attach.is_empty() {
            return Err(OptsError {
                plain: true,
                ..plain("conflicting options: cannot specify both --attach and --detach")
            });
        }
        match self.pull.as_str() {
            "always" | "missing" | "never" => {}
            p => {
                return Err(plain(format!(
                "invalid pull option: '{p}': must be one of \"always\", \"missing\" or \"never\""
            )))
            }
        }
        let entrypoint = self.entrypoint.as_ref().map(|e| vec![e.clone()]);
        let cmd = (self.args.len() > 1).then(|| self.args[1..].to_vec());
        let (a_in, a_out, a_err) = if detach {
            (false, false, false)
        } else {
            (attach.stdin, attach.stdout, attach.stderr)
        };
        let some_vec = |v: Vec<String>| (!v.is_empty()).then_some(v);
        let mut host = HostConfig {
            binds: some_vec(binds),
            mounts: (!mounts.is_empty()).then_some(mounts),
            tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
            auto_remove: Some(self.rm),
            restart_policy: Some(restart.unwrap_or(RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: Some(0),
            })),
            pid_mode: self.pid.clone(),
            ipc_mode: self.ipc.clone(),
            uts_mode: self.uts.clone(),
            readonly_rootfs: Some(self.read_only),
            privileged: Some(self.privileged),
            init: self.init.then_some(true),
            group_add: some_vec(self.group_add.clone()),
            ..Default::default()
        };
        self.resources.apply(&mut host)?;
        self.security.apply(&mut host)?;
        let mut body = ContainerCreateBody {
            hostname: self.hostname.clone(),
            user: self.user.clone(),
            attach_stdin: Some(a_in),
            attach_stdout: Some(a_out),
            attach_stderr: Some(a_err),
            tty: Some(self.tty),
            open_stdin: Some(self.interactive),
            // As docker's run: stdin closes with the first attached client's EOF.
            stdin_once: Some(self.interactive && a_in),
            env: Some(env),
            cmd,
            image: self.image().map(str::to_string),
            volumes: some_vec(anon),
            working_dir: self.workdir.clone(),
            entrypoint,
            labels: Some(labels),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            host_config: Some(host),
            ..Default::default()
        };
        self.network.apply(&mut body)?;
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use serde_json::{json, Value};

    #[derive(Parser)]
    #[command(disable_help_flag = true)]
    struct T {
        #[command(flatten)]
        o: ContainerOpts,
    }

    fn opts(args: &[&str]) -> ContainerOpts {
        T::try_parse_from(std::iter::once("run").chain(args.iter().copied()))
            .unwrap()
            .o
    }

    fn body(args: &[&str], detach: bool) -> Value {
        serde_json::to_value(opts(args).body(detach).unwrap()).unwrap()
    }

    #[test]
    fn flags_after_the_image_belong_to_the_command() {
        let o = opts(&["-it", "--rm", "busybox", "ls", "-l", "--rm", "-e", "X"]);
        assert!(o.interactive && o.tty && o.rm);
        assert_eq!(o.args, ["busybox", "ls", "-l", "--rm", "-e", "X"]);
        assert!(o.env.is_empty());
    }

    #[test]
    fn body_has_docker_shape() {
        let b = body(
            &[
                "-i",
                "-t",
                "--name",
                "n",
                "-e",
                "A=1",
                "-w",
                "/w",
                "-u",
                "1:2",
                "-v",
                "/tmp/t1:/mnt",
                "-v",
                "/anon",
                "--tmpfs",
                "/run:size=1m",
                "--entrypoint",
                "",
                "-h",
                "hn",
                "--read-only",
                "-l",
                "k=v",
                "--restart",
                "on-failure:3",
                "--pid",
                "host",
                "--stop-signal",
                "SIGINT",
                "--stop-timeout",
                "3",
                "--init",
                "--group-add",
                "audio",
                "--mount",
                "type=volume,src=v,dst=/v",
                "busybox",
                "sh",
                "-c",
                "true",
            ],
            false,
        );
        assert_eq!(b["Image"], "busybox");
        assert_eq!(b["Cmd"], json!(["sh", "-c", "true"]));
        assert_eq!(b["Entrypoint"], json!([""]));
        assert_eq!(b["Env"], json!(["A=1"]));
        assert_eq!(b["WorkingDir"], "/w");
        assert_eq!(b["User"], "1:2");
        assert_eq!(b["Hostname"], "hn");
        assert_eq!(b["Tty"], true);
        assert_eq!(b["OpenStdin"], true);
        assert_eq!(b["StdinOnce"], true);
        assert_eq!(b["AttachStdin"], true);
        assert_eq!(b["AttachStdout"], true);
        assert_eq!(b["Labels"], json!({"k": "v"}));
        assert_eq!(b["Volumes"], json!({"/anon": {}}));
        assert_eq!(b["StopSignal"], "SIGINT");
        assert_eq!(b["StopTimeout"], 3);
        let h = &b["HostConfig"];
        assert_eq!(h["Binds"], json!(["/tmp/t1:/mnt"]));
        assert_eq!(h["Tmpfs"], json!({"/run": "size=1m"}));
        assert_eq!(h["ReadonlyRootfs"], true);
        assert_eq!(
            h["RestartPolicy"],
            json!({"Name": "on-failure", "MaximumRetryCount": 3})
        );
        assert_eq!(h["PidMode"], "host");
        assert_eq!(h["Init"], true);
        assert_eq!(h["GroupAdd"], json!(["audio"]));
        assert_eq!(h["NetworkMode"], "default");
        assert_eq!(h["AutoRemove"], false);
        assert_eq!(
            h["Mounts"],
            json!([{"Type": "volume", "Source": "v", "Target": "/v"}])
        );
    }

    #[test]
    fn detach_and_attach_flags() {
        let b = body(&["-i", "busybox"], true);
        assert_eq!(b["AttachStdin"], false);
        assert_eq!(b["AttachStdout"], false);
        assert_eq!(b["OpenStdin"], true);
        assert_eq!(b["StdinOnce"], false);
        assert!(b.get("Cmd").is_none());
        let b = body(&["-a", "stderr", "busybox"], false);
        assert_eq!(b["AttachStdout"], false);
        assert_eq!(b["AttachStderr"], true);
        let e = opts(&["-a", "stdout", "busybox"]).body(true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "conflicting options: cannot specify both --attach and --detach"
        );
        assert!(e.plain);
        let e = opts(&["-a", "bogus", "busybox"]).body(false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid argument \"bogus\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
        );
    }

    #[test]
    fn refused_values() {
        let e = |a: &[&str]| opts(a).body(false).unwrap_err().to_string();
        assert_eq!(
            e(&["--mount", "type=bind,src=/a", "busybox"]),
            "invalid argument \"type=bind,src=/a\" for \"--mount\" flag: target is required"
        );
        assert_eq!(
            e(&["-v", "/a:/b:ro:x", "busybox"]),
            "invalid spec: /a:/b:ro:x: too many colons"
        );
        assert_eq!(
            e(&["--rm", "--restart", "always", "busybox"]),
            "conflicting options: cannot specify both --restart and --rm"
        );
        assert_eq!(
            e(&["--restart", "sometimes", "busybox"]),
            "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
        );
        assert_eq!(
            e(&["--restart", "on-failure:x", "busybox"]),
            "invalid restart policy format: maximum retry count must be an integer"
        );
        assert_eq!(
            e(&["--pull", "sometimes", "busybox"]),
            "invalid pull option: 'sometimes': must be one of \"always\", \"missing\" or \"never\""
        );
        assert_eq!(
            e(&["--env-file", "/nonexistent/f", "busybox"]),
            "open /nonexistent/f: no such file or directory"
        );
    }
}
