//! `locklab chaos`: random fault schedules against real Redis, each checked
//! against the model, the first break of each property shrunk to the
//! smallest schedule that still shows it.

mod lazy;
mod render;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use indicatif::ProgressBar;
use locklab_impl::ConnectOptions;
use locklab_model::path::follow;
use locklab_model::step::parse_schedule;
use locklab_model::{Fault, Scenario, ScenarioOutcome, Step};
use serde::Serialize;

use super::check::{self, CheckArgs};
use super::target::{self, Target};
use crate::chaos::{
    cell_seed, checked, run_cell, run_one, unplayed, CellPlan, CellReport, CellVerdict,
};
use crate::client::Support;
use crate::output::row_name;
use crate::output::Status;
use crate::output::{print_command_json, progress};
use crate::replay::preflight::{lacks_for_protocol, needed_ops_of};
use crate::replay::{preflight, Clients, Stage};
use crate::worker::LockCommand;
use render::{render, replay_command, report_one};

/// Flags of `locklab chaos`.
#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// A protocol to run (repeatable). Default: all.
    #[arg(long = "protocol", value_name = "P")]
    pub protocols: Vec<String>,
    /// A fault budget (repeatable), e.g. `pause`, `pause,crash`, `none`.
    /// Default: none, then each fault of the protocol's menu alone.
    #[arg(long = "faults", value_name = "F,F")]
    pub faults: Vec<String>,
    /// Random schedules per protocol × fault budget.
    #[arg(long, default_value_t = 200)]
    pub schedules: usize,
    /// Judged schedules a cell needs for a verdict: with fewer (the others
    /// late, or their worker dead) it is `not judged`, and the run exits 3.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub min_judged: usize,
    /// Schedules, at most, per cell whose scenario has replicas: each plays
    /// on the lab's Sentinel set, and one that fails over takes seconds (a
    /// set of its own, and ticks long enough for a failover to fit in
    /// one). 0 leaves those cells out.
    #[arg(long, default_value_t = 5)]
    pub sentinel_schedules: usize,
    /// Replicas of the primary (1 or 2) for the cells that fail over.
    /// Default: each protocol's own scenario (1 for a failover).
    #[arg(long)]
    pub replicas: Option<u64>,
    /// The seed; the same seed plays the same schedules.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Contending clients. Default: 3.
    #[arg(long)]
    pub clients: Option<u64>,
    /// Rounds per client. Default: 2.
    #[arg(long)]
    pub rounds: Option<u64>,
    /// Each protocol's own scenario, as `check` and `reproduce` check it,
    /// instead of 3 clients of 2 rounds: the cells `locklab report` plays,
    /// whose model checks its `check` stage has made already.
    #[arg(long, conflicts_with_all = ["clients", "rounds"])]
    pub check_sized: bool,
    /// Acquires before the write (2 or more: re-entrant use). Default: the
    /// protocol's own scenario.
    #[arg(long)]
    pub depth: Option<u64>,
    /// The longest schedule, in steps.
    #[arg(long, default_value_t = 30)]
    pub max_len: usize,
    /// One model tick, in milliseconds of real time (the lease is 3 ticks).
    #[arg(long, default_value_t = 25)]
    pub tick_ms: u64,
    /// Cells run at once.
    #[arg(long, default_value_t = 8)]
    pub parallel: usize,
    /// Play exactly this schedule (as printed for a shrunk failure), e.g.
    /// `acquire c1; pause c1; tick; tick; tick; acquire c2`. Needs one
    /// `--protocol` and one `--faults`.
    #[arg(long, value_name = "STEPS")]
    pub schedule: Option<String>,
    /// Use this Redis instead of one the lab starts; repeated, one per
    /// master of a quorum lock (schedules that restart a node, keep one
    /// down or jump its clock need the lab's own).
    #[arg(long = "redis", value_name = "URL")]
    pub redis: Vec<String>,
    /// Masters of a quorum lock (3 or more). Default: the protocol's own.
    #[arg(long)]
    pub nodes: Option<u64>,
    /// Bring your own lock: play this lock client (any the lab knows, e.g.
    /// `rslock`) in place of each protocol's own, judged against the model
    /// of `--protocol` (default: `token`, the single-server algorithm such
    /// locks follow).
    #[arg(long, value_name = "NAME")]
    pub lock: Option<String>,
    /// Bring your own lock, in any language: each client is one process
    /// started from CMD (split into words as a shell would, then executed
    /// without one), speaking the worker protocol (docs/worker-protocol.md),
    /// judged against the model of `--protocol` (default: `token`).
    #[arg(long, value_name = "CMD", conflicts_with_all = ["lock", "in_process"])]
    pub lock_cmd: Option<String>,
    /// Run the clients inside the lab's process instead of one worker
    /// process each (a pause is then the lab withholding steps, not
    /// SIGSTOP; a delayed reply is read late instead of held by a proxy).
    #[arg(long)]
    pub in_process: bool,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// A validated `chaos`.
