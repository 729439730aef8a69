//! dockerd's `verifyPlatformContainerResources`: the same checks in the same order, with its
//! messages (clients and scripts match on them), and its warnings for knobs the host lacks.

use std::collections::BTreeSet;

use bollard_stubs::models::HostConfig;
use rdocker_cgroups::HostInfo;

/// dockerd's `linuxMinMemory`.
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// Checks the resources of a create (`update == false`) or an update, dropping what the host
/// cannot do (as dockerd does) and returning its warnings; `Err` is the 400's message.
pub fn verify(hc: &mut HostConfig, host: &HostInfo, update: bool) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    memory(hc, host, update, &mut warnings)?;
    cpu(hc, host, &mut warnings)?;
    cpuset(hc, host, &mut warnings)?;
    blkio(hc, host, &mut warnings)?;
    Ok(warnings)
}

fn memory(
    hc: &mut HostConfig,
    host: &HostInfo,
    update: bool,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let mem = hc.memory.unwrap_or(0);
    if mem != 0 && mem < MIN_MEMORY {
        return Err("Minimum memory limit allowed is 6MB".into());
    }
    if mem > 0 && !host.memory {
        warnings.push("Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.".into());
        hc.memory = None;
        hc.memory_swap = Some(-1);
    }
    let mem = hc.memory.unwrap_or(0);
    if mem > 0 && hc.memory_swap.unwrap_or(0) != -1 && !host.swap {
        warnings.push("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.".into());
        hc.memory_swap = Some(-1);
    }
    let swap = hc.memory_swap.unwrap_or(0);
    if mem > 0 && swap > 0 && swap < mem {
        return Err(
            "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
        );
    }
    if mem == 0 && swap > 0 && !update {
        return Err(
            "You should always set the Memory limit when using Memoryswap limit, see usage".into(),
        );
    }
    if let Some(s) = hc.memory_swappiness.filter(|s| *s != -1) {
        if !(0..=100).contains(&s) {
            return Err(format!(
                "Invalid value: {s}, valid memory swappiness range is 0-100"
            ));
        }
    }
    let reservation = hc.memory_reservation.unwrap_or(0);
    if reservation > 0 && !host.memory_reservation {
        warnings.push("Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.".into());
        hc.memory_reservation = None;
    }
    let reservation = hc.memory_reservation.unwrap_or(0);
    if reservation > 0 && reservation < MIN_MEMORY {
        return Err("Minimum memory reservation allowed is 6MB".into());
    }
    if mem > 0 && reservation > 0 && mem < reservation {
        return Err(
            "Minimum memory limit can not be less than memory reservation limit, see usage".into(),
        );
    }
    if hc.oom_kill_disable.is_some() && !host.oom_kill_disable {
        if hc.oom_kill_disable == Some(true) {
            warnings.push(
                "Your kernel does not support OomKillDisable. OomKillDisable discarded.".into(),
            );
        }
        hc.oom_kill_disable = None;
    }
    if hc.oom_kill_disable == Some(true) && mem == 0 {
        warnings.push("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.".into());
    }
    if hc.pids_limit.is_some() && !host.pids {
        if hc.pids_limit.unwrap_or(0) > 0 {
            warnings.push("Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.".into());
        }
        hc.pids_limit = None;
    }
    Ok(())
}

fn cpu(hc: &mut HostConfig, host: &HostInfo, warnings: &mut Vec<String>) -> Result<(), String> {
    let nano = hc.nano_cpus.unwrap_or(0);
    if nano > 0 && hc.cpu_period.unwrap_or(0) > 0 {
        return Err("Conflicting options: Nano CPUs and CPU Period cannot both be set".into());
    }
    if nano > 0 && hc.cpu_quota.unwrap_or(0) > 0 {
        return Err("Conflicting options: Nano CPUs and CPU Quota cannot both be set".into());
    }
    if nano > 0 && !host.cpu_cfs {
        return Err("NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted".into());
    }
    let n = i64::from(host.online_cpus.max(1));
    // dockerd only refuses < 0; below 0.01 the quota would be under the kernel's 1 ms minimum
    // and fail at start, so it is refused here with the same words.
    if nano < 0 || nano > n * 1_000_000_000 || (nano > 0 && nano < 10_000_000) {
        return Err(format!(
            "Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available"
        ));
    }
    if hc.cpu_shares.unwrap_or(0) > 0 && !host.cpu_shares {
        warnings.push(
            "Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded."
                .into(),
        );
        hc.cpu_shares = None;
    }
    if (hc.cpu_period.unwrap_or(0) != 0 || hc.cpu_quota.unwrap_or(0) != 0) && !host.cpu_cfs {
        warnings.push(
            "Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.".into(),
        );
        hc.cpu_period = None;
        hc.cpu_quota = None;
    }
    let period = hc.cpu_period.unwrap_or(0);
    if period != 0 && !(1000..=1_000_000).contains(&period) {
        return Err(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
                .into(),
        );
    }
    let quota = hc.cpu_quota.unwrap_or(0);
    if quota > 0 && quota < 1000 {
        return Err("CPU cfs quota can not be less than 1ms (i.e. 1000)".into());
    }
    if hc.cpu_percent.unwrap_or(0) > 0 {
        warnings.push("linux does not support CPU percent. Percent discarded.".into());
        hc.cpu_percent = None;
    }
    Ok(())
}

