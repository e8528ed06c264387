//! A primary with replicas, for the lease family: asynchronous replication
//! as a step of its own, a failover that promotes a replica with whatever
//! it has, and the `WAIT` of a lock that confirms its grants.
//!
//! # Replication: catching up fully, at chosen moments
//!
//! Redis replicates asynchronously and in order: a replica applies its
//! primary's stream of writes as it receives it, so at any moment it holds
//! exactly what its primary held after some *prefix* of that stream — the
//! primary's state at some earlier moment (keys with a lease carry their
//! absolute expiry, so a copy runs out when the original would). The step
//! `replicate n` makes replica `n` catch up with *everything* its primary
//! has now, and the checker may take it after any step. A replica that
//! should hold the primary's state of some earlier moment `k` is the
//! replica that caught up at `k` and not since: the checker tries every
//! moment, so every prefix state a real replica can be in is one the model
//! reaches. Catching up part-way adds nothing: the stream's prefixes *are*
//! the primary's past states, one per step.
//!
//! A replica's copy matters only while a failover may still promote it:
//! once the failover budget is spent, no copy is ever read again, so the
//! state keeps none. From the last failover on, the model also lets the
//! replicas keep up (a `WAIT` is acknowledged, no `replicate` step is
//! offered): with no failover left, whether a grant is acknowledged
//! decides only whether its client goes on or releases and tries again —
//! its key is on the primary either way, as for `token` — so no safety
//! verdict depends on it. (The lab cannot hold a replica's stream after a
//! failover, and plays it the same way.) With no failover in the budget at
//! all, replication stays a step: a `WAIT` then counts exactly the
//! replicas that caught up. That keeps a scenario with replicas finite and
//! small; with no replicas, none of this is in the state at all, and the
//! lease family's state space is what it was.
//!
//! # Failover
//!
//! `failover n` promotes replica `n` with its copy: the new primary has the
//! lock key and fencing counter the replica had, however old. The old
//! primary is demoted and resyncs from the new one, losing what only it
//! had; every client follows the new primary at once. Real clients may go
//! on writing to the old primary until they notice (a forced failover
//! leaves it a primary for about two seconds, see `docs/failover.md`);
//! the model leaves that window out, and it changes none of these
//! verdicts: `token` and `fenced` break without it; with one replica, the
//! old primary has no replica left to acknowledge a `WAIT`, so a grant made
//! there during the window is never confirmed, and a release sent there
//! only deletes a copy nobody will read (the new primary keeps its key
//! until the lease ends: a delay, not a second holder); with two replicas,
//! `token-wait` breaks without it. The lab plays a failover the same way:
//! it makes every client follow before the next step.
//!
//! # `WAIT`
//!
//! A lock that confirms its grants (`wait_replicas > 0`) acquires in two
//! steps: `acquire` (`SET NX` on the primary: [`Outcome::Pending`], not yet
//! believed) and `confirm` (`WAIT n`: granted once `n` replicas caught up
//! since the grant; otherwise the client releases it and counts it as not
//! acquired, [`Outcome::Unacknowledged`]). A failover between the two
//! confirms nothing: `WAIT` counts acknowledgements of the connection's own
//! last write, and that connection was to the old primary.
//!
//! # `min-replicas-to-write`
//!
//! A scenario may set it. It changes no transition, because every replica
//! of the model stays connected and acknowledges — a lagging replica
//! acknowledges what it has every second, and Redis counts it as good
//! (measured: `docs/failover.md`) — so no state has fewer good replicas
//! than the setting may ask for. What it does stop, a primary cut off from
//! its replicas taking writes, is the window the model leaves out.

use locklab_spec::fault::Fault;

use super::partition::Reach;
use super::world::{Client, NodeData, Pc, World, MAX_COPIES};
use super::LeaseModel;
use crate::kit::renumbered;
use crate::narrate::{KeyRole, LeaseClock};
use crate::outcome::Outcome;
use crate::step::{NodeFault, Step};
use crate::system::System;
use crate::world::{ClientId, NodeId};

impl LeaseModel {
    /// Whether the protocol's grants count only once replicas acknowledge
    /// them.
    pub(super) fn confirms(&self) -> bool {
        self.caps.confirms()
    }

