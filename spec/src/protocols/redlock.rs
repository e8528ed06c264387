//! Redlock: the token lock on N independent Redis masters. A client sends
//! `SET key <token> NX PX ttl` to every master, counts the grants and the
//! time the round took, and holds the lock only with a majority *and* a
//! validity `ttl − elapsed − drift` left; otherwise it releases on every
//! master (also those whose reply it never got) and tries again later.
//!
//! The algorithm is the Redis documentation's ("Distributed Locks with
//! Redis", <https://redis.io/docs/manual/patterns/distributed-locks/>). Its
//! claims are the documentation's own: mutual exclusion as long as the
//! masters keep their keys and the clocks advance at about the same rate —
//! so with no fault, under client crashes, slow or lost replies (the
//! elapsed time is subtracted from the validity), and under a master crash
//! when the master stays down for a lease before it rejoins (the page's
//! *delayed restart*). The page itself says a master restarted without
//! persistence breaks it at once; Martin Kleppmann ("How to do distributed
//! locking", 2016) adds that a clock jump on one master and a client paused
//! past its validity break it too, and antirez's reply ("Is Redlock safe?",
//! 2016) answers that both violate the algorithm's assumptions — bounded
//! drift, and a holder that finishes within its validity — rather than
//! refute it. Those cells are lessons, not claims; `docs/redlock.md` walks
//! through them against the checker's verdicts.

use super::QUORUM_FAULTS;
use crate::declaration::{claim, Capabilities, Declaration, Shape};
use crate::family::Family;
use crate::fault::Fault;
use crate::property::PropertyName::*;

/// What Redlock's documentation promises mutual exclusion under.
pub(crate) const REDLOCK_SAFE: &[Fault] = &[Fault::Delay, Fault::Crash, Fault::DelayedRestart];

/// Redlock's declaration.
pub static DECLARATION: Declaration = Declaration {
    name: "redlock",
    summary: "SET key <token> NX PX ttl on N masters; a majority within ttl − elapsed − drift; release on all",
    lesson: "a majority survives crashes and slow replies, not a master that forgets, a clock that jumps, or a pause",
    family: Family::Quorum,
    caps: Capabilities::TOKEN,
    claims: &[
        claim(MutualExclusion, REDLOCK_SAFE),
        claim(EventuallyAcquired, QUORUM_FAULTS),
    ],
    fixed_by: &[&super::redlock_fenced::DECLARATION],
    shape: Shape::QUORUM,
    faults: QUORUM_FAULTS,
};
