//! The lease family: one lock key on one Redis, leased for a TTL — every
//! single-instance lock locklab checks (`naive`, `naive-unchecked`,
//! `token`, `fenced`, `reentrant`, `reentrant-redisson`, `token-wait`).
//! The protocols differ only in their [`Capabilities`]; the transitions
//! here read those and nothing else. "One Redis" may be a primary with
//! replicas under Sentinel: [`replication`] adds the replicas' copies,
//! replication as a step, and the failover (with none, nothing changes).
//!
//! Every client's possible next step, time passing, and every fault the
//! budget still allows are enabled from every state. The one timing
//! assumption every lease lock makes is built in: a holder that is *running*
//! finishes its critical section before its lease runs out, so time may not
//! expire the lease of a working, unpaused owner. Only a fault breaks that
//! assumption (a pause, a delayed grant reply, a crash) — or a client that
//! waits for its own lock, which is not working either. That is why "holds
//! with no fault, violated under `pause`" is a meaningful verdict rather
//! than an artefact of an unfair scheduler.
//!
//! The protected resource is modelled for every protocol: with fencing it
//! refuses tokens lower than the highest it accepted; without fencing it
//! accepts every write. The model labels each write with the number of the
//! grant its writer holds (a ghost that, unlike Redis's fencing counter,
//! survives a restart), so `fenced-resource` judges the resource's history
//! by real grant order.
//!
//! A lock that renews its lease moves the timing assumption from the
//! holder to its watchdog: see [`renewal`].
//!
//! A re-sent acquire (`retry`) is one step: Redis runs the request twice
//! and the client reads the second reply. (Between the two runs nothing
//! else happens: the lost reply and the resend are taken as immediate.)

mod narrate;
pub mod partition;
pub mod persistence;
mod renewal;
pub mod replication;
mod symmetry;
pub mod world;

use crate::kit::{lock_condition, Budget, Core, Resource, ResourceGhost, Roster};
use crate::narrate::{KeyRole, LeaseClock, NarratedStep, Turn};
use crate::op::{ClientOp, Reply};
use crate::outcome::Outcome;
use crate::scenario::Scenario;
use crate::step::{NodeFault, Step};
use crate::system::{Condition, Goal, Probe, System, Taken};
use crate::world::{ClientId, NodeId};
use locklab_spec::declaration::{Capabilities, Reentry, Release};
use locklab_spec::fault::Fault;
use locklab_spec::property::PropertyName;
pub use world::{
    Client, ForeignRelease, Lease, NodeData, Pc, RenewalGhosts, Renewed, Watchdog, World,
};

/// A lease-family scenario, ready for the checker.
#[derive(Clone, Debug)]
pub struct LeaseModel {
    core: Core,
    caps: Capabilities,
    resource: Resource,
}

/// What one run of the acquire request did on Redis, as the client reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ran {
    /// Granted (a new lease, or one more level of the caller's).
    Granted,
    /// Busy with another client's lock.
    Busy,
    /// Busy with the caller's own lock (a lock that cannot tell its owner).
    SelfBusy,
    /// Refused, but the client does not read the reply.
    Believed,
    /// A re-entry whose own hold was gone: the client learns it lost it.
    Lost,
}

impl LeaseModel {
    fn counted(&self) -> bool {
        self.caps.reentrant()
    }

    /// Redis runs one acquire request of `c`.
    fn run_acquire(&self, w: &mut World, c: ClientId) -> Ran {
        let reentering = w.roster.client(c).depth > 0;
        let guarded = matches!(self.caps.reentry, Reentry::Counted { guarded: true, .. });
        match w.lease {
            Some(mut l) if l.owner == c && self.counted() => {
                l.count += 1;
                l.ttl = self.scenario().ttl;
                w.lease = Some(l);
                Ran::Granted
            }
            Some(_) if reentering && guarded => Ran::Lost,
            None if reentering && guarded => Ran::Lost,
            Some(_) if !self.caps.checks_reply => Ran::Believed,
            Some(l) if l.owner == c => Ran::SelfBusy,
            Some(_) => Ran::Busy,
            None => {
                let fence = if self.caps.fencing {
                    w.fence_counter += 1;
                    w.fence_counter
                } else {
                    0
                };
                let grant = self.resource.issue(&mut w.resource);
                w.lease = Some(Lease {
                    owner: c,
                    ttl: self.scenario().ttl,
                    fence,
                    grant,
                    count: 1,
                });
                Ran::Granted
            }
        }
    }

