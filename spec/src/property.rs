//! Property names, one each, shared by the models, the history checker and
//! the docs; what kind of claim each one is; and which scenarios each one
//! means something for.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::family::Family;
use crate::fault::{Fault, Faults};

/// A property the lab checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PropertyName {
    /// No two clients believe they hold the lock at once.
    MutualExclusion,
    /// A release never removes a lock another client holds.
    NoForeignRelease,
    /// The resource never accepts a write older than one it already
    /// accepted: older by fencing token, and where tokens cannot tell two
    /// grants apart (no fencing, or one token handed out twice), by grant.
    FencedResource,
    /// Every client that does not crash gets the lock at least once: a
    /// crashed holder does not block the others forever.
    EventuallyAcquired,
    /// A holder's re-acquire never waits for its own lock.
    ReentryNoSelfWait,
    /// A release never frees a lock its owner still holds at a deeper level.
    NoEarlyRelease,
    /// Redis never holds the lock, or a level of it, for a client that does
    /// not believe it holds it (a re-sent acquire counted twice, or granted
    /// and then refused to its own sender).
    NoLeakedHold,
    /// A renewal never extends a lease another client holds.
    NoForeignExtension,
    /// A holder whose lease was lost learns it at or before its next
    /// operation: none writes or releases as a holder, untold, after
    /// its lease was gone (expired, forgotten, taken, or silently
    /// re-created).
    LossTold,
    /// Some client gets the lock (so "holds" is never vacuous).
    SomeoneAcquires,
    /// Some holder's watchdog renews its lease (so the renewal verdicts
    /// are never vacuous).
    SomeoneRenews,
    /// Some holder re-enters its lock (so the re-entry verdicts are never
    /// vacuous).
    SomeoneReenters,
    /// Every client finishes all its rounds.
    EveryoneFinishes,
    /// No unit's effect is applied to the sink more than once.
    NoDoubleProcessing,
    /// No unit is overwritten or dropped before some worker processed it:
    /// while its effect was never applied, it is still in Redis or in the
    /// hands of a worker that has not crashed.
    NoLostUpdate,
    /// Both: every unit's effect is applied at most once, and none is lost.
    ExactlyOnceSync,
    /// Some unit's effect is applied (so the sync verdicts are never
    /// vacuous).
    SomeUnitProcessed,
    /// Every unit of the budget is produced and its effect applied.
    EveryUnitProcessed,
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
    pub const ALL: [PropertyName; 18] = [
        PropertyName::MutualExclusion,
        PropertyName::NoForeignRelease,
        PropertyName::FencedResource,
        PropertyName::EventuallyAcquired,
        PropertyName::ReentryNoSelfWait,
        PropertyName::NoEarlyRelease,
        PropertyName::NoLeakedHold,
        PropertyName::NoForeignExtension,
        PropertyName::LossTold,
        PropertyName::SomeoneAcquires,
        PropertyName::SomeoneReenters,
        PropertyName::SomeoneRenews,
        PropertyName::EveryoneFinishes,
        PropertyName::NoDoubleProcessing,
        PropertyName::NoLostUpdate,
        PropertyName::ExactlyOnceSync,
        PropertyName::SomeUnitProcessed,
        PropertyName::EveryUnitProcessed,
    ];

    /// The property's name everywhere.
    pub fn name(self) -> &'static str {
        match self {
            PropertyName::MutualExclusion => "mutual-exclusion",
            PropertyName::NoForeignRelease => "no-foreign-release",
            PropertyName::FencedResource => "fenced-resource",
            PropertyName::EventuallyAcquired => "eventually-acquired",
            PropertyName::ReentryNoSelfWait => "reentry-no-self-wait",
            PropertyName::NoEarlyRelease => "no-early-release",
            PropertyName::NoLeakedHold => "no-leaked-hold",
            PropertyName::NoForeignExtension => "no-foreign-extension",
            PropertyName::LossTold => "loss-told",
            PropertyName::SomeoneRenews => "someone-renews",
            PropertyName::SomeoneAcquires => "someone-acquires",
            PropertyName::SomeoneReenters => "someone-reenters",
            PropertyName::EveryoneFinishes => "everyone-finishes",
            PropertyName::NoDoubleProcessing => "no-double-processing",
            PropertyName::NoLostUpdate => "no-lost-update",
            PropertyName::ExactlyOnceSync => "exactly-once-sync",
            PropertyName::SomeUnitProcessed => "some-unit-processed",
            PropertyName::EveryUnitProcessed => "every-unit-processed",
        }
    }

    /// What kind of property it is.
    pub fn kind(self) -> Kind {
        match self {
            PropertyName::MutualExclusion
            | PropertyName::NoForeignRelease
            | PropertyName::FencedResource
            | PropertyName::ReentryNoSelfWait
            | PropertyName::NoEarlyRelease
            | PropertyName::NoLeakedHold
            | PropertyName::NoForeignExtension
            | PropertyName::LossTold
            | PropertyName::NoDoubleProcessing
            | PropertyName::NoLostUpdate
            | PropertyName::ExactlyOnceSync => Kind::Always,
            PropertyName::EventuallyAcquired => Kind::Eventually,
            PropertyName::SomeoneAcquires
            | PropertyName::SomeoneReenters
            | PropertyName::SomeoneRenews
            | PropertyName::EveryoneFinishes
            | PropertyName::SomeUnitProcessed
            | PropertyName::EveryUnitProcessed => Kind::Sometimes,
        }
    }

    /// The model family whose scenarios the property is about: the lock
    /// properties judge locks (those of one Redis and of a quorum alike,
    /// named here by [`Family::Lease`]), the sync properties units of work.
    pub fn family(self) -> Family {
        match self {
            PropertyName::NoDoubleProcessing
            | PropertyName::NoLostUpdate
            | PropertyName::ExactlyOnceSync
            | PropertyName::SomeUnitProcessed
            | PropertyName::EveryUnitProcessed => Family::Sync,
            _ => Family::Lease,
        }
    }

    /// Whether the property is about renewing a lease: it means something
    /// only for a lock whose watchdog renews
    /// ([`Capabilities::renews`](crate::declaration::Capabilities::renews)).
    pub fn about_renewal(self) -> bool {
        matches!(
            self,
            PropertyName::NoForeignExtension | PropertyName::LossTold | PropertyName::SomeoneRenews
        )
    }

    /// Whether the property means anything in a scenario of `family`
    /// whose clients acquire `depth` times under `faults`. A property
    /// applies to its own family only. The re-entry properties need clients
    /// that re-enter (depth 2 or more); a leaked hold needs re-entry or a
    /// re-sent acquire. Every other lock property means something for every
    /// lock: `fenced-resource` too, since a resource without fencing still
    /// has a history that grant order can judge (that is how the matrix
    /// shows what fencing buys).
    pub fn applies(self, family: Family, depth: u8, faults: Faults) -> bool {
        let judged = match family {
            Family::Quorum => Family::Lease,
            f => f,
        };
        if self.family() != judged {
            return false;
        }
        let reenters = depth > 1;
        match self {
            PropertyName::ReentryNoSelfWait
            | PropertyName::NoEarlyRelease
            | PropertyName::SomeoneReenters => reenters,
            PropertyName::NoLeakedHold => reenters || faults.budget(Fault::Retry) > 0,
            _ => true,
        }
    }

    /// The one-line statement of the property.
    pub fn statement(self) -> &'static str {
        match self {
            PropertyName::MutualExclusion => "no two clients believe they hold the lock at once",
            PropertyName::NoForeignRelease => "a release never removes a lock another client holds",
            PropertyName::FencedResource => {
                "the resource never accepts a write older than one it already accepted, by fencing token, then by grant"
            }
            PropertyName::EventuallyAcquired => {
                "every client that does not crash gets the lock at least once"
            }
            PropertyName::ReentryNoSelfWait => "a holder's re-acquire never waits for its own lock",
            PropertyName::NoEarlyRelease => {
                "a release never frees a lock its owner still holds at a deeper level"
            }
            PropertyName::NoLeakedHold => {
                "Redis never holds the lock, or a level of it, for a client that does not believe it holds it"
            }
            PropertyName::NoForeignExtension => {
                "a renewal never extends a lease another client holds"
            }
            PropertyName::LossTold => {
                "a holder whose lease was lost learns it at or before its next operation"
            }
            PropertyName::SomeoneRenews => "some holder's watchdog renews its lease",
            PropertyName::SomeoneAcquires => "some client gets the lock",
            PropertyName::SomeoneReenters => "some holder re-enters its lock",
            PropertyName::EveryoneFinishes => "every client finishes all its rounds",
            PropertyName::NoDoubleProcessing => "no unit's effect is applied more than once",
            PropertyName::NoLostUpdate => {
                "no unit is overwritten or dropped before some worker processed it"
            }
            PropertyName::ExactlyOnceSync => {
                "every unit's effect is applied once: none twice, none lost"
            }
            PropertyName::SomeUnitProcessed => "some unit's effect is applied",
            PropertyName::EveryUnitProcessed => "every unit is produced and its effect applied",
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
#[error("unknown property `{0}`; known properties: {known}", known = known_names())]
pub struct UnknownProperty(pub String);

fn known_names() -> String {
    PropertyName::ALL.map(PropertyName::name).join(", ")
}

impl FromStr for PropertyName {
    type Err = UnknownProperty;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PropertyName::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownProperty(s.to_owned()))
    }
}
