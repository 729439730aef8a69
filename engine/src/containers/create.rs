//! `POST /containers/create`: the request merged with the image's config into a record, and
//! the host config validated, as dockerd does.

use std::collections::HashMap;

use bollard_stubs::models::{
    ContainerConfig, ContainerCreateBody, HostConfig, HostConfigLogConfig, RestartPolicy,
    RestartPolicyNameEnum,
};
use rdocker_image_store::ImageInfo;

use super::binds;
use super::error::ContainerError;
use super::record::{Container, RunState};
use crate::fsutil::now_rfc3339;

fn invalid(msg: impl Into<String>) -> ContainerError {
    ContainerError::Invalid(msg.into())
}

fn env_key(e: &str) -> &str {
    e.split_once('=').map_or(e, |(k, _)| k)
}

/// Image env first, then the request's; a later key replaces an earlier one in place.
pub fn merge_env(image: &[String], user: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in image.iter().chain(user) {
        match out.iter_mut().find(|o| env_key(o) == env_key(e)) {
            Some(o) => *o = e.clone(),
            None => out.push(e.clone()),
        }
    }
    out
}

/// Docker's rules: a request Cmd replaces the image's; a request Entrypoint replaces the image's
/// and drops the image's Cmd; `--entrypoint ""` (`[""]`) clears the entrypoint.
pub fn command(
    image_entrypoint: Option<&Vec<String>>,
    image_cmd: Option<&Vec<String>>,
    entrypoint: Option<&Vec<String>>,
    cmd: Option<&Vec<String>>,
) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let user_cmd = cmd.filter(|c| !c.is_empty()).cloned();
    match entrypoint {
        Some(ep) if !ep.is_empty() => {
            let ep = if ep.len() == 1 && ep[0].is_empty() {
                None
            } else {
                Some(ep.clone())
            };
            (ep, user_cmd)
        }
        _ => (
            image_entrypoint.cloned(),
            user_cmd.or_else(|| image_cmd.cloned()),
        ),
    }
}

pub fn validate_host_config(hc: &HostConfig) -> Result<(), ContainerError> {
    if let Some(RestartPolicy {
        name,
        maximum_retry_count,
    }) = &hc.restart_policy
    {
        let name = name.unwrap_or(RestartPolicyNameEnum::EMPTY);
        let max = maximum_retry_count.unwrap_or(0);
        if max < 0 {
            return Err(invalid(
                "invalid restart policy: maximum retry count cannot be negative",
            ));
        }
        if max > 0 && name != RestartPolicyNameEnum::ON_FAILURE {
            return Err(invalid(
                "invalid restart policy: maximum retry count can only be used with 'on-failure'",
            ));
        }
        if hc.auto_remove.unwrap_or(false)
            && !matches!(
                name,
                RestartPolicyNameEnum::NO | RestartPolicyNameEnum::EMPTY
            )
        {
            return Err(invalid(
                "can't create 'AutoRemove' container with restart policy",
            ));
        }
    }
    // Network names are checked against the network store (ContainerManager::net_plan).
    if hc.network_mode.as_deref() == Some("container:") {
        return Err(invalid("invalid container format container:<name|id>"));
    }
    match hc.pid_mode.as_deref().unwrap_or("") {
        "" | "host" | "private" => {}
        m => return Err(invalid(format!("invalid PID mode: {m}"))),
    }
    match hc.ipc_mode.as_deref().unwrap_or("") {
        "" | "host" | "private" | "shareable" | "none" => {}
        m => return Err(invalid(format!("invalid IPC mode: {m}"))),
    }
    match hc.uts_mode.as_deref().unwrap_or("") {
        "" | "host" => {}
        m => return Err(invalid(format!("invalid UTS mode: {m}"))),
    }
    Ok(())
}

