//! The lease family's state: the clients, the lock key in Redis, the fencing
//! counter, the protected resource, what is left of the fault budget, and
//! the ghost facts the properties need.
//!
//! Time lives here as the lease's remaining ticks, so the state space stays
//! finite. The state is kept small and fixed-size (no heap): the checker
//! clones and hashes it millions of times a second.

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::world::{ClientId, MAX_CLIENTS};
use locklab_spec::fault::{Fault, Faults, KINDS};

/// Where a client is in its loop of acquire (`depth` times) → write →
/// release (as many times).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pc {
    /// Wants the lock (or is done waiting for it).
    #[default]
    Idle,
    /// Redis granted the lock, but the reply is still in flight.
    Awaiting,
    /// Believes it holds the lock at [`Client::depth`] levels and has not
    /// written yet: its next step is the write, or one more acquire.
    Holding,
    /// Has written; releases, one level at a time.
    Wrote,
    /// Has finished all its rounds.
    Done,
    /// Stopped for good.
    Crashed,
}

/// One client's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Client {
    /// Where it is in its loop.
    pub pc: Pc,
    /// Rounds still to do.
    pub rounds_left: u8,
    /// The levels of the lock it believes it holds.
    pub depth: u8,
    /// Blocked in an acquire that found the lock busy (with its own lock,
    /// for a lock that cannot tell its owner): it is not working, so its
    /// lease may run out.
    pub waiting: bool,
    /// The fencing token of its current grant (0 when none).
    pub fence: u8,
    /// The number of its current grant among all grants (a ghost: 0 when it
    /// believes without a grant, or holds none).
    pub grant: u8,
    /// Paused: takes no step until resumed.
    pub paused: bool,
}

impl Client {
    /// The client believes it holds the lock, paused or not.
    pub fn believes_it_holds(&self) -> bool {
        matches!(self.pc, Pc::Holding | Pc::Wrote)
    }

    fn packed(&self) -> u32 {
        u32::from(self.pc as u8)
            | u32::from(self.rounds_left) << 4
            | u32::from(self.depth) << 8
            | u32::from(self.waiting) << 11
            | u32::from(self.fence) << 12
            | u32::from(self.grant) << 20
            | u32::from(self.paused) << 28
    }
}

/// The lock key as Redis holds it. The owner is ghost information for the
/// properties (for `naive` the value in Redis is just `1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lease {
    /// Which client's grant created the key.
    pub owner: ClientId,
    /// Ticks left before Redis expires the key (at least 1).
    pub ttl: u8,
    /// The fencing token issued with the grant (0 when the protocol has none).
    pub fence: u8,
    /// The grant's number among all grants (a ghost).
    pub grant: u8,
    /// The hold count (1 for a lock that is not re-entrant).
    pub count: u8,
}

/// A release that removed a lock another client held: the ghost fact behind
/// `no-foreign-release`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ForeignRelease {
    /// The client whose release removed the key.
    pub releaser: ClientId,
    /// The client whose lock it removed.
    pub victim: ClientId,
}

/// The whole system's state.
#[derive(Clone, PartialEq, Eq)]
pub struct World {
    /// The clients; only the first `n` are in use.
    pub clients: [Client; MAX_CLIENTS],
    /// How many clients are in use.
    pub n: u8,
    /// The lock key, when present.
    pub lease: Option<Lease>,
    /// The fencing counter in Redis: the last token issued.
    pub fence_counter: u8,
    /// Grants so far (a ghost: Redis forgets its counter, this does not).
    pub grants: u8,
    /// The highest fencing token the protected resource has accepted.
    pub resource_max: u8,
    /// The highest grant number among the writes the resource accepted (a
    /// ghost: what `fenced-resource` is judged by).
    pub resource_grant: u8,
    /// What is left of the fault budget.
    pub left: Faults,
    /// The first foreign release, if one happened.
    pub foreign_release: Option<ForeignRelease>,
    /// The resource accepted a write with a token lower than one it had
    /// accepted before.
    pub stale_accepted: bool,
    /// A holder's re-acquire was refused by its own lock (a ghost).
    pub self_wait: bool,
    /// A release removed the key while its owner still believed it held a
    /// level of it (a ghost).
    pub early_release: bool,
}

impl World {
    /// The clients in use.
    pub fn clients(&self) -> &[Client] {
        &self.clients[..usize::from(self.n)]
    }

