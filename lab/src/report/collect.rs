//! Making the inputs when no `--from` is given: the report runs `check`,
//! `reproduce`, a short `chaos` (on the scenarios `check` checks, whose
//! model checks it reuses) and `bench --quick`, each as a `locklab` child
//! process with `--json`. A child's JSON is exactly what `--from`
//! would read, so the page does not depend on how its inputs were made;
//! its progress bars draw on the terminal (stderr is passed through), and
//! it is a guarded child: it dies with the report.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};

use super::input::Inputs;
use crate::commands::model_cache;
use crate::process::{spawn_guarded, spawn_guarded_as, OnInterrupt};

/// The longest one command may run before the report gives up on it.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(1800);

/// The commands of a default report, as `locklab` arguments, each on
/// `protocols` (none: every protocol each command has by default).
pub fn default_runs(chaos_schedules: usize, protocols: &[String]) -> Vec<Vec<String>> {
    let args = |a: &[&str]| {
        let mut all: Vec<String> = a.iter().map(|s| (*s).to_owned()).collect();
        for p in protocols {
            all.extend(["--protocol".to_owned(), p.clone()]);
        }
        all
    };
    vec![
        args(&["check", "--json"]),
        args(&["reproduce", "--json"]),
        args(&[
            "chaos",
            "--json",
            "--schedules",
            &chaos_schedules.to_string(),
            "--check-sized",
        ]),
        args(&["bench", "--quick", "--json"]),
    ]
}

/// Runs each command with `binary` and reads its output into `inputs`,
/// telling the terminal what runs. The commands share their model checks
/// through a directory of the report's own ([`model_cache`]): a scenario
/// `check` checked is not checked again by `reproduce` or `chaos`.
pub fn run_all(binary: &Path, runs: &[Vec<String>], inputs: &mut Inputs) -> anyhow::Result<()> {
    let models = crate::session::scratch::dir("models")
        .context("making the directory of the report's model checks")?;
    for (i, args) in runs.iter().enumerate() {
        let line = format!("locklab {}", args.join(" "));
        eprintln!("report: [{}/{}] {line}", i + 1, runs.len());
        crate::session::note(format!("[{}/{}] {line}", i + 1, runs.len()));
        let started = Instant::now();
        let json = run_one(binary, args, &line, models.path())?;
        inputs
            .add(&json, &format!("ran by the report: {line}"))
            .map_err(|e| anyhow!("{line} wrote an output the report cannot read: {e}"))?;
        eprintln!(
            "report: [{}/{}] {line}: done in {:.1} s",
            i + 1,
            runs.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The version of the `redis-server` the commands start (the one
/// `$LOCKLAB_REDIS_SERVER` names, else the one on `PATH`), e.g. `7.0.15`;
/// `None` when it cannot be asked within a few seconds.
pub fn redis_version() -> Option<String> {
    let binary = std::env::var_os(crate::server::REDIS_SERVER_ENV)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "redis-server".into());
    let mut cmd = Command::new(binary);
    cmd.arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = spawn_guarded(cmd).ok()?;
    let mut stdout = child.take_stdout()?;
    let status = child.wait_timeout(Duration::from_secs(5)).ok()??;
    let mut text = String::new();
    stdout.read_to_string(&mut text).ok()?;
    // `Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 …`
    let version = text.split_whitespace().find_map(|w| w.strip_prefix("v="))?;
    status.success().then(|| version.to_owned())
}

fn run_one(binary: &Path, args: &[String], line: &str, models: &Path) -> anyhow::Result<String> {
    let mut cmd = Command::new(binary);
    cmd.args(args)
        .env(model_cache::ENV, models)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // Forwarded: an interrupted report lets the command clean up after
    // itself (its servers, its directories) before it is killed.
    let mut child = spawn_guarded_as(cmd, OnInterrupt::Forward)
        .with_context(|| format!("starting {}", binary.display()))?;
    let mut stdout = child
        .take_stdout()
        .ok_or_else(|| anyhow!("{line}: no stdout"))?;
    // Read on a thread of its own, so that a full pipe never blocks the
    // child while this thread waits for it.
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let status = child
        .wait_timeout(COMMAND_DEADLINE)
        .with_context(|| format!("waiting for {line}"))?;
    let Some(status) = status else {
        let _ = child.kill_and_wait();
        bail!(
            "{line} did not finish within {} s; no report written",
            COMMAND_DEADLINE.as_secs()
        );
    };
    let text = reader
        .join()
        .map_err(|_| anyhow!("{line}: reading its output failed"))?
        .with_context(|| format!("reading the output of {line}"))?;
    match status.code() {
        Some(0 | 1) => Ok(text),
        Some(code) => {
            bail!("{line} failed with exit code {code} (its message is above); no report written")
        }
        None => bail!("{line} was killed by a signal; no report written"),
    }
}
