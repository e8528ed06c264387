//! `locklab reproduce`: every counterexample of the verdict matrix, played
//! step by step on a real `redis-server`, side by side with the model — and
//! the same schedule played with the fixes, so the difference shows.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use locklab_impl::ConnectOptions;
use locklab_model::path::script;
use locklab_model::{
    Faults, NarratedStep, NodeFault, PropertyName, Protocol, Scenario, ScenarioOutcome, Step,
    Verdict,
};
use serde::Serialize;

use super::check::{self, CheckArgs};
use super::target::{self, Target};
use crate::client::Support;
use crate::history::{self, timeline, Event, Finding};
use crate::output::Status;
use crate::output::{print_command_json, progress, table::Table};
use crate::replay::preflight::{lacks_for_protocol, needed_ops_of};
use crate::replay::{self, preflight, Clients, Played, ReplayError, Stage, Standing};
use crate::worker::LockCommand;

/// Flags of `locklab reproduce`.
#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// A protocol whose counterexamples to replay (repeatable). Default: all.
    #[arg(long = "protocol", value_name = "P")]
    pub protocols: Vec<String>,
    /// Replay against this Redis instead of a server the lab starts (any URL
    /// the `redis` crate accepts); repeated, one per master of a quorum lock
    /// (the first also holds the protected resource). The lab uses its own
    /// key prefix, deletes only keys it created, and never flushes a server.
    #[arg(long = "redis", value_name = "URL")]
    pub redis: Vec<String>,
    /// One model tick, in milliseconds of real time (the lease is 3 ticks).
    #[arg(long, default_value_t = 100)]
    pub tick_ms: u64,
    /// Replays played at once.
    #[arg(long, default_value_t = 8)]
    pub parallel: usize,
    /// Bring your own lock, in any language: play every counterexample of
    /// `--protocol` (default: `token`) on this lock instead, each client one
    /// process started from CMD (docs/worker-protocol.md), judged against
    /// that protocol's model.
    #[arg(long, value_name = "CMD")]
    pub lock_cmd: Option<String>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// A validated `reproduce`.
#[derive(Debug, Clone)]
pub struct ReproducePlan {
    /// The model check whose counterexamples are replayed.
    pub check: check::CheckPlan,
    /// The user's Redis servers, one per master; empty: the lab starts its
    /// own.
    pub redis: Vec<String>,
    /// The most masters a scenario of the plan runs on.
    pub masters: usize,
    /// One tick.
    pub tick: Duration,
    /// Replays at once.
    pub parallel: usize,
    /// A lock brought with `--lock-cmd`.
    pub lock_cmd: Option<LockCommand>,
    /// JSON output.
    pub json: bool,
}

impl ReproduceArgs {
    /// Turns the flags into a plan, or says in one line what is wrong.
    pub fn plan(&self) -> anyhow::Result<ReproducePlan> {
        let lock_cmd = self
            .lock_cmd
            .as_deref()
            .map(LockCommand::parse)
            .transpose()?;
        let protocols = match (&lock_cmd, self.protocols.is_empty()) {
            (Some(_), true) => vec![crate::family::own_lock_default().name().to_owned()],
            _ => self.protocols.clone(),
        };
        let check = CheckArgs::scenarios(protocols, vec![], None, None).plan()?;
        let masters = check
            .scenarios
            .iter()
            .map(|s| usize::from(s.nodes()))
            .max()
            .unwrap_or(1);
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
        let tick_ms = target::in_range(
            "--tick-ms",
            self.tick_ms,
            10..=5000,
            " (a tick must dwarf a Redis round trip)",
        )?;
        Ok(ReproducePlan {
            check,
            redis,
            masters,
            tick: Duration::from_millis(tick_ms),
            parallel: target::in_range("--parallel", self.parallel, 1..=64, "")?,
            lock_cmd,
            json: self.json,
        })
    }
}