    /// One client's state.
    pub fn client(&self, c: ClientId) -> &Client {
        &self.clients[c.index()]
    }

    /// One client's state, to change.
    pub fn client_mut(&mut self, c: ClientId) -> &mut Client {
        &mut self.clients[c.index()]
    }

    /// The ids of the clients in use.
    pub fn ids(&self) -> impl Iterator<Item = ClientId> + use<> {
        (0..self.n).map(ClientId)
    }

    /// The clients that believe they hold the lock right now.
    pub fn believers(&self) -> Vec<ClientId> {
        self.ids()
            .filter(|c| self.client(*c).believes_it_holds())
            .collect()
    }

    /// How many clients believe they hold the lock right now.
    pub fn believer_count(&self) -> usize {
        self.clients()
            .iter()
            .filter(|c| c.believes_it_holds())
            .count()
    }

    /// True when the lease's owner is running its critical section, not
    /// paused and not blocked: the model's timing assumption is that such a
    /// holder finishes before its lease runs out, so time may not expire
    /// that lease.
    pub fn owner_is_working(&self) -> bool {
        self.lease.is_some_and(|l| {
            let owner = self.client(l.owner);
            owner.believes_it_holds() && !owner.paused && !owner.waiting
        })
    }

    /// Faults of this kind still allowed.
    pub fn left(&self, fault: Fault) -> u8 {
        self.left.budget(fault)
    }

    /// Uses one fault of this kind.
    pub fn spend(&mut self, fault: Fault) {
        self.left = self.left.with(fault, self.left(fault) - 1);
    }

    /// Redis holds more levels for the lease's owner than it believes it
    /// holds (a client whose reply is in flight, or that crashed, believes
    /// nothing yet or any more, and does not count).
    pub fn leaked_hold(&self) -> bool {
        self.lease.is_some_and(|l| {
            let owner = self.client(l.owner);
            !matches!(owner.pc, Pc::Awaiting | Pc::Crashed) && l.count > owner.depth
        })
    }
}

impl fmt::Debug for World {
    /// Only the clients in use, and the ghosts by name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("World")
            .field("clients", &self.clients())
            .field("lease", &self.lease)
            .field("fence_counter", &self.fence_counter)
            .field("grants", &self.grants)
            .field("resource_max", &self.resource_max)
            .field("resource_grant", &self.resource_grant)
            .field("faults_left", &self.left.to_string())
            .field("foreign_release", &self.foreign_release)
            .field("stale_accepted", &self.stale_accepted)
            .field("self_wait", &self.self_wait)
            .field("early_release", &self.early_release)
            .finish()
    }
}

impl Hash for World {
    /// Hashes a packed form, in one write: four bytes per client in use and
    /// a few words for the rest, instead of dozens of small writes.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut buf = [0u8; 4 * MAX_CLIENTS + 18];
        let mut len = 0;
        for c in self.clients() {
            buf[len..len + 4].copy_from_slice(&c.packed().to_le_bytes());
            len += 4;
        }
        let lease = self.lease.map_or(0u64, |l| {
            1 | u64::from(l.owner.0) << 8
                | u64::from(l.ttl) << 16
                | u64::from(l.fence) << 24
                | u64::from(l.grant) << 32
                | u64::from(l.count) << 40
        });
        let foreign = self.foreign_release.map_or(0u16, |f| {
            1 | u16::from(f.releaser.0) << 4 | u16::from(f.victim.0) << 10
        });
        let mut budgets = 0u64;
        for (i, fault) in locklab_spec::fault::Fault::ALL
            .iter()
            .enumerate()
            .take(KINDS)
        {
            budgets |= u64::from(self.left(*fault) & 0b111) << (3 * i);
        }
        let misc = u64::from(self.n)
            | u64::from(self.fence_counter) << 4
            | u64::from(self.grants) << 12
            | u64::from(self.resource_max) << 20
            | u64::from(self.resource_grant) << 28
            | u64::from(self.stale_accepted) << 36
            | u64::from(self.self_wait) << 37
            | u64::from(self.early_release) << 38
            | budgets << 40;
        buf[len..len + 8].copy_from_slice(&lease.to_le_bytes());
        buf[len + 8..len + 10].copy_from_slice(&foreign.to_le_bytes());
        buf[len + 10..len + 18].copy_from_slice(&misc.to_le_bytes());
        state.write(&buf[..len + 18]);
    }
}
