//! `rdocker update`: docker's runUpdate — one UpdateConfig (the whole Resources struct,
//! zeros meaning "unchanged", as docker sends it) posted to each container in turn.

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

use super::create::opts_error;
use super::{check_args, status_err, Arity, Ctx};
use crate::client::api_path;
use crate::runopts::limits::LimitFlags;
use crate::runopts::{flag_err, OptsError};
use crate::units::ram_in_bytes;
use crate::url::path_escape;

#[derive(Args, Debug, Default)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub limits: LimitFlags,
    /// Kernel memory limit (deprecated)
    #[arg(long = "kernel-memory", value_name = "bytes", hide = true)]
    pub kernel_memory: Option<String>,
    /// Restart policy to apply when a container exits
    #[arg(long, value_name = "string")]
    pub restart: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub args: Vec<String>,
}

#[derive(serde::Deserialize, Default)]
struct UpdateResponse {
    #[serde(rename = "Warnings", default)]
    warnings: Option<Vec<String>>,
}

/// docker's opts.ParseRestartPolicy: the format is checked here, the policy's name by
/// the daemon (so an unknown one is the daemon's error, as with docker).
fn restart_policy(policy: &str) -> Result<Value, &'static str> {
    let (name, count) = policy.split_once(':').unwrap_or((policy, ""));
    if policy.contains(':') && name.is_empty() {
        return Err("invalid restart policy format: no policy provided before colon");
    }
    let count: i64 = if count.is_empty() {
        0
    } else {
        count
            .parse()
            .map_err(|_| "invalid restart policy format: maximum retry count must be an integer")?
    };
    Ok(json!({"Name": name, "MaximumRetryCount": count}))
}

/// The request body docker's ContainerUpdate sends for these flags.
pub fn update_body(a: &UpdateArgs) -> Result<Value, OptsError> {
    let l = a.limits.parse()?;
    let kernel_memory = match &a.kernel_memory {
        Some(v) => ram_in_bytes(v).map_err(|e| flag_err("--kernel-memory", v, e))?,
        None => 0,
    };
    let restart = restart_policy(a.restart.as_deref().unwrap_or("")).map_err(|m| OptsError {
        flag: None,
        message: m.into(),
        plain: true,
    })?;
    let mut body = json!({
        "BlkioWeight": l.blkio_weight,
        "CpuShares": l.cpu_shares,
        "CpuPeriod": l.cpu_period,
        "CpuQuota": l.cpu_quota,
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "CpusetCpus": a.limits.cpuset_cpus.clone().unwrap_or_default(),
        "CpusetMems": a.limits.cpuset_mems.clone().unwrap_or_default(),
        "Memory": l.memory,
        "MemoryReservation": l.memory_reservation,
        "MemorySwap": l.memory_swap,
        "KernelMemory": kernel_memory,
        "NanoCpus": l.nano_cpus,
        "RestartPolicy": restart,
    });
    // A pointer in docker's struct: absent unless set, so 0 never means "unlimited".
    if l.pids_limit != 0 {
        body["PidsLimit"] = json!(l.pids_limit);
    }
    Ok(body)
}

pub fn run(ctx: &Ctx, name: &str, a: UpdateArgs) -> Result<()> {
    // docker's order: flag values, then the argument count, then the flag count.
    let mut flags_only = UpdateArgs {
        limits: a.limits.clone(),
        kernel_memory: a.kernel_memory.clone(),
        ..Default::default()
    };
    update_body(&flags_only).map_err(|e| opts_error(name, &e))?;
    check_args(&a.args, Arity::AtLeast(1), name)?;
    let given = a.limits.count()
        + usize::from(a.restart.is_some())
        + usize::from(a.kernel_memory.is_some());
    if given == 0 {
        return Err(status_err(
            1,
            "you must provide one or more flags when using this command",
        ));
    }
    flags_only.restart = a.restart.clone();
    let body = update_body(&flags_only).map_err(|e| opts_error(name, &e))?;
    let json = serde_json::to_vec(&body)?;
    let mut warns = Vec::new();
    let mut errs = Vec::new();
    for c in &a.args {
        let path = api_path(&format!("/containers/{}/update", path_escape(c)));
        let resp = ctx
            .client
            .request("POST", &path, &[], Some(&json))
            .and_then(|r| r.json::<UpdateResponse>());
        match resp {
            Ok(r) => {
                println!("{c}");
                warns.extend(r.warnings.into_iter().flatten());
            }
            Err(e) => errs.push(format!("{e:#}")),
        }
    }
    if !warns.is_empty() {
        println!("{}", warns.join("\n"));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(status_err(1, errs.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        u: UpdateArgs,
    }

    fn args(a: &[&str]) -> UpdateArgs {
        T::try_parse_from(std::iter::once("update").chain(a.iter().copied()))
            .unwrap()
            .u
    }

    #[test]
    fn body_is_dockers_update_config() {
        let b = update_body(&args(&["-m", "128m", "--cpus", "0.5", "c1", "c2"])).unwrap();
        assert_eq!(
            b,
            json!({
                "BlkioWeight": 0, "CpuShares": 0, "CpuPeriod": 0, "CpuQuota": 0,
                "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "",
                "CpusetMems": "", "Memory": 134217728, "MemoryReservation": 0,
                "MemorySwap": 0, "KernelMemory": 0, "NanoCpus": 500000000,
                "RestartPolicy": {"Name": "", "MaximumRetryCount": 0},
            })
        );
        let b = update_body(&args(&[
            "--pids-limit",
            "50",
            "--memory-swap",
            "-1",
            "--restart",
            "on-failure:2",
            "--cpuset-cpus",
            "0",
            "c",
        ]))
        .unwrap();
        assert_eq!(b["PidsLimit"], 50);
        assert_eq!(b["MemorySwap"], -1);
        assert_eq!(b["CpusetCpus"], "0");
        assert_eq!(
            b["RestartPolicy"],
            json!({"Name": "on-failure", "MaximumRetryCount": 2})
        );
        let u = args(&["c"]);
        assert_eq!(u.limits.count(), 0);
        assert_eq!(u.args, ["c"]);
    }

    #[test]
    fn bad_flag_values() {
        let e = update_body(&args(&["-m", "lots", "c"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid argument \"lots\" for \"-m, --memory\" flag: invalid size: 'lots'"
        );
        let e = update_body(&args(&["--restart", ":3", "c"])).unwrap_err();
        assert!(e.plain);
        assert_eq!(
            e.to_string(),
            "invalid restart policy format: no policy provided before colon"
        );
        let e = update_body(&args(&["--restart", "always:x", "c"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid restart policy format: maximum retry count must be an integer"
        );
        // The name is the daemon's to judge, as with docker.
        let b = update_body(&args(&["--restart", "sometimes", "c"])).unwrap();
        assert_eq!(
            b["RestartPolicy"],
            json!({"Name": "sometimes", "MaximumRetryCount": 0})
        );
    }
}
