//! The sync family: a producer writes units of work `u1`, `u2`, … (the
//! scenario's budget) to one Redis key or Stream; workers loop take →
//! process → mark, and processing applies the unit's effect to a sink —
//! the article's "distributed sync" (`sync-naive`), a compare-and-set claim
//! (`sync-cas`), a Stream's consumer group (`sync-stream`), and each fix
//! with a deduplicating sink. The protocols differ only in their
//! [`SyncCaps`]; the transitions read those and nothing else.
//!
//! - **The producer** is the environment, not under test: it writes the
//!   next unit when there is room — into an empty key or over the marker
//!   (it never overwrites a unit itself; that the workers' marks do is the
//!   lesson), or appended to a Stream at any time.
//! - **Time** passes in ticks, and every lease loses one per tick: the
//!   marker's (`SET key processed PX ttl` expires, and the key is gone), a
//!   claim's (`key:claim PX ttl`), a pending Stream entry's idle time
//!   (claimable by another consumer once it reached `ttl`). As for the
//!   locks, the one timing assumption is built in: a worker that is
//!   *running* finishes with its unit before its claim (or idle time) runs
//!   out, so time may not end the lease of a working, unpaused owner. Only
//!   a fault breaks that — a pause, a delayed reply, a crash.
//! - **Delay** holds the reply of the step that hands a worker its unit (a
//!   claim for `sync-cas`, a read otherwise): Redis has run it, and its
//!   lease runs while the worker does not know it has the unit.
//! - **Restart** empties Redis (no persistence): the key, the claim, the
//!   Stream and its group. The sink is another system and keeps what it
//!   applied; workers keep what they hold.
//!
//! The properties are read from the sink and from where each unit is: a
//! unit applied twice breaks `no-double-processing`; a unit never applied
//! that is neither in Redis nor in a live worker's hands is lost
//! (`no-lost-update`) — nobody can process it any more.

mod narrate;
mod symmetry;
pub mod world;

use crate::kit::{Budget, Core, Roster};
use crate::narrate::{KeyRole, LeaseClock, NarratedStep, Turn};
use crate::op::{ClientOp, Reply};
use crate::outcome::Outcome;
use crate::scenario::Scenario;
use crate::step::{NodeFault, Step};
use crate::system::{Condition, System, Taken};
use crate::world::{ClientId, NodeId};
use locklab_spec::declaration::{SyncCaps, Take};
use locklab_spec::fault::Fault;
use locklab_spec::property::PropertyName;
pub use world::{Claim, Entry, Pc, Slot, Unit, Worker, World, MAX_UNITS};

/// A sync-family scenario, ready for the checker.
#[derive(Clone, Debug)]
pub struct SyncModel {
    core: Core,
    caps: SyncCaps,
}

impl SyncModel {
    fn ttl(&self) -> u8 {
        self.scenario().ttl
    }

    fn stream(&self) -> bool {
        self.caps.stream()
    }

    fn claims(&self) -> bool {
        self.caps.take == Take::VersionedClaim
    }

    /// The first Stream entry no consumer has been handed yet.
    fn first_new(&self, w: &World) -> Option<Unit> {
        w.units().find(|u| w.entry(*u) == Entry::New)
    }

    /// The first pending entry idle for the claim idle time.
    fn first_idle(&self, w: &World) -> Option<Unit> {
        w.units()
            .find(|u| matches!(w.entry(*u), Entry::Pending { idle_left: 0, .. }))
    }

    /// The unit a worker's read would get.
    fn readable(&self, w: &World) -> Option<Unit> {
        if self.stream() {
            return self.first_new(w);
        }
        match w.slot {
            // A claiming worker reads the claim too, and leaves a claimed
            // unit alone.
            Slot::Unit(u) if !self.claims() || w.claim.is_none() => Some(u),
            _ => None,
        }
    }

    /// Whether the producer has a unit left and room to write it.
    fn can_produce(&self, w: &World) -> bool {
        w.produced < self.scenario().units
            && (self.stream() || matches!(w.slot, Slot::Empty | Slot::Marker))
    }

    /// Whether a compare-and-set claim of `u` would be granted.
    fn claimable(&self, w: &World, u: Unit) -> bool {
        w.slot == Slot::Unit(u) && w.claim.is_none()
    }

