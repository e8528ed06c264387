//! A network partition under Sentinel, for the lease family: the split
//! brain of the Sentinel page's "Consistency under partitions" and of
//! Jepsen's 2013 analysis.
//!
//! `partition n1+c1` cuts the network in two: the primary (`n1`), with the
//! replicas and clients the step names, on one side; every other replica
//! and client, and a majority of the Sentinels, on the other. (With the
//! majority on the primary's side nothing is promoted, and a cut only
//! delays the clients it isolates: no verdict here depends on it.)
//!
//! - A client reaches the primary of its side. On the far side that is
//!   nobody until the Sentinels there promote a replica of theirs
//!   (`failover nN`, which the partition allows once, outside the
//!   `failover` budget); from then on the new primary. A client with no
//!   primary to reach sends nothing to Redis (its requests would hang):
//!   it still writes to the protected resource, which is another system.
//! - The old primary keeps taking writes from the clients on its side — a
//!   second primary, with its own lock key and fencing counter ([`Cut`]).
//!   `WAIT` there counts the replicas on its side.
//! - With `min-replicas-to-write`, the old primary refuses writes once it
//!   has heard from too few replicas within `min-replicas-max-lag`
//!   (`noreplicas n1`, a step of its own: the checker tries it before and
//!   after the promotion, since which comes first is a matter of
//!   configuration and timing). A refused acquire or release is not taken:
//!   the client waits until the cut heals. Before that step, the old
//!   primary grants as any primary does: the lag is the window.
//! - `heal`: every link works again. An old primary that was replaced is
//!   demoted by Sentinel and resyncs from the new one: what only it had is
//!   gone, and its clients follow the new primary (a `WAIT` pending there
//!   confirms nothing).
//!
//! The state keeps which side each node and client is on (a few bits), the
//! old primary's data while it is one, and whether it refuses writes.
//! While a cut is in force no `restart` or `failover` fault is offered:
//! the partition is the fault.

use locklab_spec::fault::Fault;

use super::world::{Cut, Isolated, Pc, World, MAX_COPIES};
use super::{LeaseModel, NodeData};
use crate::side::Side;
use crate::step::{NodeFault, Step};
use crate::system::System;
use crate::world::{ClientId, NodeId};

/// Which primary a client or a replica reaches across the cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reach {
    /// The primary the Sentinels name ([`World::primary`]).
    Primary,
    /// The old primary, replaced but cut off from the Sentinels that
    /// replaced it.
    Isolated,
    /// None: the primary is across the cut, and nobody replaced it yet.
    Nobody,
}

impl World {
    /// The primary client `c` reaches.
    pub(super) fn reach(&self, c: ClientId) -> Reach {
        self.across(self.cut.map(|cut| cut.side.has_client(c)))
    }

    /// The primary replica `n` follows.
    pub(super) fn follows(&self, n: NodeId) -> Reach {
        self.across(self.cut.map(|cut| cut.side.has_node(n)))
    }

    fn across(&self, with_old_primary: Option<bool>) -> Reach {
        let replaced = self.cut.is_some_and(|cut| cut.isolated.is_some());
        match (with_old_primary, replaced) {
            (None, _) | (Some(true), false) => Reach::Primary,
            (Some(true), true) => Reach::Isolated,
            (Some(false), true) => Reach::Primary,
            (Some(false), false) => Reach::Nobody,
        }
    }

    /// The old primary replaced during the cut, if there is one.
    pub(super) fn isolated(&self) -> Option<Isolated> {
        self.cut.and_then(|cut| cut.isolated)
    }

    /// Swaps the old primary's node and data with the primary's, so that
    /// a step of a client on its side runs on it; swapping again undoes
    /// it.
    pub(super) fn swap_isolated(&mut self) {
        let Some(cut) = self.cut.as_mut() else {
            return;
        };
        let Some(iso) = cut.isolated.as_mut() else {
            return;
        };
        std::mem::swap(&mut self.lease, &mut iso.data.lease);
        std::mem::swap(&mut self.fence_counter, &mut iso.data.fence_counter);
        std::mem::swap(&mut self.primary, &mut iso.node);
    }

    /// Whether client `c`'s writes to Redis are refused: it is on the side
    /// of an old primary that heard from too few replicas.
    pub(super) fn refuses_writes(&self, c: ClientId) -> bool {
        self.cut
            .is_some_and(|cut| cut.stalled && cut.side.has_client(c))
    }
}

impl LeaseModel {
    /// Whether a partition may still cut, or one in force may still
    /// promote a replica: the replicas' copies are read then.
    pub(super) fn partition_may_promote(&self, w: &World) -> bool {
        w.budget.left(Fault::Partition) > 0 || w.cut.is_some_and(|cut| cut.isolated.is_none())
    }

