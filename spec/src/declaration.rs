//! What a protocol *is*, declared once: its name, what it is there to show,
//! its capabilities, the model family that checks it, its claims, its
//! default scenario and fault menu, and the protocols that fix its breaks.
//!
//! Every part of the lab asks a protocol's declaration what it can do —
//! never which protocol it is. A declaration lives in the protocol's own
//! module under [`crate::protocols`]; [`crate::protocol`] lists them.

use crate::family::Family;
use crate::fault::{Fault, Faults};
use crate::property::{Kind, PropertyName};

/// One protocol's declaration.
#[derive(Debug)]
pub struct Declaration {
    /// The name on the command line, in JSON and in the docs.
    pub name: &'static str,
    /// How it acquires and releases, in Redis commands, on one line.
    pub summary: &'static str,
    /// What it is there to show, on one line.
    pub lesson: &'static str,
    /// The model family that checks it.
    pub family: Family,
    /// What its client does, as data the model's transitions read.
    pub caps: Capabilities,
    /// What it promises.
    pub claims: &'static [Claim],
    /// The protocols that fix its breaks: replays of its counterexamples
    /// are played on them too.
    pub fixed_by: &'static [&'static Declaration],
    /// The scenario its rows of the default matrix check.
    pub shape: Shape,
    /// The faults its model can take, in the order of its matrix rows.
    pub faults: &'static [Fault],
}

/// How a release removes the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Release {
    /// `DEL key`: removes whatever lock is there, whoever holds it.
    Del,
    /// A Lua script that deletes the key only when it still holds the
    /// caller's token.
    CompareAndDelete,
}

/// How a lock treats an acquire by its own holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reentry {
    /// Not at all: to `SET NX`, the holder is just another contender.
    None,
    /// A hold count per owner: the owner's acquire adds one and renews the
    /// lease, its release takes one off and deletes at zero.
    Counted {
        /// A re-sent acquire (same attempt) is recognised and counted once.
        idempotent: bool,
        /// A re-entry adds a level only to a hold that is still there; when
        /// the owner's lease ran out under it, the client learns it lost the
        /// lock instead of silently taking a fresh one at count 1.
        guarded: bool,
    },
}

/// How a lock's watchdog renews the lease while its holder works: every
/// period (a third of the lease by default) it extends the key, and it
/// stops on release or on the first renewal that fails, telling the holder
/// — who also checks its own lease deadline, by its local clock, before
/// each operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Renewal {
    /// The renewal extends the key only if it still holds the holder's
    /// token (compare-and-`PEXPIRE`, Lua); otherwise `PEXPIRE` extends
    /// whoever holds the key.
    pub checked: bool,
    /// A renewal that finds the key gone creates it again (`SET NX`) and
    /// reads as renewed: the silent re-acquire (redsync's
    /// `WithSetNXOnExtend`).
    pub reacquire: bool,
}

/// What a protocol's client does, as data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Capabilities {
    /// The client reads the acquire's reply and waits when it says busy.
    /// When false, every acquire "succeeds" in the client's mind.
    pub checks_reply: bool,
    /// The value stored is unique to the holder (otherwise `1`).
    pub unique_token: bool,
    /// How the lock is released.
    pub release: Release,
    /// A fencing token, strictly increasing, is issued atomically with each
    /// grant of a free lock, and the protected resource refuses writes
    /// carrying a lower one.
    pub fencing: bool,
    /// How an acquire by the holder itself is treated.
    pub reentry: Reentry,
    /// For a protocol of the sync family: how its workers take units and
    /// what the sink does (`None` for a lock).
    pub sync: Option<SyncCaps>,
    /// After a grant, the client sends `WAIT <n> <timeout>` and counts the
    /// grant only once `n` replicas acknowledged it (an unacknowledged one
    /// is released and counts as not acquired); 0: no `WAIT`.
    pub wait_replicas: u8,
    /// A watchdog renews the lease while the holder works (`None`: the
    /// lease is fixed, and the holder must finish within it).
    pub renewal: Option<Renewal>,
}

impl Capabilities {
    /// The article's lock: `SET key 1 NX PX ttl`, reply read, `DEL` to
    /// release. A declaration changes what differs from it, or from
    /// [`Capabilities::TOKEN`] or [`Capabilities::FENCED`], by struct
    /// update, so that a new capability field edits this file only.
    pub const NAIVE: Capabilities = Capabilities {
        checks_reply: true,
        unique_token: false,
        release: Release::Del,
        fencing: false,
        reentry: Reentry::None,
        sync: None,
        wait_replicas: 0,
        renewal: None,
    };

    /// The token lock: a value unique to the holder, released by
    /// compare-and-delete.
    pub const TOKEN: Capabilities = Capabilities {
        unique_token: true,
        release: Release::CompareAndDelete,
        ..Capabilities::NAIVE
    };

    /// The fenced lock: the token lock with a fencing token issued with
    /// each grant.
    pub const FENCED: Capabilities = Capabilities {
        fencing: true,
        ..Capabilities::TOKEN
    };