/// A path to play: a counterexample (or a fencing witness) from the
/// matrix, with every property it was found for.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// The scenario the checker found it in.
    pub scenario: Scenario,
    /// The properties it breaks (or, for a witness, shows holding).
    pub properties: Vec<PropertyName>,
    /// The steps.
    pub steps: Vec<Step>,
}

/// The schedules of a matrix: each counterexample (with what it leads to,
/// for a foreign release) and each fencing witness, deduplicated.
pub fn schedules(outcomes: &[ScenarioOutcome]) -> Vec<Schedule> {
    let mut out: Vec<Schedule> = Vec::new();
    for o in outcomes {
        for v in &o.verdicts {
            let paths = [
                v.counterexample.as_ref().map(|steps| {
                    let mut all: Vec<NarratedStep> = steps.clone();
                    all.extend(v.aftermath.iter().flatten().cloned());
                    all
                }),
                v.witness.clone(),
            ];
            for narrated in paths.into_iter().flatten() {
                let steps: Vec<Step> = narrated.iter().map(|s| s.step).collect();
                match out
                    .iter_mut()
                    .find(|s| s.scenario == o.scenario && s.steps == steps)
                {
                    Some(s) if !s.properties.contains(&v.property) => s.properties.push(v.property),
                    Some(_) => {}
                    None => out.push(Schedule {
                        scenario: o.scenario,
                        properties: vec![v.property],
                        steps,
                    }),
                }
            }
        }
    }
    out
}

/// The scenarios a schedule is played in: its own, and the same with each
/// protocol that fixes its protocol's breaks (as the declarations say), of
/// the same model family and able to take the same faults.
fn played_in(s: &Schedule) -> Vec<Scenario> {
    let own = s.scenario;
    std::iter::once(own)
        .chain(
            own.protocol
                .fixed_by()
                .into_iter()
                .filter(|fix| fix.family() == own.protocol.family())
                .map(|fix| own.on(fix))
                .filter(|s| s.check_faults().is_ok()),
        )
        .collect()
}

/// Whether a step does something to a Redis node (which the lab does only
/// to servers of its own).
pub fn touches_a_node(step: &Step) -> bool {
    matches!(
        step,
        Step::Node {
            fault: NodeFault::Restart
                | NodeFault::DelayedRestart
                | NodeFault::Rejoin
                | NodeFault::ClockJump,
            ..
        }
    )
}

/// One schedule played on one protocol.
struct Play {
    schedule: usize,
    scenario: Scenario,
    result: Result<Played, ReplayError>,
}

/// One row of the report: a property on one play.
#[derive(Debug, Serialize)]
struct ReplayRow<'a> {
    protocol: Protocol,
    faults: Faults,
    depth: u8,
    property: PropertyName,
    schedule_from: Protocol,
    /// The matrix row the schedule was found in (`naive ×2` for a lock used
    /// re-entrantly).
    found_in: String,
    model: Verdict,
    /// What the history checker found on Redis; `not judged` when the run
    /// was late or its worker died.
    real: Verdict,
    /// Judged, and as the model says.
    agree: bool,
    /// Whether the play was judged at all.
    judged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    divergence: Option<String>,
    /// Why the play is not judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    steps: usize,
    /// The tick the run that was judged played at, when the machine could
    /// not keep up with a shorter one.
    #[serde(skip_serializing_if = "Option::is_none")]
    slowed_to_ms: Option<u128>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finding: Option<Finding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<&'a [Event]>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    redis: String,
    tick_ms: u128,
    replays: Vec<ReplayRow<'a>>,
    agreed: usize,
    disagreed: usize,
    /// Rows whose play was not judged (late, a worker died, not played).
    not_judged: usize,
    /// Replays not played, and why.
    skipped: Vec<String>,
    secs: f64,
}

