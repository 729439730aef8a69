//! `POST /containers/{id}/update`: dockerd's `ContainerUpdate` (verify, merge with its conflict
//! rules, apply to the running cgroup, persist, `update` event).

use std::sync::Arc;

use bollard_stubs::models::{ContainerUpdateBody, HostConfig, RestartPolicyNameEnum};

use super::join_err;
use crate::containers::create::validate_host_config;
use crate::containers::entry::Entry;
use crate::containers::error::ContainerError;
use crate::containers::ContainerManager;

/// The update's resource fields as a `HostConfig` (what `verify` and the merge read).
pub fn patch_of(b: &ContainerUpdateBody) -> HostConfig {
    HostConfig {
        cpu_shares: b.cpu_shares,
        memory: b.memory,
        blkio_weight: b.blkio_weight,
        cpu_period: b.cpu_period,
        cpu_quota: b.cpu_quota,
        cpuset_cpus: b.cpuset_cpus.clone(),
        cpuset_mems: b.cpuset_mems.clone(),
        memory_reservation: b.memory_reservation,
        memory_swap: b.memory_swap,
        memory_swappiness: b.memory_swappiness,
        nano_cpus: b.nano_cpus,
        pids_limit: b.pids_limit,
        cpu_percent: b.cpu_percent,
        ..Default::default()
    }
}

/// dockerd's `container.UpdateContainer`: the new values over the old, refusing updates
/// that would contradict what is already set. `Err` is the reason (409).
pub fn merge(hc: &mut HostConfig, p: &HostConfig) -> Result<(), String> {
    let set = |v: Option<i64>| v.unwrap_or(0) != 0;
    let pos = |v: Option<i64>| v.unwrap_or(0) > 0;
    if pos(p.nano_cpus) && pos(hc.cpu_period) {
        return Err(
            "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set"
                .into(),
        );
    }
    if pos(p.nano_cpus) && pos(hc.cpu_quota) {
        return Err(
            "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set"
                .into(),
        );
    }
    if pos(p.cpu_period) && pos(hc.nano_cpus) {
        return Err(
            "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"
                .into(),
        );
    }
    if pos(p.cpu_quota) && pos(hc.nano_cpus) {
        return Err(
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"
                .into(),
        );
    }
    if p.blkio_weight.unwrap_or(0) != 0 {
        hc.blkio_weight = p.blkio_weight;
    }
    for (new, old) in [
        (p.cpu_shares, &mut hc.cpu_shares),
        (p.nano_cpus, &mut hc.nano_cpus),
        (p.cpu_period, &mut hc.cpu_period),
        (p.cpu_quota, &mut hc.cpu_quota),
        (p.memory_reservation, &mut hc.memory_reservation),
    ] {
        if set(new) {
            *old = new;
        }
    }
    for (new, old) in [
        (&p.cpuset_cpus, &mut hc.cpuset_cpus),
        (&p.cpuset_mems, &mut hc.cpuset_mems),
    ] {
        if new.as_deref().is_some_and(|s| !s.is_empty()) {
            old.clone_from(new);
        }
    }
    if set(p.memory) {
        // Raising memory past an explicit swap limit needs the swap raised with it.
        if p.memory > hc.memory_swap && pos(hc.memory_swap) && !set(p.memory_swap) {
            return Err("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time".into());
        }
        hc.memory = p.memory;
    }
    if set(p.memory_swap) {
        hc.memory_swap = p.memory_swap;
    }
    if p.pids_limit.is_some() {
        hc.pids_limit = p.pids_limit;
    }
    Ok(())
}

fn cannot_update(id: &str, e: impl std::fmt::Display) -> String {
    format!("Cannot update container {id}: {e}")
}

impl ContainerManager {
    /// `POST /containers/{id}/update`: returns dockerd's warnings.
    pub async fn update_container(
        &self,
        e: &Arc<Entry>,
        body: ContainerUpdateBody,
    ) -> Result<Vec<String>, ContainerError> {
        let mut patch = patch_of(&body);
        let warnings = self.limits.check(&mut patch, true)?;
        let _op = e.op.lock().await;
        let c = e.rec();
        let mut hc = c.host_config.clone();
        merge(&mut hc, &patch).map_err(|m| ContainerError::Conflict(cannot_update(&e.id, m)))?;
        if let Some(policy) = body
            .restart_policy
            .filter(|p| p.name.is_some_and(|n| n != RestartPolicyNameEnum::EMPTY))
        {
            let none = matches!(policy.name, Some(RestartPolicyNameEnum::NO));
            if hc.auto_remove.unwrap_or(false) && !none {
                return Err(ContainerError::Conflict(cannot_update(
                    &e.id,
                    "Restart policy cannot be updated because AutoRemove is enabled for the container",
                )));
            }
            validate_host_config(&HostConfig {
                restart_policy: Some(policy.clone()),
                ..Default::default()
            })?;
            hc.restart_policy = Some(policy);
        }
        let cg = self.limits.cgroup(&e.id);
        let res = self.limits.patch(&patch);
        let running = c.running() && cg.as_ref().is_some_and(|g| g.exists());
        let (dir, e2, id) = (self.bundle(&e.id), e.clone(), e.id.clone());
        tokio::task::spawn_blocking(move || {
            if let (true, Some(cg)) = (running, cg) {
                cg.update(&res)
                    .map_err(|err| ContainerError::Invalid(cannot_update(&id, err)))?;
            }
            e2.update(&dir, |c| c.host_config = hc)
        })
        .await
        .map_err(join_err)??;
        self.publish(&e.rec(), "update", &[]);
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_follows_dockerd() {
        let mut hc = HostConfig {
            memory: Some(64 << 20),
            memory_swap: Some(128 << 20),
            nano_cpus: Some(1_000_000_000),
            ..Default::default()
        };
        let p = HostConfig {
            memory: Some(100 << 20),
            pids_limit: Some(50),
            ..Default::default()
        };
        merge(&mut hc, &p).unwrap();
        assert_eq!(hc.memory, Some(100 << 20));
        assert_eq!(hc.memory_swap, Some(128 << 20));
        assert_eq!(hc.pids_limit, Some(50));
        assert_eq!(hc.nano_cpus, Some(1_000_000_000));

        let too_big = HostConfig {
            memory: Some(256 << 20),
            ..Default::default()
        };
        assert_eq!(
            merge(&mut hc.clone(), &too_big).unwrap_err(),
            "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
        );
        let quota = HostConfig {
            cpu_quota: Some(50000),
            ..Default::default()
        };
        assert_eq!(
            merge(&mut hc, &quota).unwrap_err(),
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"
        );
    }
}
