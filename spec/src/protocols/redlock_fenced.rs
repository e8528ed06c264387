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
//! a lower token, and under a pause the resource then takes the stale
//! holder's write. So `fenced-resource` is claimed only where mutual
//! exclusion already holds (there the writes come in grant order anyway);
//! the `pause` cell is the computed answer, explained in `docs/redlock.md`.

use super::redlock::REDLOCK_SAFE;
use super::QUORUM_FAULTS;
use crate::declaration::{Capabilities, Claim, Declaration, Family, Reentry, Release, Shape};
use crate::property::PropertyName::*;

/// The declaration of Redlock with a token from the masters' counters.
pub static DECLARATION: Declaration = Declaration {
    name: "redlock-fenced",
    summary: "redlock, each master's grant bumping its counter; the token is the largest of the majority's",
    lesson: "a token made from a majority's counters is not monotonic: computed, not assumed",
    family: Family::Quorum,
    caps: Capabilities {
        checks_reply: true,
        unique_token: true,
        release: Release::CompareAndDelete,
        fencing: true,
        reentry: Reentry::None,
        sync: None,
        wait_replicas: 0,
    },
    claims: &[
        Claim {
            property: MutualExclusion,
            under: REDLOCK_SAFE,
        },
        Claim {
            property: FencedResource,
            under: REDLOCK_SAFE,
        },
        Claim {
            property: EventuallyAcquired,
            under: QUORUM_FAULTS,
        },
    ],
    fixed_by: &[],
    shape: Shape::QUORUM,
    faults: QUORUM_FAULTS,
};
