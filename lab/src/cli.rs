//! The command line: flags are parsed by clap, then each subcommand turns
//! them into a validated plan before any work starts. Every subcommand ends
//! with one of the codes of [`EXIT_CODES`], which its `--help` prints: the
//! same behaviour gets the same code from each.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands;
pub use crate::output::Status;

/// The exit codes of every subcommand, as each `--help` ends.
pub const EXIT_CODES: &str = "\
Exit codes (every subcommand):
  0    everything claimed holds, was judged, and model and Redis agree
  1    a claim broke, or model and Redis disagree (a lock safer than its
       model disagrees too)
  2    bad input or environment: one line saying what and how to fix it
  3    a budget ran out, or something asked for was not judged (late,
       a lock's worker died, too few schedules judged)
  130  interrupted by SIGINT (143: SIGTERM); nothing the lab started is
       left running";

/// A model-checked test lab for distributed locks on Redis.
#[derive(Debug, Parser)]
#[command(name = "locklab", version, about, long_about = None, after_help = EXIT_CODES, max_term_width = 120)]
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
    #[command(after_help = EXIT_CODES)]
    Check(commands::check::CheckArgs),
    /// Replay every counterexample of the matrix on a real redis-server,
    /// side by side with the model, and the same schedules with the fixes.
    #[command(after_help = EXIT_CODES)]
    Reproduce(commands::reproduce::ReproduceArgs),
    /// Random fault schedules against real Redis, each checked against the
    /// model; every break shrunk to the smallest schedule that shows it.
    #[command(after_help = EXIT_CODES)]
    Chaos(commands::chaos::ChaosArgs),
    /// Step through one scenario's model by hand in the Stateright Explorer
    /// (a web page on a loopback port).
    #[command(after_help = EXIT_CODES)]
    Explore(commands::explore::ExploreArgs),
    /// Every lock variant and the peer crates side by side: latency,
    /// grants/s, fairness and hand-off time against the Redis round trip.
    #[command(after_help = EXIT_CODES)]
    Bench(commands::bench::BenchArgs),
    /// One self-contained HTML page: the verdict matrix, every
    /// counterexample drawn beside its real run, chaos, the bench.
    #[command(after_help = EXIT_CODES)]
    Report(commands::report::ReportArgs),
    /// What the lab knows, from its declarations: protocols, claims, faults,
    /// properties, and the worker protocol's operations and start-up fields.
    List(commands::list::ListArgs),
    /// Check a lock adapter against the worker protocol, line by line
    /// (docs/worker-protocol.md).
    #[command(after_help = EXIT_CODES)]
    WorkerCheck(commands::worker_check::WorkerCheckArgs),
    /// A lab client as a worker process, driven by the lab over stdin and
    /// stdout (see `locklab::worker`). Not for people.
    #[command(hide = true)]
    Worker(crate::worker::WorkerArgs),
}

impl Command {
    /// The subcommand's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Check(_) => "check",
            Command::Reproduce(_) => "reproduce",
            Command::Chaos(_) => "chaos",
            Command::Explore(_) => "explore",
            Command::Bench(_) => "bench",
            Command::Report(_) => "report",
            Command::List(_) => "list",
            Command::WorkerCheck(_) => "worker-check",
            Command::Worker(_) => "worker",
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Status> {
    match &cli.command {
        // A worker is the lab's to stop.
        Command::Worker(_) => {}
        other => crate::session::begin(other.name()),
    }
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
    let result = run(cli);
    crate::session::settle();
    match result {
        Ok(Status::Agrees) => ExitCode::SUCCESS,
        Ok(Status::Broken) => ExitCode::from(1),
        Ok(Status::Inconclusive) => ExitCode::from(3),
        Ok(Status::Interrupted(signal)) => ExitCode::from(128 + signal.clamp(1, 127) as u8),
        Err(err) if crate::session::caught().is_some() => {
            let signal = crate::session::caught().unwrap_or(2);
            eprintln!(
                "locklab: interrupted, then: {}; partial, nothing concluded",
                one_line(&format!("{err:#}"))
            );
            ExitCode::from(128 + signal.clamp(1, 127) as u8)
        }
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

/// A message on one line, without clap's `error: ` prefix: its lines up
/// to clap's usage block, joined, so that what clap says on the lines
/// after the first (the missing argument's name, a similar flag) is kept.
fn one_line(message: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for line in message.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() {
            parts.push(line.trim_start_matches("error: "));
        }
    }
    let mut out = String::new();
    for part in parts {
        if !out.is_empty() {
            out.push_str(if out.ends_with(':') { " " } else { "; " });
        }
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn clap_errors_keep_what_they_name() {
        let missing = "error: the following required arguments were not provided:\n  --lock-cmd <CMD>\n\nUsage: locklab worker-check --lock-cmd <CMD>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(missing),
            "the following required arguments were not provided: --lock-cmd <CMD>"
        );
        let typo = "error: unexpected argument '--protocl' found\n\n  tip: a similar argument exists: '--protocol'\n\nUsage: locklab chaos [OPTIONS]\n";
        assert_eq!(
            one_line(typo),
            "unexpected argument '--protocl' found; tip: a similar argument exists: '--protocol'"
        );
        assert_eq!(one_line("error: one\ntwo"), "one; two");
    }
}
