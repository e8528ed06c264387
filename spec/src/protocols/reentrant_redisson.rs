//! The re-entrant lock without attempt ids: Redisson's `RLock` shape as it
//! is, a hash `{owner → hold count}` whose acquire script adds one for the
//! owner whatever the request.
//!
//! It is there to show redisson#7367
//! (<https://github.com/redisson/redisson/issues/7367>): a `tryLock` whose
//! reply times out is sent again, the script runs twice, and the count is 2
//! where the owner believes 1 — its release leaves the lock held by nobody
//! who knows it, until the lease runs out (with Redisson's watchdog
//! renewing it: forever). And its acquire script takes a free lock at count
//! 1 whether or not the caller believes it is re-entering: when the owner's
//! lease ran out under it, its re-entry silently takes a fresh lock, and
//! its next release frees it while the owner is still inside.
//! [`super::reentrant`] fixes both: an attempt id, and a re-entry that adds
//! a level only to a hold that is still there.

use super::{CLIENT_FAULTS, CRASH, LEASE_FAULTS};
use crate::declaration::{claim, Capabilities, Claim, Declaration, Reentry, Shape};
use crate::family::Family;
use crate::fault::Fault;
use crate::property::PropertyName::*;

const NO_RETRY: &[Fault] = &[Fault::Pause, Fault::Delay, Fault::Crash, Fault::Restart];

/// The declaration of the re-entrant lock without attempt ids.
pub static DECLARATION: Declaration = Declaration {
    name: "reentrant-redisson",
    summary: "reentrant without attempt ids: a re-sent acquire adds one more level",
    lesson: "a retried acquire counts twice, and the lock outlives its owner's last release",
    family: Family::Lease,
    caps: Capabilities {
        reentry: Reentry::Counted {
            idempotent: false,
            guarded: false,
        },
        ..Capabilities::FENCED
    },
    claims: &[
        claim(MutualExclusion, CRASH),
        claim(NoForeignRelease, LEASE_FAULTS),
        claim(FencedResource, CLIENT_FAULTS),
        claim(EventuallyAcquired, LEASE_FAULTS),
        claim(ReentryNoSelfWait, LEASE_FAULTS),
        // Its re-entry takes a fresh lock at count 1 when its own lease ran
        // out under it (a pause, a delayed reply, a restart), and its
        // release then frees the lock while the owner is still inside.
        Claim {
            property: NoEarlyRelease,
            under: &[Fault::Crash, Fault::Retry],
        },
        claim(NoLeakedHold, NO_RETRY),
    ],
    fixed_by: &[&super::reentrant::DECLARATION],
    shape: Shape {
        depth: 2,
        ..Shape::LOCK
    },
    faults: LEASE_FAULTS,
};