fn cpuset(hc: &mut HostConfig, host: &HostInfo, warnings: &mut Vec<String>) -> Result<(), String> {
    let cpus = hc.cpuset_cpus.clone().unwrap_or_default();
    let mems = hc.cpuset_mems.clone().unwrap_or_default();
    if (!cpus.is_empty() || !mems.is_empty()) && !host.cpuset {
        warnings.push(
            "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded."
                .into(),
        );
        hc.cpuset_cpus = None;
        hc.cpuset_mems = None;
        return Ok(());
    }
    let ok = available(&cpus, &host.cpuset_cpus)
        .map_err(|e| format!("Invalid value {cpus} for cpuset cpus: {e}"))?;
    if !ok {
        return Err(format!(
            "Requested CPUs are not available - requested {cpus}, available: {}",
            host.cpuset_cpus
        ));
    }
    let ok = available(&mems, &host.cpuset_mems)
        .map_err(|e| format!("Invalid value {mems} for cpuset mems: {e}"))?;
    if !ok {
        return Err(format!(
            "Requested memory nodes are not available - requested {mems}, available: {}",
            host.cpuset_mems
        ));
    }
    Ok(())
}

fn blkio(hc: &mut HostConfig, host: &HostInfo, warnings: &mut Vec<String>) -> Result<(), String> {
    let w = hc.blkio_weight.unwrap_or(0);
    // The range first (dockerd checks support first and would only warn): an impossible value
    // is the user's error whatever the host.
    if w > 0 && !(10..=1000).contains(&w) {
        return Err("Range of blkio weight is from 10 to 1000".into());
    }
    if w > 0 && !host.blkio_weight {
        warnings.push("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.".into());
        hc.blkio_weight = None;
    }
    Ok(())
}

/// Docker's `parsers.ParseUintList`: `0-2,4`.
pub fn parse_list(val: &str) -> Result<BTreeSet<u32>, String> {
    let mut out = BTreeSet::new();
    if val.is_empty() {
        return Ok(out);
    }
    let bad = || format!("invalid format: {val}");
    for part in val.split(',') {
        match part.split_once('-') {
            None => {
                out.insert(part.parse::<u32>().map_err(|_| bad())?);
            }
            Some((lo, hi)) => {
                let lo = lo.parse::<u32>().map_err(|_| bad())?;
                let hi = hi.parse::<u32>().map_err(|_| bad())?;
                if hi < lo {
                    return Err(bad());
                }
                // A range far beyond any host is unavailable, not worth a huge set.
                if hi - lo > 65536 {
                    return Ok(BTreeSet::from([u32::MAX]));
                }
                out.extend(lo..=hi);
            }
        }
    }
    Ok(out)
}

