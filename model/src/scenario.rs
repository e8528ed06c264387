//! A scenario: one protocol, a number of clients each doing a number of
//! rounds, a lease length in ticks, and a fault budget. Written once, run
//! three ways (model, replay, chaos).

use serde::{Deserialize, Serialize};

use crate::fault::Faults;
use crate::protocol::Protocol;
use crate::world::MAX_CLIENTS;

/// The most rounds per client a scenario may ask for.
pub const MAX_ROUNDS: u8 = 4;
/// The longest lease, in ticks, a scenario may ask for.
pub const MAX_TTL: u8 = 8;

/// One scenario for the model checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scenario {
    /// The lock protocol.
    pub protocol: Protocol,
    /// The fault budget.
    #[serde(with = "faults_as_names")]
    pub faults: Faults,
    /// Contending clients.
    pub clients: u8,
    /// Rounds of acquire → write → release per client.
    pub rounds: u8,
    /// The lease, in ticks.
    pub ttl: u8,
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
}

impl Scenario {
    /// The scenario the default matrix uses for a protocol and fault budget:
    /// three clients (the article's bug needs three), one round each, a
    /// lease of three ticks.
    pub fn new(protocol: Protocol, faults: Faults) -> Scenario {
        Scenario {
            protocol,
            faults,
            clients: 3,
            rounds: 1,
            ttl: 3,
        }
    }

    /// Checks the sizes, taking them as the user gave them (wide integers,
    /// so that `--clients 300` is refused rather than wrapped).
    pub fn sized(self, clients: u64, rounds: u64, ttl: u64) -> Result<Scenario, ScenarioError> {
        let clients = u8::try_from(clients)
            .ok()
            .filter(|c| (1..=MAX_CLIENTS as u8).contains(c))
            .ok_or(ScenarioError::Clients(clients))?;
        let rounds = u8::try_from(rounds)
            .ok()
            .filter(|r| (1..=MAX_ROUNDS).contains(r))
            .ok_or(ScenarioError::Rounds(rounds))?;
        let ttl = u8::try_from(ttl)
            .ok()
            .filter(|t| (1..=MAX_TTL).contains(t))
            .ok_or(ScenarioError::Ttl(ttl))?;
        Ok(Scenario {
            clients,
            rounds,
            ttl,
            ..self
        })
    }
}

/// Faults serialize as an array of fault names, one entry per fault the
/// budget allows: `[]`, `["pause"]`, `["pause", "pause", "crash"]`.
mod faults_as_names {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::fault::{Fault, Faults};

    pub fn serialize<S: Serializer>(faults: &Faults, s: S) -> Result<S::Ok, S::Error> {
        let mut names = Vec::new();
        for kind in faults.kinds() {
            for _ in 0..faults.budget(kind) {
                names.push(kind);
            }
        }
        names.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Faults, D::Error> {
        let names = Vec::<Fault>::deserialize(d)?;
        let mut faults = Faults::NONE;
        for kind in names {
            faults = faults.with(kind, faults.budget(kind).saturating_add(1));
        }
        Ok(faults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_zero_and_absurd_sizes() {
        let s = Scenario::new(Protocol::Naive, Faults::NONE);
        assert_eq!(s.sized(0, 1, 3), Err(ScenarioError::Clients(0)));
        assert_eq!(s.sized(50, 1, 3), Err(ScenarioError::Clients(50)));
        assert_eq!(s.sized(300, 1, 3), Err(ScenarioError::Clients(300)));
        assert_eq!(s.sized(3, 0, 3), Err(ScenarioError::Rounds(0)));
        assert_eq!(s.sized(3, 1, 0), Err(ScenarioError::Ttl(0)));
        assert_eq!(s.sized(3, 1, 1000), Err(ScenarioError::Ttl(1000)));
        assert!(s.sized(8, 4, 8).is_ok());
    }
}
