//! Running the checker on a scenario: verdicts, state counts, timings, and
//! the shortest counterexample of each broken property.
//!
//! Two searches per scenario, each the right tool for its job:
//!
//! 1. **Verdicts**: a depth-first search with symmetry reduction (Stateright
//!    applies symmetry in DFS only) visits one state per class of states
//!    that differ only by client names, and decides every property.
//! 2. **Counterexamples**: for the properties found broken, a single-threaded
//!    breadth-first search without symmetry, checking only those properties,
//!    so that it stops at the deepest first violation; breadth-first order
//!    makes each counterexample a shortest one, with the client names as
//!    they were.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stateright::{Checker, CheckerVisitor, Expectation, Model, Path, Property};

use crate::claims::is_claimed;
use crate::model::LockModel;
use crate::narrate::{NarratedStep, Narrator};
use crate::property::{Kind, PropertyName};
use crate::scenario::Scenario;
use crate::step::Step;
use crate::verdict::{PropertyVerdict, ScenarioOutcome, Verdict};
use crate::world::{ClientId, Pc, World};

/// How to run the checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// Use symmetry reduction for the verdict run.
    pub symmetry: bool,
    /// Also count unique states without symmetry reduction (a second run).
    pub compare_symmetry: bool,
    /// Give up (verdict `unknown`) after generating this many states.
    pub max_states: usize,
    /// Give up (verdict `unknown`) after this long, per search. `None`: no
    /// time limit (the state budget still applies). Stateright keeps a
    /// thread asleep for the whole of a timeout even when the search ends
    /// sooner, so a caller that runs many checks in one process (a bench, a
    /// test suite) should leave it unset.
    pub timeout: Option<Duration>,
    /// Checker threads per search.
    pub threads: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            symmetry: true,
            compare_symmetry: false,
            max_states: 200_000_000,
            timeout: None,
            threads: 1,
        }
    }
}

/// The result of one search.
struct Search {
    discoveries: HashMap<&'static str, Trace>,
    unique_states: usize,
    complete: bool,
    secs: f64,
}

/// Runs a search to its end, calling `progress` with the unique state count
/// a few times a second.
fn search<C: Checker<M>, M: Model<State = World, Action = Step>>(
    mut checker: C,
    options: &CheckOptions,
    started: Instant,
    progress: &dyn Fn(usize),
) -> Search {
    let handles = checker.handles();
    let mut nap = Duration::from_micros(200);
    while handles.iter().any(|h| !h.is_finished()) {
        progress(checker.unique_state_count());
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(50));
    }
    for handle in handles {
        if let Err(panic) = handle.join() {
            std::panic::resume_unwind(panic);
        }
    }
    progress(checker.unique_state_count());
    let secs = started.elapsed().as_secs_f64();
    let out_of_budget = checker.state_count() >= options.max_states
        || options.timeout.is_some_and(|t| started.elapsed() >= t);
    Search {
        discoveries: checker
            .discoveries()
            .into_iter()
            .map(|(name, path)| (name, path.into_vec()))
            .collect(),
        unique_states: checker.unique_state_count(),
        complete: !out_of_budget,
        secs,
    }
}

fn budgeted<M>(
    builder: stateright::CheckerBuilder<M>,
    options: &CheckOptions,
) -> stateright::CheckerBuilder<M>
where
    M: Model,
{
    let builder = builder
        .target_state_count(options.max_states)
        .threads(options.threads.max(1));
    match options.timeout {
        Some(timeout) => builder.timeout(timeout),
        None => builder,
    }
}