    /// The lock fields of a protocol that is not a lock (a sync
    /// protocol's), which nothing reads: no fencing, no re-entry.
    pub const NOT_A_LOCK: Capabilities = Capabilities::NAIVE;

    /// Whether the owner's own acquire adds a level instead of waiting.
    pub fn reentrant(&self) -> bool {
        matches!(self.reentry, Reentry::Counted { .. })
    }

    /// Whether a watchdog renews the lease while the holder works.
    pub fn renews(&self) -> bool {
        self.renewal.is_some()
    }

    /// Whether a grant counts only once replicas acknowledge it (`WAIT`).
    pub fn confirms(&self) -> bool {
        self.wait_replicas > 0
    }
}

/// How a worker of a sync protocol takes a unit before processing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Take {
    /// `GET key`: the worker only reads, so nothing tells another worker
    /// the unit is taken, and its mark (`SET key processed PX ttl`)
    /// overwrites whatever the key holds by then (the article).
    Read,
    /// Claim before processing: a Lua script compares the key with the unit
    /// the worker read (unit ids are never reused, so the value is its own
    /// version) and, only if it is still there and unclaimed, leases a
    /// claim (`key:claim PX ttl`); the mark is a compare-and-set too. A
    /// claim that loses the race is a conflict, retried a bounded number of
    /// times with backoff. The lease lets the unit be claimed again once a
    /// crashed or paused claimant's claim ran out.
    VersionedClaim,
    /// A Stream with a consumer group: `XADD` appends units,
    /// `XREADGROUP … >` hands each new one to one consumer (pending until
    /// `XACK`), and `XAUTOCLAIM` hands a unit pending longer than the claim
    /// idle time (`ttl` ticks) to another consumer.
    ConsumerGroup,
}

/// What a sync protocol's workers and sink do, as data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SyncCaps {
    /// How a worker takes a unit.
    pub take: Take,
    /// The sink applies each unit's effect at most once: the effect carries
    /// the unit's id (which names one version of the data), and the sink
    /// refuses an id it has applied before — what fencing is for the locks.
    pub dedup_sink: bool,
}

impl SyncCaps {
    /// Whether the units wait in a Stream rather than in one string key.
    pub fn stream(&self) -> bool {
        self.take == Take::ConsumerGroup
    }

    /// Whether the worker claims the unit before it processes it (so
    /// another worker can tell it is taken).
    pub fn claims_first(&self) -> bool {
        self.take != Take::Read
    }
}

/// The default scenario of a protocol's matrix rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    /// Contending clients.
    pub clients: u8,
    /// Rounds per client.
    pub rounds: u8,
    /// The lease, in ticks.
    pub ttl: u8,
    /// Acquires before the write (and releases after it): 1, or more for a
    /// lock used re-entrantly.
    pub depth: u8,
    /// Independent Redis masters the lock runs on (1: a single instance).
    pub nodes: u8,
    /// Replicas of the one primary (0: none).
    pub replicas: u8,
    /// Units of work the producer writes (0 for a lock scenario).
    pub units: u8,
}

impl Shape {
    /// Three clients (the article's bug needs three), one round, a lease of
    /// three ticks, no re-entry.
    pub const LOCK: Shape = Shape {
        clients: 3,
        rounds: 1,
        ttl: 3,
        depth: 1,
        nodes: 1,
        replicas: 0,
        units: 0,
    };

    /// Two workers (a double processing needs two), two units (a lost
    /// update needs a second unit to lose), a marker, claim or claim idle
    /// time of two ticks.
    pub const SYNC: Shape = Shape {
        clients: 2,
        rounds: 1,
        ttl: 2,
        depth: 1,
        nodes: 1,
        replicas: 0,
        units: 2,
    };

    /// Two clients on three masters, one round, a lease of three ticks: the
    /// smallest shape in which a majority can be re-formed without the
    /// holder (one client holds two nodes, the other takes the third).
    pub const QUORUM: Shape = Shape {
        clients: 2,
        rounds: 1,
        ttl: 3,
        depth: 1,
        nodes: 3,
        replicas: 0,
        units: 0,
    };
}

/// A promise: `property` holds under any budget of these faults (and with
/// none at all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The promised property.
    pub property: PropertyName,
    /// The faults under which it is promised.
    pub under: &'static [Fault],
}

/// `property` is promised under any budget of the faults `under`.
pub const fn claim(property: PropertyName, under: &'static [Fault]) -> Claim {
    Claim { property, under }
}

impl Declaration {
    /// Whether the protocol promises `property` under `faults`. Witnesses
    /// (`sometimes` properties) are never claims: they make "holds" mean
    /// something, and are reported apart.
    pub fn claims(&self, property: PropertyName, faults: Faults) -> bool {
        property.kind() != Kind::Sometimes
            && self
                .claims
                .iter()
                .any(|c| c.property == property && faults.only(c.under))
    }

    /// Whether the protocol's model can take every fault of `faults`.
    pub fn takes(&self, faults: Faults) -> bool {
        faults.only(self.faults)
    }
}
