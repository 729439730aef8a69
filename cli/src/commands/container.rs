//! `rdocker container …`: the management-command spellings of the container commands.

use anyhow::Result;
use clap::Subcommand;

use super::attach::AttachArgs;
use super::create::CreateArgs;
use super::exec::ExecArgs;
use super::inspect::{InspectArgs, Scope};
use super::kill::KillArgs;
use super::logs::LogsArgs;
use super::pause::PauseArgs;
use super::port::PortArgs;
use super::prune::PruneArgs;
use super::ps::PsArgs;
use super::rename::RenameArgs;
use super::rm::RmArgs;
use super::run::RunArgs;
use super::start::StartArgs;
use super::stats::StatsArgs;
use super::stop::StopArgs;
use super::top::TopArgs;
use super::update::UpdateArgs;
use super::wait::WaitArgs;
use super::Ctx;

#[derive(Subcommand, Debug)]
pub enum ContainerCmd {
    /// Attach local standard input, output, and error streams to a running container
    #[command(override_usage = "rdocker container attach [OPTIONS] CONTAINER")]
    Attach(AttachArgs),
    /// Create a new container
    #[command(
        disable_help_flag = true,
        override_usage = "rdocker container create [OPTIONS] IMAGE [COMMAND] [ARG...]"
    )]
    Create(CreateArgs),
    /// Execute a command in a running container
    #[command(override_usage = "rdocker container exec [OPTIONS] CONTAINER COMMAND [ARG...]")]
    Exec(ExecArgs),
    /// Display detailed information on one or more containers
    #[command(override_usage = "rdocker container inspect [OPTIONS] CONTAINER [CONTAINER...]")]
    Inspect(InspectArgs),
    /// Kill one or more running containers
    #[command(override_usage = "rdocker container kill [OPTIONS] CONTAINER [CONTAINER...]")]
    Kill(KillArgs),
    /// Fetch the logs of a container
    #[command(override_usage = "rdocker container logs [OPTIONS] CONTAINER")]
    Logs(LogsArgs),
    /// List containers
    #[command(
        visible_alias = "ps",
        visible_alias = "list",
        override_usage = "rdocker container ls [OPTIONS]"
    )]
    Ls(PsArgs),
    /// Pause all processes within one or more containers
    #[command(override_usage = "rdocker container pause CONTAINER [CONTAINER...]")]
    Pause(PauseArgs),
    /// List port mappings or a specific mapping for the container
    #[command(override_usage = "rdocker container port CONTAINER [PRIVATE_PORT[/PROTO]]")]
    Port(PortArgs),
    /// Remove all stopped containers
    #[command(override_usage = "rdocker container prune [OPTIONS]")]
    Prune(PruneArgs),
    /// Rename a container
    #[command(override_usage = "rdocker container rename CONTAINER NEW_NAME")]
    Rename(RenameArgs),
    /// Restart one or more containers
    #[command(override_usage = "rdocker container restart [OPTIONS] CONTAINER [CONTAINER...]")]
    Restart(StopArgs),
    /// Remove one or more containers
    #[command(
        visible_alias = "remove",
        override_usage = "rdocker container rm [OPTIONS] CONTAINER [CONTAINER...]"
    )]
    Rm(RmArgs),
    /// Create and run a new container from an image
    #[command(
        disable_help_flag = true,
        override_usage = "rdocker container run [OPTIONS] IMAGE [COMMAND] [ARG...]"
    )]
    Run(RunArgs),
    /// Start one or more stopped containers
    #[command(override_usage = "rdocker container start [OPTIONS] CONTAINER [CONTAINER...]")]
    Start(StartArgs),
    /// Display a live stream of container(s) resource usage statistics
    #[command(override_usage = "rdocker container stats [OPTIONS] [CONTAINER...]")]
    Stats(StatsArgs),
    /// Stop one or more running containers
    #[command(override_usage = "rdocker container stop [OPTIONS] CONTAINER [CONTAINER...]")]
    Stop(StopArgs),
    /// Display the running processes of a container
    #[command(override_usage = "rdocker container top CONTAINER [ps OPTIONS]")]
    Top(TopArgs),
    /// Unpause all processes within one or more containers
    #[command(override_usage = "rdocker container unpause CONTAINER [CONTAINER...]")]
    Unpause(PauseArgs),
    /// Update configuration of one or more containers
    #[command(override_usage = "rdocker container update [OPTIONS] CONTAINER [CONTAINER...]")]
    Update(UpdateArgs),
    /// Block until one or more containers stop, then print their exit codes
    #[command(override_usage = "rdocker container wait CONTAINER [CONTAINER...]")]
    Wait(WaitArgs),
}

