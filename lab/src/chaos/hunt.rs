//! One chaos cell: a protocol under a fault budget, many random schedules
//! played on real Redis, every history checked, and the first violation of
//! each property shrunk to the smallest schedule that still breaks it.
//!
//! Each schedule is a path the model allows, so the model's verdict on that
//! very path is known; a real history that disagrees with it is a bug in one
//! of them and is reported as such, with the schedule.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use locklab_model::{LockModel, NarratedStep, Narrator, PropertyName, Scenario, Step, Verdict};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::Serialize;

use super::schedule::{self, Generated, ScheduleStrategy};
use crate::history;
use crate::replay::{self, ReplayError, Stage};

/// The properties chaos checks on every history (liveness needs complete
/// runs; schedules are prefixes).
pub const CHECKED: [PropertyName; 3] = [
    PropertyName::MutualExclusion,
    PropertyName::NoForeignRelease,
    PropertyName::FencedResource,
];

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
    /// The clients are a lock of the user's (`--lock`), judged against the
    /// model of the protocol it claims to follow: where it does something
    /// else than that model at some step (it refuses a grant the model
    /// gives, say), the rest of the schedule no longer describes it, so the
    /// schedule is counted as diverged and not judged.
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
    /// Where Redis first did something the model did not expect.
    pub divergence: Option<String>,
    /// An error that stopped the replay.
    pub error: Option<String>,
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
    /// Schedules played while shrinking.
    pub shrink_steps: usize,
    /// The shrunk schedule, as `--schedule` reads it.
    pub schedule: String,
    /// The shrunk schedule, told.
    pub steps: Vec<NarratedStep>,
}

/// What chaos found in one cell.
#[derive(Clone, Debug, Serialize)]
pub struct CellReport {
    /// The scenario.
    #[serde(flatten)]
    pub scenario: Scenario,
    /// Schedules played and judged (not counting shrinking).
    pub schedules: usize,
    /// Schedules played too late to judge: the machine did not keep up with
    /// the ticks (raise `--tick-ms`).
    pub late: usize,
    /// A few of them, with the step that ran late.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub late_examples: Vec<String>,
    /// With `--lock`: schedules on which the lock did something else than
    /// the model of its protocol at some step (not judged).
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
    /// Chaos agrees with the model: every violated cell found, no violation
    /// where the model says holds, no schedule on which they differ.
    pub agree: bool,
    /// Schedules on which Redis and the model differ.
    pub disagreements: Vec<Disagreement>,
    /// Per property: its first violation, shrunk.
    pub shrunk: BTreeMap<PropertyName, Shrunk>,
    /// The cell's seed.
    pub seed: u64,
    /// Wall time, seconds.
    pub secs: f64,
}

/// One schedule, played and judged.
struct Judged {
    real: BTreeMap<PropertyName, Verdict>,
    model: BTreeMap<PropertyName, Verdict>,
    divergence: Option<String>,
    error: Option<String>,
    overrun: Option<String>,
}

impl Judged {
    fn breaks(&self, p: PropertyName) -> bool {
        self.real.get(&p) == Some(&Verdict::Violated)
    }
}

