//! `sync-cas` with a deduplicating sink: the effect carries the unit's id
//! (which names one version of the data: `u3` is the third write), and the
//! sink applies an id only once (`SADD sink:seen u3` decides, in the same
//! script as the `RPUSH`), so a unit processed twice — after a pause past
//! its claim, or a crash between processing and marking — has its effect
//! applied once. This is the sink's side of exactly-once, as fencing is the
//! resource's side of a lock: the claim cannot make a second processing
//! impossible, the sink can make it harmless.
//!
//! What it cannot do is bring back a unit Redis forgot (a restart without
//! persistence): that unit was never processed, and no sink sees it.

use super::{CLIENT_FAULTS_SYNC, SYNC_FAULTS};
use crate::declaration::{claim, Capabilities, Declaration, Shape, SyncCaps, Take};
use crate::family::Family;
use crate::property::PropertyName::*;

/// The compare-and-set claim with a deduplicating sink's declaration.
pub static DECLARATION: Declaration = Declaration {
    name: "sync-cas-dedup",
    summary: "sync-cas, with a sink that applies each unit id once (SADD + RPUSH in one script)",
    lesson: "a unit processed twice is applied once: exactly-once effects under pauses and crashes",
    family: Family::Sync,
    caps: Capabilities {
        sync: Some(SyncCaps {
            take: Take::VersionedClaim,
            dedup_sink: true,
        }),
        ..Capabilities::NOT_A_LOCK
    },
    claims: &[
        claim(NoDoubleProcessing, SYNC_FAULTS),
        claim(NoLostUpdate, CLIENT_FAULTS_SYNC),
        claim(ExactlyOnceSync, CLIENT_FAULTS_SYNC),
    ],
    fixed_by: &[],
    shape: Shape::SYNC,
    faults: SYNC_FAULTS,
};
