//! The names of the protocols.
//!
//! The names are fixed by locklab's design (they are the rows of the
//! verdict matrix, the model's modules and the lab's `--protocol` values),
//! so they live in one place.

use std::fmt;
use std::str::FromStr;

use crate::error::LockError;

/// One of the lock protocols this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// `SET key 1 NX PX ttl`, released by `DEL`: [`crate::NaiveLock`].
    Naive,
    /// As `naive`, with the `SET NX` reply ignored: [`crate::NaiveUncheckedLock`].
    NaiveUnchecked,
    /// A random token and compare-and-delete: [`crate::TokenLock`].
    Token,
    /// `token` plus a fencing token: [`crate::FencedLock`].
    Fenced,
}

/// The known names, for messages.
const KNOWN: &str = "naive, naive-unchecked, token, fenced";

impl Protocol {
    /// Every protocol, in the order of the design's table.
    pub const ALL: [Protocol; 4] = [
        Protocol::Naive,
        Protocol::NaiveUnchecked,
        Protocol::Token,
        Protocol::Fenced,
    ];

    /// The protocol's name: `naive`, `naive-unchecked`, `token` or `fenced`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Naive => "naive",
            Protocol::NaiveUnchecked => "naive-unchecked",
            Protocol::Token => "token",
            Protocol::Fenced => "fenced",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Protocol {
    type Err = LockError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| LockError::UnknownProtocol {
                name: name.to_owned(),
                known: KNOWN,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Protocol::ALL {
            assert_eq!(p.name().parse::<Protocol>().unwrap(), p);
            assert!(KNOWN.contains(p.name()));
        }
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let e = "redlock".parse::<Protocol>().unwrap_err();
        let s = e.to_string();
        assert!(s.contains("\"redlock\"") && s.contains(KNOWN), "{s}");
        assert!(!s.contains('\n'));
        assert!(!e.is_retryable());
    }
}