    /// The replicas in `w`: every node but the primary (and an old primary
    /// cut off from the Sentinels that replaced it).
    pub(super) fn replica_nodes(&self, w: &World) -> impl Iterator<Item = NodeId> + use<> {
        let primary = w.primary;
        let old = w.isolated().map(|i| i.node);
        (0..=self.scenario().replicas)
            .map(NodeId)
            .filter(move |n| *n != primary && Some(*n) != old)
    }

    /// Whether the state keeps the replicas' copies: only while a failover
    /// (or a partition) may still promote one.
    pub(super) fn tracks_copies(&self, w: &World) -> bool {
        self.scenario().replicas > 0
            && (w.budget.left(Fault::Failover) > 0 || self.partition_may_promote(w))
    }

    /// Whether a pending grant lacks acknowledgements.
    fn lacks(&self, c: &Client) -> bool {
        c.acks.count_ones() < u32::from(self.caps.wait_replicas)
    }

    /// From the last failover on (and once the last partition healed), the
    /// replicas keep up (see the module docs).
    fn keeps_up(&self, w: &World) -> bool {
        let faults = self.scenario().faults;
        let promotes = faults.budget(Fault::Failover) > 0 || faults.budget(Fault::Partition) > 0;
        promotes
            && w.budget.left(Fault::Failover) == 0
            && w.budget.left(Fault::Partition) == 0
            && w.cut.is_none()
    }

    /// What replica `n`'s primary has, across any cut (none: its primary
    /// is across the cut).
    fn source(w: &World, n: NodeId) -> Option<(Reach, NodeData)> {
        match w.follows(n) {
            Reach::Primary => Some((Reach::Primary, Self::primary_data(w))),
            Reach::Isolated => w.isolated().map(|i| (Reach::Isolated, i.data)),
            Reach::Nobody => None,
        }
    }

    /// The primary granted `c` the lock; it waits for acknowledgements.
    /// The grant has its number already, from the `SET` that made it (as
    /// every lease lock's): the resource's order is the order Redis granted
    /// in, whatever the client then decides.
    pub(super) fn pend(&self, w: &mut World, c: ClientId) -> Outcome {
        let lease = w.lease.expect("a grant leaves a lease");
        let client = w.roster.client_mut(c);
        client.pc = Pc::Unconfirmed;
        client.fence = lease.fence;
        client.grant = lease.grant;
        client.waiting = false;
        client.acks = 0;
        Outcome::Pending
    }

    /// `WAIT`: enough replicas caught up since the grant, so the client
    /// holds the lock; or too few, so it releases the grant
    /// (compare-and-delete) and counts it as not acquired.
    pub(super) fn confirm(&self, w: &mut World, c: ClientId) -> Outcome {
        let client = w.roster.client(c);
        if client.pc == Pc::Unconfirmed && (!self.lacks(client) || self.keeps_up(w)) {
            let counted = self.counted();
            let client = w.roster.client_mut(c);
            client.pc = Pc::Holding;
            client.depth += 1;
            client.acks = 0;
            return Outcome::Granted {
                token: None,
                fence: self.caps.fencing.then_some(u64::from(client.fence)),
                count: counted.then_some(1),
            };
        }
        if w.lease.is_some_and(|l| l.owner == c) {
            w.lease = None;
        }
        // Never held: its number goes back, or a client refused again and
        // again would count forever.
        let withdrawn = client.grant;
        self.resource.give_back(&mut w.resource, withdrawn);
        renumber(w, withdrawn);
        let client = w.roster.client_mut(c);
        *client = Client {
            rounds_left: client.rounds_left,
            ..Client::default()
        };
        Outcome::Unacknowledged
    }

    /// Replica `n` catches up with its primary; every pending grant it had
    /// not acknowledged yet now is.
    pub(super) fn replicate(&self, w: &mut World, n: NodeId) {
        let Some((reach, data)) = Self::source(w, n) else {
            return;
        };
        if self.tracks_copies(w) {
            w.copies[n.index()] = data;
        }
        let needs = |c: &Client| c.pc == Pc::Unconfirmed && self.lacks(c);
        for c in w
            .roster
            .ids()
            .filter(|c| w.reach(*c) == reach)
            .collect::<Vec<_>>()
        {
            let client = w.roster.client_mut(c);
            if needs(client) {
                client.acks |= 1 << n.0;
            }
        }
    }