/// Whether every entry of `requested` is in `available` (both list syntax).
fn available(requested: &str, available: &str) -> Result<bool, String> {
    let req = parse_list(requested)?;
    let have = parse_list(available).unwrap_or_default();
    Ok(req.is_subset(&have))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostInfo {
        HostInfo {
            online_cpus: 2,
            cpuset_cpus: "0-1".into(),
            cpuset_mems: "0".into(),
            memory: true,
            swap: true,
            memory_reservation: true,
            oom_kill_disable: true,
            cpu_shares: true,
            cpu_cfs: true,
            cpuset: true,
            pids: true,
            blkio_weight: false,
            freezer: true,
            devices: true,
        }
    }

    fn err(hc: HostConfig) -> String {
        let mut hc = hc;
        verify(&mut hc, &host(), false).unwrap_err()
    }

    #[test]
    fn dockerd_messages() {
        let m = |v| HostConfig {
            memory: Some(v),
            ..Default::default()
        };
        assert_eq!(err(m(1024)), "Minimum memory limit allowed is 6MB");
        assert_eq!(
            err(HostConfig {
                memory_swap: Some(64 << 20),
                ..Default::default()
            }),
            "You should always set the Memory limit when using Memoryswap limit, see usage"
        );
        assert_eq!(
            err(HostConfig {
                memory: Some(64 << 20),
                memory_swap: Some(32 << 20),
                ..Default::default()
            }),
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        );
        assert_eq!(
            err(HostConfig {
                memory: Some(64 << 20),
                memory_reservation: Some(128 << 20),
                ..Default::default()
            }),
            "Minimum memory limit can not be less than memory reservation limit, see usage"
        );
        assert_eq!(
            err(HostConfig {
                nano_cpus: Some(1_000_000_000),
                cpu_period: Some(50000),
                ..Default::default()
            }),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set"
        );
        assert_eq!(
            err(HostConfig {
                nano_cpus: Some(1_000_000_000),
                cpu_quota: Some(50000),
                ..Default::default()
            }),
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set"
        );
        let range = "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available";
        let cpus = |n| HostConfig {
            nano_cpus: Some(n),
            ..Default::default()
        };
        assert_eq!(err(cpus(99_000_000_000)), range);
        assert_eq!(err(cpus(1_000_000)), range);
        assert_eq!(err(cpus(-1)), range);
        let set = |s: &str| HostConfig {
            cpuset_cpus: Some(s.into()),
            ..Default::default()
        };
        assert_eq!(
            err(set("7")),
            "Requested CPUs are not available - requested 7, available: 0-1"
        );
        assert_eq!(
            err(set("1-0")),
            "Invalid value 1-0 for cpuset cpus: invalid format: 1-0"
        );
        assert_eq!(
            err(HostConfig {
                cpuset_mems: Some("3".into()),
                ..Default::default()
            }),
            "Requested memory nodes are not available - requested 3, available: 0"
        );
        assert_eq!(
            err(HostConfig {
                cpu_period: Some(500),
                ..Default::default()
            }),
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
        );
        assert_eq!(
            err(HostConfig {
                cpu_quota: Some(10),
                ..Default::default()
            }),
            "CPU cfs quota can not be less than 1ms (i.e. 1000)"
        );
        assert_eq!(
            err(HostConfig {
                blkio_weight: Some(5),
                ..Default::default()
            }),
            "Range of blkio weight is from 10 to 1000"
        );
    }

    #[test]
    fn warnings_and_adjustments() {
        let mut hc = HostConfig {
            memory: Some(64 << 20),
            blkio_weight: Some(500),
            oom_kill_disable: Some(true),
            cpuset_cpus: Some("0,1".into()),
            nano_cpus: Some(1_500_000_000),
            ..Default::default()
        };
        let w = verify(&mut hc, &host(), false).unwrap();
        assert_eq!(
            w,
            vec!["Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."]
        );
        assert_eq!(hc.blkio_weight, None);
        assert_eq!(hc.memory, Some(64 << 20));

        let mut hc = HostConfig {
            oom_kill_disable: Some(true),
            ..Default::default()
        };
        let w = verify(&mut hc, &host(), false).unwrap();
        assert_eq!(w, vec!["OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources."]);

        let mut no_swap = host();
        no_swap.swap = false;
        let mut hc = HostConfig {
            memory: Some(64 << 20),
            ..Default::default()
        };
        let w = verify(&mut hc, &no_swap, false).unwrap();
        assert_eq!(w, vec!["Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap."]);
        assert_eq!(hc.memory_swap, Some(-1));

        // An update may set the swap alone.
        let mut hc = HostConfig {
            memory_swap: Some(256 << 20),
            ..Default::default()
        };
        assert!(verify(&mut hc, &host(), true).is_ok());
    }

    #[test]
    fn uint_lists() {
        assert_eq!(parse_list("0-2,4").unwrap(), BTreeSet::from([0, 1, 2, 4]));
        assert!(parse_list("a").is_err());
        assert!(parse_list("1,").is_err());
        assert!(available("0,1", "0-1").unwrap());
        assert!(!available("2", "0-1").unwrap());
        assert!(available("", "0-1").unwrap());
    }
}
