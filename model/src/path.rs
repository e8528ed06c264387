//! Following a given path through a model, for the lab: a counterexample
//! (or a chaos schedule) becomes a [`Script`] — every step with what the
//! model says it does: the outcome the client must read, the leases before
//! and after (the lab's clock), the step told in words, and the model's
//! verdict on the whole path. The conductor plays a script and asks nothing
//! else of the model: it never re-derives a transition.
//!
//! A path found for one protocol can be walked through another ("the same
//! schedule, played with the fix"): steps the other protocol allows are
//! taken; an acquire it makes wait is a busy attempt; other steps of a
//! client still waiting are skipped.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::family::{visit, Visit};
use crate::narrate::{KeyRole, LeaseClock, NarratedStep, Turn};
use crate::outcome::Outcome;
use crate::scenario::Scenario;
use crate::step::Step;
use crate::system::System;
pub use crate::system::Taken;
use crate::verdict::Verdict;
use locklab_spec::property::{Kind, PropertyName};

/// A step the model does not allow where the path takes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("step {n} (`{step}`) is not possible for {protocol} at that point")]
pub struct Impossible {
    /// The 1-based position of the step.
    pub n: usize,
    /// The step.
    pub step: Step,
    /// The protocol.
    pub protocol: &'static str,
}

/// One step of a script: what the model says it does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scripted {
    /// The step.
    pub step: Step,
    /// How the model took it.
    pub taken: Taken,
    /// The outcome the client must read, for a step that reads a reply.
    pub expect: Option<Outcome>,
    /// The leases before the step.
    pub before: Vec<LeaseClock>,
    /// The leases after it.
    pub after: Vec<LeaseClock>,
    /// The step, told.
    pub told: NarratedStep,
    /// The safety properties broken in the state after the step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub broken: Vec<PropertyName>,
}

/// A path, walked through a scenario's model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    /// The scenario it was walked through.
    pub scenario: Scenario,
    /// The steps.
    pub steps: Vec<Scripted>,
    /// The model's verdict on this very path, for each safety property the
    /// scenario checks.
    pub verdicts: BTreeMap<PropertyName, Verdict>,
    /// For each property the path breaks: the 1-based step that first
    /// breaks it.
    pub first_break: BTreeMap<PropertyName, usize>,
    /// The roles of the keys with a lease the lab observes on Redis after
    /// every step ([`System::observed`]).
    #[serde(default)]
    pub observed: Vec<KeyRole>,
}

impl Script {
    /// The steps, as a schedule.
    pub fn schedule(&self) -> Vec<Step> {
        self.steps.iter().map(|s| s.step).collect()
    }

    /// The steps as told (skipped steps left out).
    pub fn told(&self) -> Vec<NarratedStep> {
        self.steps
            .iter()
            .filter(|s| s.taken != Taken::Skipped)
            .map(|s| s.told.clone())
            .collect()
    }

    /// The model's verdict on the path for `property` (`n/a` when the
    /// scenario does not check it, or it is not a safety property).
    pub fn verdict(&self, property: PropertyName) -> Verdict {
        self.verdicts
            .get(&property)
            .copied()
            .unwrap_or(Verdict::NotApplicable)
    }
}

/// Walks a path, taking what the protocol allows (see the module docs).
pub fn script(scenario: Scenario, steps: &[Step]) -> Script {
    visit(
        scenario,
        &PropertyName::ALL,
        Walking {
            steps,
            strict: false,
        },
    )
    .expect("a lenient walk takes every step one way or another")
}

/// Follows a path that must be possible step by step in the scenario's
/// model, or names the first step that is not.
pub fn follow(scenario: Scenario, steps: &[Step]) -> Result<Script, Impossible> {
    visit(
        scenario,
        &PropertyName::ALL,
        Walking {
            steps,
            strict: true,
        },
    )
}

struct Walking<'a> {
    steps: &'a [Step],
    strict: bool,
}

impl Visit for Walking<'_> {
    type Out = Result<Script, Impossible>;

    fn visit<S: System>(self, model: S) -> Self::Out {
        walk(&model, self.steps, self.strict)
    }
}

