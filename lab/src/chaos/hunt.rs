//! One chaos cell: a protocol under a fault budget, many random schedules
//! played on real Redis, every history checked, and the first violation of
//! each property shrunk to the smallest schedule that still breaks it.
//!
//! Each schedule is a path the model allows, so the model's verdict on that
//! very path is known; a real history that disagrees with it is a bug in one
//! of them and is reported as such, with the schedule. What chaos can and
//! cannot conclude is kept apart:
//!
//! - a **disagreement** is one schedule whose real verdict differs from the
//!   model's on that very path, or on which the lock or Redis did something
//!   else than the model said (it **diverged**: also when it is safer than
//!   the model, say by refusing a grant the model gives);
//! - a break the model knows that no schedule of the sample happened to
//!   reach is **unreached** — a sample too small, not a disagreement;
//! - a schedule played too late to judge, even slowed down (see
//!   [`replay::play`]), is counted as **late**, and one whose worker
//!   process died as **died**: neither is judged (see [`Standing`]);
//! - a cell with fewer judged schedules than [`CellPlan::min_judged`] is
//!   **not judged** at all, with the reason: its zero breaks prove nothing;
//! - an environment failure (the server refusing the lab's commands, a
//!   worker that cannot start) is no verdict at all: the cell stops with
//!   the error.
//!
//! Shrinking is guided by the model, so it does not depend on how busy the
//! machine is: proptest simplifies the schedule while the *model* still
//! breaks the property on it, the result is cut at the step that first
//! breaks it, and that schedule is then played on Redis to confirm. For a
//! lock of the user's (`--lock`), which may not follow its model step for
//! step, the real run decides each shrink step instead.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use locklab_model::path::{script, walker};
use locklab_model::step::format_schedule;
use locklab_model::{NarratedStep, PropertyName, Scenario, Script, Step, Verdict};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::Serialize;

use super::minimise::minimise;
use super::schedule::{self, Generated, ScheduleStrategy};
use crate::history;
use crate::replay::{self, Death, ReplayError, Stage, Standing};

/// What to run for one cell.
#[derive(Clone, Debug)]
pub struct CellPlan {
    /// The scenario (protocol, clients, rounds, lease, faults).
    pub scenario: Scenario,
    /// The model's verdict for each checked property in this scenario.
    pub model: BTreeMap<PropertyName, Verdict>,
    /// Schedules to play.
    pub schedules: usize,
    /// The run's seed (each cell derives its own from it).
    pub seed: u64,
    /// The longest schedule.
    pub max_len: usize,
    /// The most shrink steps per failure.
    pub max_shrink: usize,
    /// Judged schedules the cell needs for a verdict (`--min-judged`).
    pub min_judged: usize,
    /// The model's shortest counterexample of each property it breaks in
    /// this scenario: a break chaos finds is shrunk to no longer than it
    /// (or says why not).
    pub shortest: BTreeMap<PropertyName, Vec<Step>>,
    /// The clients are a lock of the user's (`--lock`), judged against the
    /// model of the protocol it claims to follow: it may not follow that
    /// model step for step, so its shrinking is decided on Redis.
    pub own_lock: bool,
}

/// A schedule on which Redis and the model disagree.
#[derive(Clone, Debug, Serialize)]
pub struct Disagreement {
    /// The property.
    pub property: PropertyName,
    /// The model's verdict on the schedule.
    pub model: Verdict,
    /// What Redis did.
    pub real: Verdict,
    /// Where Redis first did something the model did not say.
    pub divergence: Option<String>,
    /// The schedule.
    pub schedule: String,
}

/// A schedule whose worker died.
#[derive(Clone, Debug, Serialize)]
pub struct Died {
    /// The death: step, operation, what came instead of a reply, and the
    /// worker's stderr tail.
    #[serde(flatten)]
    pub death: Death,
    /// The schedule.
    pub schedule: String,
}

/// The first violation of a property, shrunk.
#[derive(Clone, Debug, Serialize)]
pub struct Shrunk {
    /// Steps of the schedule that first showed it.
    pub from_len: usize,
    /// Steps after shrinking.
    pub len: usize,
    /// Candidate schedules tried while shrinking.
    pub shrink_steps: usize,
    /// The shrunk schedule, as `--schedule` reads it.
    pub schedule: String,
    /// The shrunk schedule, told.
    pub steps: Vec<NarratedStep>,
    /// What the shrunk schedule did on Redis: `violated` confirms it.
    pub confirmed: Verdict,
    /// Steps of the model's shortest counterexample for the cell, if it
    /// has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_len: Option<usize>,
    /// Why the shrunk schedule is longer than the model's shortest, when
    /// it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longer: Option<String>,
    /// The command that plays it again exactly as the run did (filled in
    /// by the command, which knows the run's flags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
}

