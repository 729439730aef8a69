//! rdocker: the Docker-style command-line client of rdockerd.
//!
//! Start-up is kept minimal on purpose (the budget for `rdocker pull busybox` is 60 ms end
//! to end): no async runtime, a blocking hand-written HTTP/1.1 client, no logging setup.

mod client;
mod commands;
mod config;
mod format;
mod progress;
mod rawjson;
mod reference;
mod template;
mod url;

use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Parser, Subcommand};

use commands::history::HistoryArgs;
use commands::images::ImagesArgs;
use commands::info::InfoArgs;
use commands::inspect::{InspectArgs, Scope};
use commands::login::{LoginArgs, LogoutArgs};
use commands::pull::PullArgs;
use commands::rmi::RmiArgs;
use commands::tag::TagArgs;
use commands::version::VersionArgs;
use commands::{Ctx, StatusError};

#[derive(Parser, Debug)]
#[command(
    name = "rdocker",
    about = "A self-sufficient runtime for containers",
    disable_version_flag = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Daemon socket to connect to (unix:///path or a path)
    #[arg(short = 'H', long = "host", value_name = "HOST")]
    host: Option<String>,
    /// Location of client config files
    #[arg(long, value_name = "DIR")]
    config: Option<String>,
    /// Enable debug mode (accepted for compatibility)
    #[arg(short = 'D', long)]
    debug: bool,
    /// Set the logging level (accepted for compatibility)
    #[arg(short = 'l', long = "log-level", value_name = "LEVEL")]
    log_level: Option<String>,
    /// Print version information and quit
    #[arg(short = 'v', long = "version")]
    version: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Download an image from a registry
    #[command(override_usage = "rdocker pull [OPTIONS] NAME[:TAG|@DIGEST]")]
    Pull(PullArgs),
    /// List images
    #[command(override_usage = "rdocker images [OPTIONS] [REPOSITORY[:TAG]]")]
    Images(ImagesArgs),
    /// Remove one or more images
    #[command(override_usage = "rdocker rmi [OPTIONS] IMAGE [IMAGE...]")]
    Rmi(RmiArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    #[command(override_usage = "rdocker tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")]
    Tag(TagArgs),
    /// Return low-level information on Docker objects
    #[command(override_usage = "rdocker inspect [OPTIONS] NAME|ID [NAME|ID...]")]
    Inspect(InspectArgs),
    /// Show the history of an image
    #[command(override_usage = "rdocker history [OPTIONS] IMAGE")]
    History(HistoryArgs),
    /// Authenticate to a registry
    #[command(override_usage = "rdocker login [OPTIONS] [SERVER]")]
    Login(LoginArgs),
    /// Log out from a registry
    #[command(override_usage = "rdocker logout [SERVER]")]
    Logout(LogoutArgs),
    /// Show the rdocker version information
    #[command(override_usage = "rdocker version [OPTIONS]")]
    Version(VersionArgs),
    /// Display system-wide information
    #[command(override_usage = "rdocker info [OPTIONS]")]
    Info(InfoArgs),
    /// Manage images
    #[command(subcommand, arg_required_else_help = true)]
    Image(ImageCmd),
}

#[derive(Subcommand, Debug)]
enum ImageCmd {
    /// Download an image from a registry
    #[command(override_usage = "rdocker image pull [OPTIONS] NAME[:TAG|@DIGEST]")]
    Pull(PullArgs),
    /// List images
    #[command(
        visible_alias = "list",
        override_usage = "rdocker image ls [OPTIONS] [REPOSITORY[:TAG]]"
    )]
    Ls(ImagesArgs),
    /// Remove one or more images
    #[command(
        visible_alias = "remove",
        visible_alias = "rmi",
        override_usage = "rdocker image rm [OPTIONS] IMAGE [IMAGE...]"
    )]
    Rm(RmiArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    #[command(override_usage = "rdocker image tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")]
    Tag(TagArgs),
    /// Display detailed information on one or more images
    #[command(override_usage = "rdocker image inspect [OPTIONS] IMAGE [IMAGE...]")]
    Inspect(InspectArgs),
    /// Show the history of an image
    #[command(override_usage = "rdocker image history [OPTIONS] IMAGE")]
    History(HistoryArgs),
}

