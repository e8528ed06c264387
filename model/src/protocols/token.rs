//! The token lock: `SET key <random token> NX PX ttl`, released by a Lua
//! script that deletes the key only if it still holds the caller's token.
//!
//! This is the single-instance algorithm of the Redis documentation
//! ("Distributed Locks with Redis", <https://redis.io/docs/manual/patterns/distributed-locks/>).
//! It removes the foreign release, but it cannot stop a holder that was
//! paused (GC, swap, SIGSTOP) or whose grant reply was delayed past its lease
//! from *believing* it still holds: a lease is a promise about time, and the
//! client cannot see time pass while it is stopped.

use crate::protocol::{Release, Rules};

/// The token lock's rules.
pub const RULES: Rules = Rules {
    checks_reply: true,
    unique_token: true,
    release: Release::CompareAndDelete,
    fencing: false,
};

/// What the token lock is there to show.
pub const LESSON: &str =
    "no foreign release, yet still two holders when a client pauses past its lease";