/// Checks one scenario: every property, with counterexamples.
pub fn check(
    scenario: Scenario,
    options: &CheckOptions,
    progress: &dyn Fn(usize),
) -> ScenarioOutcome {
    let started = Instant::now();
    let model = LockModel::new(scenario);
    let checked = model.checked().to_vec();

    let builder = budgeted(model.checker(), options);
    let builder = if options.symmetry {
        builder.symmetry()
    } else {
        builder
    };
    let verdict_run = search(builder.spawn_dfs(), options, Instant::now(), progress);

    let without_symmetry = (options.compare_symmetry && options.symmetry).then(|| {
        let builder = budgeted(LockModel::new(scenario).checker(), options);
        search(builder.spawn_dfs(), options, Instant::now(), &|_| {})
    });

    let mut verdicts: Vec<PropertyVerdict> = checked
        .iter()
        .map(|&property| {
            let found = verdict_run.discoveries.contains_key(property.name());
            let verdict = match (property.kind(), found, verdict_run.complete) {
                (Kind::Sometimes, true, _) => Verdict::Holds,
                (Kind::Sometimes, false, true) => Verdict::Violated,
                (_, true, _) => Verdict::Violated,
                (_, false, true) => Verdict::Holds,
                (_, false, false) => Verdict::Unknown,
            };
            PropertyVerdict {
                property,
                kind: property.kind(),
                verdict,
                claimed: is_claimed(scenario.protocol, property, scenario.faults),
                counterexample: None,
                aftermath: None,
                witness: None,
                shortest: None,
            }
        })
        .collect();
    for property in PropertyName::ALL {
        if !property.applies_to(scenario.protocol) {
            verdicts.push(PropertyVerdict {
                property,
                kind: property.kind(),
                verdict: Verdict::NotApplicable,
                claimed: false,
                counterexample: None,
                aftermath: None,
                witness: None,
                shortest: None,
            });
        }
    }
    verdicts.sort_by_key(|v| v.property);

    attach_counterexamples(scenario, options, &verdict_run, &mut verdicts);

    ScenarioOutcome {
        scenario,
        unique_states: verdict_run.unique_states,
        symmetry: options.symmetry,
        unique_states_without_symmetry: without_symmetry.as_ref().map(|s| s.unique_states),
        without_symmetry_complete: without_symmetry.as_ref().map(|s| s.complete),
        complete: verdict_run.complete,
        verdict_secs: verdict_run.secs,
        secs: started.elapsed().as_secs_f64(),
        verdicts,
    }
}

/// Finds the shortest counterexample of every broken safety or liveness
/// property, and tells it.
fn attach_counterexamples(
    scenario: Scenario,
    options: &CheckOptions,
    verdict_run: &Search,
    verdicts: &mut [PropertyVerdict],
) {
    let broken: Vec<PropertyName> = verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Violated && v.kind != Kind::Sometimes)
        .map(|v| v.property)
        .collect();
    if broken.is_empty() {
        return;
    }
    let model = LockModel::checking(scenario, &broken);
    let shortest = first_breaks(model.clone(), options);
    let narrator = Narrator::new(&scenario);
    for v in verdicts.iter_mut().filter(|v| broken.contains(&v.property)) {
        let name = v.property.name();
        let (path, is_shortest) = match shortest.get(name) {
            Some(path) => (path, true),
            None => match verdict_run.discoveries.get(name) {
                Some(path) => (path, false),
                None => continue,
            },
        };
        v.counterexample = Some(narrator.tell(path, 1));
        v.shortest = Some(is_shortest);
        if v.property == PropertyName::NoForeignRelease {
            v.aftermath = aftermath(model.clone(), options, path, &narrator);
        }
    }
    let verdict_of = |p: PropertyName| verdicts.iter().find(|v| v.property == p).map(|v| v.verdict);
    let fencing_at_work = scenario.protocol.rules().fencing
        && verdict_of(PropertyName::FencedResource) == Some(Verdict::Holds)
        && verdict_of(PropertyName::MutualExclusion) == Some(Verdict::Violated);
    if fencing_at_work {
        let witness = fencing_witness(scenario, options);
        if let Some(v) = verdicts
            .iter_mut()
            .find(|v| v.property == PropertyName::FencedResource)
        {
            v.witness = witness;
        }
    }
}

type Trace = Vec<(World, Option<Step>)>;

