//! What the checker found for one property: apart from the checker, so
//! that the checks of the sync family (`work.rs`), which the checker calls,
//! build findings without importing it back.

use locklab_model::{PropertyName, Verdict};
use serde::{Deserialize, Serialize};

/// What the checker found for one property.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The property.
    pub property: PropertyName,
    /// `holds` or `violated` on this history (`n/a` when a history cannot
    /// say).
    pub verdict: Verdict,
    /// The indices of the events that break it (empty when it holds).
    pub events: Vec<usize>,
    /// The break, in words.
    pub says: Option<String>,
}

impl Finding {
    pub(crate) fn holds(property: PropertyName) -> Finding {
        Finding {
            property,
            verdict: Verdict::Holds,
            events: Vec::new(),
            says: None,
        }
    }

    pub(crate) fn violated(property: PropertyName, events: Vec<usize>, says: String) -> Finding {
        Finding {
            property,
            verdict: Verdict::Violated,
            events,
            says: Some(says),
        }
    }

    pub(crate) fn unknown(property: PropertyName, events: Vec<usize>, says: String) -> Finding {
        Finding {
            property,
            verdict: Verdict::Unknown,
            events,
            says: Some(says),
        }
    }

    pub(crate) fn unknowable(property: PropertyName) -> Finding {
        Finding {
            property,
            verdict: Verdict::NotApplicable,
            events: Vec::new(),
            says: None,
        }
    }
}
