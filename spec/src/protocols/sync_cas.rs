//! Claim before processing, by compare-and-set: a worker reads the unit
//! (`MGET key key:claim`), then claims it with a Lua script that checks the
//! key still holds that very unit and nobody claims it, and leases the
//! claim (`SET key:claim <worker> PX ttl`); after processing, a second
//! script marks it done only if the key still holds the unit and the claim
//! is not another's. A claim that loses the race is a conflict: the worker
//! reads again, a bounded number of times, with jittered backoff (an
//! unbounded `WATCH` retry loop is the classic failure of this pattern:
//! redis-py#566).
//!
//! Unit ids are never reused, so the value compared is its own version. A
//! `WATCH`/`MULTI`/`EXEC` transaction would do the same compare-and-set,
//! but only on a connection of its own: `WATCH` state belongs to the
//! connection, and a multiplexed connection shared by several workers
//! would let one worker's `EXEC` be judged by another's `WATCH`.
//!
//! The claim is leased so that a unit whose claimant crashed can be
//! claimed again. That is exactly what a pause (or a claim reply delayed
//! past the lease) turns into a second processing: with no fault it keeps
//! both properties, under a pause or a crash after processing it processes
//! twice, and it never loses a unit to a client fault. A Redis restart
//! without persistence loses the unit in the key.

use super::{CLIENT_FAULTS_SYNC, SYNC_FAULTS};
use crate::declaration::{claim, Capabilities, Declaration, Shape, SyncCaps, Take};
use crate::family::Family;
use crate::property::PropertyName::*;

/// The compare-and-set claim's declaration.
pub static DECLARATION: Declaration = Declaration {
    name: "sync-cas",
    summary: "read; claim by compare-and-set (Lua, key:claim PX ttl), bounded retries; process; mark by compare-and-set",
    lesson: "no double processing and no lost unit with no fault; a pause past the claim processes twice",
    family: Family::Sync,
    caps: Capabilities {
        sync: Some(SyncCaps {
            take: Take::VersionedClaim,
            dedup_sink: false,
        }),
        ..Capabilities::NOT_A_LOCK
    },
    claims: &[
        claim(NoDoubleProcessing, &[]),
        claim(NoLostUpdate, CLIENT_FAULTS_SYNC),
        claim(ExactlyOnceSync, &[]),
    ],
    fixed_by: &[&super::sync_cas_dedup::DECLARATION],
    shape: Shape::SYNC,
    faults: SYNC_FAULTS,
};