fn walk<S: System>(model: &S, steps: &[Step], strict: bool) -> Result<Script, Impossible> {
    let safety: Vec<PropertyName> = model
        .checked()
        .iter()
        .copied()
        .filter(|p| p.kind() == Kind::Always)
        .collect();
    let mut here = model.initial();
    let mut first_break = BTreeMap::new();
    let mut scripted = Vec::with_capacity(steps.len());
    let mut enabled = Vec::new();
    for (i, &step) in steps.iter().enumerate() {
        enabled.clear();
        model.actions(&here, &mut enabled);
        let played = enabled
            .contains(&step)
            .then(|| model.play(&here, step))
            .flatten();
        let before = model.clocks(&here);
        let (taken, expect, next, told) = match played {
            Some((next, outcome)) => {
                let told = model.tell(Turn {
                    n: i + 1,
                    before: &here,
                    step,
                    outcome: outcome.as_ref(),
                    after: &next,
                });
                (Taken::Step, outcome, next, told)
            }
            None if strict => {
                return Err(Impossible {
                    n: i + 1,
                    step,
                    protocol: model.scenario().protocol.name(),
                })
            }
            None => {
                let (taken, outcome) = model.refused(&here, step);
                let mut told = model.tell(Turn {
                    n: i + 1,
                    before: &here,
                    step,
                    outcome: outcome.as_ref(),
                    after: &here,
                });
                if taken == Taken::Skipped {
                    told.says = format!("{step} is skipped: the client is not where the schedule assumes (it is still waiting)");
                    told.command = None;
                    told.reply = None;
                }
                (taken, outcome, here.clone(), told)
            }
        };
        let broken: Vec<PropertyName> = safety
            .iter()
            .copied()
            .filter(|&p| !model.holds(p, &next))
            .collect();
        for &p in &broken {
            first_break.entry(p).or_insert(i + 1);
        }
        scripted.push(Scripted {
            step,
            taken,
            expect,
            before,
            after: model.clocks(&next),
            told,
            broken,
        });
        here = next;
    }
    let verdicts = safety
        .iter()
        .map(|&p| {
            let v = if first_break.contains_key(&p) {
                Verdict::Violated
            } else {
                Verdict::Holds
            };
            (p, v)
        })
        .collect();
    Ok(Script {
        scenario: *model.scenario(),
        steps: scripted,
        verdicts,
        first_break,
        observed: model.observed(),
    })
}

/// Tells a path as the checker returned it: `(state, Some(step))` pairs
/// followed by the last state. Numbering starts at `first`.
pub fn tell<S: System>(
    model: &S,
    path: &[(S::World, Option<Step>)],
    first: usize,
) -> Vec<NarratedStep> {
    path.windows(2)
        .enumerate()
        .filter_map(|(i, pair)| {
            let (before, step) = &pair[0];
            let (after, _) = &pair[1];
            let step = (*step)?;
            let outcome = model.play(before, step).and_then(|(_, o)| o);
            Some(model.tell(Turn {
                n: first + i,
                before,
                step,
                outcome: outcome.as_ref(),
                after,
            }))
        })
        .collect()
}

/// The steps a scenario's model allows after a path, whatever its family:
/// what chaos draws its schedules from.
pub trait Walker: Send + Sync {
    /// The scenario.
    fn scenario(&self) -> &Scenario;
    /// The steps enabled after `path` (which must be possible), or `None`
    /// when it is not.
    fn enabled(&self, path: &[Step]) -> Option<Vec<Step>>;
}

struct SystemWalker<S>(S);

impl<S: System> Walker for SystemWalker<S> {
    fn scenario(&self) -> &Scenario {
        self.0.scenario()
    }

    fn enabled(&self, path: &[Step]) -> Option<Vec<Step>> {
        let mut here = self.0.initial();
        let mut enabled = Vec::new();
        for &step in path {
            enabled.clear();
            self.0.actions(&here, &mut enabled);
            if !enabled.contains(&step) {
                return None;
            }
            here = self.0.play(&here, step)?.0;
        }
        enabled.clear();
        self.0.actions(&here, &mut enabled);
        Some(enabled)
    }
}

/// A [`Walker`] for a scenario's model.
pub fn walker(scenario: Scenario) -> Arc<dyn Walker> {
    struct Make;
    impl Visit for Make {
        type Out = Arc<dyn Walker>;
        fn visit<S: System>(self, model: S) -> Self::Out {
            Arc::new(SystemWalker(model))
        }
    }
    visit(scenario, &PropertyName::ALL, Make)
}