    /// The client takes in what it read; returns the outcome in the lab's
    /// words.
    fn settle(&self, w: &mut World, c: ClientId, ran: Ran) -> Outcome {
        let lease = w.lease;
        let client = w.roster.client_mut(c);
        match ran {
            Ran::Granted => {
                let l = lease.expect("a grant leaves a lease");
                client.depth += 1;
                client.fence = l.fence;
                client.grant = l.grant;
                client.waiting = false;
                client.pc = Pc::Holding;
                if self.caps.renews() {
                    client.watchdog.deadline = l.ttl;
                }
                Outcome::Granted {
                    token: None,
                    fence: self.caps.fencing.then_some(u64::from(l.fence)),
                    count: self.counted().then_some(u32::from(l.count)),
                }
            }
            Ran::Believed => {
                // Refused, yet the lease may be the client's own (a retried
                // request's first run took it): then it acts under it.
                if let Some(l) = lease.filter(|l| l.owner == c) {
                    client.fence = l.fence;
                    client.grant = l.grant;
                }
                client.depth += 1;
                client.pc = Pc::Holding;
                Outcome::Believed
            }
            Ran::Busy => {
                client.waiting = true;
                Outcome::Busy
            }
            Ran::SelfBusy => {
                client.waiting = true;
                if client.depth > 0 {
                    w.self_wait = true;
                }
                Outcome::Busy
            }
            Ran::Lost => {
                *client = Client {
                    rounds_left: client.rounds_left,
                    paused: client.paused,
                    ..Client::default()
                };
                Outcome::Lost
            }
        }
    }

    fn run_release(&self, w: &mut World, c: ClientId) -> Outcome {
        let depth_after = w.roster.client(c).depth.saturating_sub(1);
        let outcome = match (w.lease, self.caps.release) {
            (None, Release::Del) => Outcome::NothingToDelete,
            (None, Release::CompareAndDelete) => Outcome::NotHeld,
            (Some(l), Release::Del) => {
                if l.owner != c {
                    w.foreign_release.get_or_insert(ForeignRelease {
                        releaser: c,
                        victim: l.owner,
                    });
                } else if depth_after > 0 {
                    w.early_release = true;
                }
                w.lease = None;
                Outcome::Deleted
            }
            (Some(l), Release::CompareAndDelete) if l.owner != c => Outcome::NotHeld,
            (Some(mut l), Release::CompareAndDelete) => {
                l.count -= 1;
                if self.counted() && l.count > 0 {
                    w.lease = Some(l);
                    Outcome::StillHeld {
                        count: u32::from(l.count),
                    }
                } else {
                    if depth_after > 0 {
                        w.early_release = true;
                    }
                    w.lease = None;
                    Outcome::Released
                }
            }
        };
        let client = w.roster.client_mut(c);
        client.depth = depth_after;
        if depth_after == 0 {
            client.rounds_left -= 1;
            client.fence = 0;
            client.grant = 0;
            client.watchdog = Watchdog::default();
            client.pc = if client.rounds_left == 0 {
                Pc::Done
            } else {
                Pc::Idle
            };
        }
        outcome
    }

    /// Whether an acquire of `c` would do anything but wait: a client that
    /// reads the reply takes no step while another client holds the lock
    /// (the scheduler simply lets it wait), but it does try once against
    /// its own lock — that is the self-wait the re-entry properties catch.
    fn acquire_enabled(&self, w: &World, c: ClientId) -> bool {
        let client = w.roster.client(c);
        match w.lease {
            None => true,
            Some(_) if !self.caps.checks_reply => true,
            Some(l) if l.owner == c => self.counted() || !client.waiting,
            Some(_) => {
                // A guarded re-entry learns at once that its hold is gone.
                client.depth > 0
                    && matches!(self.caps.reentry, Reentry::Counted { guarded: true, .. })
            }
        }
    }

    /// Applies a step: the outcome the client reads, if it reads one now.
    /// A client's step runs on the primary it reaches: across a partition,
    /// perhaps an old primary that was replaced ([`partition`]).
    fn apply(&self, w: &mut World, step: Step) -> Option<Option<Outcome>> {
        let on_old = step
            .client()
            .is_some_and(|c| w.reach(c) == partition::Reach::Isolated);
        if !on_old {
            return self.apply_here(w, step);
        }
        w.swap_isolated();
        let outcome = self.apply_here(w, step);
        w.swap_isolated();
        outcome
    }

