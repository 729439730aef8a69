//! rdocker: the Docker-style command-line client of rdockerd.
//!
//! Start-up is kept minimal on purpose (the budget for `rdocker pull busybox` is 60 ms end
//! to end): no async runtime, a blocking hand-written HTTP/1.1 client, no logging setup.

mod chunked;
mod client;
mod commands;
mod config;
mod errors;
mod format;
mod hijack;
mod kvfile;
mod mountspec;
mod netvalid;
mod portsfmt;
mod portspec;
mod progress;
mod rawjson;
mod reference;
mod runopts;
mod statsapi;
mod statsfmt;
mod stdcopy;
mod streams;
mod template;
mod timespec;
mod tty;
mod units;
mod url;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use commands::attach::AttachArgs;
use commands::container::ContainerCmd;
use commands::create::CreateArgs;
use commands::exec::ExecArgs;
use commands::history::HistoryArgs;
use commands::images::ImagesArgs;
use commands::info::InfoArgs;
use commands::inspect::{InspectArgs, Scope};
use commands::kill::KillArgs;
use commands::login::{LoginArgs, LogoutArgs};
use commands::logs::LogsArgs;
use commands::network::NetworkCmd;
use commands::pause::PauseArgs;
use commands::port::PortArgs;
use commands::ps::PsArgs;
use commands::pull::PullArgs;
use commands::rename::RenameArgs;
use commands::rm::RmArgs;
use commands::rmi::RmiArgs;
use commands::run::RunArgs;
use commands::start::StartArgs;
use commands::stats::StatsArgs;
use commands::stop::StopArgs;
use commands::tag::TagArgs;
use commands::top::TopArgs;
use commands::update::UpdateArgs;
use commands::version::VersionArgs;
use commands::volume::VolumeCmd;
use commands::wait::WaitArgs;
use commands::Ctx;
use errors::{clap_error, report};

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
    /// Create and run a new container from an image
    #[command(
        disable_help_flag = true,
        override_usage = "rdocker run [OPTIONS] IMAGE [COMMAND] [ARG...]"
    )]
    Run(RunArgs),
    /// Execute a command in a running container
    #[command(override_usage = "rdocker exec [OPTIONS] CONTAINER COMMAND [ARG...]")]
    Exec(ExecArgs),
    /// List containers
    #[command(override_usage = "rdocker ps [OPTIONS]")]
    Ps(PsArgs),
    /// Create a new container
    #[command(
        disable_help_flag = true,
        override_usage = "rdocker create [OPTIONS] IMAGE [COMMAND] [ARG...]"
    )]
    Create(CreateArgs),
    /// Start one or more stopped containers
    #[command(override_usage = "rdocker start [OPTIONS] CONTAINER [CONTAINER...]")]
    Start(StartArgs),
    /// Stop one or more running containers
    #[command(override_usage = "rdocker stop [OPTIONS] CONTAINER [CONTAINER...]")]
    Stop(StopArgs),
    /// Restart one or more containers
    #[command(override_usage = "rdocker restart [OPTIONS] CONTAINER [CONTAINER...]")]
    Restart(StopArgs),
    /// Kill one or more running containers
    #[command(override_usage = "rdocker kill [OPTIONS] CONTAINER [CONTAINER...]")]
    Kill(KillArgs),
    /// Remove one or more containers
    #[command(override_usage = "rdocker rm [OPTIONS] CONTAINER [CONTAINER...]")]
    Rm(RmArgs),
    /// Fetch the logs of a container
    #[command(override_usage = "rdocker logs [OPTIONS] CONTAINER")]
    Logs(LogsArgs),
    /// Block until one or more containers stop, then print their exit codes
    #[command(override_usage = "rdocker wait CONTAINER [CONTAINER...]")]
    Wait(WaitArgs),
    /// Attach local standard input, output, and error streams to a running container
    #[command(override_usage = "rdocker attach [OPTIONS] CONTAINER")]
    Attach(AttachArgs),
    /// Display the running processes of a container
    #[command(override_usage = "rdocker top CONTAINER [ps OPTIONS]")]
    Top(TopArgs),
    /// Rename a container
    #[command(override_usage = "rdocker rename CONTAINER NEW_NAME")]
    Rename(RenameArgs),
    /// Display a live stream of container(s) resource usage statistics
    #[command(override_usage = "rdocker stats [OPTIONS] [CONTAINER...]")]
    Stats(StatsArgs),
    /// Update configuration of one or more containers
    #[command(override_usage = "rdocker update [OPTIONS] CONTAINER [CONTAINER...]")]
    Update(UpdateArgs),
    /// Pause all processes within one or more containers
    #[command(override_usage = "rdocker pause CONTAINER [CONTAINER...]")]
    Pause(PauseArgs),
    /// Unpause all processes within one or more containers
    #[command(override_usage = "rdocker unpause CONTAINER [CONTAINER...]")]
    Unpause(PauseArgs),
    /// Manage containers
    #[command(subcommand, arg_required_else_help = true)]
    Container(ContainerCmd),
    /// Manage volumes
    #[command(subcommand, arg_required_else_help = true)]
    Volume(VolumeCmd),
    /// Manage networks
    #[command(subcommand, arg_required_else_help = true)]
    Network(NetworkCmd),
    /// List port mappings or a specific mapping for the container
    #[command(override_usage = "rdocker port CONTAINER [PRIVATE_PORT[/PROTO]]")]
    Port(PortArgs),
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
    use commands::{attach, container, create, exec, kill, logs, ps, rename, rm, run, start};
    use commands::{history, images, info, inspect, login, pull, rmi, tag, version};
    use commands::{network, pause, port, stats, stop, top, update, volume, wait};
    match cmd {
        Cmd::Run(a) => run::run(&ctx, "rdocker run", a),
        Cmd::Exec(a) => exec::run(&ctx, "rdocker exec", a),
        Cmd::Ps(a) => ps::run(&ctx, "rdocker ps", a),
        Cmd::Create(a) => create::run(&ctx, "rdocker create", a),
        Cmd::Start(a) => start::run(&ctx, "rdocker start", a),
        Cmd::Stop(a) => stop::run(&ctx, "rdocker stop", "stop", a),
        Cmd::Restart(a) => stop::run(&ctx, "rdocker restart", "restart", a),
        Cmd::Kill(a) => kill::run(&ctx, "rdocker kill", a),
        Cmd::Rm(a) => rm::run(&ctx, "rdocker rm", a),
        Cmd::Logs(a) => logs::run(&ctx, "rdocker logs", a),
        Cmd::Wait(a) => wait::run(&ctx, "rdocker wait", a),
        Cmd::Attach(a) => attach::run(&ctx, "rdocker attach", a),
        Cmd::Top(a) => top::run(&ctx, "rdocker top", a),
        Cmd::Rename(a) => rename::run(&ctx, "rdocker rename", a),
        Cmd::Stats(a) => stats::run(&ctx, "rdocker stats", a),
        Cmd::Update(a) => update::run(&ctx, "rdocker update", a),
        Cmd::Pause(a) => pause::run(&ctx, "rdocker pause", "pause", a),
        Cmd::Unpause(a) => pause::run(&ctx, "rdocker unpause", "unpause", a),
        Cmd::Container(c) => container::run(&ctx, c),
        Cmd::Volume(v) => volume::run(&ctx, v),
        Cmd::Network(n) => network::run(&ctx, n),
        Cmd::Port(a) => port::run(&ctx, "rdocker port", a),
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
    use clap::error::ErrorKind;

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
    fn container_commands_parse() {
        match parse(&[
            "run", "-h", "hn", "--rm", "-it", "busybox", "ls", "-la", "--rm",
        ])
        .expect("parse")
        .cmd
        {
            Some(Cmd::Run(r)) => {
                assert_eq!(r.opts.hostname.as_deref(), Some("hn"));
                assert!(r.opts.rm && r.opts.tty && r.opts.interactive);
                assert_eq!(r.opts.args, ["busybox", "ls", "-la", "--rm"]);
                assert!(r.sig_proxy);
            }
            other => panic!("{other:?}"),
        }
        match parse(&["run", "--sig-proxy=false", "busybox"])
            .expect("parse")
            .cmd
        {
            Some(Cmd::Run(r)) => assert!(!r.sig_proxy),
            other => panic!("{other:?}"),
        }
        match parse(&["exec", "-it", "c", "sh", "-c", "x"])
            .expect("parse")
            .cmd
        {
            Some(Cmd::Exec(e)) => {
                assert!(e.interactive && e.tty);
                assert_eq!(e.args, ["c", "sh", "-c", "x"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["container", "ps", "-a"]).expect("parse").cmd,
            Some(Cmd::Container(ContainerCmd::Ls(_)))
        ));
        assert!(matches!(
            parse(&["volume", "list"]).expect("parse").cmd,
            Some(Cmd::Volume(VolumeCmd::Ls(_)))
        ));
        match parse(&["stop", "-t", "0", "a", "b"]).expect("parse").cmd {
            Some(Cmd::Stop(s)) => {
                assert_eq!(s.time, Some(0));
                assert_eq!(s.args, ["a", "b"]);
            }
            other => panic!("{other:?}"),
        }
        match parse(&["logs", "-f", "-n", "3", "c"]).expect("parse").cmd {
            Some(Cmd::Logs(l)) => assert!(l.follow && l.tail == "3"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn network_commands_parse() {
        use commands::network::NetworkCmd as N;
        match parse(&[
            "network",
            "create",
            "--subnet",
            "10.9.0.0/24",
            "-d",
            "bridge",
            "n",
        ])
        .expect("parse")
        .cmd
        {
            Some(Cmd::Network(N::Create(c))) => {
                assert_eq!(c.subnet, ["10.9.0.0/24"]);
                assert_eq!(c.driver, "bridge");
                assert_eq!(c.args, ["n"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["network", "list", "-q"]).expect("parse").cmd,
            Some(Cmd::Network(N::Ls(l))) if l.quiet
        ));
        assert!(matches!(
            parse(&["network", "remove", "a", "b"]).expect("parse").cmd,
            Some(Cmd::Network(N::Rm(r))) if r.args == ["a", "b"]
        ));
        match parse(&[
            "network", "connect", "--alias", "x", "--ip", "10.9.0.5", "n", "c",
        ])
        .expect("parse")
        .cmd
        {
            Some(Cmd::Network(N::Connect(c))) => {
                assert_eq!(c.alias, ["x"]);
                assert_eq!(c.args, ["n", "c"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["network", "disconnect", "-f", "n", "c"]).expect("parse").cmd,
            Some(Cmd::Network(N::Disconnect(d))) if d.force
        ));
        assert!(matches!(
            parse(&["network", "prune", "-f", "--filter", "until=1h"]).expect("parse").cmd,
            Some(Cmd::Network(N::Prune(p))) if p.force && p.filter == ["until=1h"]
        ));
        assert!(matches!(
            parse(&["port", "c", "80/tcp"]).expect("parse").cmd,
            Some(Cmd::Port(p)) if p.args == ["c", "80/tcp"]
        ));
        assert!(matches!(
            parse(&["container", "port", "c"]).expect("parse").cmd,
            Some(Cmd::Container(ContainerCmd::Port(_)))
        ));
        match parse(&[
            "run",
            "-p",
            "80:80",
            "-P",
            "--net",
            "n",
            "--net-alias",
            "a",
            "--dns-opt",
            "x",
            "busybox",
            "-p",
            "9",
        ])
        .expect("parse")
        .cmd
        {
            Some(Cmd::Run(r)) => {
                let n = &r.opts.network;
                assert_eq!(n.publish, ["80:80"]);
                assert!(n.publish_all);
                assert_eq!(n.network, ["n"]);
                assert_eq!(n.network_alias, ["a"]);
                assert_eq!(n.dns_option, ["x"]);
                assert_eq!(r.opts.args, ["busybox", "-p", "9"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flag_errors() {
        let e = parse(&["pull", "--bogus", "x"]).expect_err("error");
        assert_eq!(e.kind(), ErrorKind::UnknownArgument);
        let e = parse(&["frobnicate"]).expect_err("error");
        assert_eq!(e.kind(), ErrorKind::InvalidSubcommand);
    }
}