    /// Whether the worker is running with the unit a lease is about, so
    /// that time may not end that lease (the timing assumption).
    fn works_on(&self, w: &World, owner: ClientId, u: Unit, stages: &[Pc]) -> bool {
        let worker = w.roster.client(owner);
        !worker.paused && worker.unit == Some(u) && stages.contains(&worker.pc)
    }

    /// Whether a tick may pass: some lease is running, and none that a
    /// working owner relies on is at its last tick.
    fn tick_enabled(&self, w: &World) -> bool {
        let clocks = self.clocks(w);
        if clocks.is_empty() {
            return false;
        }
        let claim_guarded = w.claim.is_some_and(|c| {
            c.ttl == 1 && self.works_on(w, c.owner, c.unit, &[Pc::Claimed, Pc::Processed])
        });
        let idle_guarded = w.units().any(|u| match w.entry(u) {
            Entry::Pending {
                owner,
                idle_left: 1,
            } => self.works_on(w, owner, u, &[Pc::Got, Pc::Processed]),
            _ => false,
        });
        !claim_guarded && !idle_guarded
    }

    /// Whether Redis holds anything a restart would take.
    fn redis_has_something(&self, w: &World) -> bool {
        w.slot != Slot::Empty
            || w.claim.is_some()
            || w.entries
                .iter()
                .any(|e| matches!(e, Entry::New | Entry::Pending { .. }))
    }

    /// The unit's effect goes to the sink.
    fn apply_effect(&self, w: &mut World, u: Unit) -> bool {
        let count = &mut w.applied[u.index()];
        if self.caps.dedup_sink && *count > 0 {
            return false;
        }
        *count = (*count + 1).min(2);
        true
    }

    /// Hands a unit to a worker on Redis's side (a read or a claim ran):
    /// pending for it in the Stream, or claimed in the key.
    fn hand_over(&self, w: &mut World, c: ClientId, u: Unit) {
        if self.stream() {
            w.entries[u.index()] = Entry::Pending {
                owner: c,
                idle_left: self.ttl(),
            };
        }
    }

