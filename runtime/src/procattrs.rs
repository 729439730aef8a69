//! Per-process settings from the spec applied in the init before execve: rlimits and
//! oom_score_adj (as root, before the uid change), no_new_privs (last, after everything).

use oci_spec::runtime::Process;

use crate::error::{Context, ShimError};

const RLIMITS: [(&str, libc::__rlimit_resource_t); 16] = [
    ("RLIMIT_CPU", libc::RLIMIT_CPU),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
    ("RLIMIT_DATA", libc::RLIMIT_DATA),
    ("RLIMIT_STACK", libc::RLIMIT_STACK),
    ("RLIMIT_CORE", libc::RLIMIT_CORE),
    ("RLIMIT_RSS", libc::RLIMIT_RSS),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
    ("RLIMIT_AS", libc::RLIMIT_AS),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
    ("RLIMIT_NICE", libc::RLIMIT_NICE),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
];

pub fn before_user(p: &Process) -> Result<(), ShimError> {
    for r in p.rlimits().iter().flatten() {
        let name = serde_json::to_value(r.typ())
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let resource = RLIMITS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r)
            .ok_or_else(|| ShimError::Spec(format!("unknown rlimit {name:?}")))?;
        let lim = libc::rlimit {
            rlim_cur: r.soft(),
            rlim_max: r.hard(),
        };
        // SAFETY: setrlimit reads one rlimit struct we own.
        if unsafe { libc::setrlimit(resource, &lim) } != 0 {
            return Err(ShimError::sys(
                format!("setrlimit {name} soft={} hard={}", r.soft(), r.hard()),
                std::io::Error::last_os_error(),
            ));
        }
    }
    if let Some(adj) = p.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .ctx(|| format!("set oom_score_adj {adj}"))?;
    }
    Ok(())
}

pub fn no_new_privs(p: &Process) -> Result<(), ShimError> {
    if p.no_new_privileges() == Some(true) {
        // SAFETY: PR_SET_NO_NEW_PRIVS takes integers only.
        let r = unsafe {
            libc::prctl(
                libc::PR_SET_NO_NEW_PRIVS,
                1 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
        if r != 0 {
            return Err(ShimError::sys(
                "prctl(PR_SET_NO_NEW_PRIVS)",
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(())
}