/// What chaos found in one cell.
#[derive(Clone, Debug, Serialize)]
pub struct CellReport {
    /// The scenario.
    #[serde(flatten)]
    pub scenario: Scenario,
    /// Schedules played (not counting shrinking).
    pub played: usize,
    /// Of those, schedules judged: played on time with every worker alive.
    pub schedules: usize,
    /// The cell's verdict: `agree`, `disagree`, or `not judged`.
    pub verdict: CellVerdict,
    /// Why the cell is not judged, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_judged: Option<String>,
    /// Schedules played too late to judge: the machine did not keep up with
    /// the ticks (raise `--tick-ms`).
    pub late: usize,
    /// A few of them, with the step that ran late and by how much.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub late_examples: Vec<String>,
    /// Schedules judged on a run slowed down (a longer tick) because a
    /// faster run of them was late.
    pub slowed: usize,
    /// Schedules on which a worker process died (not judged).
    pub died: usize,
    /// A few of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub died_examples: Vec<Died>,
    /// Schedules on which the lock did something else than the model of
    /// its protocol at some step: each is a disagreement.
    pub diverged: usize,
    /// A few of them, with the step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diverged_examples: Vec<String>,
    /// Per property: schedules whose history broke it.
    pub violations: BTreeMap<PropertyName, usize>,
    /// Per property: the 1-based number of the first schedule that broke it.
    pub first_violation: BTreeMap<PropertyName, usize>,
    /// The model's verdict per property.
    pub model: BTreeMap<PropertyName, Verdict>,
    /// Properties the model breaks in this scenario that no schedule of
    /// the sample reached: a warning (more schedules), not a disagreement.
    pub unreached: Vec<PropertyName>,
    /// Enough schedules were judged, and every one agrees with the model
    /// on every property.
    pub agree: bool,
    /// Schedules on which Redis and the model differ (the first 20).
    pub disagreements: Vec<Disagreement>,
    /// How many there were in all.
    pub disagreement_count: usize,
    /// Per property: its first violation, shrunk.
    pub shrunk: BTreeMap<PropertyName, Shrunk>,
    /// The cell stopped early (interrupted); its figures are partial.
    pub partial: bool,
    /// The cell's seed.
    pub seed: u64,
    /// Wall time, seconds.
    pub secs: f64,
}

/// A cell's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellVerdict {
    /// Enough schedules judged, every one as the model says.
    Agree,
    /// Some judged schedule differs from the model.
    Disagree,
    /// Too few schedules judged to say anything.
    #[serde(rename = "not judged")]
    NotJudged,
}

impl CellVerdict {
    /// The word in tables.
    pub fn word(self) -> &'static str {
        match self {
            CellVerdict::Agree => "yes",
            CellVerdict::Disagree => "NO",
            CellVerdict::NotJudged => "not judged",
        }
    }
}

/// One schedule, played and judged.
#[derive(Debug)]
pub struct Judged {
    /// Redis's verdict per property.
    pub real: BTreeMap<PropertyName, Verdict>,
    /// The model's verdict per property on the same path.
    pub model: BTreeMap<PropertyName, Verdict>,
    /// Whether the run is judged, and if not, why.
    pub standing: Standing,
    /// Whether the run judged is a slowed one.
    pub slowed: bool,
    /// The script played.
    pub script: Script,
}

impl Judged {
    fn breaks(&self, p: PropertyName) -> bool {
        self.real.get(&p) == Some(&Verdict::Violated)
    }

    /// Whether the run can be judged at all.
    pub fn judged(&self) -> bool {
        self.standing.judged()
    }

    /// Whether it is judged and agrees with the model: on time, on the
    /// model's path, every property as the model says.
    pub fn agrees(&self) -> bool {
        self.standing == Standing::OnModel
            && self.model.iter().all(|(p, m)| self.real.get(p) == Some(m))
    }
}

