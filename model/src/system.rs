//! What every model family provides, so that the checker, the replay
//! script, chaos and the explorer work on any of them: [`System`], and
//! [`visit`], which picks a scenario's model from its protocol's family.
//!
//! A family has its own state type; what it shares with the others is the
//! step vocabulary ([`Step`]), the outcome vocabulary ([`Outcome`]) and the
//! property names. The model is the one source of truth for what a step
//! does: [`System::play`] gives the next state *and* the outcome the client
//! reads, and the lab's conductor compares a real outcome with that.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use stateright::{Model, Property, Representative};

use crate::check::Halt;
use crate::lease::LeaseModel;
use crate::narrate::{LeaseClock, NarratedStep};
use crate::outcome::Outcome;
use crate::path::Taken;
use crate::scenario::Scenario;
use crate::step::Step;
use locklab_spec::declaration::Family;
use locklab_spec::property::{Kind, PropertyName};

/// A condition on one state of a model.
pub type Condition<S> = fn(&S, &<S as System>::World) -> bool;

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
    pub then: Option<fn(&S, &S::World) -> Option<Step>>,
}

/// A model family, as the checker, the replay script and chaos use it.
pub trait System:
    Model<State = <Self as System>::World, Action = Step> + Clone + Send + Sync + 'static
{
    /// The family's state.
    type World: Clone + Debug + Hash + Eq + Send + Sync + Representative + 'static;

    /// The model of a scenario, checking the given properties (those that
    /// apply to the scenario).
    fn of(scenario: Scenario, checking: &[PropertyName]) -> Self;

    /// The scenario.
    fn scenario(&self) -> &Scenario;

    /// The properties this model checks.
    fn checked(&self) -> &[PropertyName];

    /// The flag that stops a search of this model: once set, the model
    /// offers no more steps.
    fn halt(&self) -> &Halt;

    /// The state every run starts from.
    fn initial(&self) -> Self::World;

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
            Step::Acquire { .. } => (Taken::Waits, Some(Outcome::Busy)),
            _ => (Taken::Skipped, None),
        }
    }

    /// The keys with a lease in `w`, for the lab's clock.
    fn clocks(&self, w: &Self::World) -> Vec<LeaseClock>;

    /// A step told in words, with its Redis command, reply and the keys
    /// after it.
    fn tell(
        &self,
        n: usize,
        before: &Self::World,
        step: Step,
        outcome: Option<&Outcome>,
        after: &Self::World,
    ) -> NarratedStep;

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

/// The Stateright properties of a model's checked properties.
pub fn properties<S: System>(model: &S) -> Vec<Property<S>> {
    model
        .checked()
        .iter()
        .map(|&p| {
            let condition = S::condition(p);
            match p.kind() {
                Kind::Always => Property::always(p.name(), condition),
                Kind::Eventually => Property::eventually(p.name(), condition),
                Kind::Sometimes => Property::sometimes(p.name(), condition),
            }
        })
        .collect()
}

/// The properties a scenario's model checks out of `asked`: those that
/// apply to it, in table order.
pub fn applicable(scenario: &Scenario, asked: &[PropertyName]) -> Vec<PropertyName> {
    PropertyName::ALL
        .into_iter()
        .filter(|p| asked.contains(p) && p.applies(scenario.depth, scenario.faults))
        .collect()
}

/// Something to do with a scenario's model, whatever its family.
pub trait Visit {
    /// What it gives back.
    type Out;
    /// Does it.
    fn visit<S: System>(self, model: S) -> Self::Out;
}

/// Builds the scenario's model (checking `checking`) and hands it to `v`.
pub fn visit<V: Visit>(scenario: Scenario, checking: &[PropertyName], v: V) -> V::Out {
    match scenario.protocol.family() {
        Family::Lease => v.visit(LeaseModel::of(scenario, checking)),
    }
}
