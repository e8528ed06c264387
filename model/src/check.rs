//! Running the checker on a scenario: verdicts, state counts, timings, and
//! the shortest counterexample of each broken property — for any model
//! family.
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
//!
//! Budgets are enforced while the search runs: the state budget by
//! Stateright, the time budget by a [`Halt`] the search loop sets at the
//! deadline, after which the model offers no more steps and the search ends
//! within moments. A search that ran out of budget decides nothing it did
//! not find: its `always` and `eventually` verdicts are `unknown`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stateright::{Checker, CheckerVisitor, Expectation, Model, Path, Property};

use crate::family::{visit, Visit};
use crate::kit::{Checked, Halt};
use crate::narrate::NarratedStep;
use crate::path::tell;
use crate::scenario::Scenario;
use crate::step::Step;
use crate::system::{Goal, System};
use crate::verdict::{PropertyVerdict, ScenarioOutcome, Verdict};
use locklab_spec::property::{Kind, PropertyName};

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
    /// time limit (the state budget still applies).
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

type Trace<W> = Vec<(W, Option<Step>)>;

/// The result of one search.
struct Search<W> {
    discoveries: HashMap<&'static str, Trace<W>>,
    unique_states: usize,
    complete: bool,
    secs: f64,
}

/// Runs a search to its end, or to its budget, calling `progress` with the
/// unique state count a few times a second.
fn search<S: System, C: Checker<Checked<S>>>(
    mut checker: C,
    halt: &Halt,
    options: &CheckOptions,
    progress: &dyn Fn(usize),
) -> Search<S::World> {
    let started = Instant::now();
    let deadline = options.timeout.map(|t| started + t);
    let handles = checker.handles();
    let mut nap = Duration::from_micros(200);
    while handles.iter().any(|h| !h.is_finished()) {
        progress(checker.unique_state_count());
        if deadline.is_some_and(|d| Instant::now() >= d) {
            halt.set();
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(50));
    }
    for handle in handles {
        if let Err(panic) = handle.join() {
            std::panic::resume_unwind(panic);
        }
    }
    progress(checker.unique_state_count());
    let out_of_budget = halt.is_set() || checker.state_count() >= options.max_states;
    Search {
        discoveries: checker
            .discoveries()
            .into_iter()
            .map(|(name, path)| (name, path.into_vec()))
            .collect(),
        unique_states: checker.unique_state_count(),
        complete: !out_of_budget,
        secs: started.elapsed().as_secs_f64(),
    }
}

fn budgeted<M: Model>(
    builder: stateright::CheckerBuilder<M>,
    options: &CheckOptions,
) -> stateright::CheckerBuilder<M> {
    builder
        .target_state_count(options.max_states)
        .threads(options.threads.max(1))
}

/// Checks one scenario: every property, with counterexamples.
pub fn check(
    scenario: Scenario,
    options: &CheckOptions,
    progress: &dyn Fn(usize),
) -> ScenarioOutcome {
    struct Checking<'a> {
        options: &'a CheckOptions,
        progress: &'a dyn Fn(usize),
    }
    impl Visit for Checking<'_> {
        type Out = ScenarioOutcome;
        fn visit<S: System>(self, model: S) -> ScenarioOutcome {
            check_model(model, self.options, self.progress)
        }
    }
    visit(scenario, &PropertyName::ALL, Checking { options, progress })
}

/// The verdict a search gives a property.
fn verdict_of(kind: Kind, found: bool, complete: bool) -> Verdict {
    match (kind, found, complete) {
        (Kind::Sometimes, true, _) => Verdict::Holds,
        (Kind::Sometimes, false, true) => Verdict::Violated,
        (Kind::Always, true, _) => Verdict::Violated,
        // A halted search leaves states without successors: an `eventually`
        // found there may be an artefact of the budget.
        (Kind::Eventually, true, true) => Verdict::Violated,
        (_, false, true) => Verdict::Holds,
        _ => Verdict::Unknown,
    }
}

