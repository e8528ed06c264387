//! What every model family provides, so that the checker, the replay
//! script, chaos and the explorer work on any of them: [`System`].
//!
//! A family has its own state type; what it shares with the others is the
//! step vocabulary ([`Step`]), the outcome vocabulary ([`Outcome`]), the
//! property names and the kit it is built from ([`crate::kit`]). The model
//! is the one source of truth for what a step does: [`System::play`] gives
//! the next state *and* the outcome the client reads, and the lab's
//! conductor compares a real outcome with that.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use stateright::Representative;

use crate::kit::core::{Core, Halt};
use crate::narrate::{KeyRole, LeaseClock, NarratedStep, Turn};
use crate::op::{ClientOp, Reply};
use crate::outcome::Outcome;
use crate::scenario::Scenario;
use crate::step::Step;
use locklab_spec::property::PropertyName;

/// A condition on one state of a model: a property's, or an `eventually`
/// property's goal.
pub type Condition<S> = fn(&S, &<S as System>::World) -> bool;

/// A step to play from a state, if there is one.
pub type Then<S> = fn(&S, &<S as System>::World) -> Option<Step>;

/// A goal to search for, from a given state.
pub type Goal<S> = Arc<dyn Fn(&S, &<S as System>::World) -> bool + Send + Sync>;

/// Extra evidence the checker searches for after the verdicts: a state
/// where `goal` holds, and then possibly one more step (`then`).
pub struct Probe<S: System> {
    /// The property the evidence is attached to.
    pub property: PropertyName,
    /// The state to reach.
    pub goal: Goal<S>,
    /// A step to play once there (the stale write that gets refused).
    pub then: Option<Then<S>>,
}

/// How a step of a walk went in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
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

/// A model family, as the checker, the replay script and chaos use it
/// (Stateright checks it as a [`Checked`](crate::kit::Checked)).
pub trait System: Clone + Send + Sync + 'static {
    /// The family's state.
    type World: Clone + Debug + Hash + Eq + Send + Sync + Representative + 'static;

    /// The model of a scenario, checking the given properties (those that
    /// apply to the scenario).
    fn of(scenario: Scenario, checking: &[PropertyName]) -> Self;

    /// The scenario, the properties checked and the halt flag.
    fn core(&self) -> &Core;

    /// The scenario.
    fn scenario(&self) -> &Scenario {
        &self.core().scenario
    }

    /// The properties this model checks.
    fn checked(&self) -> &[PropertyName] {
        &self.core().properties
    }

    /// The flag that stops a search of this model: once set, no new state
    /// is within bounds.
    fn halt(&self) -> &Halt {
        &self.core().halt
    }

    /// The state every run starts from.
    fn initial(&self) -> Self::World;

    /// The steps enabled in `w`.
    fn actions(&self, w: &Self::World, steps: &mut Vec<Step>);

    /// The condition behind a property: on one state for `always` and
    /// `sometimes`, the goal for `eventually`.
    fn condition(property: PropertyName) -> Condition<Self>;

    /// Plays a step that is enabled in `w`: the next state, and the outcome
    /// the client reads (for steps that perform a client operation and read
    /// its reply at once).
    fn play(&self, w: &Self::World, step: Step) -> Option<(Self::World, Option<Outcome>)>;

    /// How a walk takes a step that is not enabled in `w` (a schedule found
    /// for another protocol): an acquire the protocol makes wait is a busy
    /// attempt, with the outcome the client reads; anything else is skipped.
    fn refused(&self, w: &Self::World, step: Step) -> (Taken, Option<Outcome>) {
        let _ = w;
        match step {
            Step::Op {
                op: ClientOp::Acquire,
                reply: Reply::Now,
                ..
            } => (Taken::Waits, Some(Outcome::Busy)),
            _ => (Taken::Skipped, None),
        }
    }

    /// The keys with a lease in `w`, for the lab's clock.
    fn clocks(&self, w: &Self::World) -> Vec<LeaseClock>;

    /// The roles of the keys with a lease this model can have that the lab
    /// can see on Redis: after every step it looks at each until it has a
    /// lease exactly when the model's clocks say so.
    fn observed(&self) -> Vec<KeyRole>;

    /// A step told in words, with its Redis command, reply and the keys
    /// after it.
    fn tell(&self, turn: Turn<'_, Self::World>) -> NarratedStep;

    /// After a counterexample of `property` that ends in `at`: what it
    /// leads to, as a goal to search on from there.
    fn aftermath(&self, property: PropertyName, at: &Self::World) -> Option<Goal<Self>> {
        let _ = (property, at);
        None
    }

    /// Evidence that a property holds for the right reason (fencing at
    /// work), given the verdicts.
    fn witness(&self, broken: &[PropertyName], holding: &[PropertyName]) -> Option<Probe<Self>> {
        let _ = (broken, holding);
        None
    }

    /// Whether the property holds in `w`.
    fn holds(&self, property: PropertyName, w: &Self::World) -> bool {
        Self::condition(property)(self, w)
    }
}