    /// Applies a step: the outcome the client reads, if it reads one now;
    /// `None` when the step is not possible here.
    fn apply(&self, w: &mut World, step: Step) -> Option<Option<Outcome>> {
        let took = |u: Unit| u32::from(u.0);
        let outcome = match step {
            Step::Produce => {
                if !self.can_produce(w) {
                    return None;
                }
                w.produced += 1;
                let u = Unit(w.produced);
                if self.stream() {
                    w.entries[u.index()] = Entry::New;
                } else {
                    w.slot = Slot::Unit(u);
                    w.marker_ttl = 0;
                }
                Some(Outcome::Produced { unit: took(u) })
            }
            Step::Op {
                client,
                op: ClientOp::Read,
                reply: reply @ (Reply::Now | Reply::Held),
            } => {
                let u = self.readable(w)?;
                self.hand_over(w, client, u);
                let delayed = reply == Reply::Held;
                let worker = w.roster.client_mut(client);
                worker.unit = Some(u);
                worker.pc = if delayed { Pc::Awaiting } else { Pc::Got };
                if delayed {
                    w.budget.spend(Fault::Delay);
                    None
                } else {
                    Some(Outcome::Read { unit: took(u) })
                }
            }
            Step::Op {
                client,
                op: ClientOp::Claim,
                reply: reply @ (Reply::Now | Reply::Held),
            } => {
                let delayed = reply == Reply::Held;
                if self.stream() {
                    let u = self.first_idle(w)?;
                    self.hand_over(w, client, u);
                    let worker = w.roster.client_mut(client);
                    worker.unit = Some(u);
                    worker.pc = Pc::Got;
                    return Some(Some(Outcome::Claimed { unit: took(u) }));
                }
                let u = w.roster.client(client).unit?;
                if self.claimable(w, u) {
                    w.claim = Some(Claim {
                        owner: client,
                        unit: u,
                        ttl: self.ttl(),
                    });
                    if delayed {
                        w.budget.spend(Fault::Delay);
                        w.roster.client_mut(client).pc = Pc::Awaiting;
                        None
                    } else {
                        w.roster.client_mut(client).pc = Pc::Claimed;
                        Some(Outcome::Claimed { unit: took(u) })
                    }
                } else if delayed {
                    return None;
                } else {
                    *w.roster.client_mut(client) = Worker {
                        paused: w.roster.client(client).paused,
                        ..Worker::default()
                    };
                    Some(Outcome::Conflict)
                }
            }
            Step::Deliver { client } => {
                let claims = self.claims();
                let worker = w.roster.client_mut(client);
                let u = worker.unit?;
                if claims {
                    worker.pc = Pc::Claimed;
                    Some(Outcome::Claimed { unit: took(u) })
                } else {
                    worker.pc = Pc::Got;
                    Some(Outcome::Read { unit: took(u) })
                }
            }
            Step::Op {
                client,
                op: ClientOp::Process,
                reply: Reply::Now,
            } => {
                let u = w.roster.client(client).unit?;
                let applied = self.apply_effect(w, u);
                w.roster.client_mut(client).pc = Pc::Processed;
                Some(Outcome::Processed {
                    unit: took(u),
                    applied,
                })
            }
            Step::Op {
                client,
                op: ClientOp::Mark,
                reply: Reply::Now,
            } => {
                let u = w.roster.client(client).unit?;
                let mine = w.claim.is_none_or(|c| c.owner == client);
                let marks = !self.claims() || (w.slot == Slot::Unit(u) && mine);
                if marks {
                    w.slot = Slot::Marker;
                    w.marker_ttl = self.ttl();
                    w.claim = None;
                }
                let worker = w.roster.client_mut(client);
                worker.pc = Pc::Idle;
                worker.unit = None;
                Some(if marks {
                    Outcome::Marked
                } else {
                    Outcome::Conflict
                })
            }
            Step::Op {
                client,
                op: ClientOp::Ack,
                reply: Reply::Now,
            } => {
                let u = w.roster.client(client).unit?;
                let pending = matches!(w.entry(u), Entry::Pending { .. });
                if pending {
                    w.entries[u.index()] = Entry::Acked;
                }
                let worker = w.roster.client_mut(client);
                worker.pc = Pc::Idle;
                worker.unit = None;
                Some(if pending {
                    Outcome::Marked
                } else {
                    Outcome::Conflict
                })
            }
            Step::Tick => {
                if w.marker_ttl > 0 {
                    w.marker_ttl -= 1;
                    if w.marker_ttl == 0 {
                        w.slot = Slot::Empty;
                    }
                }
                if let Some(claim) = w.claim.as_mut() {
                    claim.ttl -= 1;
                    if claim.ttl == 0 {
                        w.claim = None;
                    }
                }
                for entry in &mut w.entries {
                    if let Entry::Pending { idle_left, .. } = entry {
                        *idle_left = idle_left.saturating_sub(1);
                    }
                }
                None
            }
            Step::Client { client, fault } => {
                w.roster.suffer(client, fault, &mut w.budget);
                None
            }
            Step::Node {
                fault: NodeFault::Restart,
                ..
            } => {
                // Without persistence Redis comes back empty; the sink is
                // another system and keeps its effects.
                w.budget.spend(Fault::Restart);
                w.slot = Slot::Empty;
                w.marker_ttl = 0;
                w.claim = None;
                w.entries = [Entry::Absent; MAX_UNITS];
                None
            }
            _ => return None,
        };
        Some(outcome)
    }

    /// The steps one running (not paused) worker may take.
    fn worker_steps(&self, w: &World, client: ClientId, steps: &mut Vec<Step>) {
        let worker = w.roster.client(client);
        let delay = w.budget.left(Fault::Delay) > 0;
        let held = |op| Step::Op {
            client,
            op,
            reply: Reply::Held,
        };
        match worker.pc {
            Pc::Idle => {
                if self.readable(w).is_some() {
                    steps.push(Step::now(client, ClientOp::Read));
                    if delay && !self.claims() {
                        steps.push(held(ClientOp::Read));
                    }
                }
                if self.stream() && self.first_idle(w).is_some() {
                    steps.push(Step::now(client, ClientOp::Claim));
                }
            }
            Pc::Got if self.claims() => {
                steps.push(Step::now(client, ClientOp::Claim));
                if delay && worker.unit.is_some_and(|u| self.claimable(w, u)) {
                    steps.push(held(ClientOp::Claim));
                }
            }
            Pc::Got | Pc::Claimed => steps.push(Step::now(client, ClientOp::Process)),
            Pc::Awaiting => steps.push(Step::Deliver { client }),
            Pc::Processed if self.stream() => steps.push(Step::now(client, ClientOp::Ack)),
            Pc::Processed => steps.push(Step::now(client, ClientOp::Mark)),
            Pc::Crashed => {}
        }
    }
}

