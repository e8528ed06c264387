//! The naive lock: `SET key 1 NX PX ttl` to acquire, `DEL key` to release.
//!
//! This is the lock of the popular article locklab answers (and of many
//! tutorials): the reply of `SET NX` is checked, the lease bounds how long a
//! crashed holder blocks the others, but the release deletes *whatever* lock
//! is there. When the holder is paused past its lease, another client
//! acquires, and the first client's `DEL` removes the second client's lock —
//! so a third client gets in beside the second. Redis's own documentation of
//! `SET` warns against this pattern ("Patterns" section of
//! <https://redis.io/commands/set/>). Used re-entrantly, as the article
//! claims it can be, the holder's second `SET NX` fails on its own lock: it
//! waits for itself until its lease runs out, and its first `DEL` frees the
//! lock while it is still inside.

use super::{CRASH, LEASE_FAULTS};
use crate::declaration::{claim, Capabilities, Declaration, Shape};
use crate::family::Family;
use crate::property::PropertyName::*;

/// The naive lock's declaration.
pub static DECLARATION: Declaration = Declaration {
    name: "naive",
    summary: "SET key 1 NX PX ttl; release by DEL key",
    lesson:
        "the unsafe release: a late DEL removes the next holder's lock and lets a third client in",
    family: Family::Lease,
    caps: Capabilities::NAIVE,
    claims: &[
        claim(MutualExclusion, CRASH),
        claim(NoForeignRelease, CRASH),
        claim(EventuallyAcquired, LEASE_FAULTS),
    ],
    fixed_by: &[
        &super::token::DECLARATION,
        &super::fenced::DECLARATION,
        &super::reentrant::DECLARATION,
    ],
    shape: Shape::LOCK,
    faults: LEASE_FAULTS,
};
