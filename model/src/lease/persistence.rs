//! A restart of the primary, as its persistence setting makes it: what
//! comes back, and what its replicas do with it.
//!
//! The fault is the one the Redis replication page warns of: the primary
//! crashes and its supervisor restarts it faster than Sentinel declares it
//! down, so no failover happens. It comes back with what it kept on disk
//! ([`Persistence`]), still the primary, and its replicas resync to that —
//! with no persistence, to nothing: every copy of the lock is gone. Every
//! client's connection to it closed, so a pending `WAIT` confirms nothing
//! (as after a failover).
//!
//! - `none`: back empty.
//! - `everysec`: back with what its append-only file had at the last
//!   [`Step::Fsync`], which the checker may take after any step — the file
//!   on disk is a prefix of the write stream, as a replica's copy is (see
//!   [`super::replication`]). The state keeps that copy only while a
//!   restart may still read it. (A process killed loses nothing the kernel
//!   was handed; the last second is lost when the machine goes down with
//!   it, which is the crash this setting is chosen against.)
//! - `always`: back with everything: every write was fsynced before its
//!   reply.
//!
//! The file's copy of the lease carries its absolute expiry, as a
//! replica's does, so it runs out while the server is up.

use locklab_spec::fault::Fault;
use locklab_spec::persistence::Persistence;

use super::world::{NodeData, Pc, World};
use super::LeaseModel;
use crate::step::{NodeFault, Step};
use crate::system::System;

impl LeaseModel {
    /// Whether the state keeps the append-only file's copy: with
    /// `everysec`, while a restart may still read it.
    fn tracks_file(&self, w: &World) -> bool {
        self.scenario().persistence == Persistence::Everysec && w.budget.left(Fault::Restart) > 0
    }

    /// What the primary has now.
    pub(super) fn primary_data(w: &World) -> NodeData {
        NodeData {
            lease: w.lease,
            fence_counter: w.fence_counter,
        }
    }

    /// The primary crashes and is restarted at once with what it kept; its
    /// replicas resync to that; every connection to it closed.
    pub(super) fn restart(&self, w: &mut World) {
        w.budget.spend(Fault::Restart);
        let kept = match self.scenario().persistence {
            Persistence::None => NodeData::default(),
            Persistence::Everysec => w.file,
            Persistence::Always => Self::primary_data(w),
        };
        w.lease = kept.lease;
        w.fence_counter = kept.fence_counter;
        if self.tracks_copies(w) {
            for node in self.replica_nodes(w) {
                w.copies[node.index()] = kept;
            }
        }
        w.file = if self.tracks_file(w) {
            kept
        } else {
            NodeData::default()
        };
        for client in w.roster.clients_mut() {
            if client.pc == Pc::Unconfirmed {
                client.pc = Pc::Orphaned;
                client.acks = 0;
            }
        }
    }

    /// The append-only file is fsynced: it has what the primary has.
    pub(super) fn fsync(w: &mut World) {
        w.file = Self::primary_data(w);
    }

    /// The steps of the primary's persistence: a restart while the budget
    /// lasts and there is something it could lose (the lock, the fencing
    /// counter, a `WAIT` in progress), and an fsync where the file lacks
    /// something.
    pub(super) fn persistence_actions(&self, w: &World, steps: &mut Vec<Step>) {
        let pending = w.roster.clients().iter().any(|c| c.pc == Pc::Unconfirmed);
        if w.budget.left(Fault::Restart) > 0
            && (w.lease.is_some() || w.fence_counter > 0 || pending)
        {
            steps.push(Step::Node {
                node: w.primary,
                fault: NodeFault::Restart,
            });
        }
        if self.tracks_file(w) && w.file != Self::primary_data(w) {
            steps.push(Step::Fsync);
        }
    }
}
