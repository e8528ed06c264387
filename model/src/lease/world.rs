//! The lease family's state: the clients, the lock key in Redis, the fencing
//! counter, the protected resource, what is left of the fault budget, and
//! the ghost facts the properties need — and, for a primary with replicas,
//! which node is the primary and each replica's copy of the key and the
//! counter.
//!
//! Time lives here as the lease's remaining ticks, so the state space stays
//! finite. The state is kept small and fixed-size (no heap): the checker
//! clones and hashes it millions of times a second.

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::kit::{lock_client, Budget, ResourceGhost, Roster};
use crate::side::Side;
use crate::world::{ClientId, NodeId, MAX_CLIENTS};
use locklab_spec::fault::KINDS;

/// The nodes of a primary and its replicas the state holds: the primary
/// and up to two replicas.
pub const MAX_COPIES: usize = 3;

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
    /// The primary granted the lock, and the client waits for replicas to
    /// acknowledge it (`WAIT`) before it counts it: it does not believe yet.
    Unconfirmed,
    /// As [`Pc::Unconfirmed`], but the connection that sent the grant is
    /// gone (a failover demoted the primary, or it restarted): its `WAIT`
    /// can confirm nothing.
    Orphaned,
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
    /// While [`Pc::Unconfirmed`]: the replicas (a bit per node) that have
    /// caught up since its grant, so would acknowledge it.
    pub acks: u8,
    /// A lock that renews: the watchdog's state, while the client holds.
    pub watchdog: Watchdog,
}

/// A renewing holder's watchdog, and what the holder knows of its lease
/// (all zero for a lock that does not renew, and while not holding).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Watchdog {
    /// Ticks left of the lease by the holder's local clock: set on a grant
    /// or renewal it read, counted down by time; at 0 the holder knows its
    /// lease has run out.
    pub deadline: u8,
    /// Starved (the `stall` fault): renews nothing until woken.
    pub stalled: bool,
    /// A renewal whose reply is held in flight, and what Redis answered.
    pub in_flight: Option<Renewed>,
    /// A ghost: the holder's lease was gone at some moment of this hold
    /// (ran out, forgotten, taken) — even if a renewal re-created it.
    pub lost: bool,
}

/// What one renewal did on Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Renewed {
    /// The key's lease is a whole lease again.
    Extended,
    /// Nothing of the holder's was there: nothing extended.
    NotHeld,
    /// The key was gone, and the renewal created it again.
    Recreated,
}

impl Watchdog {
    fn packed(&self) -> u64 {
        let in_flight = match self.in_flight {
            None => 0u64,
            Some(Renewed::Extended) => 1,
            Some(Renewed::NotHeld) => 2,
            Some(Renewed::Recreated) => 3,
        };
        u64::from(self.deadline & 0b1111)
            | u64::from(self.stalled) << 4
            | in_flight << 5
            | u64::from(self.lost) << 7
    }
}

lock_client!(World, Client, Pc);

impl Client {
    /// The client believes it holds the lock, paused or not.
    pub fn believes_it_holds(&self) -> bool {
        matches!(self.pc, Pc::Holding | Pc::Wrote)
    }

    fn packed(&self) -> u64 {
        u64::from(self.pc as u8)
            | u64::from(self.rounds_left) << 4
            | u64::from(self.depth) << 8
            | u64::from(self.waiting) << 11
            | u64::from(self.fence) << 12
            | u64::from(self.grant) << 20
            | u64::from(self.paused) << 28
            | u64::from(self.acks & 0b111) << 29
            | self.watchdog.packed() << 32
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

/// A replica's copy of what the lock keeps in Redis: what its primary had
/// when it last caught up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeData {
    /// The lock key, as the replica has it.
    pub lease: Option<Lease>,
    /// The fencing counter, as the replica has it.
    pub fence_counter: u8,
}

impl NodeData {
    pub(super) fn packed(&self) -> u64 {
        let lease = self.lease.map_or(0u64, |l| {
            1 | u64::from(l.owner.0) << 4
                | u64::from(l.ttl) << 8
                | u64::from(l.fence) << 12
                | u64::from(l.grant) << 20
                | u64::from(l.count) << 28
        });
        lease | u64::from(self.fence_counter) << 36
    }
}

/// The ghost facts behind the renewal properties.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RenewalGhosts {
    /// A renewal extended a lease another client held
    /// (`no-foreign-extension`).
    pub foreign_extension: bool,
    /// A holder whose lease was lost wrote or released as a holder without
    /// having been told (`loss-told`).
    pub untold: bool,
    /// Some renewal extended a lease (`someone-renews`).
    pub renewed: bool,
}