    /// The partition's own steps: a cut while the budget lasts (every
    /// split of the replicas and of the clients still at work, the primary
    /// on the side named, something on the other); in one, the far side's
    /// promotion of a replica there, the old primary's refusal under
    /// `min-replicas-to-write`, and the heal.
    pub(super) fn partition_actions(&self, w: &World, steps: &mut Vec<Step>) {
        let Some(cut) = w.cut else {
            if w.budget.left(Fault::Partition) > 0 {
                self.cuts(w, steps);
            }
            return;
        };
        if cut.isolated.is_none() {
            for node in self.replica_nodes(w).filter(|n| !cut.side.has_node(*n)) {
                steps.push(Step::Node {
                    node,
                    fault: NodeFault::Failover,
                });
            }
        }
        let old = cut.isolated.map_or(w.primary, |i| i.node);
        let with_it = self
            .replica_nodes(w)
            .filter(|n| cut.side.has_node(*n))
            .count();
        let min = usize::from(self.scenario().min_replicas_to_write);
        if !cut.stalled && min > with_it {
            steps.push(Step::Node {
                node: old,
                fault: NodeFault::NoReplicas,
            });
        }
        steps.push(Step::Heal);
    }

    /// Every cut: the primary with each subset of its replicas and of the
    /// clients still at work (a finished client's side changes nothing),
    /// leaving something on the other side.
    fn cuts(&self, w: &World, steps: &mut Vec<Step>) {
        let replicas: Vec<NodeId> = self.replica_nodes(w).collect();
        let working: Vec<ClientId> = w
            .roster
            .ids()
            .filter(|c| !matches!(w.roster.client(*c).pc, Pc::Done | Pc::Crashed))
            .collect();
        for nodes in 0u16..1 << replicas.len() {
            for clients in 0u16..1 << working.len() {
                let mut side = Side::default().with_node(w.primary);
                for (i, n) in replicas.iter().enumerate() {
                    if nodes & 1 << i != 0 {
                        side = side.with_node(*n);
                    }
                }
                for (i, c) in working.iter().enumerate() {
                    if clients & 1 << i != 0 {
                        side = side.with_client(*c);
                    }
                }
                let cuts_something = usize::from(nodes) + 1 < 1 << replicas.len()
                    || usize::from(clients) + 1 < 1 << working.len();
                if cuts_something {
                    steps.push(Step::Partition { side });
                }
            }
        }
    }

    /// The network is cut: `side` on the old primary's side.
    pub(super) fn cut(w: &mut World, side: Side) {
        w.budget.spend(Fault::Partition);
        w.cut = Some(Cut {
            side,
            isolated: None,
            stalled: false,
        });
    }

    /// The far side's Sentinels promote replica `n` with what it has; the
    /// old primary goes on as a primary on its side. A `WAIT` pending on
    /// it from a client on the far side can never be answered.
    pub(super) fn promote_across(&self, w: &mut World, n: NodeId) {
        let old = Isolated {
            node: w.primary,
            data: Self::primary_data(w),
        };
        let promoted = w.copies[n.index()];
        w.lease = promoted.lease;
        w.fence_counter = promoted.fence_counter;
        w.primary = n;
        if let Some(cut) = w.cut.as_mut() {
            cut.isolated = Some(old);
        }
        if !self.tracks_copies(w) {
            w.copies = [NodeData::default(); MAX_COPIES];
        }
        let far: Vec<ClientId> = w
            .roster
            .ids()
            .filter(|c| w.reach(*c) == Reach::Primary)
            .collect();
        for c in far {
            let client = w.roster.client_mut(c);
            if client.pc == Pc::Unconfirmed {
                client.pc = Pc::Orphaned;
                client.acks = 0;
            }
        }
    }

    /// The old primary refuses writes from now on.
    pub(super) fn stall(w: &mut World) {
        if let Some(cut) = w.cut.as_mut() {
            cut.stalled = true;
        }
    }

    /// Every link works again; Sentinel demotes an old primary it replaced,
    /// which resyncs from the new one, and its clients follow the new one.
    pub(super) fn heal(&self, w: &mut World) {
        let Some(cut) = w.cut.take() else {
            return;
        };
        let Some(old) = cut.isolated else {
            return;
        };
        if self.tracks_copies(w) {
            let now = Self::primary_data(w);
            for n in self.replica_nodes(w) {
                if n == old.node || cut.side.has_node(n) {
                    w.copies[n.index()] = now;
                }
            }
        }
        for c in w
            .roster
            .ids()
            .filter(|c| cut.side.has_client(*c))
            .collect::<Vec<_>>()
        {
            let client = w.roster.client_mut(c);
            if client.pc == Pc::Unconfirmed {
                client.pc = Pc::Orphaned;
                client.acks = 0;
            }
        }
    }
}
