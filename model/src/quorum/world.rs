//! The quorum family's state: the clients, each master's copy of the lock
//! key (with its own remaining lease), counter and down time, the protected
//! resource, what is left of the fault budget, and the ghosts the
//! properties need.
//!
//! Fixed-size and heap-free, as the lease family's: the checker clones and
//! hashes it millions of times. A set of masters is a byte, one bit per
//! master.

use std::fmt;
use std::hash::{Hash, Hasher};

use locklab_spec::fault::{Fault, KINDS};

use crate::kit::{lock_client, Budget, ResourceGhost, Roster};
use crate::scenario::MAX_QUORUM_NODES;
use crate::world::{ClientId, NodeId, MAX_CLIENTS};

/// The most masters a state holds.
pub const MAX_NODES: usize = MAX_QUORUM_NODES as usize;

/// A set of masters, one bit each (bit `k` is `n{k+1}`).
pub type NodeSet = u8;

/// The bit of one master.
pub fn bit(node: NodeId) -> NodeSet {
    1 << node.0
}

/// Where a client is in its loop of acquire (a request to every master,
/// then a conclusion) → write → release.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pc {
    /// Wants the lock; its next request starts an attempt.
    #[default]
    Idle,
    /// In an attempt: has asked the masters in [`Client::asked`].
    Asking,
    /// Believes it holds the lock and has not written yet.
    Holding,
    /// Has written; releases next.
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
    /// The masters asked in this attempt.
    pub asked: NodeSet,
    /// The masters whose grant it read in this attempt.
    pub got: NodeSet,
    /// Ticks since its attempt's first request (capped where no validity
    /// is left: more makes no difference).
    pub elapsed: u8,
    /// While it holds: ticks of validity left (0 once gone — only a client
    /// that is not working, paused, outlives its validity).
    pub validity: u8,
    /// Its attempt began after the contention was over (see
    /// [`CONTENDED_LOSSES`](super::CONTENDED_LOSSES)): it runs alone, and
    /// fast.
    pub alone: bool,
    /// The fencing token of this attempt: the largest counter a granting
    /// master returned (0 when none, or without fencing).
    pub fence: u8,
    /// The number of its current grant among all grants (a ghost: 0 when
    /// it holds none).
    pub grant: u8,
    /// Paused: takes no step until resumed.
    pub paused: bool,
}

lock_client!(World, Client, Pc);

impl Client {
    /// The client believes it holds the lock, paused or not.
    pub fn believes_it_holds(&self) -> bool {
        matches!(self.pc, Pc::Holding | Pc::Wrote)
    }

    /// The client believes it holds and runs: the timing assumption keeps
    /// time from ending its validity.
    pub fn is_working(&self) -> bool {
        self.believes_it_holds() && !self.paused
    }

    pub(crate) fn packed(&self) -> u64 {
        u64::from(self.pc as u8)
            | u64::from(self.rounds_left) << 3
            | u64::from(self.asked) << 6
            | u64::from(self.got) << 13
            | u64::from(self.elapsed) << 20
            | u64::from(self.validity) << 24
            | u64::from(self.alone) << 28
            | u64::from(self.fence) << 32
            | u64::from(self.grant) << 40
            | u64::from(self.paused) << 48
    }
}

/// One master's copy of the lock key. The owner is the ghost of the
/// client whose token it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// Whose token it holds.
    pub owner: ClientId,
    /// Ticks left before this master expires it (at least 1), by its own
    /// clock.
    pub ttl: u8,
}

/// One master.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node {
    /// Its copy of the lock key.
    pub key: Option<Key>,
    /// Its fencing counter: the grants it made since it last lost its data
    /// (0 without fencing).
    pub counter: u8,
    /// Down (crashed, not rejoined): `Some(ticks)` before it may rejoin.
    pub down: Option<u8>,
}

impl Node {
    /// The master answers requests.
    pub fn is_up(&self) -> bool {
        self.down.is_none()
    }

    pub(crate) fn packed(&self, owner: impl Fn(ClientId) -> u8) -> u32 {
        let key = self.key.map_or(0, |k| {
            1 | u32::from(owner(k.owner)) << 1 | u32::from(k.ttl) << 4
        });
        let down = self.down.map_or(0, |d| 1 | u32::from(d) << 1);
        key | u32::from(self.counter) << 8 | down << 16
    }
}

/// The whole system's state.
#[derive(Clone, PartialEq, Eq)]
pub struct World {
    /// The clients.
    pub roster: Roster<Client>,
    /// The masters; only the first `m` are in use.
    pub nodes: [Node; MAX_NODES],
    /// How many masters are in use.
    pub m: u8,
    /// Attempts lost so far, up to [`CONTENDED_LOSSES`](super::CONTENDED_LOSSES).
    pub lost: u8,
    /// The protected resource, and the ghost of grant order.
    pub resource: ResourceGhost,
    /// What is left of the fault budget.
    pub budget: Budget,
}

impl World {
    /// The masters in use.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes[..usize::from(self.m)]
    }

    /// One master.
    pub fn node(&self, k: NodeId) -> &Node {
        &self.nodes[k.index()]
    }

    /// One master, to change.
    pub fn node_mut(&mut self, k: NodeId) -> &mut Node {
        &mut self.nodes[k.index()]
    }

    /// The ids of the masters in use.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + use<> {
        (0..self.m).map(NodeId)
    }

    /// Every master in use, as a set.
    pub fn all_nodes(&self) -> NodeSet {
        ((1u16 << self.m) - 1) as NodeSet
    }

    /// The masters holding `c`'s token.
    pub fn keys_of(&self, c: ClientId) -> NodeSet {
        self.node_ids()
            .filter(|k| self.node(*k).key.is_some_and(|key| key.owner == c))
            .fold(0, |set, k| set | bit(k))
    }
}

impl fmt::Debug for World {
    /// Only the clients and masters in use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("World")
            .field("clients", &self.roster)
            .field("nodes", &self.nodes())
            .field("lost", &self.lost)
            .field("resource", &self.resource)
            .field("faults_left", &self.budget.to_string())
            .finish()
    }
}

impl Hash for World {
    /// Hashes a packed form in one write: eight bytes per client and four
    /// per master in use, and one word for the rest.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut buf = [0u8; 8 * MAX_CLIENTS + 4 * MAX_NODES + 8];
        let mut len = 0;
        for c in self.roster.clients() {
            buf[len..len + 8].copy_from_slice(&c.packed().to_le_bytes());
            len += 8;
        }
        for node in self.nodes() {
            buf[len..len + 4].copy_from_slice(&node.packed(|c| c.0).to_le_bytes());
            len += 4;
        }
        let mut budgets = 0u64;
        for (i, fault) in Fault::ALL.iter().enumerate().take(KINDS) {
            budgets |= u64::from(self.budget.left(*fault) & 0b11) << (2 * i);
        }
        let misc = u64::from(self.roster.len())
            | u64::from(self.m) << 4
            | u64::from(self.resource.grants) << 8
            | u64::from(self.resource.highest) << 16
            | u64::from(self.resource.highest_grant) << 24
            | u64::from(self.resource.stale_accepted) << 32
            | u64::from(self.lost) << 33
            | budgets << 40;
        buf[len..len + 8].copy_from_slice(&misc.to_le_bytes());
        state.write(&buf[..len + 8]);
    }
}
