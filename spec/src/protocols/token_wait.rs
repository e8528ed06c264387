//! The token lock with `WAIT`: `SET key <token> NX PX ttl` on the primary,
//! then `WAIT 1 <timeout>`; a grant no replica acknowledged within the
//! timeout is released and counts as not acquired.
//!
//! Replication is asynchronous: the primary answers `OK` before any
//! replica has the key, and a failover to a replica without it loses the
//! lock (the Redis distributed-lock page names this). `WAIT` is the
//! mitigation people reach for; its own page says it "does not make Redis
//! a strongly consistent store" (<https://redis.io/commands/wait/>). The
//! checker says how far it goes: with one replica, the replica that
//! acknowledged is the only one Sentinel can promote, so a confirmed grant
//! survives the failover; with two, `WAIT 1` returns once *one* has it, and
//! Sentinel may promote the other.
//!
//! Its menu leaves out `delay` and `retry` (they act on one request's
//! reply, and this acquire is two requests) and `restart` (a Sentinel
//! primary that crashes is failed over, not restarted empty under its
//! replicas). `WAIT` runs on the connection that sent the `SET`: it counts
//! the replicas that acknowledged that connection's last write, so after a
//! reconnect it would confirm nothing.

use super::CRASH;
use crate::declaration::{claim, Capabilities, Declaration, Shape};
use crate::family::Family;
use crate::fault::Fault;
use crate::property::PropertyName::*;

const FAULTS: &[Fault] = &[Fault::Pause, Fault::Crash, Fault::Failover];

/// The declaration of the token lock with `WAIT 1`.
pub static DECLARATION: Declaration = Declaration {
    name: "token-wait",
    summary: "token, then WAIT 1 <timeout>; a grant no replica acknowledged is released, not acquired",
    lesson: "WAIT 1 keeps the lock through a failover with one replica, not with two: the one promoted may be the one that did not acknowledge",
    family: Family::Lease,
    caps: Capabilities {
        wait_replicas: 1,
        ..Capabilities::TOKEN
    },
    claims: &[
        claim(MutualExclusion, CRASH),
        claim(NoForeignRelease, FAULTS),
        claim(EventuallyAcquired, FAULTS),
    ],
    fixed_by: &[],
    shape: Shape {
        replicas: 1,
        ..Shape::LOCK
    },
    faults: FAULTS,
};
