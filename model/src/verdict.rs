//! Verdicts, and the rows of the verdict matrix as `locklab check` prints
//! and serializes them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::narrate::NarratedStep;
use crate::scenario::Scenario;
use locklab_spec::property::{Kind, PropertyName};
use locklab_spec::protocol::Protocol;

/// What the checker concluded about one property in one scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Verdict {
    /// Checked on every reachable state (or, for a witness, found).
    #[serde(rename = "holds")]
    Holds,
    /// A counterexample exists (or, for a witness, none exists).
    #[serde(rename = "violated")]
    Violated,
    /// The state or time budget ran out first.
    #[serde(rename = "unknown")]
    Unknown,
    /// The property means nothing for this protocol.
    #[serde(rename = "n/a")]
    NotApplicable,
    /// The property could mean something here, but the lab's model does
    /// not check it (the lab reports it, never the checker).
    #[serde(rename = "not modelled")]
    NotModelled,
    /// Nothing was actually checked: a real run too late to judge, or one
    /// whose lock died (the lab reports it, never the checker).
    #[serde(rename = "not judged")]
    NotJudged,
}

impl Verdict {
    /// The verdict word.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Violated => "violated",
            Verdict::Unknown => "unknown",
            Verdict::NotApplicable => "n/a",
            Verdict::NotModelled => "not modelled",
            Verdict::NotJudged => "not judged",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// One property's verdict in one scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PropertyVerdict {
    /// The property.
    pub property: PropertyName,
    /// Its kind.
    pub kind: Kind,
    /// The verdict.
    pub verdict: Verdict,
    /// Whether the protocol promises this property under these faults.
    pub claimed: bool,
    /// The shortest path that breaks the property, when it is broken.
    pub counterexample: Option<Vec<NarratedStep>>,
    /// For a foreign release: what it leads to — the shortest continuation
    /// until two clients other than the releaser both hold the lock.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub aftermath: Option<Vec<NarratedStep>>,
    /// For `fenced-resource` where it holds but mutual exclusion does not:
    /// the shortest path to a stale write the resource refuses — fencing at
    /// work.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub witness: Option<Vec<NarratedStep>>,
    /// Whether the counterexample is a shortest one (it is unless the
    /// breadth-first search ran out of budget).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shortest: Option<bool>,
}

impl PropertyVerdict {
    /// True when this verdict breaks the protocol's claims.
    pub fn breaks_claim(&self) -> bool {
        self.claimed && self.verdict == Verdict::Violated
    }
}

/// Everything the checker found for one scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioOutcome {
    /// The scenario.
    pub scenario: Scenario,
    /// Unique states visited by the verdict run.
    pub unique_states: usize,
    /// Whether the verdict run used symmetry reduction.
    pub symmetry: bool,
    /// Unique states without symmetry reduction, when measured.
    pub unique_states_without_symmetry: Option<usize>,
    /// Whether that second run visited every state (no budget ran out).
    pub without_symmetry_complete: Option<bool>,
    /// Whether every reachable state was visited (no budget ran out).
    pub complete: bool,
    /// Wall time of the verdict run, in seconds.
    pub verdict_secs: f64,
    /// Wall time of everything for this scenario, counterexamples included.
    pub secs: f64,
    /// One verdict per property.
    pub verdicts: Vec<PropertyVerdict>,
}

impl ScenarioOutcome {
    /// The scenario's protocol.
    pub fn protocol(&self) -> Protocol {
        self.scenario.protocol
    }

    /// The verdict for a property.
    pub fn verdict(&self, property: PropertyName) -> Option<&PropertyVerdict> {
        self.verdicts.iter().find(|v| v.property == property)
    }

    /// Unique states per second of the verdict run.
    pub fn states_per_sec(&self) -> f64 {
        if self.verdict_secs > 0.0 {
            self.unique_states as f64 / self.verdict_secs
        } else {
            0.0
        }
    }
}
