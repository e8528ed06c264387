//! [`Checked`]: the one Stateright model, for any family. Stateright asks a
//! model for its initial states, the steps enabled in a state, the next
//! state, its boundary and its properties; a [`System`] answers all of
//! that in its own terms, so the adapter is written once.
//!
//! A Stateright property's condition is a plain `fn` of the model it
//! checks, so a family's condition (a `fn` of the family's model) is
//! reached through one monomorphic function per property index.

use std::ops::Deref;

use stateright::{Model, Property};

use crate::narrate::Turn;
use crate::step::Step;
use crate::system::System;
use locklab_spec::property::{Kind, PropertyName};

/// A property's condition as Stateright calls it.
type Check<S> = fn(&Checked<S>, &<S as System>::World) -> bool;

/// The condition of the property at `P` in [`PropertyName::ALL`].
fn check<S: System, const P: usize>(m: &Checked<S>, w: &S::World) -> bool {
    S::condition(PropertyName::ALL[P])(&m.0, w)
}

/// One [`check`] per property, in [`PropertyName::ALL`]'s order.
fn checks<S: System>() -> [Check<S>; PropertyName::ALL.len()] {
    macro_rules! each {
        ($($p:literal)*) => { [$(check::<S, $p>),*] };
    }
    each!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17)
}

/// A family's model as Stateright checks (and the Explorer serves) it.
#[derive(Clone, Debug)]
pub struct Checked<S>(pub S);

impl<S> Deref for Checked<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.0
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
        let checks = checks::<S>();
        self.checked()
            .iter()
            .map(|&p| {
                let at = PropertyName::ALL.iter().position(|q| *q == p);
                let condition = checks[at.expect("every property is in the table")];
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
        let turn = Turn {
            n: 1,
            before: last,
            step,
            outcome: outcome.as_ref(),
            after: &next,
        };
        Some(self.tell(turn).says)
    }
}
