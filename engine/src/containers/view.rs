//! A record as the API shows it: `ContainerInspectResponse` and `ContainerSummary`.

use std::collections::HashMap;
use std::path::Path;

use bollard_stubs::models::{
    ContainerInspectResponse, ContainerState, ContainerStateStatusEnum, ContainerSummary,
    ContainerSummaryHostConfig, ContainerSummaryNetworkSettings, ContainerSummaryStateEnum,
    DriverData, MountPoint, MountPointTypeEnum,
};

use super::record::{Container, MountKind, MountSpec, Status};
use crate::fsutil::{parse_time, ZERO_TIME};

fn mount_point(m: &MountSpec, volumes_root: &Path) -> MountPoint {
    let (typ, name, source, driver) = match m.kind {
        MountKind::Bind => (MountPointTypeEnum::BIND, None, m.source.clone(), None),
        MountKind::Volume => (
            MountPointTypeEnum::VOLUME,
            Some(m.source.clone()),
            volumes_root
                .join(&m.source)
                .join("_data")
                .display()
                .to_string(),
            Some("local".to_string()),
        ),
        MountKind::Tmpfs => (MountPointTypeEnum::TMPFS, None, String::new(), None),
    };
    MountPoint {
        typ: Some(typ),
        name,
        source: Some(source),
        destination: Some(m.destination.clone()),
        driver,
        mode: Some(m.mode.clone()),
        rw: Some(m.rw),
        propagation: Some(m.propagation.clone()),
    }
}

/// The bundle of `c`: `<data-root>/containers/<id>`, next to `<data-root>/volumes` (the
/// summary's callers pass only the volumes root).
fn bundle_of(c: &Container, volumes_root: &Path) -> std::path::PathBuf {
    volumes_root
        .parent()
        .unwrap_or(volumes_root)
        .join("containers")
        .join(&c.id)
}

pub fn inspect(
    c: &Container,
    bundle: &Path,
    volumes_root: &Path,
    exec_ids: Vec<String>,
    size: Option<(i64, i64)>,
) -> ContainerInspectResponse {
    let st = &c.state;
    let status = match st.status {
        Status::Created => ContainerStateStatusEnum::CREATED,
        Status::Running if st.paused => ContainerStateStatusEnum::PAUSED,
        Status::Running => ContainerStateStatusEnum::RUNNING,
        Status::Restarting => ContainerStateStatusEnum::RESTARTING,
        Status::Exited => ContainerStateStatusEnum::EXITED,
        Status::Dead => ContainerStateStatusEnum::DEAD,
    };
    let path = |f: &str| Some(bundle.join(f).display().to_string());
    let lower = ""; // filled by the caller when it knows the layer dirs
    ContainerInspectResponse {
        id: Some(c.id.clone()),
        created: Some(c.created.clone()),
        path: Some(c.path.clone()),
        args: Some(c.args.clone()),
        state: Some(ContainerState {
            status: Some(status),
            running: Some(c.running()),
            paused: Some(st.paused),
            restarting: Some(st.status == Status::Restarting),
            oom_killed: Some(st.oom_killed),
            dead: Some(st.status == Status::Dead),
            pid: Some(st.pid),
            exit_code: Some(st.exit_code),
            error: Some(st.error.clone()),
            started_at: Some(st.started_at.clone().unwrap_or_else(|| ZERO_TIME.into())),
            finished_at: Some(st.finished_at.clone().unwrap_or_else(|| ZERO_TIME.into())),
            health: None,
        }),
        image: Some(c.image_id.clone()),
        resolv_conf_path: path("resolv.conf"),
        hostname_path: path("hostname"),
        hosts_path: path("hosts"),
        log_path: path(&format!("{}-json.log", c.id)),
        name: Some(c.name.clone()),
        restart_count: Some(c.restart_count),
        driver: Some("overlay2".into()),
        platform: Some("linux".into()),
        mount_label: Some(String::new()),
        process_label: Some(String::new()),
        app_armor_profile: Some(String::new()),
        exec_ids: (!exec_ids.is_empty()).then_some(exec_ids),
        host_config: Some(c.host_config.clone()),
        graph_driver: Some(DriverData {
            name: "overlay2".into(),
            data: HashMap::from([
                ("LowerDir".to_string(), lower.to_string()),
                (
                    "UpperDir".to_string(),
                    bundle.join("upper").display().to_string(),
                ),
                (
                    "WorkDir".to_string(),
                    bundle.join("work").display().to_string(),
                ),
                (
                    "MergedDir".to_string(),
                    bundle.join("rootfs").display().to_string(),
                ),
            ]),
        }),
        size_rw: size.map(|s| s.0),
        size_root_fs: size.map(|s| s.1),
        mounts: Some(
            c.mounts
                .iter()
                .map(|m| mount_point(m, volumes_root))
                .collect(),
        ),
        config: Some(c.config.clone()),
        network_settings: Some(crate::network::hooks::view(c, bundle).0),
        ..Default::default()
    }
}

pub fn summary(
    c: &Container,
    volumes_root: &Path,
    now: chrono::DateTime<chrono::Utc>,
    size: Option<(i64, i64)>,
) -> ContainerSummary {
    let state = match c.state.status {
        Status::Created => ContainerSummaryStateEnum::CREATED,
        Status::Running if c.state.paused => ContainerSummaryStateEnum::PAUSED,
        Status::Running => ContainerSummaryStateEnum::RUNNING,
        Status::Restarting => ContainerSummaryStateEnum::RESTARTING,
        Status::Exited => ContainerSummaryStateEnum::EXITED,
        Status::Dead => ContainerSummaryStateEnum::DEAD,
    };
    let (net, ports) = crate::network::hooks::view(c, &bundle_of(c, volumes_root));
    ContainerSummary {
        id: Some(c.id.clone()),
        names: Some(vec![c.name.clone()]),
        image: Some(c.config.image.clone().unwrap_or_else(|| c.image_id.clone())),
        image_id: Some(c.image_id.clone()),
        command: Some(c.command()),
        created: parse_time(&c.created).map(|t| t.timestamp()),
        ports: Some(ports),
        size_rw: size.map(|s| s.0),
        size_root_fs: size.map(|s| s.1),
        labels: Some(c.config.labels.clone().unwrap_or_default()),
        state: Some(state),
        status: Some(c.status_text(now)),
        host_config: Some(ContainerSummaryHostConfig {
            network_mode: c.host_config.network_mode.clone(),
            annotations: None,
        }),
        network_settings: Some(ContainerSummaryNetworkSettings {
            networks: net.networks,
        }),
        mounts: Some(
            c.mounts
                .iter()
                .map(|m| mount_point(m, volumes_root))
                .collect(),
        ),
        ..Default::default()
    }
}