fn main() -> ExitCode {
    // Like a Go program (docker), die quietly when stdout is a closed pipe
    // (`rdocker images | head -1`) instead of reporting EPIPE as an error.
    // SAFETY: setting a signal disposition to its default before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // args_os: a non-UTF-8 argument is clap's error to report, not a panic.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&argv) {
        Ok(c) => c,
        Err(e) => {
            let lossy: Vec<String> = argv
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            return clap_error(e, &lossy);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(e),
    }
}

/// The subcommand path of a command line ("pull", "image ls", "" for none), found by
/// skipping the global options; used to print the right usage line with a flag error.
fn command_path(argv: &[String]) -> String {
    let mut words = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-H" | "--host" | "--config" | "-l" | "--log-level" if words.is_empty() => {
                it.next();
            }
            s if s.starts_with('-') => {}
            s => {
                words.push(s.to_string());
                if words.len() == 2 || words[0] != "image" {
                    break;
                }
            }
        }
    }
    words.join(" ")
}

/// Docker's conventions: help and version exit 0, an unknown command exits 1, flag
/// errors exit 125, each with the command's usage line.
fn clap_error(e: clap::Error, argv: &[String]) -> ExitCode {
    let path = command_path(argv);
    let name = if path.is_empty() {
        "rdocker".to_string()
    } else {
        format!("rdocker {path}")
    };
    let ctx_str = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Help goes to stdout, also for `rdocker image` without a subcommand.
            print!("{}", e.render());
            ExitCode::SUCCESS
        }
        ErrorKind::InvalidSubcommand => {
            let cmd = ctx_str(ContextKind::InvalidSubcommand);
            if path.starts_with("image") && cmd != "image" {
                eprintln!(
                    "rdocker: unknown command: rdocker image {cmd}\n\nUsage:  rdocker image\n\nRun 'rdocker image --help' for more information"
                );
            } else {
                eprintln!(
                    "rdocker: unknown command: rdocker {cmd}\n\nRun 'rdocker --help' for more information"
                );
            }
            ExitCode::from(1)
        }
        ErrorKind::UnknownArgument => {
            let arg = ctx_str(ContextKind::InvalidArg);
            let flag = arg.split('=').next().unwrap_or(&arg).to_string();
            let what = match flag.strip_prefix('-').filter(|s| !s.starts_with('-')) {
                Some(short) => {
                    let c = short.chars().next().unwrap_or('?');
                    format!("unknown shorthand flag: '{c}' in {flag}")
                }
                None => format!("unknown flag: {flag}"),
            };
            eprintln!("{what}{}", commands::usage_footer(&name));
            ExitCode::from(125)
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("{first}{}", commands::usage_footer(&name));
            ExitCode::from(125)
        }
    }
}

