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
//! A primary can also come back without the lock and keep its replicas:
//! the Redis replication page's "Safety of replication when master has
//! persistence turned off" — a primary restarted by its supervisor faster
//! than Sentinel declares it down comes back with what it kept on disk,
//! still the primary, and its replicas resync to that. With no persistence
//! every copy of a confirmed grant is gone; `WAIT` cannot help, and
//! `appendfsync always` can (see `locklab_model::lease::persistence`).
//!
//! Its menu leaves out `delay` and `retry`: they act on one request's
//! reply, and this acquire is two requests. `WAIT` runs on the connection
//! that sent the `SET`: it counts the replicas that acknowledged that
//! connection's last write, so after a reconnect it would confirm nothing.

use super::CRASH;
use crate::declaration::{claim, Capabilities, Declaration, Shape};
use crate::family::Family;
use crate::fault::Fault;
use crate::property::PropertyName::*;

const FAULTS: &[Fault] = &[
    Fault::Pause,
    Fault::Crash,
    Fault::Restart,
    Fault::Failover,
    Fault::Partition,
];

/// The declaration of the token lock with `WAIT 1`.
pub static DECLARATION: Declaration = Declaration {
    name: "token-wait",
    summary: "token, then WAIT 1 <timeout>; a grant no replica acknowledged is released, not acquired",
    lesson: "WAIT 1 keeps the lock through a failover with one replica, not with two (the one promoted may be the one that did not acknowledge), nor through a primary restarted without persistence (its replicas resync to nothing)",
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
