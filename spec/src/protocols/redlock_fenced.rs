//! Redlock with a fencing token made from the masters: each master keeps a
//! counter that its acquire script bumps with every grant (`SET NX`, then
//! `INCR`, in one script), and the client's token is the largest counter of
//! the majority that granted it. The protected resource refuses writes with
//! a token lower than the highest it accepted, as for the fenced lock.
//!
//! Redlock's documentation offers no fencing token, and Kleppmann's
//! critique says it cannot generate one. Whether *this* token — the obvious
//! construction — grows with every grant is not assumed here: it is the
//! question the model answers. It does not: two majorities share a master,
//! but the largest counter of the first can sit on a master the second did
//! not get (failed attempts bump counters too), so a later grant can carry
//! the same token as an earlier one, and under a pause (or a clock jump)
//! the resource then takes the stale holder's write. So `fenced-resource`
//! is claimed only where mutual exclusion already holds (there the writes
//! come in grant order anyway); the `pause` and `clock-jump` cells are the
//! computed answer, explained in `docs/redlock.md`.

use super::redlock::REDLOCK_SAFE;
use super::QUORUM_FAULTS;
use crate::declaration::{claim, Capabilities, Declaration, Shape};
use crate::family::Family;
use crate::property::PropertyName::*;

/// The declaration of Redlock with a token from the masters' counters.
pub static DECLARATION: Declaration = Declaration {
    name: "redlock-fenced",
    summary: "redlock, each master's grant bumping its counter; the token is the largest of the majority's",
    lesson: "a token made from a majority's counters is not monotonic: computed, not assumed",
    family: Family::Quorum,
    caps: Capabilities::FENCED,
    claims: &[
        claim(MutualExclusion, REDLOCK_SAFE),
        claim(FencedResource, REDLOCK_SAFE),
        claim(EventuallyAcquired, QUORUM_FAULTS),
    ],
    fixed_by: &[],
    shape: Shape::QUORUM,
    faults: QUORUM_FAULTS,
};