#[derive(Debug, Clone)]
pub struct ChaosPlan {
    /// The model check that gives each cell its verdicts.
    pub check: check::CheckPlan,
    /// Schedules per cell.
    pub schedules: usize,
    /// Judged schedules a cell needs for a verdict.
    pub min_judged: usize,
    /// Schedules per cell with replicas (0: those cells are left out).
    pub sentinel_schedules: usize,
    /// The seed.
    pub seed: u64,
    /// Longest schedule.
    pub max_len: usize,
    /// One tick.
    pub tick: Duration,
    /// Cells at once.
    pub parallel: usize,
    /// A single schedule to play.
    pub schedule: Option<Vec<Step>>,
    /// The user's Redis servers, one per master (empty: the lab's own).
    pub redis: Vec<String>,
    /// The most masters a cell runs on.
    pub masters: usize,
    /// Where the clients run.
    pub clients: Clients,
    /// A lock played in place of the protocols' own clients (with
    /// `--lock-cmd`: the adapter's label).
    pub lock: Option<String>,
    /// The command of a lock brought with `--lock-cmd`.
    pub lock_cmd: Option<LockCommand>,
    /// JSON output.
    pub json: bool,
}

impl ChaosArgs {
    /// Turns the flags into a plan, or says in one line what is wrong.
    pub fn plan(&self) -> anyhow::Result<ChaosPlan> {
        if let Some(lock) = &self.lock {
            let known = crate::client::known_clients();
            if !known.contains(&lock.as_str()) {
                let unknown = crate::client::OpenError::Unknown { name: lock.clone() };
                bail!(
                    "--lock {lock}: {}",
                    crate::output::suggest::with_hint(unknown.to_string(), lock, known)
                );
            }
        }
        let lock_cmd = self
            .lock_cmd
            .as_deref()
            .map(LockCommand::parse)
            .transpose()?;
        let own = self.lock.is_some() || lock_cmd.is_some();
        let protocols = match (own, self.protocols.is_empty()) {
            (true, true) => vec![crate::family::own_lock_default().name().to_owned()],
            _ => self.protocols.clone(),
        };
        let mut check = CheckArgs::scenarios(
            protocols,
            self.faults.clone(),
            self.clients.or((!self.check_sized).then_some(3)),
            self.rounds.or((!self.check_sized).then_some(2)),
        );
        check.depth = self.depth;
        check.nodes = self.nodes;
        check.replicas = self.replicas;
        let check = check.plan()?;
        let masters = check
            .scenarios
            .iter()
            .map(|s| usize::from(s.nodes()))
            .max()
            .unwrap_or(1);
        let schedules = target::in_range("--schedules", self.schedules, 1..=100_000, "")?;
        let min_judged = target::in_range(
            "--min-judged",
            self.min_judged,
            1..=schedules,
            " (at most --schedules)",
        )?;
        let sentinel_schedules = target::in_range(
            "--sentinel-schedules",
            self.sentinel_schedules,
            0..=100_000,
            "",
        )?;
        let max_len = target::in_range("--max-len", self.max_len, 1..=200, " steps")?;
        let tick_ms = target::in_range(
            "--tick-ms",
            self.tick_ms,
            5..=5000,
            " (a tick must dwarf a Redis round trip)",
        )?;
        let parallel = target::in_range("--parallel", self.parallel, 1..=64, "")?;
        let redis = self
            .redis
            .iter()
            .map(|url| target::redis_url(url))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if !redis.is_empty() && redis.len() < masters {
            bail!(
                "--redis given {} time{}, but a lock here runs on {masters} masters: give one --redis URL per master",
                redis.len(),
                if redis.len() == 1 { "" } else { "s" }
            );
        }
        let schedule = match &self.schedule {
            None => None,
            Some(text) => {
                if check.scenarios.len() != 1 {
                    bail!("--schedule plays one scenario: give exactly one --protocol and one --faults");
                }
                let steps = parse_schedule(text).context("--schedule")?;
                let scenario = check.scenarios[0];
                follow(scenario, &steps).with_context(|| {
                    format!(
                        "--schedule for {} under {}",
                        scenario.protocol, scenario.faults
                    )
                })?;
                Some(steps)
            }
        };
        Ok(ChaosPlan {
            check,
            schedules,
            min_judged,
            sentinel_schedules,
            seed: self.seed,
            max_len,
            tick: Duration::from_millis(tick_ms),
            parallel,
            schedule,
            redis,
            masters,
            clients: if let Some(command) = &lock_cmd {
                Clients::Command {
                    command: command.clone(),
                }
            } else if self.in_process {
                Clients::InProcess
            } else {
                Clients::Workers {
                    binary: crate::worker::locklab_binary(),
                }
            },
            lock: self
                .lock
                .clone()
                .or_else(|| lock_cmd.as_ref().map(LockCommand::label)),
            lock_cmd,
            json: self.json,
        })
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    seed: u64,
    tick_ms: u128,
    runs: &'a [CellReport],
    /// Schedules on which Redis and the model differ, over every cell.
    disagreements: usize,
    /// Cells with too few judged schedules for a verdict.
    not_judged: usize,
    /// Cells with a break the model knows that no schedule reached.
    unreached: usize,
    /// Cells not run, and why.
    skipped: &'a [String],
    /// Scenarios model-checked for this run (or given by the report that
    /// runs it): those of the cells played, never those skipped.
    scenarios_checked: usize,
    /// Interrupted: the figures are partial.
    partial: bool,
    secs: f64,
}

/// Runs `locklab chaos`.
pub fn run(args: &ChaosArgs) -> anyhow::Result<Status> {
    let plan = args.plan()?;
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let connect = ConnectOptions::default();
    let target = Target::open_nodes(&plan.redis, plan.masters, &runtime, &connect)?;
    let stage = target.stage(plan.tick, connect, plan.clients.clone(), plan.lock.clone());

    let support = match &plan.lock {
        Some(lock) => {
            let ops = needed_ops_of(&plan.check.scenarios);
            runtime
                .block_on(preflight(&stage, lock, &ops))
                .map_err(|e| anyhow::anyhow!("{}: {e}", own_lock_name(&plan)))?
        }
        None => Support::default(),
    };

    if let Some(steps) = &plan.schedule {
        let scenario = plan.check.scenarios[0];
        if let Some(why) = lacks_for_protocol(&support, scenario) {
            bail!(
                "{} cannot play {}: {why}",
                own_lock_name(&plan),
                scenario.protocol
            );
        }
        if let Some(why) = crate::replay::unplayed_steps(&scenario, steps) {
            bail!("cannot play this schedule: {why}");
        }
        if let Some(why) = support.lacks_for_steps(steps) {
            bail!("{}: cannot play this schedule: {why}", own_lock_name(&plan));
        }
        let (judged, history) = run_one(scenario, steps, &stage, runtime.handle())?;
        return Ok(report_one(&plan, scenario, &judged, &history));
    }

    let mut skipped = Vec::new();
    let scenarios: Vec<Scenario> = plan
        .check
        .scenarios
        .iter()
        .copied()
        .filter(|s| plays(&plan, &stage, &support, s, &mut skipped))
        .collect();
    if scenarios.is_empty() {
        // Each cell of a protocol is skipped for the same reason: say it once.
        let mut reasons: Vec<&String> = Vec::new();
        for why in &skipped {
            if !reasons.contains(&why) {
                reasons.push(why);
            }
        }
        let reasons: Vec<&str> = reasons.into_iter().map(String::as_str).collect();
        bail!("no cell left to run: {}", reasons.join("; "));
    }
    let stop = Arc::new(AtomicBool::new(false));
    // From here on a signal stops the cells after the schedule in hand,
    // for a partial summary.
    let signal = crate::session::stop_gracefully(&stop);
    let total: usize = scenarios.iter().map(|s| schedules_of(&plan, s)).sum();
    let bar = progress::bar(total as u64, "schedules");
    let n = scenarios.len();
    bar.set_message(format!("· 0 of {n} scenarios model-checked"));
    let told = bar.clone();
    // The model checks share the cores with the cells' timed schedules:
    // one core is left to those.
    let workers = plan.check.workers.saturating_sub(1).max(1);
    let (outcomes, models_done) =
        lazy::checked(&plan.check, &scenarios, workers, &stop, move |k| {
            told.set_message(format!("· {k} of {n} scenarios model-checked"));
        })
        .context("starting the model checks")?;
    let mut reports = run_cells(
        &plan,
        &scenarios,
        outcomes,
        &bar,
        &stage,
        runtime.handle(),
        &stop,
    )?;
    let scenarios_checked = models_done.load(Ordering::Relaxed);
    for r in &mut reports {
        let scenario = r.scenario;
        for s in r.shrunk.values_mut() {
            s.replay = Some(replay_command(&plan, &scenario, &s.schedule));
        }
    }
    drop(target);
    let secs = started.elapsed().as_secs_f64();
    let disagreements: usize = reports.iter().map(|r| r.disagreement_count).sum();
    let not_judged = reports
        .iter()
        .filter(|r| r.verdict == CellVerdict::NotJudged)
        .count();
    let unreached = reports.iter().filter(|r| !r.unreached.is_empty()).count();
    let interrupted = signal.load(Ordering::Relaxed);
    if plan.json {
        print_command_json(
            "chaos",
            &JsonReport {
                seed: plan.seed,
                tick_ms: plan.tick.as_millis(),
                runs: &reports,
                disagreements,
                not_judged,
                unreached,
                skipped: &skipped,
                scenarios_checked,
                partial: interrupted != 0,
                secs,
            },
        )?;
    } else {
        print!(
            "{}",
            render(&plan, &reports, &skipped, interrupted != 0, secs)
        );
    }
    Ok(if interrupted != 0 {
        Status::Interrupted(interrupted)
    } else if disagreements > 0 {
        Status::Broken
    } else if not_judged > 0 {
        Status::Inconclusive
    } else {
        Status::Agrees
    })
}

/// The lock of the user's, for messages: `adapter "CMD"` or `--lock NAME`.
fn own_lock_name(plan: &ChaosPlan) -> String {
    match (&plan.lock_cmd, &plan.lock) {
        (Some(cmd), _) => format!("adapter {:?}", cmd.text()),
        (None, Some(lock)) => format!("--lock {lock}"),
        (None, None) => "the lock".to_owned(),
    }
}

/// Whether a cell of `scenario` is played; if not, or if only some of its
/// schedules are, the reason goes to `skipped`. Asked before any model
/// check, so a scenario that is not played is never checked.
fn plays(
    plan: &ChaosPlan,
    stage: &Stage,
    support: &Support,
    s: &Scenario,
    skipped: &mut Vec<String>,
) -> bool {
    if let Some(why) = crate::replay::unplayed_scenario(s) {
        skipped.push(format!("{} under {}: {why}", row_name(s), s.faults));
        return false;
    }
    let restarts = [Fault::Restart, Fault::DelayedRestart, Fault::ClockJump]
        .iter()
        .any(|f| s.faults.budget(*f) > 0);
    if restarts && !stage.embedded {
        skipped.push(format!(
            "{} under {}: it restarts a Redis node, keeps one down or jumps its clock, which the lab does only to servers it starts (drop --redis)",
            row_name(s),
            s.faults
        ));
        return false;
    }
    let replicated = s.replicas > 0;
    if replicated && !stage.embedded {
        skipped.push(format!(
            "{} under {}: it holds a replica's replication or fails over, which the lab does only on its own Sentinel set (drop --redis)",
            row_name(s),
            s.faults
        ));
    }
    if replicated && stage.embedded && plan.sentinel_schedules == 0 {
        skipped.push(format!(
            "{} under {}: --sentinel-schedules 0",
            row_name(s),
            s.faults
        ));
    }
    if let Some(why) = lacks_for_protocol(support, *s) {
        skipped.push(format!(
            "{} cannot play {}: {why}",
            own_lock_name(plan),
            row_name(s)
        ));
        return false;
    }
    // A watchdog's renewals are the lab's to time (each is a `renew`
    // step): the lab's own worker takes them as version 2's `renew`
    // requests; an adapter's library renews on its own timer, which no
    // script can time step by step (worker-check judges it).
    if s.protocol.caps().renews() && matches!(plan.clients, Clients::Command { .. }) {
        skipped.push(format!(
            "{} under {}: an adapter's library renews on its own timer, which a schedule cannot time step by step (locklab worker-check judges its renewals)",
            row_name(s),
            s.faults
        ));
        return false;
    }
    if let Some(why) = support.lacks_for_faults(s.faults) {
        skipped.push(format!("{} under {}: {why}", own_lock_name(plan), s.faults));
        return false;
    }
    if let Some(why) = support.lacks_for_replicas(s.replicas) {
        skipped.push(format!("{} under {}: {why}", own_lock_name(plan), s.faults));
        return false;
    }
    let sentinel = !replicated || (stage.embedded && plan.sentinel_schedules > 0);
    (stage.embedded || !restarts) && sentinel
}

/// Schedules a cell of `scenario` plays.
fn schedules_of(plan: &ChaosPlan, scenario: &Scenario) -> usize {
    if scenario.replicas > 0 {
        plan.schedules.min(plan.sentinel_schedules)
    } else {
        plan.schedules
    }
}

/// The cell of a checked scenario: the model's verdicts and shortest
/// counterexamples are what it is judged against.
fn cell_plan(plan: &ChaosPlan, o: &ScenarioOutcome) -> CellPlan {
    let schedules = schedules_of(plan, &o.scenario);
    CellPlan {
        scenario: o.scenario,
        model: checked(o.scenario)
            .into_iter()
            .filter_map(|p| o.verdict(p).map(|v| (p, v.verdict)))
            .collect(),
        schedules,
        seed: plan.seed,
        max_len: plan.max_len,
        max_shrink: 200,
        // A cell that plays fewer schedules (on the Sentinel set) needs
        // all of its own.
        min_judged: plan.min_judged.min(schedules),
        shortest: checked(o.scenario)
            .into_iter()
            .filter_map(|p| {
                let steps = o.verdict(p)?.counterexample.as_ref()?;
                Some((p, steps.iter().map(|s| s.step).collect()))
            })
            .collect(),
        own_lock: plan.lock.is_some(),
    }
}

/// Plays each scenario's cell as soon as its model check arrives,
/// `--parallel` cells at a time; returns the reports in the scenarios'
/// order (a cell that was never played is `not judged`, with the reason).
fn run_cells(
    plan: &ChaosPlan,
    scenarios: &[Scenario],
    outcomes: Receiver<lazy::Checked>,
    bar: &ProgressBar,
    stage: &Stage,
    runtime: &tokio::runtime::Handle,
    stop: &AtomicBool,
) -> anyhow::Result<Vec<CellReport>> {
    let outcomes = Mutex::new(outcomes);
    let next_key = AtomicUsize::new(0);
    let reports: Mutex<Vec<(usize, CellReport)>> = Mutex::new(Vec::new());
    let failure: Mutex<Option<(String, Option<String>)>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..plan.parallel.min(scenarios.len()).max(1) {
            // Ends when every check has arrived (each within its budget)
            // or the run stops.
            scope.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let next = match outcomes.lock() {
                    Ok(rx) => rx.recv_timeout(Duration::from_millis(100)),
                    Err(_) => return,
                };
                let (i, outcome) = match next {
                    Ok(checked) => checked,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                };
                let cell = cell_plan(plan, &outcome);
                let key = || next_key.fetch_add(1, Ordering::Relaxed);
                let tick = || bar.inc(1);
                match run_cell(&cell, stage, runtime, &key, &tick, stop) {
                    Ok(report) => {
                        if let Ok(mut r) = reports.lock() {
                            r.push((i, report));
                        }
                    }
                    Err(e) => {
                        if let Ok(mut f) = failure.lock() {
                            f.get_or_insert((e.to_string(), e.log_tail().map(str::to_owned)));
                        }
                        // One environment failure stops every cell.
                        stop.store(true, Ordering::Relaxed);
                        return;
                    }
                }
            });
        }
    });
    bar.finish_and_clear();
    if let Some(e) = failure.into_inner().ok().flatten() {
        let (line, tail) = e;
        let line = format!("chaos stopped, nothing judged: {line}");
        return Err(crate::output::Tailed::new(line, tail.as_deref()).into());
    }
    let mut played = reports.into_inner().unwrap_or_default();
    played.sort_by_key(|(i, _)| *i);
    let mut played = played.into_iter().peekable();
    let mut out = Vec::with_capacity(scenarios.len());
    for (i, s) in scenarios.iter().enumerate() {
        match played.next_if(|(j, _)| *j == i) {
            Some((_, report)) => out.push(report),
            None => {
                let why = if stop.load(Ordering::Relaxed) {
                    "interrupted before it was played"
                } else {
                    "its model check did not finish"
                };
                out.push(unplayed(*s, cell_seed(plan.seed, s), why));
            }
        }
    }
    Ok(out)
}
