//! Following a given path through a model: the lab replays a counterexample
//! found for one protocol against the others ("the same schedule, with the
//! fix"), and needs to know whether the schedule is possible there, what the
//! model expects after each step, and whether the property breaks on it.

use stateright::{Expectation, Model};

use crate::model::LockModel;
use crate::property::PropertyName;
use crate::step::Step;
use crate::verdict::Verdict;
use crate::world::World;

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

/// How a step of a walk went in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    /// The model allows the step and took it.
    Step,
    /// An acquire the protocol makes wait (the lock is held): the client
    /// tries, is told the lock is busy, and nothing changes.
    Waits,
    /// A step of a client that is not where the path assumes (it is still
    /// waiting for the lock): skipped.
    Skipped,
}

/// A path walked through a model that may not allow all of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Walk {
    /// The states, initial state first; one more than the steps.
    pub states: Vec<World>,
    /// How each step went.
    pub taken: Vec<Taken>,
}

impl LockModel {
    /// Walks a path found for another protocol: steps this protocol allows
    /// are taken; an acquire it makes wait is a busy attempt; other steps of
    /// a client still waiting are skipped. This is "the same schedule,
    /// played with the fix".
    pub fn walk(&self, steps: &[Step]) -> Walk {
        let mut states = vec![self.initial()];
        let mut taken = Vec::with_capacity(steps.len());
        let mut enabled = Vec::new();
        for &step in steps {
            let here = states.last().cloned().unwrap_or_else(|| self.initial());
            enabled.clear();
            self.actions(&here, &mut enabled);
            let next = enabled
                .contains(&step)
                .then(|| self.next_state(&here, step))
                .flatten();
            match next {
                Some(next) => {
                    taken.push(Taken::Step);
                    states.push(next);
                }
                None => {
                    taken.push(match step {
                        Step::Acquire { .. } => Taken::Waits,
                        _ => Taken::Skipped,
                    });
                    states.push(here);
                }
            }
        }
        Walk { states, taken }
    }

    /// The states a path goes through, starting with the initial state, or
    /// the first step the model does not allow.
    pub fn follow(&self, steps: &[Step]) -> Result<Vec<World>, Impossible> {
        let mut states = vec![self.initial()];
        let mut enabled = Vec::new();
        for (i, &step) in steps.iter().enumerate() {
            let here = states.last().cloned().unwrap_or_else(|| self.initial());
            enabled.clear();
            self.actions(&here, &mut enabled);
            let next = enabled
                .contains(&step)
                .then(|| self.next_state(&here, step))
                .flatten()
                .ok_or(Impossible {
                    n: i + 1,
                    step,
                    protocol: self.scenario().protocol.name(),
                })?;
            states.push(next);
        }
        Ok(states)
    }

    /// The verdict of a safety property on one path: `violated` when some
    /// state along it breaks the property, `holds` otherwise (`n/a` for
    /// properties that are not about single states).
    pub fn verdict_on(&self, states: &[World], property: PropertyName) -> Verdict {
        let checking = LockModel::checking(*self.scenario(), &[property]);
        let Some(p) = checking.properties().into_iter().next() else {
            return Verdict::NotApplicable;
        };
        if p.expectation != Expectation::Always {
            return Verdict::NotApplicable;
        }
        if states.iter().all(|s| (p.condition)(&checking, s)) {
            Verdict::Holds
        } else {
            Verdict::Violated
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{Fault, Faults};
    use crate::protocol::Protocol;
    use crate::scenario::Scenario;
    use crate::world::ClientId;

    fn unsafe_release() -> Vec<Step> {
        let c1 = ClientId(0);
        let c2 = ClientId(1);
        vec![
            Step::Acquire { client: c1 },
            Step::Pause { client: c1 },
            Step::Tick,
            Step::Tick,
            Step::Tick,
            Step::Resume { client: c1 },
            Step::Acquire { client: c2 },
            Step::Write { client: c1 },
            Step::Release { client: c1 },
        ]
    }

    #[test]
    fn the_naive_schedule_breaks_naive_but_not_token() {
        let faults = Faults::one(Fault::Pause);
        let naive = LockModel::new(Scenario::new(Protocol::Naive, faults));
        let states = naive.follow(&unsafe_release()).unwrap();
        assert_eq!(
            naive.verdict_on(&states, PropertyName::NoForeignRelease),
            Verdict::Violated
        );
        let token = LockModel::new(Scenario::new(Protocol::Token, faults));
        let states = token.follow(&unsafe_release()).unwrap();
        assert_eq!(
            token.verdict_on(&states, PropertyName::NoForeignRelease),
            Verdict::Holds
        );
        assert_eq!(
            token.verdict_on(&states, PropertyName::MutualExclusion),
            Verdict::Violated
        );
    }

    #[test]
    fn a_fix_makes_the_third_client_wait() {
        let mut steps = unsafe_release();
        steps.push(Step::Acquire {
            client: ClientId(2),
        });
        steps.push(Step::Write {
            client: ClientId(2),
        });
        let token = LockModel::new(Scenario::new(Protocol::Token, Faults::one(Fault::Pause)));
        let walk = token.walk(&steps);
        assert_eq!(walk.taken[..9], [Taken::Step; 9]);
        assert_eq!(walk.taken[9..], [Taken::Waits, Taken::Skipped]);
        assert_eq!(walk.states.len(), steps.len() + 1);
    }

    #[test]
    fn a_step_the_protocol_does_not_allow_is_named() {
        let unchecked_overlap = [
            Step::Acquire {
                client: ClientId(0),
            },
            Step::Acquire {
                client: ClientId(1),
            },
        ];
        let token = LockModel::new(Scenario::new(Protocol::Token, Faults::NONE));
        let err = token.follow(&unchecked_overlap).unwrap_err();
        assert_eq!(err.n, 2);
        assert_eq!(
            err.to_string(),
            "step 2 (`acquire c2`) is not possible for token at that point"
        );
    }
}
