//! `rdockerd`: flags and config, logging, the runtime, then [`rdocker_engine::server::run`].

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use rdocker_engine::config::{DaemonConfig, Flags};

fn main() -> ExitCode {
    let flags = Flags::parse();
    // Security settings resolve before logging starts: a bad profile or a user without id
    // ranges is a configuration error, reported like the others.
    let cfg = match DaemonConfig::load(&flags).and_then(|mut c| c.resolve_security().map(|()| c)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rdockerd: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(cfg.log_level.as_tracing())
        .with_target(false)
        // Colour codes only for a terminal; log files and journald get plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    if let Some(f) = &cfg.config_file {
        tracing::debug!("configuration read from {}", f.display());
    }
    match run(cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("failed to start daemon: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each cause only if the text so far does not already say it: our
/// errors' messages include their cause (Docker's style), anyhow's contexts do not.
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn run(cfg: DaemonConfig) -> anyhow::Result<()> {
    limit_malloc_arenas();
    // Idle memory matters more than throughput here: two workers (I/O is light; heavy layer
    // work runs on the blocking pool), and a bounded blocking pool.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(32)
        .thread_keep_alive(Duration::from_secs(10))
        .thread_name("rdockerd")
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let result = rt.block_on(rdocker_engine::server::run(cfg));
    // Blocking tasks (an unpack in progress) must not hold the exit hostage.
    rt.shutdown_timeout(Duration::from_secs(2));
    result.map_err(Into::into)
}

/// glibc gives each thread that allocates its own malloc arena (up to 8 per core); on a mostly
/// idle daemon their retained pages dominate RSS. Two arenas are plenty for our concurrency.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator tunables; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("corrupt images.json: {0}")]
    struct Inner(#[source] std::io::Error);

    #[test]
    fn causes_are_not_repeated() {
        let e = anyhow::Error::new(Inner(std::io::Error::other("bad json")))
            .context("opening the image store");
        assert_eq!(
            error_chain(&e),
            "opening the image store: corrupt images.json: bad json"
        );
    }
}
