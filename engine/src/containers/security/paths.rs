//! `linux.maskedPaths` and `linux.readonlyPaths`: moby's `oci.DefaultLinuxSpec` lists.

/// Hidden from the container (a /dev/null bind for files, an empty read-only tmpfs for dirs).
pub const MASKED: [&str; 12] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Remounted read-only.
pub const READONLY: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// (masked, readonly) for a container. Privileged: none. Otherwise `HostConfig.MaskedPaths` /
/// `ReadonlyPaths` when the client sent them (the docker CLI turns `--security-opt
/// systempaths=unconfined` into two empty lists), else the defaults; `unconfined` is the same
/// option arriving raw (our CLI, curl).
pub fn for_container(
    hc: &bollard_stubs::models::HostConfig,
    systempaths_unconfined: bool,
) -> (Vec<String>, Vec<String>) {
    if hc.privileged.unwrap_or(false) || systempaths_unconfined {
        return (Vec::new(), Vec::new());
    }
    let or_default = |given: &Option<Vec<String>>, def: &[&str]| match given {
        Some(v) => v.clone(),
        None => def.iter().map(|s| s.to_string()).collect(),
    };
    (
        or_default(&hc.masked_paths, &MASKED),
        or_default(&hc.readonly_paths, &READONLY),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard_stubs::models::HostConfig;

    #[test]
    fn defaults_privileged_and_unconfined() {
        let (m, r) = for_container(&HostConfig::default(), false);
        assert_eq!(m.len(), 12);
        assert!(m.contains(&"/proc/kcore".to_string()));
        assert!(m.contains(&"/sys/devices/virtual/powercap".to_string()));
        assert_eq!(
            r,
            [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger"
            ]
        );
        let p = HostConfig {
            privileged: Some(true),
            ..Default::default()
        };
        assert_eq!(for_container(&p, false), (vec![], vec![]));
        assert_eq!(
            for_container(&HostConfig::default(), true),
            (vec![], vec![])
        );
        let given = HostConfig {
            masked_paths: Some(vec![]),
            readonly_paths: Some(vec!["/proc/sys".into()]),
            ..Default::default()
        };
        assert_eq!(
            for_container(&given, false),
            (vec![], vec!["/proc/sys".to_string()])
        );
    }
}
