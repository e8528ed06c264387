//! The re-entrant lock the article promises and never builds: a hash
//! `{owner → hold count}` behind Lua scripts, in the shape of Redisson's
//! `RLock` (<https://github.com/redisson/redisson/wiki/8.-distributed-locks-and-synchronizers>).
//!
//! The owner's acquire adds one to its count and renews the lease; anyone
//! else's is busy; a release takes one off and deletes the key at zero, so
//! the owner never waits for itself and never frees the lock while still
//! inside. Two details make it safe where the shape alone is not:
//!
//! - **Fencing for re-entry**: the fencing token grows only when the lock
//!   goes from free to held, and a re-entry gets the token it already has
//!   (the rule of Jepsen's `ReentrantFencedMutex`). Redisson's fenced lock
//!   bumps the token on every acquisition instead; for one holder that
//!   changes nothing the resource can see, but it makes a re-entry look like
//!   a new holder, and the resource would refuse the holder's own earlier
//!   token — so locklab follows Jepsen.
//! - **Idempotent attempts**: every acquire carries an attempt id, and the
//!   script remembers the owner's last one, so a request sent again after
//!   its reply was lost is counted once. Without it, a retried `tryLock`
//!   leaves the count at 2 and the lock is never fully released
//!   (redisson#7367) — see [`super::reentrant_redisson`].

use super::{CLIENT_FAULTS, CRASH, LEASE_FAULTS};
use crate::declaration::{claim, Capabilities, Declaration, Reentry, Shape};
use crate::family::Family;
use crate::property::PropertyName::*;

/// The re-entrant lock's declaration.
pub static DECLARATION: Declaration = Declaration {
    name: "reentrant",
    summary: "a hash {owner → count} (Lua): the owner's acquire adds one, its release takes one off; attempt ids",
    lesson: "re-entry done right: no self-wait, no early release, a retried acquire counted once",
    family: Family::Lease,
    caps: Capabilities {
        reentry: Reentry::Counted {
            idempotent: true,
            guarded: true,
        },
        ..Capabilities::FENCED
    },
    claims: &[
        claim(MutualExclusion, CRASH),
        claim(NoForeignRelease, LEASE_FAULTS),
        claim(FencedResource, CLIENT_FAULTS),
        claim(EventuallyAcquired, LEASE_FAULTS),
        claim(ReentryNoSelfWait, LEASE_FAULTS),
        claim(NoEarlyRelease, LEASE_FAULTS),
        claim(NoLeakedHold, LEASE_FAULTS),
    ],
    fixed_by: &[],
    shape: Shape {
        depth: 2,
        ..Shape::LOCK
    },
    faults: LEASE_FAULTS,
};