/// Prints the error as docker does (the message alone, on stderr) and picks the status.
fn report(e: anyhow::Error) -> ExitCode {
    if let Some(s) = e.downcast_ref::<StatusError>() {
        if !s.message.is_empty() {
            eprintln!("{}", s.message);
        }
        return ExitCode::from(u8::try_from(s.code).unwrap_or(1));
    }
    eprintln!("{e:#}");
    ExitCode::from(1)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if cli.version {
        println!("rdocker version {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    let Some(cmd) = cli.cmd else {
        use clap::CommandFactory;
        Cli::command().print_help()?;
        return Ok(());
    };
    let env_host = std::env::var("RDOCKER_HOST").ok();
    let (host, path) = client::resolve_host(cli.host.as_deref(), env_host.as_deref())?;
    let env_cfg = std::env::var("RDOCKER_CONFIG").ok();
    let home = std::env::var("HOME").ok();
    let ctx = Ctx {
        client: client::Client::new(host, path),
        config_dir: config::config_dir(cli.config.as_deref(), env_cfg.as_deref(), home.as_deref()),
    };
    use commands::{history, images, info, inspect, login, pull, rmi, tag, version};
    match cmd {
        Cmd::Pull(a) => pull::run(&ctx, "rdocker pull", a),
        Cmd::Images(a) => images::run(&ctx, "rdocker images", a),
        Cmd::Rmi(a) => rmi::run(&ctx, "rdocker rmi", a),
        Cmd::Tag(a) => tag::run(&ctx, "rdocker tag", a),
        Cmd::Inspect(a) => inspect::run(&ctx, "rdocker inspect", a, Scope::Any),
        Cmd::History(a) => history::run(&ctx, "rdocker history", a),
        Cmd::Login(a) => login::login(&ctx, a),
        Cmd::Logout(a) => login::logout(&ctx, a),
        Cmd::Version(a) => version::run(&ctx, a),
        Cmd::Info(a) => info::run(&ctx, a),
        Cmd::Image(sub) => match sub {
            ImageCmd::Pull(a) => pull::run(&ctx, "rdocker image pull", a),
            ImageCmd::Ls(a) => images::run(&ctx, "rdocker image ls", a),
            ImageCmd::Rm(a) => rmi::run(&ctx, "rdocker image rm", a),
            ImageCmd::Tag(a) => tag::run(&ctx, "rdocker image tag", a),
            ImageCmd::Inspect(a) => inspect::run(&ctx, "rdocker image inspect", a, Scope::Image),
            ImageCmd::History(a) => history::run(&ctx, "rdocker image history", a),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("rdocker").chain(args.iter().copied()))
    }

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_docker_style_commands() {
        let c = parse(&[
            "-H",
            "unix:///x.sock",
            "pull",
            "-q",
            "--platform",
            "linux/amd64",
            "busybox",
        ])
        .expect("parse");
        assert_eq!(c.host.as_deref(), Some("unix:///x.sock"));
        match c.cmd {
            Some(Cmd::Pull(p)) => {
                assert!(p.quiet);
                assert_eq!(p.platform.as_deref(), Some("linux/amd64"));
                assert_eq!(p.args, ["busybox"]);
            }
            other => panic!("{other:?}"),
        }
        match parse(&[
            "images",
            "-a",
            "--digests",
            "--no-trunc",
            "-f",
            "dangling=true",
            "-q",
            "bb",
        ])
        .expect("parse")
        .cmd
        {
            Some(Cmd::Images(i)) => {
                assert!(i.all && i.digests && i.no_trunc && i.quiet);
                assert_eq!(i.filter, ["dangling=true"]);
                assert_eq!(i.args, ["bb"]);
            }
            other => panic!("{other:?}"),
        }
        match parse(&["image", "rm", "-f", "--no-prune", "a", "b"])
            .expect("parse")
            .cmd
        {
            Some(Cmd::Image(ImageCmd::Rm(r))) => {
                assert!(r.force && r.no_prune);
                assert_eq!(r.args, ["a", "b"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["image", "list"]).expect("parse").cmd,
            Some(Cmd::Image(ImageCmd::Ls(_)))
        ));
        match parse(&["login", "-u", "me", "--password-stdin", "localhost:5000"])
            .expect("parse")
            .cmd
        {
            Some(Cmd::Login(l)) => {
                assert_eq!(l.username.as_deref(), Some("me"));
                assert!(l.password_stdin);
                assert_eq!(l.args, ["localhost:5000"]);
            }
            other => panic!("{other:?}"),
        }
        match parse(&["inspect", "-f", "{{.Id}}", "busybox"])
            .expect("parse")
            .cmd
        {
            Some(Cmd::Inspect(i)) => assert_eq!(i.format.as_deref(), Some("{{.Id}}")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn history_human_flag() {
        let human = |args: &[&str]| match parse(args).expect("parse").cmd {
            Some(Cmd::History(h)) => h.human,
            other => panic!("{other:?}"),
        };
        assert!(human(&["history", "bb"]));
        assert!(human(&["history", "-H", "bb"]));
        assert!(!human(&["history", "-H=false", "bb"]));
        assert!(!human(&["history", "--human=false", "bb"]));
    }

    #[test]
    fn command_paths() {
        let p = |a: &[&str]| {
            let v: Vec<String> = std::iter::once("rdocker")
                .chain(a.iter().copied())
                .map(String::from)
                .collect();
            command_path(&v)
        };
        assert_eq!(p(&["-H", "unix:///x", "pull", "-q", "x"]), "pull");
        assert_eq!(p(&["--config", "/c", "image", "-x", "ls", "a"]), "image ls");
        assert_eq!(p(&["image"]), "image");
        assert_eq!(p(&["-D"]), "");
    }

    #[test]
    fn flag_errors() {
        let e = parse(&["pull", "--bogus", "x"]).expect_err("error");
        assert_eq!(e.kind(), ErrorKind::UnknownArgument);
        let e = parse(&["frobnicate"]).expect_err("error");
        assert_eq!(e.kind(), ErrorKind::InvalidSubcommand);
    }
}
