//! rdocker-fixtures: builds the project's deterministic fixture images and pushes them to a
//! registry, or prints their digests.
//!
//!   rdocker-fixtures push --registry 127.0.0.1:5000 [--user U --password P] [--set default]
//!   rdocker-fixtures digests [--set default]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use rdocker_tests::fixtures;

#[derive(Parser)]
#[command(
    name = "rdocker-fixtures",
    about = "Build and push rdocker's fixture images"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Push fixture sets to a registry.
    Push {
        /// host:port of the registry (plain HTTP; 127.0.0.1 only in this project).
        #[arg(long, default_value = "127.0.0.1:5000")]
        registry: String,
        #[arg(long, requires = "password")]
        user: Option<String>,
        #[arg(long, requires = "user")]
        password: Option<String>,
        /// busybox, multiarch, layered, zstd, default, bulky, large, evil, all (repeatable).
        #[arg(long = "set", default_value = "default")]
        sets: Vec<String>,
        /// The registry's storage rootdirectory: needed by the lying `evil` images, which are
        /// written into storage directly.
        #[arg(long)]
        storage: Option<PathBuf>,
    },
    /// Print "repo:tag digest media-type" for the sets, without pushing.
    Digests {
        #[arg(long = "set", default_value = "default")]
        sets: Vec<String>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rdocker-fixtures: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Push {
            registry,
            user,
            password,
            sets,
            storage,
        } => {
            let creds = user.as_deref().zip(password.as_deref());
            for set in &sets {
                let pushes = fixtures::set(set)?;
                let pushed = fixtures::push_all(&registry, creds, storage.as_deref(), &pushes)?;
                for p in pushed {
                    println!("pushed {registry}/{} {}", p.reference, p.digest);
                }
            }
        }
        Cmd::Digests { sets } => {
            for set in &sets {
                for p in fixtures::set(set)? {
                    for (reference, m) in &p.manifests {
                        if !reference.starts_with("sha256:") {
                            println!("{}:{reference} {} {}", p.repo, m.digest, m.media_type);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
