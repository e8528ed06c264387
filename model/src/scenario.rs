//! A scenario: one protocol, a number of clients each doing a number of
//! rounds (acquiring `depth` times, writing, releasing as many times), a
//! lease length in ticks, and a fault budget. Written once, run three ways
//! (model, replay, chaos).

use serde::{Deserialize, Serialize};

use crate::world::MAX_CLIENTS;
use locklab_spec::family::Family;
use locklab_spec::fault::{Fault, Faults};
use locklab_spec::persistence::Persistence;
use locklab_spec::property::PropertyName;
use locklab_spec::protocol::Protocol;

/// The most rounds per client a scenario may ask for.
pub const MAX_ROUNDS: u8 = 4;
/// The longest lease, in ticks, a scenario may ask for.
pub const MAX_TTL: u8 = 8;
/// The deepest re-entry a scenario may ask for.
pub const MAX_DEPTH: u8 = 4;
/// The most units of work a sync scenario may ask for (the model holds
/// each unit's state; every unit multiplies the state space).
pub const MAX_UNITS: u8 = 4;
/// The most masters a quorum scenario may have: each one multiplies the
/// state space (and the checker keeps a node set in a byte).
pub const MAX_QUORUM_NODES: u8 = 7;
/// The most replicas of the primary a scenario may ask for (the lab's
/// Sentinel set runs one or two).
pub const MAX_REPLICAS: u8 = 2;

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
    /// Units of work the producer writes (a sync scenario; 0 for a lock).
    #[serde(default)]
    pub units: u8,
    /// The drift allowance of a quorum grant, in ticks: a client that took
    /// `elapsed` ticks to hear from every master holds for `ttl − elapsed −
    /// drift` (0: the model's clocks run at one rate; a clock jump is the
    /// fault that breaks that).
    #[serde(default)]
    pub drift: u8,
    /// `min-replicas-to-write` on the primary (0: off): it refuses writes
    /// while fewer replicas than this are connected and acknowledging.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub min_replicas_to_write: u8,
    /// A renewing lock's renewal period, in ticks (0: a third of the
    /// lease, at least one tick; see [`Scenario::period`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub renew_every: u8,
    /// What the primary keeps on disk, so what a `restart` gives back.
    #[serde(default, skip_serializing_if = "Persistence::is_none")]
    pub persistence: Persistence,
}

fn one() -> u8 {
    1
}