    /// Applies a step to the primary in `w`.
    fn apply_here(&self, w: &mut World, step: Step) -> Option<Option<Outcome>> {
        if let Some(outcome) = self.apply_renewal(w, step) {
            return Some(outcome);
        }
        let outcome = match step {
            Step::Partition { side } => {
                Self::cut(w, side);
                None
            }
            Step::Heal => {
                self.heal(w);
                None
            }
            Step::Node {
                fault: NodeFault::NoReplicas,
                ..
            } => {
                Self::stall(w);
                None
            }
            Step::Node {
                node,
                fault: NodeFault::Failover,
            } if w.cut.is_some() => {
                self.promote_across(w, node);
                None
            }
            Step::Op {
                client,
                op: ClientOp::Acquire,
                reply: Reply::Now,
            } => {
                let ran = self.run_acquire(w, client);
                if ran == Ran::Granted && self.confirms() {
                    Some(self.pend(w, client))
                } else {
                    Some(self.settle(w, client, ran))
                }
            }
            Step::Op {
                client,
                op: ClientOp::Confirm,
                reply: Reply::Now,
            } => Some(self.confirm(w, client)),
            Step::Replicate { node } => {
                self.replicate(w, node);
                None
            }
            Step::Node {
                node,
                fault: NodeFault::Failover,
            } => {
                self.failover(w, node);
                None
            }
            Step::Op {
                client,
                op: ClientOp::Acquire,
                reply: Reply::Held,
            } => {
                w.budget.spend(Fault::Delay);
                let ran = self.run_acquire(w, client);
                if ran != Ran::Granted {
                    return None;
                }
                let l = w.lease?;
                let c = w.roster.client_mut(client);
                c.fence = l.fence;
                c.grant = l.grant;
                c.pc = Pc::Awaiting;
                None
            }
            Step::Deliver { client } => {
                let left = Self::own_ticks(w, client);
                let renews = self.caps.renews();
                let c = w.roster.client_mut(client);
                c.depth += 1;
                c.pc = Pc::Holding;
                if renews {
                    c.watchdog.deadline = left;
                }
                let fence = c.fence;
                Some(Outcome::Granted {
                    token: None,
                    fence: self.caps.fencing.then_some(u64::from(fence)),
                    count: self.counted().then_some(1),
                })
            }
            Step::Op {
                client,
                op: ClientOp::Acquire,
                reply: Reply::Resent,
            } => {
                w.budget.spend(Fault::Retry);
                let idempotent = matches!(
                    self.caps.reentry,
                    Reentry::Counted {
                        idempotent: true,
                        ..
                    }
                );
                let first = self.run_acquire(w, client);
                let ran = if idempotent {
                    first
                } else {
                    self.run_acquire(w, client)
                };
                Some(self.settle(w, client, ran))
            }
            Step::Op {
                client,
                op: ClientOp::Write,
                reply: Reply::Now,
            } => {
                if let Some(lost) = self.deadline_passed(w, client) {
                    return Some(Some(lost));
                }
                let Client {
                    fence,
                    grant,
                    watchdog,
                    ..
                } = *w.roster.client(client);
                let outcome = self.resource.write(&mut w.resource, fence, grant);
                w.roster.client_mut(client).pc = Pc::Wrote;
                self.judge_told(w, watchdog.lost, &outcome);
                Some(outcome)
            }
            Step::Op {
                client,
                op: ClientOp::Release,
                reply: Reply::Now,
            } => {
                let lost = w.roster.client(client).watchdog.lost;
                let outcome = self.run_release(w, client);
                self.judge_told(w, lost, &outcome);
                Some(outcome)
            }
            Step::Tick => {
                if w.lease.is_none() && !Self::copies_leased(w) {
                    return None;
                }
                age(&mut w.lease);
                Self::tick_copies(w);
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
                // Clients keep their beliefs.
                self.restart(w);
                None
            }
            Step::Fsync => {
                Self::fsync(w);
                None
            }
            _ => return None,
        };
        Some(outcome)
    }