impl System for SyncModel {
    type World = World;

    fn of(scenario: Scenario, checking: &[PropertyName]) -> Self {
        SyncModel {
            caps: scenario
                .protocol
                .caps()
                .sync
                .expect("a protocol of the sync family declares its sync capabilities"),
            core: Core::new(scenario, checking, &PropertyName::ALL),
        }
    }

    fn core(&self) -> &Core {
        &self.core
    }

    fn initial(&self) -> World {
        let s = self.scenario();
        World {
            roster: Roster::new(s.clients, Worker::default()),
            produced: 0,
            slot: Slot::Empty,
            marker_ttl: 0,
            claim: None,
            entries: [Entry::Absent; MAX_UNITS],
            applied: [0; MAX_UNITS],
            budget: Budget::new(s.faults),
        }
    }

    fn actions(&self, w: &World, steps: &mut Vec<Step>) {
        if self.can_produce(w) {
            steps.push(Step::Produce);
        }
        w.roster.offer(&w.budget, steps, |client, _, steps| {
            self.worker_steps(w, client, steps);
        });
        if self.tick_enabled(w) {
            steps.push(Step::Tick);
        }
        if w.budget.left(Fault::Restart) > 0 && self.redis_has_something(w) {
            steps.push(Step::Node {
                node: NodeId::FIRST,
                fault: NodeFault::Restart,
            });
        }
    }

    fn condition(property: PropertyName) -> Condition<Self> {
        match property {
            PropertyName::NoDoubleProcessing => |_, w| w.doubled().is_none(),
            PropertyName::NoLostUpdate => |_, w| w.lost().is_none(),
            PropertyName::ExactlyOnceSync => |_, w| w.doubled().is_none() && w.lost().is_none(),
            PropertyName::SomeUnitProcessed => |_, w| w.units().any(|u| w.applied(u) > 0),
            PropertyName::EveryUnitProcessed => {
                |m, w| w.produced == m.scenario().units && w.units().all(|u| w.applied(u) > 0)
            }
            // Not a property of this family (the core never checks it).
            _ => |_, _| true,
        }
    }

    fn play(&self, w: &World, step: Step) -> Option<(World, Option<Outcome>)> {
        let mut next = *w;
        let outcome = self.apply(&mut next, step)?;
        Some((next, outcome))
    }

    /// A read or Stream claim that finds nothing to take is an attempt
    /// that comes back empty; anything else the model does not allow here
    /// (a step of a worker that is not where the schedule assumes, a unit
    /// produced with no room for it) is skipped.
    fn refused(&self, w: &World, step: Step) -> (Taken, Option<Outcome>) {
        match step {
            Step::Op {
                client,
                op: op @ (ClientOp::Read | ClientOp::Claim),
                reply: Reply::Now,
            } if w.roster.client(client).pc == Pc::Idle && !w.roster.client(client).paused => {
                if op == ClientOp::Read || self.stream() {
                    (Taken::Waits, Some(Outcome::Empty))
                } else {
                    (Taken::Skipped, None)
                }
            }
            _ => (Taken::Skipped, None),
        }
    }

    fn clocks(&self, w: &World) -> Vec<LeaseClock> {
        let clock = |key, ticks_left| LeaseClock {
            node: NodeId::FIRST,
            key,
            ticks_left,
            ttl: self.ttl(),
        };
        let mut clocks = Vec::new();
        if w.marker_ttl > 0 {
            clocks.push(clock(KeyRole::Marker, w.marker_ttl));
        }
        if let Some(c) = w.claim {
            clocks.push(clock(KeyRole::Claim, c.ttl));
        }
        for u in w.units() {
            if let Entry::Pending { idle_left, .. } = w.entry(u) {
                if idle_left > 0 {
                    clocks.push(clock(KeyRole::Pending { unit: u.0 }, idle_left));
                }
            }
        }
        clocks
    }

    fn observed(&self) -> Vec<KeyRole> {
        if self.stream() {
            Vec::new()
        } else if self.claims() {
            vec![KeyRole::Marker, KeyRole::Claim]
        } else {
            vec![KeyRole::Marker]
        }
    }

    fn tell(&self, turn: Turn<'_, World>) -> NarratedStep {
        narrate::Narrator::new(self).tell(turn)
    }
}

#[cfg(test)]
mod tests;
