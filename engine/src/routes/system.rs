//! `/_ping`, `/version`, `/info`.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bollard_stubs::models::{
    IndexInfo, LocalNodeState, RegistryServiceConfig, SwarmInfo, SystemInfo,
    SystemInfoCgroupDriverEnum, SystemInfoCgroupVersionEnum, SystemVersion,
    SystemVersionComponents, SystemVersionPlatform,
};

use crate::errors::ApiError;
use crate::state::SharedState;
use crate::{API_VERSION, ENGINE_VERSION, MIN_API_VERSION};

/// `GET|HEAD /_ping`. HEAD gets the same headers; axum drops the body.
pub async fn ping() -> Response {
    let mut h = HeaderMap::new();
    h.insert("docker-experimental", HeaderValue::from_static("false"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    (h, "OK").into_response()
}

/// Go's GOARCH names, which Docker clients expect (`amd64`, not `x86_64`).
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

fn kernel_version() -> String {
    rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned()
}

fn git_commit() -> &'static str {
    option_env!("RDOCKER_GIT_COMMIT").unwrap_or("unknown")
}

/// `GET /version`.
pub async fn version() -> Json<SystemVersion> {
    let kernel = kernel_version();
    let details: HashMap<String, String> = [
        ("ApiVersion", API_VERSION),
        ("MinAPIVersion", MIN_API_VERSION),
        ("Os", "linux"),
        ("Arch", go_arch()),
        ("KernelVersion", kernel.as_str()),
        ("Experimental", "false"),
        ("GitCommit", git_commit()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Json(SystemVersion {
        platform: Some(SystemVersionPlatform {
            name: "rdocker Engine".to_string(),
        }),
        components: Some(vec![SystemVersionComponents {
            name: "Engine".to_string(),
            version: ENGINE_VERSION.to_string(),
            details: Some(details),
        }]),
        version: Some(ENGINE_VERSION.to_string()),
        api_version: Some(API_VERSION.to_string()),
        min_api_version: Some(MIN_API_VERSION.to_string()),
        git_commit: Some(git_commit().to_string()),
        os: Some("linux".to_string()),
        arch: Some(go_arch().to_string()),
        kernel_version: Some(kernel),
        experimental: Some(false),
        ..Default::default()
    })
}

/// Host facts that `/info` reports; read per request (cheap, and nothing is kept in memory).
struct HostFacts {
    mem_total: i64,
    operating_system: String,
    hostname: String,
    cgroup_v2: bool,
}

fn host_facts() -> HostFacts {
    let mem_total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| {
                let kb = l.strip_prefix("MemTotal:")?.trim().strip_suffix("kB")?;
                kb.trim().parse::<i64>().ok()
            })
        })
        .map_or(0, |kb| kb * 1024);
    let operating_system = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let v = l.strip_prefix("PRETTY_NAME=")?;
                Some(v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| "Linux".to_string());
    HostFacts {
        mem_total,
        operating_system,
        hostname: rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned(),
        // A unified hierarchy has cgroup.controllers at its root; hybrid/v1 has a tmpfs there.
        cgroup_v2: std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists(),
    }
}

/// `a.b.c.d/n`: what docker accepts as an insecure-registry CIDR.
fn is_cidr(s: &str) -> bool {
    s.split_once('/').is_some_and(|(ip, bits)| {
        ip.parse::<std::net::IpAddr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 128)
    })
}

/// `GET /info`.
pub async fn info(State(st): State<SharedState>) -> Result<Json<SystemInfo>, ApiError> {
    let images = st
        .blocking(|s| Ok::<_, ApiError>(s.list().len() as i64))
        .await?;
    let host = tokio::task::spawn_blocking(host_facts).await?;
    let d = &st.daemon;
    let index_configs: HashMap<String, IndexInfo> = [(
        "docker.io".to_string(),
        IndexInfo {
            name: Some("docker.io".to_string()),
            mirrors: Some(d.registry_mirrors.clone()),
            secure: Some(true),
            official: Some(true),
        },
    )]
    .into_iter()
    .collect();
    // dockerd lists CIDRs here and insecure hosts as index configs: the docker CLI parses every
    // entry of InsecureRegistryCIDRs as a CIDR and fails on `host:port`.
    let mut insecure = vec!["127.0.0.0/8".to_string()];
    let mut index_configs = index_configs;
    for r in &d.insecure_registries {
        if is_cidr(r) {
            insecure.push(r.clone());
        } else {
            index_configs.insert(
                r.clone(),
                IndexInfo {
                    name: Some(r.clone()),
                    mirrors: Some(Vec::new()),
                    secure: Some(false),
                    official: Some(false),
                },
            );
        }
    }
    let (mut running, mut paused, mut stopped) = (0i64, 0i64, 0i64);
    for e in st.containers.all() {
        e.with(|c| {
            if c.state.paused {
                paused += 1;
            } else if c.running() {
                running += 1;
            } else {
                stopped += 1;
            }
        });
    }
    Ok(Json(SystemInfo {
        id: Some(d.id.clone()),
        containers: Some(running + paused + stopped),
        containers_running: Some(running),
        containers_paused: Some(paused),
        containers_stopped: Some(stopped),
        images: Some(images),
        driver: Some("overlay2".to_string()),
        driver_status: Some(vec![
            vec!["Backing Filesystem".to_string(), "extfs".to_string()],
            vec!["Supports d_type".to_string(), "true".to_string()],
        ]),
        docker_root_dir: Some(d.data_root.display().to_string()),
        memory_limit: Some(true),
        swap_limit: Some(false),
        pids_limit: Some(true),
        debug: Some(d.debug),
        nfd: Some(open_fds()),
        n_goroutines: Some(0),
        system_time: Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)),
        logging_driver: Some("json-file".to_string()),
        cgroup_driver: Some(SystemInfoCgroupDriverEnum::CGROUPFS),
        cgroup_version: Some(if host.cgroup_v2 {
            SystemInfoCgroupVersionEnum::_2
        } else {
            SystemInfoCgroupVersionEnum::_1
        }),
        n_events_listener: Some(0),
        kernel_version: Some(kernel_version()),
        operating_system: Some(host.operating_system),
        os_version: Some(String::new()),
        os_type: Some("linux".to_string()),
        architecture: Some(std::env::consts::ARCH.to_string()),
        ncpu: Some(
            std::thread::available_parallelism()
                .map(|n| n.get() as i64)
                .unwrap_or(1),
        ),
        mem_total: Some(host.mem_total),
        index_server_address: Some("https://index.docker.io/v1/".to_string()),
        registry_config: Some(RegistryServiceConfig {
            insecure_registry_cidrs: Some(insecure),
            index_configs: Some(index_configs),
            mirrors: Some(d.registry_mirrors.clone()),
        }),
        name: Some(host.hostname),
        labels: Some(Vec::new()),
        experimental_build: Some(false),
        server_version: Some(ENGINE_VERSION.to_string()),
        swarm: Some(SwarmInfo {
            node_id: Some(String::new()),
            node_addr: Some(String::new()),
            local_node_state: Some(LocalNodeState::INACTIVE),
            control_available: Some(false),
            error: Some(String::new()),
            ..Default::default()
        }),
        live_restore_enabled: Some(true),
        security_options: Some(st.containers.security.info_options()),
        warnings: Some(Vec::new()),
        ..Default::default()
    }))
}

fn open_fds() -> i64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as i64)
}
