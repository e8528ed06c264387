//! Property names, one each, shared by the model, the history checker and
//! the docs, and what kind of claim each one is.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::protocol::Protocol;

/// A property the lab checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PropertyName {
    /// No two clients believe they hold the lock at once.
    MutualExclusion,
    /// A release never removes a lock another client holds.
    NoForeignRelease,
    /// The resource never accepts a write made under an older grant than one
    /// it already accepted (with fencing: a lower token — as long as the
    /// fencing counter is never reset).
    FencedResource,
    /// Every client that does not crash gets the lock at least once: a
    /// crashed holder does not block the others forever.
    EventuallyAcquired,
    /// Some client gets the lock (so "holds" is never vacuous).
    SomeoneAcquires,
    /// Every client finishes all its rounds.
    EveryoneFinishes,
}

/// Whether a property must hold in every state, on every path, or in some
/// state (mirrors Stateright's expectations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A safety property: true in every reachable state.
    Always,
    /// A liveness property: every complete path reaches a state where it is
    /// true.
    Eventually,
    /// A witness: true in at least one reachable state.
    Sometimes,
}

impl PropertyName {
    /// Every property, in table order.
    pub const ALL: [PropertyName; 6] = [
        PropertyName::MutualExclusion,
        PropertyName::NoForeignRelease,
        PropertyName::FencedResource,
        PropertyName::EventuallyAcquired,
        PropertyName::SomeoneAcquires,
        PropertyName::EveryoneFinishes,
    ];

    /// The property's name everywhere.
    pub fn name(self) -> &'static str {
        match self {
            PropertyName::MutualExclusion => "mutual-exclusion",
            PropertyName::NoForeignRelease => "no-foreign-release",
            PropertyName::FencedResource => "fenced-resource",
            PropertyName::EventuallyAcquired => "eventually-acquired",
            PropertyName::SomeoneAcquires => "someone-acquires",
            PropertyName::EveryoneFinishes => "everyone-finishes",
        }
    }

    /// What kind of property it is.
    pub fn kind(self) -> Kind {
        match self {
            PropertyName::MutualExclusion
            | PropertyName::NoForeignRelease
            | PropertyName::FencedResource => Kind::Always,
            PropertyName::EventuallyAcquired => Kind::Eventually,
            PropertyName::SomeoneAcquires | PropertyName::EveryoneFinishes => Kind::Sometimes,
        }
    }

    /// Whether the property means anything for the protocol. Every property
    /// here does for every lock protocol: `fenced-resource` too, since a
    /// resource without fencing still has a history that grant order can
    /// judge (that is how the matrix shows what fencing buys).
    pub fn applies_to(self, _protocol: Protocol) -> bool {
        true
    }

    /// The one-line statement of the property.
    pub fn statement(self) -> &'static str {
        match self {
            PropertyName::MutualExclusion => "no two clients believe they hold the lock at once",
            PropertyName::NoForeignRelease => "a release never removes a lock another client holds",
            PropertyName::FencedResource => {
                "the resource never accepts a write under an older grant than one it already accepted"
            }
            PropertyName::EventuallyAcquired => {
                "every client that does not crash gets the lock at least once"
            }
            PropertyName::SomeoneAcquires => "some client gets the lock",
            PropertyName::EveryoneFinishes => "every client finishes all its rounds",
        }
    }
}

impl fmt::Display for PropertyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown property name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown property `{0}`; known properties: mutual-exclusion, no-foreign-release, fenced-resource, eventually-acquired, someone-acquires, everyone-finishes")]
pub struct UnknownProperty(pub String);

impl FromStr for PropertyName {
    type Err = UnknownProperty;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PropertyName::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownProperty(s.to_owned()))
    }
}
