//! Running the checker on a scenario: verdicts, state counts, timings, and
//! the shortest counterexample of each broken property — for any model
//! family.
//!
//! Two searches per scenario, each the right tool for its job:
//!
//! 1. **Verdicts**: a depth-first search with symmetry reduction (Stateright
//!    applies symmetry in DFS only) visits one state per class of states
//!    that differ only by client names, and decides every property.
//! 2. **Counterexamples**: for the properties found broken, a breadth-first
//!    search without symmetry ([`shortest`]), checking only those
//!    properties, that stops once each has its first violation;
//!    breadth-first order makes each counterexample a shortest one, with
//!    the client names as they were. It keeps one parent link per state,
//!    so a state costs about what it costs the verdict search. What a break
//!    leads to, and the witness that a property holds for the right reason,
//!    are found by the same search from another start.
//!
//! Budgets are enforced while the searches run: the state budget by
//! Stateright and by [`shortest`], the time budget by a [`Halt`] the search
//! loop sets at the deadline (after which the model offers no more steps
//! and the search ends within moments) and by [`shortest`]'s own clock. A
//! search that ran out of budget decides nothing it did not find: its
//! `always` and `eventually` verdicts are `unknown`, and a counterexample
//! the breadth-first search could not finish is the verdict search's, not
//! marked shortest.

mod shortest;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use stateright::{Checker, Expectation, Model, Property, Representative};

use crate::family::{visit, Visit};
use crate::kit::{Checked, Halt};
use crate::narrate::NarratedStep;
use crate::path::tell;
use crate::scenario::Scenario;
use crate::step::Step;
use crate::system::{Goal, System};
use crate::verdict::{PropertyVerdict, ScenarioOutcome, Verdict};
use locklab_spec::property::{Kind, PropertyName};
use shortest::{Budget, Symmetry, Target};

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

type Trace<W> = shortest::Trace<W, Step>;

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
    // Stateright rebuilds a path from its action indices, by asking the
    // model for its steps again: a halted model would offer none.
    halt.lift();
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
        let shortest = first_breaks(&Checked(breaking), options);
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

/// The shortest path to the first state that breaks each `always`
/// property of `model`: the path a breadth-first search without symmetry
/// finds first, with symmetry when the options ask for it (see
/// [`shortest`]).
fn first_breaks<M>(model: &M, options: &CheckOptions) -> HashMap<&'static str, Trace<M::State>>
where
    M: Model<Action = Step>,
    M::State: Clone + std::hash::Hash + Representative,
{
    let always: Vec<Property<M>> = model
        .properties()
        .into_iter()
        .filter(|p| p.expectation == Expectation::Always)
        .collect();
    let targets: Vec<Target<'_, M::State>> = always
        .iter()
        .map(|p| Target {
            name: p.name,
            hit: Box::new(move |state: &M::State| !(p.condition)(model, state)),
        })
        .collect();
    let symmetry = options
        .symmetry
        .then_some(<M::State as Representative>::representative as Symmetry<M::State>);
    shortest::search(
        model,
        model.init_states(),
        symmetry,
        &targets,
        budget(options),
    )
    .paths
}

/// The shortest path from `start` to a state where `goal` holds. Without
/// symmetry: neither the start nor the goal need be the same for renamed
/// clients.
fn reach<S: System>(
    model: &S,
    start: S::World,
    goal: Goal<S>,
    options: &CheckOptions,
) -> Option<Trace<S::World>> {
    const GOAL: &str = "goal";
    let target = Target {
        name: GOAL,
        hit: Box::new(|w: &S::World| goal(model, w)),
    };
    shortest::search(
        &Checked(model.clone()),
        vec![start],
        None,
        &[target],
        budget(options),
    )
    .paths
    .remove(GOAL)
}

/// A shortest-path search's budget: the verdict search's, from now.
fn budget(options: &CheckOptions) -> Budget {
    Budget {
        max_states: options.max_states,
        deadline: options.timeout.map(|t| Instant::now() + t),
    }
}

/// The counterexample of a property in a verdict, as steps (for replays).
pub fn steps_of(told: &[NarratedStep]) -> Vec<Step> {
    told.iter().map(|s| s.step).collect()
}