fn is_zero(n: &u8) -> bool {
    *n == 0
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
    /// No unit of work, or more than the model can hold.
    #[error("--units {0}: give 1 to {MAX_UNITS} units of work (use `locklab bench` for more)")]
    Units(u64),
    /// A node count the protocol's family cannot run on.
    #[error("--nodes {given}: {why}")]
    Nodes {
        /// What was given.
        given: u64,
        /// Why not, and what is accepted.
        why: String,
    },
    /// A drift factor outside [0, 1).
    #[error(
        "--drift {0}: give a factor from 0 up to, not including, 1 (Redlock's default is 0.01)"
    )]
    Drift(String),
    /// More replicas than the model holds, or a failover or a partition
    /// with none to promote.
    #[error("--replicas {0}: give 0 to {MAX_REPLICAS} (a failover or a partition needs at least 1: a single server has no Sentinel to partition it from)")]
    Replicas(u64),
    /// `min-replicas-to-write` above the replicas there are.
    #[error("--min-replicas-to-write {given}: give 0 to the number of replicas ({replicas}); a primary with fewer replicas than it asks for refuses every write")]
    MinReplicas {
        /// What was given.
        given: u64,
        /// The replicas of the scenario.
        replicas: u8,
    },
    /// A renewal period of zero, or not below the lease.
    #[error("--renew-every {given}: give a renewal period of 1 tick up to, not including, the lease ({ttl} ticks)")]
    RenewEvery {
        /// What was given.
        given: u64,
        /// The lease.
        ttl: u8,
    },
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
    /// The scenario of a protocol's default matrix rows, under `faults`;
    /// under `failover` or `partition`, with at least one replica to
    /// promote.
    pub fn new(protocol: Protocol, faults: Faults) -> Scenario {
        let shape = protocol.shape();
        let replicas = if needs_a_replica(faults) {
            shape.replicas.max(1)
        } else {
            shape.replicas
        };
        Scenario {
            protocol,
            faults,
            clients: shape.clients,
            rounds: shape.rounds,
            ttl: shape.ttl,
            depth: shape.depth,
            nodes: shape.nodes,
            replicas,
            units: shape.units,
            drift: 0,
            min_replicas_to_write: 0,
            renew_every: 0,
            persistence: Persistence::None,
        }
    }

    /// The same scenario with the primary persisting as `persistence` says.
    pub fn persisting(self, persistence: Persistence) -> Scenario {
        Scenario {
            persistence,
            ..self
        }
    }

    /// A renewing lock's renewal period, in ticks: as set, or a third of
    /// the lease (at least one tick).
    pub fn period(&self) -> u8 {
        match self.renew_every {
            0 => (self.ttl / 3).max(1),
            n => n,
        }
    }

    /// Checks and sets the renewal period: at least a tick, and shorter
    /// than the lease (a renewal due only once the lease has run out
    /// renews nothing). Call after the lease is set.
    pub fn renewing_every(self, ticks: u64) -> Result<Scenario, ScenarioError> {
        let max = self.ttl.saturating_sub(1);
        let bad = ScenarioError::RenewEvery {
            given: ticks,
            ttl: self.ttl,
        };
        Ok(Scenario {
            renew_every: within(ticks, 1, max).ok_or(bad)?,
            ..self
        })
    }

    /// Checks and sets the number of masters: one for a single-instance
    /// lock; for a quorum lock 3 to [`MAX_QUORUM_NODES`] (with 2 a majority
    /// is both masters, so no master may fail, and 1 is a single instance).
    pub fn with_nodes(self, nodes: u64) -> Result<Scenario, ScenarioError> {
        let bad = |why: String| ScenarioError::Nodes { given: nodes, why };
        match self.protocol.family() {
            Family::Lease | Family::Sync if nodes == 1 => Ok(self),
            Family::Lease | Family::Sync => Err(bad(format!(
                "{} runs on one Redis; --nodes is for the quorum locks",
                self.protocol
            ))),
            Family::Quorum => match within(nodes, 3, MAX_QUORUM_NODES) {
                Some(n) => Ok(Scenario { nodes: n, ..self }),
                None if nodes == 2 => Err(bad(
                    "a majority of 2 masters is both of them, so no master may fail; give 3 or more".into(),
                )),
                None => Err(bad(format!(
                    "give 3 to {MAX_QUORUM_NODES} masters (each one multiplies the state space)"
                ))),
            },
        }
    }

    /// Sets the drift allowance from a Redlock drift factor: `factor × ttl`
    /// ticks, rounded down (the default 0.01 of a 3-tick lease is 0 ticks).
    /// Call after the lease is set.
    pub fn with_drift(self, factor: f64) -> Result<Scenario, ScenarioError> {
        if !(0.0..1.0).contains(&factor) {
            return Err(ScenarioError::Drift(factor.to_string()));
        }
        let drift = (factor * f64::from(self.ttl)).floor() as u8;
        Ok(Scenario {
            drift: drift.min(self.ttl.saturating_sub(1)),
            ..self
        })
    }

    /// Checks and sets the number of replicas (a failover or a partition
    /// needs one).
    pub fn replicated(self, replicas: u64) -> Result<Scenario, ScenarioError> {
        let n = within(
            replicas,
            u8::from(needs_a_replica(self.faults)),
            MAX_REPLICAS,
        )
        .ok_or(ScenarioError::Replicas(replicas))?;
        Ok(Scenario {
            replicas: n,
            min_replicas_to_write: self.min_replicas_to_write.min(n),
            ..self
        })
    }

    /// The majority of the masters.
    pub fn majority(&self) -> u8 {
        self.nodes() / 2 + 1
    }

    /// Checks and sets `min-replicas-to-write` (at most the replicas).
    pub fn min_replicas(self, n: u64) -> Result<Scenario, ScenarioError> {
        let bad = ScenarioError::MinReplicas {
            given: n,
            replicas: self.replicas,
        };
        Ok(Scenario {
            min_replicas_to_write: within(n, 0, self.replicas).ok_or(bad)?,
            ..self
        })
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

    /// Checks and sets the unit budget of a sync scenario (a lock scenario
    /// has no units, and keeps none).
    pub fn with_units(self, units: u64) -> Result<Scenario, ScenarioError> {
        let units = within(units, 1, MAX_UNITS).ok_or(ScenarioError::Units(units))?;
        Ok(if self.units > 0 {
            Scenario { units, ..self }
        } else {
            self
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

/// A failover promotes a replica, and a partition cuts the primary off
/// from the Sentinels that may promote one: neither means anything on a
/// single server.
fn needs_a_replica(faults: Faults) -> bool {
    faults.budget(Fault::Failover) > 0 || faults.budget(Fault::Partition) > 0
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
        let sync = Scenario::new("sync-cas".parse().unwrap(), Faults::NONE);
        assert_eq!(sync.units, 2);
        assert_eq!(sync.with_units(0), Err(ScenarioError::Units(0)));
        assert_eq!(sync.with_units(1000), Err(ScenarioError::Units(1000)));
        assert_eq!(sync.with_units(3).map(|s| s.units), Ok(3));
        assert_eq!(
            s.with_units(3).map(|s| s.units),
            Ok(0),
            "a lock has no units"
        );
        assert_eq!(s.replicated(3), Err(ScenarioError::Replicas(3)));
        assert_eq!(s.replicated(2).unwrap().replicas, 2);
        assert!(matches!(
            s.min_replicas(1),
            Err(ScenarioError::MinReplicas { .. })
        ));
        assert_eq!(
            s.replicated(1)
                .unwrap()
                .min_replicas(1)
                .unwrap()
                .min_replicas_to_write,
            1
        );
    }

    #[test]
    fn node_counts_and_drift_are_checked() {
        let redlock = Scenario::new("redlock".parse().unwrap(), Faults::NONE);
        assert_eq!(redlock.nodes, 3);
        assert_eq!(redlock.with_nodes(5).unwrap().majority(), 3);
        for bad in [0, 1, 2, 8, 1000] {
            let e = redlock.with_nodes(bad).unwrap_err();
            assert!(
                e.to_string().starts_with(&format!("--nodes {bad}: ")),
                "{e}"
            );
        }
        assert!(redlock
            .with_nodes(2)
            .unwrap_err()
            .to_string()
            .contains("no master may fail"));
        let naive = Scenario::new("naive".parse().unwrap(), Faults::NONE);
        assert!(naive.with_nodes(1).is_ok());
        assert!(naive.with_nodes(3).is_err());
        assert_eq!(redlock.with_drift(0.01).unwrap().drift, 0);
        assert_eq!(redlock.with_drift(0.34).unwrap().drift, 1);
        for bad in [-0.1, 1.0, 2.0, f64::NAN] {
            assert!(
                matches!(redlock.with_drift(bad), Err(ScenarioError::Drift(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_renewal_period_is_below_the_lease_and_not_zero() {
        let s = Scenario::new("renew".parse().unwrap(), Faults::NONE);
        assert_eq!(s.period(), 1, "a third of a 3-tick lease");
        assert_eq!(s.sized(3, 1, 6).unwrap().period(), 2);
        assert_eq!(s.renewing_every(2).unwrap().period(), 2);
        for bad in [0, 3, 4, 300] {
            let e = s.renewing_every(bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("--renew-every {bad}: give a renewal period of 1 tick up to, not including, the lease (3 ticks)")
            );
        }
    }

    #[test]
    fn a_failover_gets_a_replica_to_promote() {
        let token: Protocol = "token".parse().unwrap();
        let s = Scenario::new(token, Faults::one(Fault::Failover));
        assert_eq!(s.replicas, 1);
        assert_eq!(s.replicated(0), Err(ScenarioError::Replicas(0)));
        assert_eq!(Scenario::new(token, Faults::NONE).replicas, 0);
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