/// The cell's own seed: the run's seed mixed with the cell's name, so a
/// cell's schedules do not depend on which other cells run.
pub fn cell_seed(seed: u64, scenario: &Scenario) -> u64 {
    let name = format!(
        "{}/{}/d{}",
        scenario.protocol, scenario.faults, scenario.depth
    );
    name.bytes().fold(seed ^ 0x9e37_79b9_7f4a_7c15, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    let mut x = seed;
    for chunk in bytes.chunks_mut(8) {
        // splitmix64
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// Plays one schedule and judges it against the model's verdict on the
/// same path. An environment failure is an error, never a verdict.
pub async fn judge(
    stage: &Stage,
    n: usize,
    scenario: Scenario,
    steps: &[Step],
) -> Result<Judged, ReplayError> {
    let walked = script(scenario, steps);
    let model = walked.verdicts.clone();
    let played = replay::play(stage, n, walked).await?;
    Ok(Judged {
        real: model
            .keys()
            .map(|&p| (p, history::finding(&played.history, p).verdict))
            .collect(),
        model,
        standing: played.standing,
        slowed: !played.slowed.is_empty(),
        script: played.script,
    })
}

/// Runs one cell. `next_key` hands out replay numbers (so concurrent cells
/// never share keys); `tick` is called after each schedule; `stop`, once
/// set, ends the cell after the schedule in hand (its report is partial).
pub fn run_cell(
    plan: &CellPlan,
    stage: &Stage,
    runtime: &tokio::runtime::Handle,
    next_key: &(dyn Fn() -> usize + Sync),
    tick: &(dyn Fn() + Sync),
    stop: &AtomicBool,
) -> Result<CellReport, ReplayError> {
    let started = Instant::now();
    let seed = cell_seed(plan.seed, &plan.scenario);
    let strategy: ScheduleStrategy = schedule::strategy(walker(plan.scenario), plan.max_len);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng(seed));
    let checked: Vec<PropertyName> = plan.model.keys().copied().collect();
    let mut violations: BTreeMap<PropertyName, usize> = BTreeMap::new();
    let mut first_violation = BTreeMap::new();
    let mut first_trees = Vec::new();
    let mut disagreements = Vec::new();
    let mut late = Vec::new();
    let mut slowed = 0;
    let mut died = Vec::new();
    let mut diverged = Vec::new();
    let mut played = 0;
    for i in 0..plan.schedules {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        played += 1;
        // The runner before this schedule: enough to generate it again for
        // shrinking (value trees cannot be cloned).
        let before = runner.clone();
        let tree = strategy
            .new_tree(&mut runner)
            .map_err(|e| ReplayError::Setup(format!("generating a schedule: {e}")))?;
        let generated: Generated = tree.current();
        let steps = schedule::steps(&generated);
        mark_seen(&generated);
        let judged = runtime.block_on(judge(stage, next_key(), plan.scenario, &steps))?;
        tick();
        match &judged.standing {
            Standing::Late(overrun) => {
                late.push(format!("{overrun}: {}", format_schedule(&steps)));
                continue;
            }
            Standing::Died(death) => {
                died.push(Died {
                    death: death.clone(),
                    schedule: format_schedule(&steps),
                });
                continue;
            }
            Standing::Diverged(why) => {
                diverged.push(format!("{why}: {}", format_schedule(&steps)));
            }
            Standing::OnModel => {}
        }
        let divergence = judged.standing.divergence().map(ToString::to_string);
        slowed += usize::from(judged.slowed);
        for &p in &checked {
            if judged.breaks(p) {
                *violations.entry(p).or_default() += 1;
                if let std::collections::btree_map::Entry::Vacant(first) = first_violation.entry(p)
                {
                    first.insert(i + 1);
                    first_trees.push((p, before.clone()));
                }
            }
            let (m, r) = (judged.model[&p], judged.real[&p]);
            if m != r || divergence.is_some() {
                disagreements.push(Disagreement {
                    property: p,
                    model: m,
                    real: r,
                    divergence: divergence.clone(),
                    schedule: format_schedule(&steps),
                });
            }
        }
    }
    let mut shrunk = BTreeMap::new();
    for (p, mut again) in first_trees {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let tree = strategy
            .new_tree(&mut again)
            .map_err(|e| ReplayError::Setup(format!("generating a schedule: {e}")))?;
        let generated = tree.current();
        mark_seen(&generated);
        let s = shrink(
            plan,
            stage,
            runtime,
            next_key,
            tree,
            schedule::steps(&generated),
            p,
        )?;
        if s.confirmed != Verdict::Violated && s.confirmed != Verdict::Unknown {
            disagreements.push(Disagreement {
                property: p,
                model: Verdict::Violated,
                real: s.confirmed,
                divergence: None,
                schedule: s.schedule.clone(),
            });
        }
        shrunk.insert(p, s);
    }
    let unreached: Vec<PropertyName> = checked
        .iter()
        .copied()
        .filter(|p| plan.model.get(p) == Some(&Verdict::Violated) && !violations.contains_key(p))
        .collect();
    let disagreement_count = disagreements.len();
    disagreements.truncate(20);
    let (late_count, died_count, diverged_count) = (late.len(), died.len(), diverged.len());
    let judged = played - late_count - died_count;
    let not_judged = (judged < plan.min_judged).then(|| {
        unjudged_reason(
            judged,
            played,
            plan.min_judged,
            late.first().map(String::as_str),
            died.first(),
        )
    });
    let verdict = match (&not_judged, disagreement_count) {
        (Some(_), _) => CellVerdict::NotJudged,
        (None, 0) => CellVerdict::Agree,
        (None, _) => CellVerdict::Disagree,
    };
    late.truncate(5);
    died.truncate(5);
    diverged.truncate(5);
    Ok(CellReport {
        scenario: plan.scenario,
        played,
        schedules: judged,
        verdict,
        not_judged,
        late: late_count,
        late_examples: late,
        slowed,
        died: died_count,
        died_examples: died,
        diverged: diverged_count,
        diverged_examples: diverged,
        violations: checked
            .iter()
            .map(|&p| (p, violations.get(&p).copied().unwrap_or(0)))
            .collect(),
        first_violation,
        model: plan.model.clone(),
        unreached,
        agree: verdict == CellVerdict::Agree,
        disagreements,
        disagreement_count,
        shrunk,
        partial: played < plan.schedules || stop.load(Ordering::Relaxed),
        seed,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// The report of a cell that was never played (the run was interrupted
/// first, or its model check never came): `not judged`, with the reason,
/// its model verdicts `unknown` — nothing was concluded, and nothing
/// looks green.
pub fn unplayed(scenario: Scenario, seed: u64, why: &str) -> CellReport {
    let checked = checked(scenario);
    CellReport {
        scenario,
        played: 0,
        schedules: 0,
        verdict: CellVerdict::NotJudged,
        not_judged: Some(why.to_owned()),
        late: 0,
        late_examples: Vec::new(),
        slowed: 0,
        died: 0,
        died_examples: Vec::new(),
        diverged: 0,
        diverged_examples: Vec::new(),
        violations: checked.iter().map(|&p| (p, 0)).collect(),
        first_violation: BTreeMap::new(),
        model: checked.iter().map(|&p| (p, Verdict::Unknown)).collect(),
        unreached: Vec::new(),
        agree: false,
        disagreements: Vec::new(),
        disagreement_count: 0,
        shrunk: BTreeMap::new(),
        partial: true,
        seed,
        secs: 0.0,
    }
}

/// Why a cell with too few judged schedules is not judged: how many of
/// how many, and what kept the first of the others from being judged.
fn unjudged_reason(
    judged: usize,
    played: usize,
    min_judged: usize,
    first_late: Option<&str>,
    first_death: Option<&Died>,
) -> String {
    let mut why = format!("{judged} of {played} schedules judged, {min_judged} needed");
    if let Some(died) = first_death {
        why.push_str(&format!("; a worker died: {}", died.death));
    }
    if let Some(late) = first_late {
        why.push_str(&format!(
            "; late (a step took longer than its tick allows even at 4× the tick: a busy machine or a slow lock; raise --tick-ms): {late}"
        ));
    }
    why
}

/// Tells the schedule's value tree that the run used every step, so that
/// shrinking starts by deleting steps from the end.
fn mark_seen(generated: &Generated) {
    if let Some(seen) = &generated.2 {
        seen.store(generated.1.len(), std::sync::atomic::Ordering::Relaxed);
    }
}

/// The schedule cut right after the step that first breaks `property` in
/// the model.
fn cut(scenario: Scenario, steps: &[Step], property: PropertyName) -> Vec<Step> {
    let walked = script(scenario, steps);
    match walked.first_break.get(&property) {
        Some(&n) => steps[..n].to_vec(),
        None => steps.to_vec(),
    }
}

/// proptest's shrinking loop: simplify while the schedule still breaks the
/// property, step back when it no longer does; then cut it at its first
/// breaking step, and try what is shorter still: the model's own shortest
/// counterexample for the cell, and the schedule with every step that
/// never mattered deleted ([`minimise`], single steps to a fixpoint). The
/// model decides for the lab's own locks; for a lock of the user's, which
/// may not follow its model, each shorter candidate is played on Redis
/// and kept only if it breaks the property there. The result is played on
/// Redis to confirm. `first` is the schedule as first played (the tree's
/// current value, already marked seen).
#[allow(clippy::too_many_arguments)]
fn shrink<T>(
    plan: &CellPlan,
    stage: &Stage,
    runtime: &tokio::runtime::Handle,
    next_key: &(dyn Fn() -> usize + Sync),
    mut tree: T,
    first: Vec<Step>,
    property: PropertyName,
) -> Result<Shrunk, ReplayError>
where
    T: ValueTree<Value = Generated>,
{
    let from_len = first.len();
    let mut best = cut(plan.scenario, &first, property);
    let mut shrink_steps = 0;
    while shrink_steps < plan.max_shrink {
        if !tree.simplify() {
            break;
        }
        shrink_steps += 1;
        let steps = schedule::steps(&tree.current());
        let breaks = if plan.own_lock {
            let judged = runtime.block_on(judge(stage, next_key(), plan.scenario, &steps))?;
            judged.judged() && judged.breaks(property)
        } else {
            script(plan.scenario, &steps).verdict(property) == Verdict::Violated
        };
        if breaks {
            let candidate = cut(plan.scenario, &steps, property);
            if candidate.len() <= best.len() {
                best = candidate;
            }
        } else if !tree.complicate() {
            break;
        }
    }
    let model = plan.shortest.get(&property);
    let candidates = [
        model.map(|steps| cut(plan.scenario, steps, property)),
        Some(minimise(plan.scenario, &best, property)),
    ];
    let mut refused = None;
    for candidate in candidates.into_iter().flatten() {
        if candidate.len() >= best.len() {
            continue;
        }
        let breaks = if plan.own_lock {
            shrink_steps += 1;
            let judged = runtime.block_on(judge(stage, next_key(), plan.scenario, &candidate))?;
            judged.judged() && judged.breaks(property)
        } else {
            script(plan.scenario, &candidate).verdict(property) == Verdict::Violated
        };
        if breaks {
            best = candidate;
        } else if refused.is_none() {
            refused = Some(candidate.len());
        }
    }
    let model_len = model.map(|steps| cut(plan.scenario, steps, property).len());
    let longer = match (model_len, refused) {
        (Some(m), _) if best.len() <= m => None,
        (Some(m), Some(_)) => Some(format!(
            "the model's shortest counterexample ({m} steps) did not break it on Redis"
        )),
        (Some(m), None) => Some(format!(
            "the model's shortest counterexample ({m} steps) is no path of this cell's schedules"
        )),
        (None, _) => None,
    };
    let confirmation = runtime.block_on(judge(stage, next_key(), plan.scenario, &best))?;
    let confirmed = if confirmation.judged() {
        confirmation
            .real
            .get(&property)
            .copied()
            .unwrap_or(Verdict::Unknown)
    } else {
        Verdict::Unknown
    };
    Ok(Shrunk {
        from_len,
        len: best.len(),
        shrink_steps,
        schedule: format_schedule(&best),
        steps: confirmation.script.told(),
        confirmed,
        model_len,
        longer,
        replay: None,
    })
}

/// Plays one given schedule (the `--schedule` replay of a shrunk failure).
pub fn run_one(
    scenario: Scenario,
    steps: &[Step],
    stage: &Stage,
    runtime: &tokio::runtime::Handle,
) -> Result<(Judged, history::History), ReplayError> {
    let walked = script(scenario, steps);
    let model = walked.verdicts.clone();
    let played = runtime.block_on(replay::play(stage, 0, walked))?;
    let real = model
        .keys()
        .map(|&p| (p, history::finding(&played.history, p).verdict))
        .collect();
    Ok((
        Judged {
            real,
            model,
            standing: played.standing,
            slowed: !played.slowed.is_empty(),
            script: played.script,
        },
        played.history,
    ))
}

/// The safety properties a scenario's chaos checks: those its model checks
/// on single paths.
pub fn checked(scenario: Scenario) -> Vec<PropertyName> {
    script(scenario, &[]).verdicts.keys().copied().collect()
}

/// A cell's stop flag shared by every cell of a run.
pub type Stop = Arc<AtomicBool>;
