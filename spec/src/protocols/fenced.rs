//! The fenced lock: the token lock, plus a fencing token — a number from a
//! counter incremented in the same script that grants the lock, so it grows
//! strictly with every grant — which the protected resource checks on every
//! write, refusing any token lower than the highest it has accepted.
//!
//! Fencing follows Martin Kleppmann, "How to do distributed locking" (2016,
//! <https://martin.kleppmann.com/2016/02/08/how-to-do-distributed-locking.html>).
//! It does not restore mutual exclusion — a paused client still believes it
//! holds — but it makes that belief harmless: the stale holder's write is
//! refused. Belief is not effect.

use super::{CLIENT_FAULTS, CRASH, REPLICATED_FAULTS};
use crate::declaration::{claim, Capabilities, Declaration, Shape};
use crate::family::Family;
use crate::property::PropertyName::*;

/// The fenced lock's declaration.
pub static DECLARATION: Declaration = Declaration {
    name: "fenced",
    summary: "token, plus a fencing token from a counter bumped in the grant's script",
    lesson: "mutual exclusion is lost under pauses, but the resource refuses every stale write",
    family: Family::Lease,
    caps: Capabilities::FENCED,
    claims: &[
        claim(MutualExclusion, CRASH),
        claim(NoForeignRelease, REPLICATED_FAULTS),
        claim(FencedResource, CLIENT_FAULTS),
        claim(EventuallyAcquired, REPLICATED_FAULTS),
    ],
    fixed_by: &[&super::reentrant::DECLARATION],
    shape: Shape::LOCK,
    faults: REPLICATED_FAULTS,
};