fn check_model<S: System>(
    model: S,
    options: &CheckOptions,
    progress: &dyn Fn(usize),
) -> ScenarioOutcome {
    let started = Instant::now();
    let scenario = *model.scenario();
    let checked = model.checked().to_vec();

    let halt = model.halt().clone();
    let builder = budgeted(Checked(model.clone()).checker(), options);
    let builder = if options.symmetry {
        builder.symmetry()
    } else {
        builder
    };
    let verdict_run = search::<S, _>(builder.spawn_dfs(), &halt, options, progress);

    let without_symmetry = (options.compare_symmetry && options.symmetry).then(|| {
        let fresh = S::of(scenario, &checked);
        let halt = fresh.halt().clone();
        let builder = budgeted(Checked(fresh).checker(), options);
        search::<S, _>(builder.spawn_dfs(), &halt, options, &|_| {})
    });

    let mut verdicts: Vec<PropertyVerdict> = PropertyName::ALL
        .into_iter()
        .map(|property| {
            let verdict = if checked.contains(&property) {
                let found = verdict_run.discoveries.contains_key(property.name());
                verdict_of(property.kind(), found, verdict_run.complete)
            } else {
                Verdict::NotApplicable
            };
            PropertyVerdict {
                property,
                kind: property.kind(),
                verdict,
                claimed: verdict != Verdict::NotApplicable && scenario.claims(property),
                counterexample: None,
                aftermath: None,
                witness: None,
                shortest: None,
            }
        })
        .collect();

    attach_evidence(&model, options, &verdict_run, &mut verdicts);

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
/// property, tells it, and adds what the model offers as further evidence
/// (what a break leads to; a property holding for the right reason).
fn attach_evidence<S: System>(
    model: &S,
    options: &CheckOptions,
    verdict_run: &Search<S::World>,
    verdicts: &mut [PropertyVerdict],
) {
    let broken: Vec<PropertyName> = verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Violated && v.kind != Kind::Sometimes)
        .map(|v| v.property)
        .collect();
    let holding: Vec<PropertyName> = verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Holds)
        .map(|v| v.property)
        .collect();
    if !broken.is_empty() {
        let scenario = *model.scenario();
        let breaking = S::of(scenario, &broken);
        let halt = breaking.halt().clone();
        let shortest = first_breaks(Checked(breaking), &halt, options);
        for v in verdicts.iter_mut().filter(|v| broken.contains(&v.property)) {
            let name = v.property.name();
            let (path, is_shortest) = match shortest.get(name) {
                Some(path) => (path, true),
                None => match verdict_run.discoveries.get(name) {
                    Some(path) => (path, false),
                    None => continue,
                },
            };
            v.counterexample = Some(tell(model, path, 1));
            v.shortest = Some(is_shortest);
            if let Some(goal) = path
                .last()
                .and_then(|(at, _)| model.aftermath(v.property, at))
            {
                let start = path.last().map(|(w, _)| w.clone());
                v.aftermath = start.and_then(|start| {
                    let continuation = reach(model, start, goal, options)?;
                    Some(tell(model, &continuation, path.len()))
                });
            }
        }
    }
    if let Some(probe) = model.witness(&broken, &holding) {
        let found = reach(model, model.initial(), probe.goal, options).and_then(|mut path| {
            if let Some(then) = probe.then {
                let (last, _) = path.pop()?;
                let step = then(model, &last)?;
                let (after, _) = model.play(&last, step)?;
                path.push((last, Some(step)));
                path.push((after, None));
            }
            Some(tell(model, &path, 1))
        });
        if let Some(v) = verdicts.iter_mut().find(|v| v.property == probe.property) {
            v.witness = found;
        }
    }
}

/// A breadth-first search that records, for each safety property, the path
/// to the first state that breaks it. Stateright records a discovery too,
/// but later violating states in the same batch overwrite it, so the
/// checker's own discovery is not always a shortest one; the visitor sees
/// states in breadth-first order and keeps the first.
fn first_breaks<M>(
    model: M,
    halt: &Halt,
    options: &CheckOptions,
) -> HashMap<&'static str, Trace<M::State>>
where
    M: Model<Action = Step> + Send + Sync + 'static,
    M::State: Clone + PartialEq + std::fmt::Debug + std::hash::Hash + Send + Sync + 'static,
{
    let always: Vec<Property<M>> = model
        .properties()
        .into_iter()
        .filter(|p| p.expectation == Expectation::Always)
        .collect();
    let found: Found<M::State> = Arc::default();
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
    let mut checker = builder.spawn_bfs();
    let deadline = options.timeout.map(|t| Instant::now() + t);
    let handles = checker.handles();
    let mut nap = Duration::from_micros(200);
    while handles.iter().any(|h| !h.is_finished()) {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            halt.set();
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(50));
    }
    for handle in handles {
        if let Err(panic) = handle.join() {
            std::panic::resume_unwind(panic);
        }
    }
    let found = std::mem::take(&mut *found.lock().unwrap_or_else(|e| e.into_inner()));
    found
}

/// The first trace found to break each property, by property name.
type Found<S> = Arc<Mutex<HashMap<&'static str, Trace<S>>>>;

struct FirstBreaks<M: Model> {
    always: Vec<Property<M>>,
    found: Found<M::State>,
}

impl<M: Model<Action = Step>> CheckerVisitor<M> for FirstBreaks<M>
where
    M::State: Clone,
{
    fn visit(&self, model: &M, path: Path<M::State, Step>) {
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

const PROBE: &str = "probe";

/// A model, started from a given state, searching for the first state
/// where a goal is true (reported as a break of the property [`PROBE`]).
struct Reach<S: System> {
    inner: S,
    start: S::World,
    goal: Goal<S>,
}

impl<S: System> Clone for Reach<S> {
    fn clone(&self) -> Self {
        Reach {
            inner: self.inner.clone(),
            start: self.start.clone(),
            goal: Arc::clone(&self.goal),
        }
    }
}

impl<S: System> Model for Reach<S> {
    type State = S::World;
    type Action = Step;

    fn init_states(&self) -> Vec<S::World> {
        vec![self.start.clone()]
    }

    fn actions(&self, state: &S::World, actions: &mut Vec<Step>) {
        self.inner.actions(state, actions);
    }

    fn next_state(&self, state: &S::World, step: Step) -> Option<S::World> {
        self.inner.play(state, step).map(|(next, _)| next)
    }

    fn within_boundary(&self, _: &S::World) -> bool {
        !self.inner.halt().is_set()
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::always(PROBE, |r: &Reach<S>, w: &S::World| {
            !(r.goal)(&r.inner, w)
        })]
    }
}

/// The shortest path from `start` to a state where `goal` holds.
fn reach<S: System>(
    model: &S,
    start: S::World,
    goal: Goal<S>,
    options: &CheckOptions,
) -> Option<Trace<S::World>> {
    // A model of its own: the verdict run's may have been halted.
    let inner = S::of(*model.scenario(), model.checked());
    let halt = inner.halt().clone();
    let probe = Reach { inner, start, goal };
    first_breaks(probe, &halt, options).remove(PROBE)
}

/// The counterexample of a property in a verdict, as steps (for replays).
pub fn steps_of(told: &[NarratedStep]) -> Vec<Step> {
    told.iter().map(|s| s.step).collect()
}