/// Runs `locklab reproduce`.
pub fn run(args: &ReproduceArgs) -> anyhow::Result<Status> {
    let plan = args.plan()?;
    let started = Instant::now();
    let outcomes = check::run_plan(&plan.check);
    let schedules = schedules(&outcomes);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let connect = ConnectOptions::default();
    let target = Target::open_nodes(&plan.redis, plan.masters, &runtime, &connect)?;
    let clients = match &plan.lock_cmd {
        Some(command) => Clients::Command {
            command: command.clone(),
        },
        None => Clients::InProcess,
    };
    let lock = plan.lock_cmd.as_ref().map(LockCommand::label);
    let stage = target.stage(plan.tick, connect, clients, lock);
    let support = match (&plan.lock_cmd, &stage.lock) {
        (Some(command), Some(label)) => {
            let ops = needed_ops_of(&plan.check.scenarios);
            let support = runtime
                .block_on(preflight(&stage, label, &ops))
                .map_err(|e| anyhow::anyhow!("adapter {:?}: {e}", command.text()))?;
            if let Some(why) = plan
                .check
                .scenarios
                .iter()
                .find_map(|s| lacks_for_protocol(&support, *s))
            {
                bail!("adapter {:?} cannot play {why}", command.text());
            }
            support
        }
        _ => Support::default(),
    };
    let (plays, skipped) =
        runtime.block_on(play_all(&stage, &schedules, plan.parallel, &support))?;
    if plays.is_empty() {
        bail!(
            "nothing left to replay on {}: {}",
            target.name(),
            skipped.join("; ")
        );
    }

    let rows = rows(&schedules, &plays);
    let agreed = rows.iter().filter(|r| r.agree).count();
    let not_judged = rows.iter().filter(|r| !r.judged).count();
    let disagreed = rows.len() - agreed - not_judged;
    let secs = started.elapsed().as_secs_f64();
    let redis = target.name();
    if plan.json {
        print_command_json(
            "reproduce",
            &JsonReport {
                redis,
                tick_ms: plan.tick.as_millis(),
                replays: rows,
                agreed,
                disagreed,
                not_judged,
                skipped,
                secs,
            },
        )?;
    } else {
        print!(
            "{}",
            render(
                &schedules,
                &plays,
                &rows,
                plan.tick,
                secs,
                stage.lock.as_deref()
            )
        );
        for why in &skipped {
            println!("skipped: {why}");
        }
    }
    Ok(if disagreed > 0 {
        Status::Broken
    } else if not_judged > 0 {
        Status::Inconclusive
    } else {
        Status::Agrees
    })
}