    /// Sentinel promotes replica `n` with its copy; the old primary is
    /// demoted and resyncs from it; pending grants confirm nothing.
    pub(super) fn failover(&self, w: &mut World, n: NodeId) {
        w.budget.spend(Fault::Failover);
        let old = w.primary;
        let promoted = std::mem::take(&mut w.copies[n.index()]);
        w.lease = promoted.lease;
        w.fence_counter = promoted.fence_counter;
        w.primary = n;
        if self.tracks_copies(w) {
            w.copies[old.index()] = promoted;
        } else {
            w.copies = [NodeData::default(); MAX_COPIES];
        }
        for client in w.roster.clients_mut() {
            if client.pc == Pc::Unconfirmed {
                client.pc = Pc::Orphaned;
                client.acks = 0;
            }
        }
    }

    /// A tick for the replicas' copies, the append-only file's and an old
    /// primary's across a partition: each lease loses a tick, and is gone
    /// at zero, as on the primary.
    pub(super) fn tick_copies(w: &mut World) {
        let old = w.cut.as_mut().and_then(|c| c.isolated.as_mut());
        for copy in w
            .copies
            .iter_mut()
            .chain([&mut w.file])
            .chain(old.map(|i| &mut i.data))
        {
            super::age(&mut copy.lease);
        }
    }

    /// Whether a replica's copy, the append-only file's, or an old primary
    /// across a partition has a lease that time can run out.
    pub(super) fn copies_leased(w: &World) -> bool {
        let old = w.isolated().is_some_and(|i| i.data.lease.is_some());
        old || w.copies.iter().chain([&w.file]).any(|c| c.lease.is_some())
    }

    /// The replicas' steps: catching up where it changes something (a copy
    /// that lacks what the primary has, a pending grant it would
    /// acknowledge), and a failover to each while the budget lasts.
    pub(super) fn replica_actions(&self, w: &World, actions: &mut Vec<Step>) {
        if self.scenario().replicas == 0 || self.keeps_up(w) {
            return;
        }
        let tracks = self.tracks_copies(w);
        for node in self.replica_nodes(w) {
            let Some((reach, data)) = Self::source(w, node) else {
                continue;
            };
            let behind = tracks && w.copies[node.index()] != data;
            let acknowledges = w.roster.ids().any(|id| {
                let c = w.roster.client(id);
                w.reach(id) == reach
                    && c.pc == Pc::Unconfirmed
                    && self.lacks(c)
                    && c.acks & (1 << node.0) == 0
            });
            if behind || acknowledges {
                actions.push(Step::Replicate { node });
            }
        }
        if w.budget.left(Fault::Failover) > 0 && w.cut.is_none() {
            for node in self.replica_nodes(w) {
                actions.push(Step::Node {
                    node,
                    fault: NodeFault::Failover,
                });
            }
        }
    }

    /// The replicas' copies with a lease, for the lab's clock (and its
    /// looks at the replicas).
    pub(super) fn copy_clocks(&self, w: &World) -> Vec<LeaseClock> {
        self.replica_nodes(w)
            .filter_map(|node| {
                w.copies[node.index()].lease.map(|l| LeaseClock {
                    node,
                    key: KeyRole::Lock,
                    ticks_left: l.ttl,
                    ttl: self.scenario().ttl,
                })
            })
            .collect()
    }
}

/// Moves every grant number after `withdrawn` down one (see
/// [`Resource::give_back`](crate::kit::Resource::give_back)).
fn renumber(w: &mut World, withdrawn: u8) {
    if withdrawn == 0 {
        return;
    }
    for c in w.roster.clients_mut() {
        c.grant = renumbered(c.grant, withdrawn);
    }
    let old = w.cut.as_mut().and_then(|c| c.isolated.as_mut());
    let keys = [&mut w.lease, &mut w.file.lease]
        .into_iter()
        .chain(w.copies.iter_mut().map(|c| &mut c.lease))
        .chain(old.map(|i| &mut i.data.lease));
    for lease in keys.flatten() {
        lease.grant = renumbered(lease.grant, withdrawn);
    }
}