/// A breadth-first search that records, for each safety property, the path
/// to the first state that breaks it. Stateright records a discovery too,
/// but later violating states in the same batch overwrite it, so the
/// checker's own discovery is not always a shortest one; the visitor sees
/// states in breadth-first order and keeps the first.
fn first_breaks<M>(model: M, options: &CheckOptions) -> HashMap<&'static str, Trace>
where
    M: Model<State = World, Action = Step> + Send + Sync + 'static,
{
    let always: Vec<Property<M>> = model
        .properties()
        .into_iter()
        .filter(|p| p.expectation == Expectation::Always)
        .collect();
    let found: Arc<Mutex<HashMap<&'static str, Trace>>> = Arc::default();
    let visitor = FirstBreaks {
        always,
        found: Arc::clone(&found),
    };
    let builder = budgeted(
        model.checker(),
        &CheckOptions {
            threads: 1,
            ..*options
        },
    )
    .visitor(visitor);
    let _ = search(builder.spawn_bfs(), options, Instant::now(), &|_| {});
    let found = std::mem::take(&mut *found.lock().unwrap_or_else(|e| e.into_inner()));
    found
}

struct FirstBreaks<M: Model> {
    always: Vec<Property<M>>,
    found: Arc<Mutex<HashMap<&'static str, Trace>>>,
}

impl<M: Model<State = World, Action = Step>> CheckerVisitor<M> for FirstBreaks<M> {
    fn visit(&self, model: &M, path: Path<World, Step>) {
        let Ok(mut found) = self.found.lock() else {
            return;
        };
        for p in &self.always {
            if !found.contains_key(p.name) && !(p.condition)(model, path.last_state()) {
                found.insert(p.name, path.clone().into_vec());
            }
        }
    }
}

/// After a foreign release, the shortest continuation in which two clients
/// other than the releaser hold the lock at once: the harm the release did.
fn aftermath(
    inner: LockModel,
    options: &CheckOptions,
    path: &[(World, Option<Step>)],
    narrator: &Narrator,
) -> Option<Vec<NarratedStep>> {
    let start = path.last()?.0.clone();
    let releaser = start.foreign_release?.releaser;
    let probe = Probe {
        inner,
        start,
        focus: releaser,
        until: |p, w| w.believers().iter().filter(|c| **c != p.focus).count() > 1,
    };
    let continuation = first_breaks(probe, options).remove(PROBE)?;
    Some(narrator.tell(&continuation, path.len()))
}

/// Fencing at work: the shortest path to a write the resource refuses
/// because a newer holder already wrote with a higher token.
fn fencing_witness(scenario: Scenario, options: &CheckOptions) -> Option<Vec<NarratedStep>> {
    let inner = LockModel::new(scenario);
    let probe = Probe {
        start: inner.initial(),
        inner: inner.clone(),
        focus: ClientId(0),
        until: |_, w| w.ids().any(|c| about_to_write_stale(w, c)),
    };
    let mut path = first_breaks(probe, options).remove(PROBE)?;
    // The stale holder is about to write; play that write too.
    let (last, _) = path.pop()?;
    let stale = last.ids().find(|c| about_to_write_stale(&last, *c))?;
    let write = Step::Write { client: stale };
    let after = inner.next_state(&last, write)?;
    path.push((last, Some(write)));
    path.push((after, None));
    Some(Narrator::new(&scenario).tell(&path, 1))
}

/// The client runs, believes it holds, and its next write carries a token
/// lower than one the resource accepted.
fn about_to_write_stale(w: &World, c: ClientId) -> bool {
    let client = w.client(c);
    client.pc == Pc::Holding && !client.paused && client.fence < w.resource_max
}

const PROBE: &str = "probe";

/// The lock model, started from a given state, searching for the first
/// state where `until` is true (reported as a break of the property
/// [`PROBE`]).
struct Probe {
    inner: LockModel,
    start: World,
    focus: ClientId,
    until: fn(&Probe, &World) -> bool,
}

impl Model for Probe {
    type State = World;
    type Action = Step;

    fn init_states(&self) -> Vec<World> {
        vec![self.start.clone()]
    }

    fn actions(&self, state: &World, actions: &mut Vec<Step>) {
        self.inner.actions(state, actions);
    }

    fn next_state(&self, state: &World, step: Step) -> Option<World> {
        self.inner.next_state(state, step)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::always(PROBE, |p: &Probe, w: &World| {
            !(p.until)(p, w)
        })]
    }
}
