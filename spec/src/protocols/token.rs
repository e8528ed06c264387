//! The token lock: `SET key <random token> NX PX ttl`, released by a Lua
//! script that deletes the key only if it still holds the caller's token.
//!
//! This is the single-instance algorithm of the Redis documentation
//! ("Distributed Locks with Redis", <https://redis.io/docs/manual/patterns/distributed-locks/>).
//! It removes the foreign release, but it cannot stop a holder that was
//! paused (GC, swap, SIGSTOP) or whose grant reply was delayed past its lease
//! from *believing* it still holds: a lease is a promise about time, and the
//! client cannot see time pass while it is stopped.

use super::{CRASH, REPLICATED_FAULTS};
use crate::declaration::{claim, Capabilities, Declaration, Shape};
use crate::family::Family;
use crate::property::PropertyName::*;

/// The token lock's declaration.
pub static DECLARATION: Declaration = Declaration {
    name: "token",
    summary: "SET key <token> NX PX ttl; release by compare-and-delete (Lua)",
    lesson: "no foreign release, yet still two holders when a client pauses past its lease",
    family: Family::Lease,
    caps: Capabilities::TOKEN,
    claims: &[
        claim(MutualExclusion, CRASH),
        claim(NoForeignRelease, REPLICATED_FAULTS),
        claim(EventuallyAcquired, REPLICATED_FAULTS),
    ],
    fixed_by: &[&super::fenced::DECLARATION, &super::reentrant::DECLARATION],
    shape: Shape::LOCK,
    faults: REPLICATED_FAULTS,
};
