//! `rdocker info`: the commonly read part of docker's info text, same labels and layout
//! (docker prints these with fmt.Fprintln, so "Label: value" with single spaces).

use anyhow::Result;
use clap::Args;
use serde_json::Value;

use super::{check_args, Arity, Ctx};
use crate::client::api_path;
use crate::format::bytes_size;

#[derive(Args, Debug, Default)]
pub struct InfoArgs {
    #[arg(hide = true)]
    pub args: Vec<String>,
}

pub fn run(ctx: &Ctx, a: InfoArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(0), "rdocker info")?;
    let mut out = client_section();
    let res = ctx.client.get_json::<Value>(&api_path("/info"));
    match &res {
        Ok(v) => {
            out.push('\n');
            out.push_str(&server_section(v));
        }
        Err(_) => out.push('\n'),
    }
    print!("{out}");
    res.map(|_| ())
}

fn client_section() -> String {
    format!(
        "Client:\n Version:    {}\n Context:    default\n Debug Mode: false\n",
        env!("CARGO_PKG_VERSION")
    )
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn int(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or(0)
}

pub fn server_section(v: &Value) -> String {
    let mut o = String::from("Server:\n");
    macro_rules! put {
        ($label:expr, $val:expr $(,)?) => {
            o.push_str(&format!("{} {}\n", $label, $val))
        };
    }
    put!(" Containers:", int(v, "Containers").to_string());
    put!("  Running:", int(v, "ContainersRunning").to_string());
    put!("  Paused:", int(v, "ContainersPaused").to_string());
    put!("  Stopped:", int(v, "ContainersStopped").to_string());
    put!(" Images:", int(v, "Images").to_string());
    // Optional lines are left out when the daemon does not report them (docker's
    // fprintlnNonEmpty).
    let optional = [
        (" Server Version:", "ServerVersion"),
        (" Storage Driver:", "Driver"),
        (" Logging Driver:", "LoggingDriver"),
        (" Cgroup Driver:", "CgroupDriver"),
        (" Cgroup Version:", "CgroupVersion"),
        (" Default Runtime:", "DefaultRuntime"),
        (" Kernel Version:", "KernelVersion"),
        (" Operating System:", "OperatingSystem"),
        (" OSType:", "OSType"),
        (" Architecture:", "Architecture"),
    ];
    for (label, key) in optional {
        if key == "KernelVersion" {
            security_options(v, &mut o);
        }
        let val = text(v, key);
        if !val.is_empty() {
            put!(label, val);
        }
        if key == "Driver" {
            // DriverStatus: [["Backing Filesystem", "extfs"], ...] under the driver line.
            for pair in v
                .get("DriverStatus")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let [Value::String(k), Value::String(val)] =
                    pair.as_array().map(Vec::as_slice).unwrap_or(&[])
                {
                    put!(&format!("  {k}:"), val.clone());
                }
            }
        }
    }
    put!(" CPUs:", int(v, "NCPU").to_string());
    put!(" Total Memory:", bytes_size(int(v, "MemTotal") as f64));
    for (label, key) in [
        (" Name:", "Name"),
        (" ID:", "ID"),
        (" Docker Root Dir:", "DockerRootDir"),
    ] {
        let val = text(v, key);
        if !val.is_empty() {
            put!(label, val);
        }
    }
    put!(" Debug Mode:", text(v, "Debug").if_empty("false"));
    put!(
        " Experimental:",
        text(v, "ExperimentalBuild").if_empty("false"),
    );
    let reg = v.get("RegistryConfig").cloned().unwrap_or(Value::Null);
    let mut insecure: Vec<String> = Vec::new();
    if let Some(idx) = reg.get("IndexConfigs").and_then(Value::as_object) {
        for (name, cfg) in idx {
            if cfg.get("Secure").and_then(Value::as_bool) == Some(false) {
                insecure.push(name.clone());
            }
        }
    }
    if let Some(cidrs) = reg.get("InsecureRegistryCIDRs").and_then(Value::as_array) {
        insecure.extend(cidrs.iter().filter_map(Value::as_str).map(str::to_string));
    }
    if !insecure.is_empty() {
        o.push_str(" Insecure Registries:\n");
        for i in insecure {
            o.push_str(&format!("  {i}\n"));
        }
    }
    if let Some(m) = reg
        .get("Mirrors")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
    {
        o.push_str(" Registry Mirrors:\n");
        for i in m.iter().filter_map(Value::as_str) {
            o.push_str(&format!("  {i}\n"));
        }
    }
    let live = v
        .get("LiveRestoreEnabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // docker ends the server section with an empty line.
    o.push_str(&format!(" Live Restore Enabled: {live}\n\n"));
    o
}

/// docker's "Security Options" block: "name=seccomp,profile=builtin" becomes
/// "  seccomp" and "   Profile: builtin".
fn security_options(v: &Value, o: &mut String) {
    let security: Vec<&str> = v
        .get("SecurityOptions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !security.is_empty() {
        o.push_str(" Security Options:\n");
        for opt in security {
            for (i, kv) in opt.split(',').enumerate() {
                let (k, val) = kv.split_once('=').unwrap_or(("name", kv));
                if i == 0 || k == "name" {
                    o.push_str(&format!("  {val}\n"));
                } else {
                    let mut c = k.chars();
                    let title: String = c
                        .next()
                        .map(|f| f.to_uppercase().chain(c).collect())
                        .unwrap_or_default();
                    o.push_str(&format!("   {title}: {val}\n"));
                }
            }
        }
    }
}

trait IfEmpty {
    fn if_empty(self, default: &str) -> String;
}

impl IfEmpty for String {
    fn if_empty(self, default: &str) -> String {
        if self.is_empty() {
            default.to_string()
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_text() {
        let v = serde_json::json!({
            "Containers": 2, "ContainersRunning": 1, "ContainersStopped": 1, "Images": 3,
            "ServerVersion": "0.1.0", "Driver": "overlay2", "CgroupVersion": "1",
            "NCPU": 2, "MemTotal": 4104392704u64, "Name": "host", "DockerRootDir": "/var/lib/rdocker",
            "RegistryConfig": {"Mirrors": ["http://127.0.0.1:5000/"],
                "IndexConfigs": {"docker.io": {"Secure": true}}, "InsecureRegistryCIDRs": ["127.0.0.0/8"]},
            "LiveRestoreEnabled": true
        });
        let out = server_section(&v);
        assert_eq!(
            out,
            "Server:\n Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n Images: 3\n Server Version: 0.1.0\n Storage Driver: overlay2\n Cgroup Version: 1\n CPUs: 2\n Total Memory: 3.823GiB\n Name: host\n Docker Root Dir: /var/lib/rdocker\n Debug Mode: false\n Experimental: false\n Insecure Registries:\n  127.0.0.0/8\n Registry Mirrors:\n  http://127.0.0.1:5000/\n Live Restore Enabled: true\n\n"
        );
    }
}
