//! The protocols locklab knows: a handle on each one's [`Declaration`], and
//! the one list of them.
//!
//! [`Protocol`] compares, hashes and orders by its place in [`Protocol::all`]
//! and serializes as its name. What a protocol can do is asked of its
//! declaration ([`Protocol::caps`], [`Protocol::family`], …).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::declaration::{Capabilities, Declaration, Shape};
use crate::family::Family;
use crate::fault::{Fault, Faults};
use crate::property::PropertyName;
use crate::protocols;

/// Every protocol, in the order tables list them. Adding a protocol adds
/// one line here.
static ALL: &[Protocol] = &[
    Protocol(&protocols::naive::DECLARATION),
    Protocol(&protocols::naive_unchecked::DECLARATION),
    Protocol(&protocols::token::DECLARATION),
    Protocol(&protocols::fenced::DECLARATION),
    Protocol(&protocols::reentrant::DECLARATION),
    Protocol(&protocols::reentrant_redisson::DECLARATION),
    Protocol(&protocols::sync_naive::DECLARATION),
    Protocol(&protocols::sync_cas::DECLARATION),
    Protocol(&protocols::sync_cas_dedup::DECLARATION),
    Protocol(&protocols::sync_stream::DECLARATION),
    Protocol(&protocols::sync_stream_dedup::DECLARATION),
    Protocol(&protocols::redlock::DECLARATION),
    Protocol(&protocols::redlock_fenced::DECLARATION),
    Protocol(&protocols::token_wait::DECLARATION),
    Protocol(&protocols::renew::DECLARATION),
    Protocol(&protocols::renew_unchecked::DECLARATION),
    Protocol(&protocols::renew_reacquire::DECLARATION),
];

/// A protocol: a handle on its declaration.
#[derive(Clone, Copy)]
pub struct Protocol(&'static Declaration);

impl Protocol {
    /// The protocol `declaration` declares: a typed reference for code
    /// that implements one (a lock type's default), checked by the
    /// compiler where a name would be checked at run time.
    pub const fn of(declaration: &'static Declaration) -> Protocol {
        Protocol(declaration)
    }

    /// Every protocol, in table order.
    pub fn all() -> &'static [Protocol] {
        ALL
    }

    /// The protocol of this name.
    pub fn named(name: &str) -> Result<Protocol, UnknownProtocol> {
        ALL.iter()
            .copied()
            .find(|p| p.name() == name)
            .ok_or_else(|| UnknownProtocol {
                given: name.to_owned(),
            })
    }

    /// Its declaration.
    pub fn declaration(self) -> &'static Declaration {
        self.0
    }

    /// The protocol's name on the command line, in JSON and in the docs.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// One line on what the protocol is there to show.
    pub fn lesson(self) -> &'static str {
        self.0.lesson
    }

    /// Whether `property` means anything for this protocol's clients,
    /// acquiring `depth` times under `faults`: as
    /// [`PropertyName::applies`] says for its family, and a renewal
    /// property only for a lock that renews.
    pub fn judges(self, property: PropertyName, depth: u8, faults: Faults) -> bool {
        property.applies(self.family(), depth, faults)
            && (self.caps().renews() || !property.about_renewal())
    }

    /// What its client does.
    pub fn caps(self) -> Capabilities {
        self.0.caps
    }

    /// The model family that checks it.
    pub fn family(self) -> Family {
        self.0.family
    }

    /// The scenario its default matrix rows check.
    pub fn shape(self) -> Shape {
        self.0.shape
    }

    /// The faults its model can take.
    pub fn faults(self) -> &'static [Fault] {
        self.0.faults
    }

    /// Whether it promises `property` under `faults`.
    pub fn claims(self, property: PropertyName, faults: Faults) -> bool {
        self.0.claims(property, faults)
    }

    /// The protocols that fix what this one gets wrong.
    pub fn fixed_by(self) -> Vec<Protocol> {
        self.0.fixed_by.iter().map(|d| Protocol(d)).collect()
    }

    fn index(self) -> usize {
        ALL.iter()
            .position(|p| std::ptr::eq(p.0, self.0))
            .unwrap_or(usize::MAX)
    }
}

impl PartialEq for Protocol {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0) || self.name() == other.name()
    }
}

impl Eq for Protocol {}

impl std::hash::Hash for Protocol {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl PartialOrd for Protocol {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Protocol {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.index().cmp(&other.index())
    }
}

impl fmt::Debug for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Protocol {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Protocol {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Protocol, D::Error> {
        let name = String::deserialize(d)?;
        Protocol::named(&name).map_err(serde::de::Error::custom)
    }
}

/// An unknown protocol name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol `{given}`; known protocols: {}", known_names())]
pub struct UnknownProtocol {
    /// What was given.
    pub given: String,
}

fn known_names() -> String {
    ALL.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
}

impl FromStr for Protocol {
    type Err = UnknownProtocol;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::named(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for p in Protocol::all() {
            assert_eq!(p.name().parse::<Protocol>(), Ok(*p));
            assert_eq!(
                Protocol::all()
                    .iter()
                    .filter(|q| q.name() == p.name())
                    .count(),
                1
            );
        }
    }

    #[test]
    fn every_fix_is_a_listed_protocol() {
        for p in Protocol::all() {
            for fix in p.fixed_by() {
                assert!(fix.index() < Protocol::all().len(), "{p} is fixed by {fix}");
            }
        }
    }

    #[test]
    fn sync_capabilities_exactly_for_the_sync_family() {
        for p in Protocol::all() {
            assert_eq!(p.caps().sync.is_some(), p.family() == Family::Sync, "{p}");
            assert_eq!(p.shape().units > 0, p.family() == Family::Sync, "{p}");
        }
    }

    #[test]
    fn properties_apply_to_their_own_family_only() {
        use crate::property::PropertyName;
        let none = Faults::NONE;
        for p in PropertyName::ALL {
            let lock = p.applies(Family::Lease, 2, none.with(Fault::Retry, 1));
            let sync = p.applies(Family::Sync, 1, none);
            assert!(lock != sync, "{p} applies to exactly one family");
            assert_eq!(sync, p.family() == Family::Sync);
        }
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let err = "redlockk".parse::<Protocol>().unwrap_err();
        assert!(err.to_string().starts_with(
            "unknown protocol `redlockk`; known protocols: naive, naive-unchecked, token, fenced"
        ));
    }

    #[test]
    fn serializes_as_its_name() {
        let p: Protocol = "fenced".parse().unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), r#""fenced""#);
        assert!(serde_json::from_str::<Protocol>(r#""nope""#).is_err());
    }
}