impl RenewalGhosts {
    fn packed(&self) -> u64 {
        u64::from(self.foreign_extension)
            | u64::from(self.untold) << 1
            | u64::from(self.renewed) << 2
    }
}

/// The whole system's state.
#[derive(Clone, PartialEq, Eq)]
pub struct World {
    /// The clients.
    pub roster: Roster<Client>,
    /// The lock key, when present.
    pub lease: Option<Lease>,
    /// The fencing counter in Redis: the last token issued.
    pub fence_counter: u8,
    /// The protected resource, and the ghost of grant order.
    pub resource: ResourceGhost,
    /// What is left of the fault budget.
    pub budget: Budget,
    /// The first foreign release, if one happened.
    pub foreign_release: Option<ForeignRelease>,
    /// A holder's re-acquire was refused by its own lock (a ghost).
    pub self_wait: bool,
    /// A release removed the key while its owner still believed it held a
    /// level of it (a ghost).
    pub early_release: bool,
    /// What the renewal properties judge (all false for a lock that does
    /// not renew).
    pub renewal: RenewalGhosts,
    /// The node that is the primary: `lease` and `fence_counter` are its.
    pub primary: NodeId,
    /// Each replica's copy, by node (the primary's slot is unused), while a
    /// failover may still promote one; empty otherwise.
    pub copies: [NodeData; MAX_COPIES],
    /// The primary's append-only file, as fsynced (`everysec`), while a
    /// restart may still read it; empty otherwise.
    pub file: NodeData,
    /// The partition in force, if one is.
    pub cut: Option<Cut>,
}

/// A partition in force (see [`super::partition`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cut {
    /// The old primary's side: it, and the replicas and clients with it.
    pub side: Side,
    /// The old primary once the far side's Sentinels promoted a replica:
    /// still a primary on its side, with what it has.
    pub isolated: Option<Isolated>,
    /// The old primary refuses writes: it has heard from fewer replicas
    /// than `min-replicas-to-write` within `min-replicas-max-lag`.
    pub stalled: bool,
}

/// An old primary cut off from the Sentinels that replaced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Isolated {
    /// Its node.
    pub node: NodeId,
    /// What it has: the lock key and fencing counter its side reads and
    /// writes.
    pub data: NodeData,
}

impl Cut {
    fn packed(&self) -> (u32, u64) {
        let (node, data) = self
            .isolated
            .map_or((0, 0), |i| (1 | u32::from(i.node.0) << 1, i.data.packed()));
        let side = u32::from(self.side.nodes & 0xff)
            | u32::from(self.side.clients) << 8
            | node << 16
            | u32::from(self.stalled) << 24
            | 1 << 25;
        (side, data)
    }
}

impl World {
    /// True when the lease's owner is running its critical section, not
    /// paused and not blocked: the model's timing assumption is that such a
    /// holder finishes before its lease runs out, so time may not expire
    /// that lease.
    pub fn owner_is_working(&self) -> bool {
        self.lease.is_some_and(|l| self.works(l.owner))
    }

    /// True when client `c` is running with a grant (believed, or waiting
    /// for its replicas): not paused and not blocked.
    pub fn works(&self, c: ClientId) -> bool {
        let owner = self.roster.client(c);
        (owner.believes_it_holds() || matches!(owner.pc, Pc::Unconfirmed | Pc::Orphaned))
            && !owner.paused
            && !owner.waiting
    }

    /// Redis holds more levels for the lease's owner than it believes it
    /// holds (a client whose reply is in flight, or that crashed, believes
    /// nothing yet or any more, and does not count).
    pub fn leaked_hold(&self) -> bool {
        self.lease.is_some_and(|l| {
            let owner = self.roster.client(l.owner);
            !matches!(owner.pc, Pc::Awaiting | Pc::Crashed) && l.count > owner.depth
        })
    }
}

