//! [`Checked`]: the one Stateright model, for any family. Stateright asks a
//! model for its initial states, the steps enabled in a state, the next
//! state, its boundary and its properties; a [`System`] answers all of
//! that in its own terms, so the adapter is written once.

use std::ops::Deref;

use stateright::{Model, Property};

use crate::step::Step;
use crate::system::System;
use locklab_spec::property::Kind;

/// A condition on one state of a checked model: a property's, or an
/// `eventually` property's goal.
pub type Condition<S> = fn(&Checked<S>, &<S as System>::World) -> bool;

/// A family's model as Stateright checks (and the Explorer serves) it.
#[derive(Clone, Debug)]
pub struct Checked<S>(pub S);

impl<S> Deref for Checked<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.0
    }
}

impl<S: System> Checked<S> {
    /// Whether the property holds in `w`.
    pub fn holds(&self, property: locklab_spec::PropertyName, w: &S::World) -> bool {
        S::condition(property)(self, w)
    }
}

impl<S: System> Model for Checked<S> {
    type State = S::World;
    type Action = Step;

    fn init_states(&self) -> Vec<S::World> {
        vec![self.initial()]
    }

    fn actions(&self, w: &S::World, steps: &mut Vec<Step>) {
        self.0.actions(w, steps);
    }

    fn next_state(&self, w: &S::World, step: Step) -> Option<S::World> {
        self.play(w, step).map(|(next, _)| next)
    }

    /// Once the search is halted no new state is within bounds, so the
    /// search drains what it has and ends (steps are unchanged: the paths
    /// of what it found can still be rebuilt).
    fn within_boundary(&self, _: &S::World) -> bool {
        !self.halt().is_set()
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.checked()
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

    /// `acquire c1`, `tick`: how the Explorer lists the steps.
    fn format_action(&self, step: &Step) -> String {
        step.to_string()
    }

    /// The step told, as in a counterexample (for the Explorer).
    fn format_step(&self, last: &S::World, step: Step) -> Option<String> {
        let (next, outcome) = self.play(last, step)?;
        Some(self.tell(1, last, step, outcome.as_ref(), &next).says)
    }
}
