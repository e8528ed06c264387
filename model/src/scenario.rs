//! A scenario: one protocol, a number of clients each doing a number of
//! rounds (acquiring `depth` times, writing, releasing as many times), a
//! lease length in ticks, and a fault budget. Written once, run three ways
//! (model, replay, chaos).

use serde::{Deserialize, Serialize};

use crate::world::MAX_CLIENTS;
use locklab_spec::fault::Faults;
use locklab_spec::property::PropertyName;
use locklab_spec::protocol::Protocol;

/// The most rounds per client a scenario may ask for.
pub const MAX_ROUNDS: u8 = 4;
/// The longest lease, in ticks, a scenario may ask for.
pub const MAX_TTL: u8 = 8;
/// The deepest re-entry a scenario may ask for.
pub const MAX_DEPTH: u8 = 4;

/// One scenario for the model checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scenario {
    /// The protocol.
    pub protocol: Protocol,
    /// The fault budget.
    pub faults: Faults,
    /// Contending clients.
    pub clients: u8,
    /// Rounds per client.
    pub rounds: u8,
    /// The lease, in ticks.
    pub ttl: u8,
    /// Acquires before the write, and releases after it (1: no re-entry).
    #[serde(default = "one")]
    pub depth: u8,
    /// Independent Redis masters (1: a single instance).
    #[serde(default = "one")]
    pub nodes: u8,
    /// Replicas of the one primary (0: none).
    #[serde(default)]
    pub replicas: u8,
}

fn one() -> u8 {
    1
}

/// A scenario the checker will not run, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// Too few or too many clients.
    #[error("--clients {0}: give 1 to {MAX_CLIENTS}; exhaustive checking grows exponentially in clients (use `locklab chaos` for more)")]
    Clients(u64),
    /// Too few or too many rounds.
    #[error("--rounds {0}: give 1 to {MAX_ROUNDS}")]
    Rounds(u64),
    /// A lease of zero ticks, or absurdly long.
    #[error("--ttl {0}: give a lease of 1 to {MAX_TTL} ticks")]
    Ttl(u64),
    /// No acquire at all, or absurdly deep re-entry.
    #[error("--depth {0}: give 1 (no re-entry) to {MAX_DEPTH} acquires before the write")]
    Depth(u64),
    /// A fault the protocol's model cannot take.
    #[error("{protocol} cannot be checked under {fault}: its model takes {known}")]
    Fault {
        /// The protocol.
        protocol: Protocol,
        /// The fault.
        fault: &'static str,
        /// The faults it takes.
        known: String,
    },
}

impl Scenario {
    /// The scenario of a protocol's default matrix rows, under `faults`.
    pub fn new(protocol: Protocol, faults: Faults) -> Scenario {
        let shape = protocol.shape();
        Scenario {
            protocol,
            faults,
            clients: shape.clients,
            rounds: shape.rounds,
            ttl: shape.ttl,
            depth: shape.depth,
            nodes: shape.nodes,
            replicas: shape.replicas,
        }
    }

    /// The Redis nodes the lock runs on.
    pub fn nodes(&self) -> u8 {
        self.nodes.max(1)
    }

    /// The same scenario with another protocol: "the same schedule, played
    /// with the fix".
    pub fn on(self, protocol: Protocol) -> Scenario {
        Scenario { protocol, ..self }
    }

    /// Checks the sizes, taking them as the user gave them (wide integers,
    /// so that `--clients 300` is refused rather than wrapped).
    pub fn sized(self, clients: u64, rounds: u64, ttl: u64) -> Result<Scenario, ScenarioError> {
        Ok(Scenario {
            clients: within(clients, 1, MAX_CLIENTS as u8)
                .ok_or(ScenarioError::Clients(clients))?,
            rounds: within(rounds, 1, MAX_ROUNDS).ok_or(ScenarioError::Rounds(rounds))?,
            ttl: within(ttl, 1, MAX_TTL).ok_or(ScenarioError::Ttl(ttl))?,
            ..self
        })
    }

    /// Checks and sets the re-entry depth.
    pub fn deep(self, depth: u64) -> Result<Scenario, ScenarioError> {
        Ok(Scenario {
            depth: within(depth, 1, MAX_DEPTH).ok_or(ScenarioError::Depth(depth))?,
            ..self
        })
    }

    /// Refuses a fault budget the protocol's model cannot take.
    pub fn check_faults(&self) -> Result<(), ScenarioError> {
        let known = self.protocol.faults();
        match self.faults.kinds().into_iter().find(|f| !known.contains(f)) {
            None => Ok(()),
            Some(fault) => Err(ScenarioError::Fault {
                protocol: self.protocol,
                fault: fault.name(),
                known: known
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Whether the protocol promises `property` in this scenario. A lock
    /// that is not re-entrant promises nothing when used re-entrantly: those
    /// rows are lessons.
    pub fn claims(&self, property: PropertyName) -> bool {
        let as_designed = self.depth == 1 || self.protocol.caps().reentrant();
        as_designed && self.protocol.claims(property, self.faults)
    }
}

fn within(n: u64, lo: u8, hi: u8) -> Option<u8> {
    u8::try_from(n).ok().filter(|n| (lo..=hi).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_zero_and_absurd_sizes() {
        let s = Scenario::new("naive".parse().unwrap(), Faults::NONE);
        assert_eq!(s.sized(0, 1, 3), Err(ScenarioError::Clients(0)));
        assert_eq!(s.sized(50, 1, 3), Err(ScenarioError::Clients(50)));
        assert_eq!(s.sized(300, 1, 3), Err(ScenarioError::Clients(300)));
        assert_eq!(s.sized(3, 0, 3), Err(ScenarioError::Rounds(0)));
        assert_eq!(s.sized(3, 1, 0), Err(ScenarioError::Ttl(0)));
        assert_eq!(s.sized(3, 1, 1000), Err(ScenarioError::Ttl(1000)));
        assert_eq!(s.deep(0), Err(ScenarioError::Depth(0)));
        assert_eq!(s.deep(99), Err(ScenarioError::Depth(99)));
        assert!(s.sized(8, 4, 8).is_ok());
        assert!(s.deep(2).is_ok());
    }

    #[test]
    fn a_lock_used_re_entrantly_claims_nothing() {
        let naive = Scenario::new("naive".parse().unwrap(), Faults::NONE);
        assert!(naive.claims(PropertyName::MutualExclusion));
        assert!(!naive.deep(2).unwrap().claims(PropertyName::MutualExclusion));
        let reentrant = Scenario::new("reentrant".parse().unwrap(), Faults::NONE);
        assert_eq!(reentrant.depth, 2);
        assert!(reentrant.claims(PropertyName::NoEarlyRelease));
    }
}
