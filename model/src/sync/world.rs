//! The sync family's state: the workers, what Redis holds (the key — a
//! unit, the marker, a claim — or the Stream's entries), the sink, the
//! producer's count and what is left of the fault budget.
//!
//! Time lives here as ticks left on each lease (the marker's, a claim's, a
//! pending entry's idle time), so the state space stays finite. Everything
//! is fixed-size and `Copy`: the checker clones and hashes states millions
//! of times.

use std::fmt;

use crate::kit::{Budget, Member, Roster};
use crate::scenario::MAX_UNITS as UNITS;
use crate::world::ClientId;

/// The most units a state can hold.
pub const MAX_UNITS: usize = UNITS as usize;

/// A unit of work, by number: `u1`, `u2`, … (the producer's order; never
/// reused, so a unit's id also names its version).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Unit(pub u8);

impl Unit {
    /// Its index into the per-unit arrays.
    pub fn index(self) -> usize {
        usize::from(self.0) - 1
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "u{}", self.0)
    }
}

/// Where a worker is in its loop of take → process → mark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pc {
    /// Looking for a unit.
    #[default]
    Idle,
    /// Has a unit it read (or was handed by the Stream): processes it next
    /// — or, for a worker that claims first, claims it.
    Got,
    /// Redis ran its read (or claim); the reply, with the unit, is in
    /// flight.
    Awaiting,
    /// Its claim of the unit was granted: processes it next.
    Claimed,
    /// Has sent the unit's effect to the sink: marks (acks) it next.
    Processed,
    /// Stopped for good.
    Crashed,
}

/// One worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Worker {
    /// Where it is.
    pub pc: Pc,
    /// The unit in its hands (`None` when idle or crashed).
    pub unit: Option<Unit>,
    /// Paused: takes no step until resumed.
    pub paused: bool,
}

impl Member for Worker {
    fn crashed() -> Worker {
        Worker {
            pc: Pc::Crashed,
            ..Worker::default()
        }
    }

    fn is_paused(&self) -> bool {
        self.paused
    }

    fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    fn is_finished(&self) -> bool {
        self.pc == Pc::Crashed
    }

    /// A pause matters only while the worker has a unit in hand.
    fn pause_matters(&self) -> bool {
        matches!(self.pc, Pc::Got | Pc::Claimed | Pc::Processed)
    }
}

impl Worker {
    /// The unit it will process unless something stops it: one it read,
    /// was handed, claimed or has in flight (not yet one it processed).
    pub fn holds(&self) -> Option<Unit> {
        match self.pc {
            Pc::Got | Pc::Awaiting | Pc::Claimed => self.unit,
            _ => None,
        }
    }
}

/// What the one key holds (for a protocol without a Stream).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// Nothing: never written, expired, or lost in a restart.
    #[default]
    Empty,
    /// A unit the producer wrote.
    Unit(Unit),
    /// `processed`, with a TTL ([`World::marker_ttl`]).
    Marker,
}

/// A unit's claim (`<key>:claim`), leased.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Claim {
    /// Whose.
    pub owner: ClientId,
    /// Which unit.
    pub unit: Unit,
    /// Ticks left (at least 1).
    pub ttl: u8,
}

/// A unit's entry in the Stream and its consumer group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entry {
    /// Not in the Stream: not produced yet, or lost in a restart.
    #[default]
    Absent,
    /// Appended, not delivered to any consumer yet.
    New,
    /// Delivered to `owner` and not acknowledged.
    Pending {
        /// The consumer it is pending for.
        owner: ClientId,
        /// Ticks until it has been idle for the claim idle time (0: it
        /// has, and `XAUTOCLAIM` hands it to whoever asks).
        idle_left: u8,
    },
    /// Acknowledged.
    Acked,
}

/// The whole system's state.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct World {
    /// The workers.
    pub roster: Roster<Worker>,
    /// Units the producer has written so far.
    pub produced: u8,
    /// The key (protocols without a Stream).
    pub slot: Slot,
    /// Ticks left on the marker (0 unless the key holds it).
    pub marker_ttl: u8,
    /// The claim, if a worker holds one.
    pub claim: Option<Claim>,
    /// Each unit's Stream entry (protocols with a Stream).
    pub entries: [Entry; MAX_UNITS],
    /// The sink: how many times each unit's effect was applied (counted up
    /// to 2, which is all the properties ask).
    pub applied: [u8; MAX_UNITS],
    /// What is left of the fault budget.
    pub budget: Budget,
}

impl World {
    /// The units produced so far.
    pub fn units(&self) -> impl Iterator<Item = Unit> + use<> {
        (1..=self.produced).map(Unit)
    }

    /// A unit's Stream entry.
    pub fn entry(&self, u: Unit) -> Entry {
        self.entries[u.index()]
    }

    /// How many times a unit's effect was applied (0, 1, or 2 for twice or
    /// more).
    pub fn applied(&self, u: Unit) -> u8 {
        self.applied[u.index()]
    }

    /// Whether Redis still holds the unit for a worker to take: in the key,
    /// or in the Stream new or pending.
    pub fn in_redis(&self, u: Unit) -> bool {
        self.slot == Slot::Unit(u) || matches!(self.entry(u), Entry::New | Entry::Pending { .. })
    }

    /// Whether a worker that has not crashed has the unit in hand.
    pub fn held(&self, u: Unit) -> bool {
        self.roster.clients().iter().any(|w| w.holds() == Some(u))
    }

    /// The first unit whose effect was applied twice.
    pub fn doubled(&self) -> Option<Unit> {
        self.units().find(|u| self.applied(*u) > 1)
    }

    /// The first unit lost: never applied, no longer in Redis, and in no
    /// live worker's hands — nobody can ever process it.
    pub fn lost(&self) -> Option<Unit> {
        self.units()
            .find(|u| self.applied(*u) == 0 && !self.in_redis(*u) && !self.held(*u))
    }
}

impl fmt::Debug for World {
    /// Only the workers and units in use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let produced = usize::from(self.produced);
        f.debug_struct("World")
            .field("workers", &self.roster)
            .field("produced", &self.produced)
            .field("slot", &self.slot)
            .field("marker_ttl", &self.marker_ttl)
            .field("claim", &self.claim)
            .field("entries", &&self.entries[..produced])
            .field("applied", &&self.applied[..produced])
            .field("faults_left", &self.budget.to_string())
            .finish()
    }
}