    /// Whether a tick may pass: some lease is left to run out, and none
    /// would end under an owner still at work (on the primary, or on an old
    /// primary across a partition).
    fn time_may_pass(&self, w: &World) -> bool {
        let old = w.isolated().and_then(|i| i.data.lease);
        let protected = |l: Option<Lease>| l.is_some_and(|l| l.ttl == 1 && w.works(l.owner));
        let leased = w.lease.is_some() || Self::copies_leased(w);
        // A renewing lock's lease is kept by its watchdog, not by the
        // holder's work: time may pass while the watchdog's period allows.
        let current = if w.lease.is_some() && self.caps.renews() {
            self.renewals_allow_tick(w)
        } else {
            !protected(w.lease)
        };
        leased && current && !protected(old)
    }

    /// The client runs, believes it holds, and its next write carries a
    /// token lower than one the resource accepted.
    fn about_to_write_stale(&self, w: &World, c: ClientId) -> bool {
        let client = w.roster.client(c);
        client.pc == Pc::Holding
            && client.depth == self.scenario().depth
            && !client.paused
            && client.fence < w.resource.highest
    }
}

impl System for LeaseModel {
    type World = World;

    fn of(scenario: Scenario, checking: &[PropertyName]) -> Self {
        let core = Core::new(scenario, checking, &PropertyName::ALL);
        let caps = scenario.protocol.caps();
        LeaseModel {
            resource: Resource::new(caps.fencing, &core),
            caps,
            core,
        }
    }

    fn core(&self) -> &Core {
        &self.core
    }

    fn initial(&self) -> World {
        let s = self.scenario();
        World {
            roster: Roster::new(
                s.clients,
                Client {
                    rounds_left: s.rounds,
                    ..Client::default()
                },
            ),
            lease: None,
            fence_counter: 0,
            resource: ResourceGhost::default(),
            budget: Budget::new(s.faults),
            foreign_release: None,
            self_wait: false,
            early_release: false,
            renewal: RenewalGhosts::default(),
            primary: NodeId::FIRST,
            copies: Default::default(),
            file: NodeData::default(),
            cut: None,
        }
    }

    fn actions(&self, w: &World, steps: &mut Vec<Step>) {
        let depth = self.scenario().depth;
        // A client on an old primary's side sees that primary.
        let mut old = w.clone();
        old.swap_isolated();
        w.roster.offer(&w.budget, steps, |client, c, steps| {
            let w = match w.reach(client) {
                partition::Reach::Isolated => &old,
                partition::Reach::Primary => w,
                // Nothing reaches Redis; the resource is elsewhere.
                partition::Reach::Nobody => {
                    if c.pc == Pc::Holding && c.depth == depth {
                        steps.push(Step::now(client, ClientOp::Write));
                    }
                    return;
                }
            };
            let refused = w.refuses_writes(client);
            let wants_a_level = match c.pc {
                Pc::Idle => true,
                Pc::Holding => c.depth < depth,
                _ => false,
            };
            if wants_a_level && !refused && self.acquire_enabled(w, client) {
                steps.push(Step::now(client, ClientOp::Acquire));
                if w.budget.left(Fault::Retry) > 0 {
                    steps.push(Step::Op {
                        client,
                        op: ClientOp::Acquire,
                        reply: Reply::Resent,
                    });
                }
            }
            match c.pc {
                Pc::Idle if w.lease.is_none() && !refused && w.budget.left(Fault::Delay) > 0 => {
                    steps.push(Step::Op {
                        client,
                        op: ClientOp::Acquire,
                        reply: Reply::Held,
                    });
                }
                Pc::Awaiting => steps.push(Step::Deliver { client }),
                Pc::Unconfirmed | Pc::Orphaned => steps.push(Step::now(client, ClientOp::Confirm)),
                Pc::Holding if c.depth == depth => steps.push(Step::now(client, ClientOp::Write)),
                Pc::Wrote if !refused => steps.push(Step::now(client, ClientOp::Release)),
                _ => {}
            }
            if self.caps.renews() {
                self.renewal_actions(w, client, steps);
            }
        });
        if self.time_may_pass(w) {
            steps.push(Step::Tick);
        }
        if w.cut.is_none() {
            self.persistence_actions(w, steps);
        }
        self.replica_actions(w, steps);
        self.partition_actions(w, steps);
    }

