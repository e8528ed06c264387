//! `locklab worker-check --lock-cmd CMD`: the conformance script for
//! adapter authors ([`crate::worker::conformance`]), against a Redis the
//! lab starts (or `--redis`). One line per check; an adapter that fails one,
//! or cannot start at all, is one line on stderr naming it, and exit 2.

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use locklab_impl::ConnectOptions;

use super::target::{self, Target};
use crate::output::print_command_json;
use crate::output::Status;
use crate::worker::conformance::{self, Plan};
use crate::worker::handshake::check_period;
use crate::worker::LockCommand;

/// Flags of `locklab worker-check`.
#[derive(Debug, Args)]
pub struct WorkerCheckArgs {
    /// The adapter's command (split into words as a shell would, run
    /// without one), e.g. `.venv/bin/python adapters/python/redis_py_lock.py`.
    #[arg(long, value_name = "CMD")]
    pub lock_cmd: String,
    /// Check against this Redis instead of one the lab starts (its keys are
    /// deleted afterwards; nothing is flushed).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// The lease of the one check that waits a lease out, in milliseconds
    /// (the others run with a lease no check outlasts).
    #[arg(long, default_value_t = 1000)]
    pub lease_ms: u64,
    /// The renewal period of the renewal check, in milliseconds: above 0,
    /// below --lease-ms (default: a third of it).
    #[arg(long, value_name = "MS")]
    pub renew_every_ms: Option<u64>,
    /// How long any answer of the adapter may take, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub deadline_ms: u64,
    /// Print one JSON object instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// Runs `locklab worker-check`.
pub fn run(args: &WorkerCheckArgs) -> anyhow::Result<Status> {
    let lease_ms = target::in_range("--lease-ms", args.lease_ms, 10..=60_000, "")?;
    let deadline_ms = target::in_range("--deadline-ms", args.deadline_ms, 100..=120_000, "")?;
    let renew_every_ms = args.renew_every_ms.unwrap_or(lease_ms / 3);
    check_period(Some(renew_every_ms), lease_ms)
        .map_err(|e| anyhow::anyhow!("--renew-every-ms: {e}"))?;
    let command = LockCommand::parse(&args.lock_cmd)?;
    let redis = args.redis.as_deref().map(target::redis_url).transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let target = Target::open(redis.as_deref(), &runtime, &ConnectOptions::default())?;
    let plan = Plan {
        command,
        redis: target.url.clone(),
        lease: Duration::from_millis(lease_ms),
        deadline: Duration::from_millis(deadline_ms),
        renew_every: Duration::from_millis(renew_every_ms),
        prefix: format!("locklab:worker-check:{}", std::process::id()),
    };
    let report = runtime.block_on(conformance::run(&plan))?;
    if args.json {
        print_command_json("worker-check", &report)?;
    } else {
        println!(
            "locklab worker-check — {} ({})",
            report.command, report.lock
        );
        for c in &report.checks {
            println!(
                "{} {}: {}",
                if c.ok { "ok  " } else { "FAIL" },
                c.name,
                c.detail
            );
        }
    }
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.ok).collect();
    if let Some(first) = failed.first() {
        bail!(
            "adapter {:?} failed {} of {} checks; the first: {}: {}",
            report.command,
            failed.len(),
            report.checks.len(),
            first.name,
            first.detail
        );
    }
    if !args.json {
        println!("all {} checks passed", report.checks.len());
    }
    Ok(Status::Agrees)
}