impl fmt::Debug for World {
    /// The state as a person reads it (the Explorer shows this): one line
    /// for the clients, one for Redis and the resource, one for what is
    /// left of the faults and the ghosts that have turned true.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clients: Vec<String> = self
            .roster
            .ids()
            .map(|id| {
                let c = self.roster.client(id);
                let mut s = match c.pc {
                    Pc::Idle if c.waiting => "waiting".to_owned(),
                    Pc::Idle => "idle".to_owned(),
                    Pc::Awaiting => "reply in flight".to_owned(),
                    Pc::Unconfirmed => "granted, waiting for replicas".to_owned(),
                    Pc::Orphaned => "granted, its connection closed, waiting".to_owned(),
                    Pc::Holding => format!("holds ×{}", c.depth),
                    Pc::Wrote => format!("holds ×{}, wrote", c.depth),
                    Pc::Done => "done".to_owned(),
                    Pc::Crashed => "crashed".to_owned(),
                };
                if c.fence > 0 {
                    s.push_str(&format!(", fence {}", c.fence));
                }
                if c.paused {
                    s.push_str(", paused");
                }
                if c.waiting && c.believes_it_holds() {
                    s.push_str(", waiting for another level");
                }
                format!("{id}: {s}")
            })
            .collect();
        writeln!(f, "{}", clients.join(" · "))?;
        let lock = match self.lease {
            None => "absent".to_owned(),
            Some(l) => format!(
                "{}'s, {} tick{} left, count {}, fence {}",
                l.owner,
                l.ttl,
                if l.ttl == 1 { "" } else { "s" },
                l.count,
                l.fence
            ),
        };
        writeln!(
            f,
            "lock: {lock} · fence counter {} · resource: highest token {}",
            self.fence_counter, self.resource.highest
        )?;
        let replicas: Vec<String> = self
            .copies
            .iter()
            .enumerate()
            .filter(|&(i, c)| i != self.primary.index() && *c != NodeData::default())
            .map(|(i, c)| {
                let lock = c
                    .lease
                    .map_or("absent".to_owned(), |l| format!("{}'s", l.owner));
                format!(
                    "{}: lock {lock}, counter {}",
                    NodeId(i as u8),
                    c.fence_counter
                )
            })
            .collect();
        if self.primary != NodeId::FIRST || !replicas.is_empty() {
            writeln!(
                f,
                "primary {} · replicas: {}",
                self.primary,
                if replicas.is_empty() {
                    "none caught up".to_owned()
                } else {
                    replicas.join(" · ")
                }
            )?;
        }
        let mut ghosts = Vec::new();
        if let Some(fr) = self.foreign_release {
            ghosts.push(format!("{} released {}'s lock", fr.releaser, fr.victim));
        }
        if self.resource.stale_accepted {
            ghosts.push("a stale write was accepted".to_owned());
        }
        if self.self_wait {
            ghosts.push("a holder waited for itself".to_owned());
        }
        if self.early_release {
            ghosts.push("a release freed the lock early".to_owned());
        }
        if self.renewal.foreign_extension {
            ghosts.push("a renewal extended another client's lease".to_owned());
        }
        if self.renewal.untold {
            ghosts.push("a holder went on, untold, after its lease was lost".to_owned());
        }
        if ghosts.is_empty() {
            ghosts.push("none".to_owned());
        }
        write!(
            f,
            "faults left: {} · broken so far: {}",
            self.budget,
            ghosts.join(", ")
        )
    }
}

impl Hash for World {
    /// Hashes a packed form, in one write: eight bytes per client in use
    /// and a few words for the rest, instead of dozens of small writes.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut buf = [0u8; 8 * MAX_CLIENTS + 18 + 8 * (MAX_COPIES + 1) + 1 + 8 + 12];
        let mut len = 0;
        for c in self.roster.clients() {
            buf[len..len + 8].copy_from_slice(&c.packed().to_le_bytes());
            len += 8;
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
            budgets |= u64::from(self.budget.left(*fault) & 0b111) << (3 * i);
        }
        let misc = u64::from(self.roster.len())
            | u64::from(self.fence_counter) << 4
            | u64::from(self.resource.grants) << 12
            | u64::from(self.resource.highest) << 20
            | u64::from(self.resource.highest_grant) << 28
            | u64::from(self.resource.stale_accepted) << 36
            | u64::from(self.self_wait) << 37
            | u64::from(self.early_release) << 38
            | self.renewal.packed() << 39;
        buf[len..len + 8].copy_from_slice(&lease.to_le_bytes());
        buf[len + 8..len + 10].copy_from_slice(&foreign.to_le_bytes());
        buf[len + 10..len + 18].copy_from_slice(&misc.to_le_bytes());
        len += 18;
        for copy in self.copies.iter().chain([&self.file]) {
            buf[len..len + 8].copy_from_slice(&copy.packed().to_le_bytes());
            len += 8;
        }
        buf[len] = self.primary.0;
        len += 1;
        buf[len..len + 8].copy_from_slice(&budgets.to_le_bytes());
        len += 8;
        if let Some(cut) = self.cut {
            let (side, data) = cut.packed();
            buf[len..len + 4].copy_from_slice(&side.to_le_bytes());
            buf[len + 4..len + 12].copy_from_slice(&data.to_le_bytes());
            len += 12;
        }
        state.write(&buf[..len]);
    }
}