/// Plays every schedule on its own protocol and on each fix it allows,
/// `parallel` at a time; says which it could not play, and why. A Redis
/// that is unreachable or refuses the lab's commands stops everything: an
/// environment failure is never a verdict (exit 2).
async fn play_all(
    stage: &Stage,
    schedules: &[Schedule],
    parallel: usize,
    support: &Support,
) -> anyhow::Result<(Vec<Play>, Vec<String>)> {
    let mut jobs = Vec::new();
    let mut restarts = 0;
    let mut replicated = 0;
    let mut lacking = Vec::new();
    for (i, s) in schedules.iter().enumerate() {
        // A lock of the user's is played on its own schedules only: the
        // fixes are other protocols.
        let scenarios = if stage.lock.is_some() {
            vec![s.scenario]
        } else {
            played_in(s)
        };
        if !stage.embedded && s.steps.iter().any(touches_a_node) {
            restarts += scenarios.len();
            continue;
        }
        if !stage.embedded && s.scenario.replicas > 0 {
            replicated += scenarios.len();
            continue;
        }
        if let Some(why) = support.lacks_for_replicas(s.scenario.replicas) {
            lacking.push(format!(
                "the schedule of {} under {}: {why}",
                s.properties
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                s.scenario.faults
            ));
            continue;
        }
        if let Some(why) = crate::replay::unplayed_steps(&s.scenario, &s.steps) {
            lacking.push(format!(
                "the schedule of {} in {} under {}: {why}",
                s.properties
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                crate::output::row_name(&s.scenario),
                s.scenario.faults
            ));
            continue;
        }
        if let Some(why) = support.lacks_for_steps(&s.steps) {
            lacking.push(format!(
                "the schedule of {} under {}: {why}",
                s.properties
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                s.scenario.faults
            ));
            continue;
        }
        for scenario in scenarios {
            jobs.push((i, scenario));
        }
    }
    let mut skipped = lacking;
    if restarts > 0 {
        skipped.push(format!(
            "{restarts} replays restart a Redis node, keep one down or jump its clock, which the lab does only to servers it starts (drop --redis to play them)"
        ));
    }
    if replicated > 0 {
        skipped.push(format!(
            "{replicated} replays hold a replica's replication or fail over, which the lab does only on its own Sentinel set (drop --redis to play them)"
        ));
    }
    let bar = progress::bar(jobs.len() as u64, "replays");
    let limit = Arc::new(tokio::sync::Semaphore::new(parallel));
    let stage = Arc::new(stage.clone());
    let mut set = tokio::task::JoinSet::new();
    for (n, (schedule, scenario)) in jobs.into_iter().enumerate() {
        let limit = Arc::clone(&limit);
        let stage = Arc::clone(&stage);
        let steps = schedules[schedule].steps.clone();
        set.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let result = replay::play(&stage, n, script(scenario, &steps)).await;
            (
                n,
                Play {
                    schedule,
                    scenario,
                    result,
                },
            )
        });
    }
    let mut plays = Vec::new();
    while let Some(done) = set.join_next().await {
        let (n, play) = done.context("a replay task failed")?;
        bar.inc(1);
        if let Err(e) = &play.result {
            if e.is_environment() {
                bar.finish_and_clear();
                set.abort_all();
                let line = format!(
                    "Redis at {} failed during a replay: {e}",
                    crate::output::masked(&stage.url)
                );
                return Err(crate::output::Tailed::new(line, e.log_tail()).into());
            }
        }
        plays.push((n, play));
    }
    bar.finish_and_clear();
    plays.sort_by_key(|(n, _)| *n);
    Ok((plays.into_iter().map(|(_, p)| p).collect(), skipped))
}

fn rows<'a>(schedules: &'a [Schedule], plays: &'a [Play]) -> Vec<ReplayRow<'a>> {
    let mut rows = Vec::new();
    for play in plays {
        let schedule = &schedules[play.schedule];
        for &property in &schedule.properties {
            let slowed_to_ms = match &play.result {
                Ok(played) if !played.slowed.is_empty() => Some(played.tick.as_millis()),
                _ => None,
            };
            let (model_verdict, real, divergence, error, finding, history) = match &play.result {
                Ok(played) => {
                    let finding = history::finding(&played.history, property);
                    let real = if played.standing.judged() {
                        finding.verdict
                    } else {
                        Verdict::NotJudged
                    };
                    (
                        played.script.verdict(property),
                        real,
                        played.standing.divergence().map(ToString::to_string),
                        played.standing.not_judged(),
                        Some(finding),
                        Some(played.history.events.as_slice()),
                    )
                }
                Err(e) => (
                    script(play.scenario, &schedule.steps).verdict(property),
                    Verdict::NotJudged,
                    None,
                    Some(e.to_string()),
                    None,
                    None,
                ),
            };
            let judged = real != Verdict::NotJudged;
            rows.push(ReplayRow {
                protocol: play.scenario.protocol,
                faults: play.scenario.faults,
                depth: play.scenario.depth,
                property,
                schedule_from: schedule.scenario.protocol,
                found_in: crate::output::row_name(&schedule.scenario),
                model: model_verdict,
                real,
                agree: judged && model_verdict == real && divergence.is_none(),
                judged,
                divergence,
                error,
                steps: schedule.steps.len(),
                slowed_to_ms,
                finding,
                history,
            });
        }
    }
    rows
}

