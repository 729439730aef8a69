//! `rdocker container …`: the management-command spellings of the container commands.

use anyhow::Result;
use clap::Subcommand;

use super::attach::AttachArgs;
use super::create::CreateArgs;
use super::exec::ExecArgs;
use super::inspect::{InspectArgs, Scope};
use super::kill::KillArgs;
use super::logs::LogsArgs;
use super::prune::PruneArgs;
use super::ps::PsArgs;
use super::rename::RenameArgs;
use super::rm::RmArgs;
use super::run::RunArgs;
use super::start::StartArgs;
use super::stop::StopArgs;
use super::top::TopArgs;
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
    /// Stop one or more running containers
    #[command(override_usage = "rdocker container stop [OPTIONS] CONTAINER [CONTAINER...]")]
    Stop(StopArgs),
    /// Display the running processes of a container
    #[command(override_usage = "rdocker container top CONTAINER [ps OPTIONS]")]
    Top(TopArgs),
    /// Block until one or more containers stop, then print their exit codes
    #[command(override_usage = "rdocker container wait CONTAINER [CONTAINER...]")]
    Wait(WaitArgs),
}

pub fn run(ctx: &Ctx, cmd: ContainerCmd) -> Result<()> {
    use super::{
        attach, create, exec, inspect, kill, logs, prune, ps, rename, rm, run, start, stop, top,
        wait,
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
        ContainerCmd::Prune(a) => prune::run(ctx, "rdocker container prune", a),
        ContainerCmd::Rename(a) => rename::run(ctx, "rdocker container rename", a),
        ContainerCmd::Restart(a) => stop::run(ctx, "rdocker container restart", "restart", a),
        ContainerCmd::Rm(a) => rm::run(ctx, "rdocker container rm", a),
        ContainerCmd::Run(a) => run::run(ctx, "rdocker container run", a),
        ContainerCmd::Start(a) => start::run(ctx, "rdocker container start", a),
        ContainerCmd::Stop(a) => stop::run(ctx, "rdocker container stop", "stop", a),
        ContainerCmd::Top(a) => top::run(ctx, "rdocker container top", a),
        ContainerCmd::Wait(a) => wait::run(ctx, "rdocker container wait", a),
    }
}