fn host_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// The record for a new container (not yet saved). `image_ref` is the name as requested.
pub fn build(
    id: String,
    name: String,
    body: ContainerCreateBody,
    image: &ImageInfo,
) -> Result<Container, ContainerError> {
    let mut hc = body.host_config.clone().unwrap_or_default();
    validate_host_config(&hc)?;
    super::security::validate(&hc)?;
    let img = image.config.config().clone().unwrap_or_default();
    let (entrypoint, cmd) = command(
        img.entrypoint().as_ref(),
        img.cmd().as_ref(),
        body.entrypoint.as_ref(),
        body.cmd.as_ref(),
    );
    let argv: Vec<String> = entrypoint
        .iter()
        .flatten()
        .chain(cmd.iter().flatten())
        .cloned()
        .collect();
    let Some((path, args)) = argv.split_first() else {
        return Err(invalid("no command specified"));
    };
    let env = merge_env(
        img.env().as_deref().unwrap_or_default(),
        body.env.as_deref().unwrap_or_default(),
    );
    let mut labels: HashMap<String, String> = img.labels().clone().unwrap_or_default();
    labels.extend(body.labels.clone().unwrap_or_default());
    let host_net =
        hc.network_mode.as_deref() == Some("host") || hc.uts_mode.as_deref() == Some("host");
    let hostname = match body.hostname.as_deref().filter(|h| !h.is_empty()) {
        Some(h) => h.to_string(),
        None if host_net => host_hostname(),
        None => id[..12].to_string(),
    };
    let mounts = binds::collect(
        hc.binds.as_deref().unwrap_or_default(),
        hc.mounts.as_deref().unwrap_or_default(),
        &hc.tmpfs.clone().unwrap_or_default(),
        img.volumes().as_deref().unwrap_or_default(),
    )?;
    if hc.network_mode.as_deref().unwrap_or("").is_empty() {
        hc.network_mode = Some("bridge".to_string());
    }
    if hc.log_config.is_none() {
        // Clients read HostConfig.LogConfig.Type (docker-py's `containers.run` does).
        hc.log_config = Some(HostConfigLogConfig {
            typ: Some("json-file".into()),
            config: Some(HashMap::new()),
        });
    }
    if hc.restart_policy.is_none() {
        hc.restart_policy = Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: Some(0),
        });
    }
    let config = ContainerConfig {
        hostname: Some(hostname),
        domainname: Some(body.domainname.clone().unwrap_or_default()),
        user: Some(
            body.user
                .clone()
                .filter(|u| !u.is_empty())
                .or_else(|| img.user().clone())
                .unwrap_or_default(),
        ),
        attach_stdin: Some(body.attach_stdin.unwrap_or(false)),
        attach_stdout: Some(body.attach_stdout.unwrap_or(false)),
        attach_stderr: Some(body.attach_stderr.unwrap_or(false)),
        exposed_ports: body.exposed_ports.clone(),
        tty: Some(body.tty.unwrap_or(false)),
        open_stdin: Some(body.open_stdin.unwrap_or(false)),
        stdin_once: Some(body.stdin_once.unwrap_or(false)),
        env: Some(env),
        cmd,
        image: body.image.clone(),
        volumes: img.volumes().clone(),
        working_dir: Some(
            body.working_dir
                .clone()
                .filter(|w| !w.is_empty())
                .or_else(|| img.working_dir().clone())
                .unwrap_or_default(),
        ),
        entrypoint,
        labels: Some(labels),
        stop_signal: body
            .stop_signal
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| img.stop_signal().clone()),
        stop_timeout: body.stop_timeout,
        ..Default::default()
    };
    if let Some(sig) = &config.stop_signal {
        if super::signal::parse(sig).is_none() {
            return Err(invalid(format!("Invalid signal: {sig}")));
        }
    }
    Ok(Container {
        name,
        created: now_rfc3339(),
        image_id: image.id.clone(),
        path: path.clone(),
        args: args.to_vec(),
        config,
        host_config: hc,
        mounts,
        state: RunState::default(),
        restart_count: 0,
        manually_stopped: false,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn entrypoint_and_cmd_rules() {
        let iep = v(&["/entry"]);
        let icmd = v(&["sh"]);
        assert_eq!(
            command(Some(&iep), Some(&icmd), None, None),
            (Some(iep.clone()), Some(icmd.clone()))
        );
        assert_eq!(
            command(Some(&iep), Some(&icmd), None, Some(&v(&["echo", "hi"]))),
            (Some(iep.clone()), Some(v(&["echo", "hi"])))
        );
        // A new entrypoint drops the image's Cmd.
        assert_eq!(
            command(Some(&iep), Some(&icmd), Some(&v(&["/bin/true"])), None),
            (Some(v(&["/bin/true"])), None)
        );
        // --entrypoint "" clears it.
        assert_eq!(
            command(Some(&iep), Some(&icmd), Some(&v(&[""])), Some(&v(&["ls"]))),
            (None, Some(v(&["ls"])))
        );
        assert_eq!(
            command(None, Some(&icmd), Some(&vec![]), None),
            (None, Some(icmd))
        );
    }

    #[test]
    fn env_merges_by_key() {
        assert_eq!(
            merge_env(&v(&["PATH=/bin", "A=1"]), &v(&["A=2", "B=3"])),
            v(&["PATH=/bin", "A=2", "B=3"])
        );
    }

    #[test]
    fn host_config_checks() {
        let hc = |name, max, auto| HostConfig {
            restart_policy: Some(RestartPolicy {
                name: Some(name),
                maximum_retry_count: Some(max),
            }),
            auto_remove: Some(auto),
            ..Default::default()
        };
        assert!(validate_host_config(&hc(RestartPolicyNameEnum::ON_FAILURE, 2, false)).is_ok());
        let err = |h: HostConfig| validate_host_config(&h).unwrap_err().to_string();
        assert_eq!(
            err(hc(RestartPolicyNameEnum::ALWAYS, 2, false)),
            "invalid restart policy: maximum retry count can only be used with 'on-failure'"
        );
        assert_eq!(
            err(hc(RestartPolicyNameEnum::ALWAYS, 0, true)),
            "can't create 'AutoRemove' container with restart policy"
        );
        assert!(validate_host_config(&hc(RestartPolicyNameEnum::NO, 0, true)).is_ok());
        let net = HostConfig {
            network_mode: Some("container:".into()),
            ..Default::default()
        };
        assert_eq!(err(net), "invalid container format container:<name|id>");
    }

    fn image() -> ImageInfo {
        use oci_spec::image::{ConfigBuilder, ImageConfigurationBuilder};
        let cfg = ConfigBuilder::default()
            .env(v(&["PATH=/bin", "A=img"]))
            .cmd(v(&["sh"]))
            .working_dir("/srv")
            .volumes(v(&["/data"]))
            .labels(HashMap::from([("from".to_string(), "image".to_string())]))
            .stop_signal("SIGQUIT")
            .build()
            .unwrap();
        ImageInfo {
            id: "sha256:abc".into(),
            repo_tags: vec![],
            repo_digests: vec![],
            created: None,
            size: 0,
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
            config: ImageConfigurationBuilder::default()
                .config(cfg)
                .build()
                .unwrap(),
            manifest_digest: String::new(),
            layers: vec![],
        }
    }

    #[test]
    fn record_merges_image_and_request() {
        let id = "0123456789abcdef".repeat(4);
        let body = ContainerCreateBody {
            image: Some("busybox".into()),
            env: Some(v(&["A=req"])),
            labels: Some(HashMap::from([("l".to_string(), "1".to_string())])),
            ..Default::default()
        };
        let c = build(id.clone(), "/n".into(), body, &image()).unwrap();
        assert_eq!((c.path.as_str(), c.args.len()), ("sh", 0));
        assert_eq!(c.config.env, Some(v(&["PATH=/bin", "A=req"])));
        assert_eq!(c.config.working_dir.as_deref(), Some("/srv"));
        assert_eq!(c.config.hostname.as_deref(), Some(&id[..12]));
        assert_eq!(c.config.stop_signal.as_deref(), Some("SIGQUIT"));
        let labels = c.config.labels.clone().unwrap();
        assert_eq!(
            (labels["from"].as_str(), labels["l"].as_str()),
            ("image", "1")
        );
        assert_eq!(c.mounts.len(), 1);
        assert!(c.mounts[0].anonymous && c.mounts[0].destination == "/data");
        assert_eq!(c.host_config.network_mode.as_deref(), Some("bridge"));
        assert_eq!(c.image_id, "sha256:abc");
        // No command at all: docker's 400.
        let body = ContainerCreateBody {
            image: Some("busybox".into()),
            entrypoint: Some(v(&[""])),
            ..Default::default()
        };
        let err = build(id, "/m".into(), body, &image()).unwrap_err();
        assert_eq!(err.to_string(), "no command specified");
    }
}