fn render(
    schedules: &[Schedule],
    plays: &[Play],
    rows: &[ReplayRow<'_>],
    tick: Duration,
    secs: f64,
    lock: Option<&str>,
) -> String {
    let played_on = |p: Protocol| match lock {
        Some(lock) => format!("{lock} (as {p})"),
        None => p.name().to_owned(),
    };
    let mut out = format!(
        "locklab reproduce — every counterexample on a real redis-server; 1 tick = {} ms\n\n",
        tick.as_millis()
    );
    let mut table = Table::new([
        "schedule (found for)",
        "property",
        "played on",
        "model",
        "real Redis",
        "agree",
    ]);
    for r in rows {
        table.row([
            format!("{} under {}", r.found_in, r.faults),
            r.property.name().to_owned(),
            played_on(r.protocol),
            r.model.word().to_owned(),
            r.real.word().to_owned(),
            match (r.judged, r.agree) {
                (false, _) => "not judged",
                (true, true) => "yes",
                (true, false) => "NO",
            }
            .to_owned(),
        ]);
    }
    out.push_str(&table.render());

    let mut by_schedule: BTreeMap<usize, Vec<&Play>> = BTreeMap::new();
    for p in plays {
        by_schedule.entry(p.schedule).or_default().push(p);
    }
    for (i, plays) in by_schedule {
        let s = &schedules[i];
        let props: Vec<&str> = s.properties.iter().map(|p| p.name()).collect();
        out.push_str(&format!(
            "\n■ {} under {} — the schedule of {} ({} steps)\n",
            crate::output::row_name(&s.scenario),
            s.scenario.faults,
            props.join(", "),
            s.steps.len()
        ));
        for play in plays {
            out.push_str(&format!(
                "\n  played on {}:\n",
                played_on(play.scenario.protocol)
            ));
            match &play.result {
                Ok(played) => {
                    let checked: Vec<PropertyName> =
                        played.script.verdicts.keys().copied().collect();
                    let findings = history::check(&played.history, &checked);
                    for line in timeline::render(&played.history, &findings).lines() {
                        out.push_str(&format!("    {line}\n"));
                    }
                    for f in findings.iter().filter(|f| f.verdict == Verdict::Violated) {
                        if let Some(says) = &f.says {
                            out.push_str(&format!("    ✗ {}: {says}\n", f.property));
                        }
                    }
                    if let Some(late) = played.slowed.first() {
                        out.push_str(&format!(
                            "    ~ played at {} ms a tick: at the stage's tick, {late}\n",
                            played.tick.as_millis()
                        ));
                    }
                    match &played.standing {
                        Standing::OnModel => {}
                        Standing::Diverged(d) => out.push_str(&format!(
                            "    ! DISAGREEMENT: {} diverged from the model at {d} (a disagreement also when the lock is safer than its model)\n",
                            lock.unwrap_or("Redis")
                        )),
                        Standing::Died(d) => {
                            out.push_str(&format!("    ~ not judged: {d}\n"));
                            out.push_str(&crate::output::tailed::indented(&d.stderr_tail, "      "));
                        }
                        Standing::Late(o) => out.push_str(&format!(
                            "    ~ not judged: late even at {} ms a tick (the machine did not keep up; raise --tick-ms): {o}\n",
                            played.tick.as_millis()
                        )),
                    }
                }
                Err(e) => out.push_str(&format!("    could not play: {e}\n")),
            }
        }
    }
    let agreed = rows.iter().filter(|r| r.agree).count();
    let not_judged = rows.iter().filter(|r| !r.judged).count();
    let judged_plays = plays
        .iter()
        .filter(|p| p.result.as_ref().is_ok_and(|p| p.standing.judged()))
        .count();
    out.push_str(&format!(
        "\n{} replays of {} schedules, {judged_plays} judged; {} property checks: {} agree with the model, {} disagree, {} not judged; {:.1}s\n",
        plays.len(),
        schedules.len(),
        rows.len(),
        agreed,
        rows.len() - agreed - not_judged,
        not_judged,
        secs
    ));
    out
}
