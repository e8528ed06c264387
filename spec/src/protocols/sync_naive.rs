//! The article's "distributed sync", as it means to work: a worker reads
//! the unit of work with `GET key`, processes it, and marks it done with
//! `SET key processed EX 10` (here `PX <ttl ticks>`).
//!
//! It claims consistency and reliability, and has neither, with no fault at
//! all: two workers that `GET` before either `SET`s both process the same
//! unit, and a unit the producer writes between a worker's `GET` and its
//! `SET` is overwritten by the marker unprocessed. (As printed, the
//! article's program also treats an absent key — go-redis's `redis.Nil` —
//! as a failure and calls `rdb.Val()`, which a client does not have: it
//! does not compile. The model is of the pattern as intended: an absent key
//! means there is nothing to do.)

use super::SYNC_FAULTS;
use crate::declaration::{Capabilities, Declaration, Shape, SyncCaps, Take};
use crate::family::Family;

/// The article's sync pattern's declaration.
pub static DECLARATION: Declaration = Declaration {
    name: "sync-naive",
    summary: "GET key; process; SET key processed EX ttl (the article's sync)",
    lesson: "units processed twice and units lost, with no fault at all",
    family: Family::Sync,
    caps: Capabilities {
        sync: Some(SyncCaps {
            take: Take::Read,
            dedup_sink: false,
        }),
        ..Capabilities::NOT_A_LOCK
    },
    claims: &[],
    fixed_by: &[
        &super::sync_cas::DECLARATION,
        &super::sync_stream::DECLARATION,
    ],
    shape: Shape::SYNC,
    faults: SYNC_FAULTS,
};