pub fn run(ctx: &Ctx, cmd: ContainerCmd) -> Result<()> {
    use super::{
        attach, create, exec, inspect, kill, logs, pause, prune, ps, rename, rm, run, start, stats,
        stop, top, update, wait,
    };
    match cmd {
        ContainerCmd::Attach(a) => attach::run(ctx, "rdocker container attach", a),
        ContainerCmd::Create(a) => create::run(ctx, "rdocker container create", a),
        ContainerCmd::Exec(a) => exec::run(ctx, "rdocker container exec", a),
        ContainerCmd::Inspect(a) => {
            inspect::run(ctx, "rdocker container inspect", a, Scope::Container)
        }
        ContainerCmd::Kill(a) => kill::run(ctx, "rdocker container kill", a),
        ContainerCmd::Logs(a) => logs::run(ctx, "rdocker container logs", a),
        ContainerCmd::Ls(a) => ps::run(ctx, "rdocker container ls", a),
        ContainerCmd::Pause(a) => pause::run(ctx, "rdocker container pause", "pause", a),
        ContainerCmd::Port(a) => super::port::run(ctx, "rdocker container port", a),
        ContainerCmd::Prune(a) => prune::run(ctx, "rdocker container prune", a),
        ContainerCmd::Rename(a) => rename::run(ctx, "rdocker container rename", a),
        ContainerCmd::Restart(a) => stop::run(ctx, "rdocker container restart", "restart", a),
        ContainerCmd::Rm(a) => rm::run(ctx, "rdocker container rm", a),
        ContainerCmd::Run(a) => run::run(ctx, "rdocker container run", a),
        ContainerCmd::Start(a) => start::run(ctx, "rdocker container start", a),
        ContainerCmd::Stats(a) => stats::run(ctx, "rdocker container stats", a),
        ContainerCmd::Stop(a) => stop::run(ctx, "rdocker container stop", "stop", a),
        ContainerCmd::Top(a) => top::run(ctx, "rdocker container top", a),
        ContainerCmd::Unpause(a) => pause::run(ctx, "rdocker container unpause", "unpause", a),
        ContainerCmd::Update(a) => update::run(ctx, "rdocker container update", a),
        ContainerCmd::Wait(a) => wait::run(ctx, "rdocker container wait", a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cli, Cmd};
    use clap::Parser;

    fn parse(args: &[&str]) -> Cmd {
        Cli::try_parse_from(std::iter::once("rdocker").chain(args.iter().copied()))
            .expect("parse")
            .cmd
            .expect("a command")
    }

    #[test]
    fn limit_and_stats_commands_parse() {
        match parse(&[
            "stats",
            "--no-stream",
            "-a",
            "--no-trunc",
            "--format",
            "json",
        ]) {
            Cmd::Stats(s) => {
                assert!(s.no_stream && s.all && s.no_trunc);
                assert_eq!(s.format.as_deref(), Some("json"));
                assert!(s.args.is_empty());
            }
            other => panic!("{other:?}"),
        }
        match parse(&["container", "stats", "a", "b"]) {
            Cmd::Container(ContainerCmd::Stats(s)) => assert_eq!(s.args, ["a", "b"]),
            other => panic!("{other:?}"),
        }
        match parse(&[
            "update",
            "-m",
            "128m",
            "--memory-swap",
            "-1",
            "-c",
            "512",
            "c1",
        ]) {
            Cmd::Update(u) => {
                assert_eq!(u.limits.memory.as_deref(), Some("128m"));
                assert_eq!(u.limits.memory_swap.as_deref(), Some("-1"));
                assert_eq!(u.limits.cpu_shares.as_deref(), Some("512"));
                assert_eq!(u.args, ["c1"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["container", "update", "--pids-limit", "5", "c"]),
            Cmd::Container(ContainerCmd::Update(_))
        ));
        match parse(&["pause", "a", "b"]) {
            Cmd::Pause(p) => assert_eq!(p.args, ["a", "b"]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse(&["unpause", "a"]), Cmd::Unpause(_)));
        assert!(matches!(
            parse(&["container", "pause", "a"]),
            Cmd::Container(ContainerCmd::Pause(_))
        ));
        assert!(matches!(
            parse(&["container", "unpause", "a"]),
            Cmd::Container(ContainerCmd::Unpause(_))
        ));
        match parse(&["exec", "--privileged", "c", "id"]) {
            Cmd::Exec(e) => assert!(e.privileged),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn run_takes_the_resource_and_security_flags() {
        let r = match parse(&[
            "run",
            "--rm",
            "-m",
            "64m",
            "--pids-limit",
            "-1",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--ulimit",
            "nofile=10:20",
            "busybox",
            "true",
            "-m",
            "1",
        ]) {
            Cmd::Run(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(r.opts.args, ["busybox", "true", "-m", "1"]);
        let b = serde_json::to_value(r.opts.body(false).expect("body")).expect("json");
        let h = &b["HostConfig"];
        assert_eq!(h["Memory"], 64 << 20);
        assert_eq!(h["PidsLimit"], -1);
        assert_eq!(h["CapDrop"], serde_json::json!(["ALL"]));
        assert_eq!(h["SecurityOpt"], serde_json::json!(["no-new-privileges"]));
        assert_eq!(h["Ulimits"][0]["Hard"], 20);
        assert!(matches!(
            parse(&["container", "create", "--cpus", "1.5", "busybox"]),
            Cmd::Container(ContainerCmd::Create(_))
        ));
    }
}
