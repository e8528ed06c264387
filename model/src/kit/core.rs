//! What every family's model holds besides its capabilities.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::scenario::Scenario;
use locklab_spec::property::PropertyName;

/// A stop flag a model reads in `within_boundary`: once set, no new state
/// is within bounds, so a running search drains and ends, and the paths it
/// found can still be rebuilt from the model's (unchanged) steps.
#[derive(Clone, Debug, Default)]
pub struct Halt(Arc<AtomicBool>);

impl Halt {
    /// Stops the search that owns this flag.
    pub fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the search was stopped.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Lets the model offer its steps again once a search is over, so that
    /// the paths it found can be rebuilt from them.
    pub(crate) fn lift(&self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// The scenario a model checks, the properties it checks there, and its
/// halt flag.
#[derive(Clone, Debug)]
pub struct Core {
    /// The scenario.
    pub scenario: Scenario,
    /// The properties checked: those asked for that apply to the
    /// scenario, in table order.
    pub properties: Vec<PropertyName>,
    /// Stops a search of this model.
    pub halt: Halt,
}

impl Core {
    /// The core of a model of `scenario` checking what of `asked` applies
    /// to it — and, where a family models only some of the properties that
    /// apply to its protocols, what of that is in `modelled`. The renewal
    /// properties apply to a lock that renews only.
    pub fn new(scenario: Scenario, asked: &[PropertyName], modelled: &[PropertyName]) -> Core {
        let properties = PropertyName::ALL
            .into_iter()
            .filter(|p| {
                asked.contains(p)
                    && modelled.contains(p)
                    && scenario
                        .protocol
                        .judges(*p, scenario.depth, scenario.faults)
            })
            .collect();
        Core {
            scenario,
            properties,
            halt: Halt::default(),
        }
    }

    /// Whether the model checks `property`.
    pub fn checks(&self, property: PropertyName) -> bool {
        self.properties.contains(&property)
    }
}
