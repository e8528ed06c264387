//! The lock protocols locklab models, and the names every part of the lab
//! uses for them.
//!
//! A protocol differs from the others only in its [`Rules`]: whether the
//! client reads the `SET NX` reply, how it releases, and whether a fencing
//! token comes with the grant. Each protocol's module states its rules and
//! the source it follows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::protocols::{fenced, naive, naive_unchecked, token};

/// A lock protocol, named as in DESIGN.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// `SET key 1 NX PX ttl`, released by `DEL key`: the article's lock.
    Naive,
    /// As `naive`, but the reply of `SET NX` is never read.
    NaiveUnchecked,
    /// `SET key <token> NX PX ttl`, released by a compare-and-delete script.
    Token,
    /// `token`, plus a fencing token issued with the grant and checked by the
    /// protected resource.
    Fenced,
}

impl Protocol {
    /// Every protocol, in the order tables list them.
    pub const ALL: [Protocol; 4] = [
        Protocol::Naive,
        Protocol::NaiveUnchecked,
        Protocol::Token,
        Protocol::Fenced,
    ];

    /// The protocol's name on the command line, in JSON and in the docs.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Naive => "naive",
            Protocol::NaiveUnchecked => "naive-unchecked",
            Protocol::Token => "token",
            Protocol::Fenced => "fenced",
        }
    }

    /// How the protocol acquires, releases and fences.
    pub fn rules(self) -> Rules {
        match self {
            Protocol::Naive => naive::RULES,
            Protocol::NaiveUnchecked => naive_unchecked::RULES,
            Protocol::Token => token::RULES,
            Protocol::Fenced => fenced::RULES,
        }
    }

    /// One line on what the protocol is there to show.
    pub fn lesson(self) -> &'static str {
        match self {
            Protocol::Naive => naive::LESSON,
            Protocol::NaiveUnchecked => naive_unchecked::LESSON,
            Protocol::Token => token::LESSON,
            Protocol::Fenced => fenced::LESSON,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
    Protocol::ALL.map(Protocol::name).join(", ")
}

impl FromStr for Protocol {
    type Err = UnknownProtocol;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownProtocol {
                given: s.to_owned(),
            })
    }
}

/// How a release removes the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// `DEL key`: removes whatever lock is there, whoever holds it.
    Del,
    /// A Lua script that deletes the key only when it still holds the
    /// caller's token.
    CompareAndDelete,
}

/// What distinguishes one protocol from another, as data: the model's
/// transitions read these and nothing else protocol-specific.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// The client reads the `SET NX` reply and waits when it says nil. When
    /// false, every acquire "succeeds" in the client's mind.
    pub checks_reply: bool,
    /// The value stored is a random token unique to the grant (otherwise `1`).
    pub unique_token: bool,
    /// How the lock is released.
    pub release: Release,
    /// A fencing token, strictly increasing, is issued atomically with each
    /// grant, and the protected resource refuses writes carrying a lower one.
    pub fencing: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Protocol::ALL {
            assert_eq!(p.name().parse::<Protocol>(), Ok(p));
        }
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let err = "redlockk".parse::<Protocol>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown protocol `redlockk`; known protocols: naive, naive-unchecked, token, fenced"
        );
    }
}
