//! The command line: flags are parsed by clap, then each subcommand turns
//! them into a validated plan before any work starts. Exit codes: 0 when
//! everything agrees with the claims, 1 when a claim is broken (or model and
//! Redis disagree), 2 for bad input or environment, with one line saying
//! what and how to fix it, 3 when a budget ran out before a claim was
//! settled (nothing proven either way), 130/143 when interrupted (after a
//! partial summary).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands;

/// A model-checked test lab for distributed locks on Redis.
#[derive(Debug, Parser)]
#[command(name = "locklab", version, about, long_about = None)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Model-check every protocol under every fault; print the verdict matrix
    /// and the shortest counterexample of every break.
    Check(commands::check::CheckArgs),
    /// Replay every counterexample of the matrix on a real redis-server,
    /// side by side with the model, and the same schedules with the fixes.
    Reproduce(commands::reproduce::ReproduceArgs),
    /// Random fault schedules against real Redis, each checked against the
    /// model; every break shrunk to the smallest schedule that shows it.
    Chaos(commands::chaos::ChaosArgs),
    /// Step through one scenario's model by hand in the Stateright Explorer
    /// (a web page on a loopback port).
    Explore(commands::explore::ExploreArgs),
    /// Every lock variant and the peer crates side by side: latency,
    /// grants/s, fairness and hand-off time against the Redis round trip.
    Bench(commands::bench::BenchArgs),
    /// One self-contained HTML page: the verdict matrix, every
    /// counterexample drawn beside its real run, chaos, the bench.
    Report(commands::report::ReportArgs),
    /// What the lab knows, from its declarations: protocols, claims, faults,
    /// properties, and the worker protocol's operations and start-up fields.
    List(commands::list::ListArgs),
    /// Check a lock adapter against the worker protocol, line by line
    /// (docs/worker-protocol.md).
    WorkerCheck(commands::worker_check::WorkerCheckArgs),
    /// A lab client as a worker process, driven by the lab over stdin and
    /// stdout (see `locklab::worker`). Not for people.
    #[command(hide = true)]
    Worker(crate::worker::WorkerArgs),
}

/// How a run ended, when it ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Everything agrees with the claims.
    Agrees,
    /// A claim is broken, or the model and Redis disagree.
    Broken,
    /// Nothing is broken, but a budget ran out before a claim was settled:
    /// nothing was proven either way.
    Inconclusive,
    /// Stopped by this signal, after a partial summary.
    Interrupted(i32),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Status> {
    match cli.command {
        Command::Check(args) => commands::check::run(&args),
        Command::Reproduce(args) => commands::reproduce::run(&args),
        Command::Worker(args) => crate::worker::serve::run(&args),
        Command::Chaos(args) => commands::chaos::run(&args),
        Command::Explore(args) => commands::explore::run(&args),
        Command::Bench(args) => commands::bench::run(&args),
        Command::Report(args) => commands::report::run(&args),
        Command::WorkerCheck(args) => commands::worker_check::run(&args),
        Command::List(args) => commands::list::run(&args),
    }
}

/// The binary's entry point: parse, run, map to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            return match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = err.print();
                    ExitCode::SUCCESS
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = err.print();
                    ExitCode::from(2)
                }
                _ => {
                    eprintln!("locklab: {}", one_line(&err.render().to_string()));
                    ExitCode::from(2)
                }
            };
        }
    };
    match run(cli) {
        Ok(Status::Agrees) => ExitCode::SUCCESS,
        Ok(Status::Broken) => ExitCode::from(1),
        Ok(Status::Inconclusive) => ExitCode::from(3),
        Ok(Status::Interrupted(signal)) => ExitCode::from(128 + signal.clamp(1, 127) as u8),
        Err(err) => {
            eprintln!("locklab: {}", one_line(&format!("{err:#}")));
            let tail = err
                .chain()
                .find_map(|e| e.downcast_ref::<crate::output::Tailed>())
                .and_then(crate::output::Tailed::tail);
            if let Some(tail) = tail {
                eprintln!("{}", tail.trim_end());
            }
            ExitCode::from(2)
        }
    }
}

/// The first line of a message, without clap's `error: ` prefix.
fn one_line(message: &str) -> String {
    let first = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    first.trim_start_matches("error: ").trim().to_owned()
}