    fn condition(property: PropertyName) -> Condition<Self> {
        if let Some(shared) = lock_condition::<Self>(property) {
            return shared;
        }
        match property {
            PropertyName::NoForeignRelease => |_, w| w.foreign_release.is_none(),
            PropertyName::ReentryNoSelfWait => |_, w| !w.self_wait,
            PropertyName::NoEarlyRelease => |_, w| !w.early_release,
            PropertyName::NoLeakedHold => |_, w| !w.leaked_hold(),
            PropertyName::NoForeignExtension => |_, w| !w.renewal.foreign_extension,
            PropertyName::LossTold => |_, w| !w.renewal.untold,
            PropertyName::SomeoneRenews => |_, w| w.renewal.renewed,
            PropertyName::SomeoneReenters => |_, w| {
                w.roster
                    .clients()
                    .iter()
                    .any(|c| c.believes_it_holds() && c.depth > 1)
            },
            // Not a property of this family (the core never checks it).
            _ => |_, _| true,
        }
    }

    fn play(&self, w: &World, step: Step) -> Option<(World, Option<Outcome>)> {
        let mut next = w.clone();
        let outcome = self.apply(&mut next, step)?;
        self.track_renewal(&mut next, step == Step::Tick);
        Some((next, outcome))
    }

    /// An acquire of a client that wants another level but finds the lock
    /// held is a busy attempt; any other step the model does not allow here
    /// (an acquire of a client that holds all the levels it wants, a write
    /// of a client still waiting) is skipped.
    fn refused(&self, w: &World, step: Step) -> (Taken, Option<Outcome>) {
        match step {
            Step::Op {
                client,
                op: ClientOp::Acquire,
                reply: Reply::Now,
            } => {
                let c = w.roster.client(client);
                let wants = match c.pc {
                    Pc::Idle => true,
                    Pc::Holding => c.depth < self.scenario().depth,
                    _ => false,
                };
                if wants && !c.paused {
                    (Taken::Waits, Some(Outcome::Busy))
                } else {
                    (Taken::Skipped, None)
                }
            }
            _ => (Taken::Skipped, None),
        }
    }

    /// The lock key on the primary, then the replicas' copies the state
    /// keeps.
    fn clocks(&self, w: &World) -> Vec<LeaseClock> {
        w.lease
            .map(|l| LeaseClock {
                node: w.primary,
                key: KeyRole::Lock,
                ticks_left: l.ttl,
                ttl: self.scenario().ttl,
            })
            .into_iter()
            .chain(w.isolated().and_then(|i| {
                i.data.lease.map(|l| LeaseClock {
                    node: i.node,
                    key: KeyRole::Lock,
                    ticks_left: l.ttl,
                    ttl: self.scenario().ttl,
                })
            }))
            .chain(self.copy_clocks(w))
            .collect()
    }

    fn observed(&self) -> Vec<KeyRole> {
        vec![KeyRole::Lock]
    }

    fn tell(&self, turn: Turn<'_, World>) -> NarratedStep {
        narrate::Narrator::new(self).tell(turn)
    }

    /// After a foreign release: the shortest continuation in which two
    /// clients other than the releaser hold the lock at once — the harm the
    /// release did.
    fn aftermath(&self, property: PropertyName, at: &World) -> Option<Goal<Self>> {
        if property != PropertyName::NoForeignRelease {
            return None;
        }
        let releaser = at.foreign_release?.releaser;
        Some(std::sync::Arc::new(move |_, w: &World| {
            w.roster
                .believers()
                .iter()
                .filter(|c| **c != releaser)
                .count()
                > 1
        }))
    }

    /// Fencing at work: where `fenced-resource` holds but mutual exclusion
    /// does not, the shortest path to a write the resource refuses because a
    /// newer holder already wrote with a higher token.
    fn witness(&self, broken: &[PropertyName], holding: &[PropertyName]) -> Option<Probe<Self>> {
        let at_work = self.caps.fencing
            && holding.contains(&PropertyName::FencedResource)
            && broken.contains(&PropertyName::MutualExclusion);
        at_work.then(|| Probe {
            property: PropertyName::FencedResource,
            goal: std::sync::Arc::new(|m: &LeaseModel, w: &World| {
                w.roster.ids().any(|c| m.about_to_write_stale(w, c))
            }),
            then: Some(|m, w| {
                w.roster
                    .ids()
                    .find(|c| m.about_to_write_stale(w, *c))
                    .map(|client| Step::now(client, ClientOp::Write))
            }),
        })
    }
}

#[cfg(test)]
mod tests;

/// A lease loses a tick, and is gone at zero.
fn age(lease: &mut Option<Lease>) {
    if let Some(l) = lease.as_mut() {
        l.ttl -= 1;
        if l.ttl == 0 {
            *lease = None;
        }
    }
}