/// The cell's own seed: the run's seed mixed with the cell's name, so a
/// cell's schedules do not depend on which other cells run.
pub fn cell_seed(seed: u64, scenario: &Scenario) -> u64 {
    let name = format!("{}/{}", scenario.protocol, scenario.faults);
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
/// same path.
async fn judge(stage: &Stage, n: usize, scenario: Scenario, steps: &[Step]) -> Judged {
    let model = LockModel::new(scenario);
    let verdicts_on = |states: &[locklab_model::World]| -> BTreeMap<PropertyName, Verdict> {
        CHECKED
            .iter()
            .map(|&p| (p, model.verdict_on(states, p)))
            .collect()
    };
    match replay::play(stage, n, scenario, steps).await {
        Ok(played) => Judged {
            real: CHECKED
                .iter()
                .map(|&p| (p, history::finding(&played.history, p).verdict))
                .collect(),
            // The conductor walked the same path through the model.
            model: verdicts_on(&played.states),
            divergence: played.divergence,
            error: None,
            overrun: played.overrun,
        },
        Err(e) => Judged {
            real: CHECKED.iter().map(|&p| (p, Verdict::Unknown)).collect(),
            model: verdicts_on(&model.walk(steps).states),
            divergence: None,
            error: Some(e.to_string()),
            overrun: None,
        },
    }
}

/// Runs one cell. `next_key` hands out replay numbers (so concurrent cells
/// never share keys); `tick` is called after each schedule.
pub fn run_cell(
    plan: &CellPlan,
    stage: &Stage,
    runtime: &tokio::runtime::Handle,
    next_key: &(dyn Fn() -> usize + Sync),
    tick: &(dyn Fn() + Sync),
) -> Result<CellReport, ReplayError> {
    let started = Instant::now();
    let seed = cell_seed(plan.seed, &plan.scenario);
    let model = Arc::new(LockModel::new(plan.scenario));
    let strategy: ScheduleStrategy = schedule::strategy(Arc::clone(&model), plan.max_len);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng(seed));
    let mut violations: BTreeMap<PropertyName, usize> = BTreeMap::new();
    let mut first_violation = BTreeMap::new();
    let mut first_trees = Vec::new();
    let mut disagreements = Vec::new();
    let mut late = Vec::new();
    let mut diverged = Vec::new();
    for i in 0..plan.schedules {
        // The runner before this schedule: enough to generate it again for
        // shrinking (value trees cannot be cloned).
        let before = runner.clone();
        let tree = strategy
            .new_tree(&mut runner)
            .map_err(|e| ReplayError::Setup(format!("generating a schedule: {e}")))?;
        let generated: Generated = tree.current();
        let steps = schedule::steps(&generated);
        mark_seen(&generated);
        let judged = runtime.block_on(judge(stage, next_key(), plan.scenario, &steps));
        tick();
        if let Some(why) = judged.overrun {
            late.push(format!(
                "{why}: {}",
                locklab_model::step::format_schedule(&steps)
            ));
            continue;
        }
        if let (true, Some(why)) = (plan.own_lock, &judged.divergence) {
            diverged.push(format!(
                "{why}: {}",
                locklab_model::step::format_schedule(&steps)
            ));
            continue;
        }
        for p in CHECKED {
            if judged.breaks(p) {
                *violations.entry(p).or_default() += 1;
                if let std::collections::btree_map::Entry::Vacant(first) = first_violation.entry(p)
                {
                    first.insert(i + 1);
                    first_trees.push((p, before.clone()));
                }
            }
            let (m, r) = (judged.model[&p], judged.real[&p]);
            if m != r || judged.divergence.is_some() || judged.error.is_some() {
                disagreements.push(Disagreement {
                    property: p,
                    model: m,
                    real: r,
                    divergence: judged.divergence.clone(),
                    error: judged.error.clone(),
                    schedule: locklab_model::step::format_schedule(&steps),
                });
            }
        }
    }
    let mut shrunk = BTreeMap::new();
    for (p, mut again) in first_trees {
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
        );
        shrunk.insert(p, s);
    }
    let found_where_model_breaks = CHECKED.iter().all(|p| {
        let model_breaks = plan.model.get(p) == Some(&Verdict::Violated);
        let chaos_breaks = violations.get(p).copied().unwrap_or(0) > 0;
        model_breaks == chaos_breaks
    });
    disagreements.truncate(20);
    let (late_count, diverged_count) = (late.len(), diverged.len());
    late.truncate(5);
    diverged.truncate(5);
    Ok(CellReport {
        scenario: plan.scenario,
        schedules: plan.schedules - late_count - diverged_count,
        late: late_count,
        late_examples: late,
        diverged: diverged_count,
        diverged_examples: diverged,
        violations: CHECKED
            .iter()
            .map(|&p| (p, violations.get(&p).copied().unwrap_or(0)))
            .collect(),
        first_violation,
        model: plan.model.clone(),
        agree: found_where_model_breaks && disagreements.is_empty(),
        disagreements,
        shrunk,
        seed,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// Tells the schedule's value tree that the run used every step, so that
/// shrinking starts by deleting steps from the end.
fn mark_seen(generated: &Generated) {
    if let Some(seen) = &generated.2 {
        seen.store(generated.1.len(), std::sync::atomic::Ordering::Relaxed);
    }
}

/// proptest's shrinking loop: simplify while the schedule still breaks the
/// property, step back when it no longer does. `first` is the schedule as
/// first played (the tree's current value, already marked seen).
#[allow(clippy::too_many_arguments)]
fn shrink<T>(
    plan: &CellPlan,
    stage: &Stage,
    runtime: &tokio::runtime::Handle,
    next_key: &(dyn Fn() -> usize + Sync),
    mut tree: T,
    first: Vec<Step>,
    property: PropertyName,
) -> Shrunk
where
    T: ValueTree<Value = Generated>,
{
    let from_len = first.len();
    let mut best = first;
    let mut shrink_steps = 0;
    while shrink_steps < plan.max_shrink {
        if !tree.simplify() {
            break;
        }
        shrink_steps += 1;
        let steps = schedule::steps(&tree.current());
        let judged = runtime.block_on(judge(stage, next_key(), plan.scenario, &steps));
        let judged_fully =
            judged.overrun.is_none() && !(plan.own_lock && judged.divergence.is_some());
        if judged_fully && judged.breaks(property) {
            best = steps;
        } else if !tree.complicate() {
            break;
        }
    }
    let model = LockModel::new(plan.scenario);
    let walk = model.walk(&best);
    let path: Vec<(locklab_model::World, Option<Step>)> = walk
        .states
        .iter()
        .cloned()
        .zip(best.iter().copied().map(Some).chain(std::iter::once(None)))
        .collect();
    Shrunk {
        from_len,
        len: best.len(),
        shrink_steps,
        schedule: locklab_model::step::format_schedule(&best),
        steps: Narrator::new(&plan.scenario).tell(&path, 1),
    }
}

/// Plays one given schedule (the `--schedule` replay of a shrunk failure):
/// the model's and Redis's verdict per property, and what went wrong on the
/// way, if anything.
pub fn run_one(
    scenario: Scenario,
    steps: &[Step],
    stage: &Stage,
    runtime: &tokio::runtime::Handle,
) -> (BTreeMap<PropertyName, (Verdict, Verdict)>, Option<String>) {
    let judged = runtime.block_on(judge(stage, 0, scenario, steps));
    let verdicts = CHECKED
        .iter()
        .map(|&p| (p, (judged.model[&p], judged.real[&p])))
        .collect();
    (
        verdicts,
        judged.divergence.or(judged.error).or(judged.overrun),
    )
}
