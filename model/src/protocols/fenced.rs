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

use crate::protocol::{Release, Rules};

/// The fenced lock's rules.
pub const RULES: Rules = Rules {
    checks_reply: true,
    unique_token: true,
    release: Release::CompareAndDelete,
    fencing: true,
};

/// What the fenced lock is there to show.
pub const LESSON: &str =
    "mutual exclusion is lost under pauses, but the resource refuses every stale write";
