//! `sync-stream` with a deduplicating sink: at-least-once delivery and an
//! effect applied at most once per unit id make the effect exactly-once
//! under every client fault — the usual production answer ("idempotent
//! consumer"). A unit a restart without persistence took out of the Stream
//! before anyone read it is still lost: no sink can apply what it never
//! receives.

use super::{CLIENT_FAULTS_SYNC, SYNC_FAULTS};
use crate::declaration::{claim, Capabilities, Declaration, Shape, SyncCaps, Take};
use crate::family::Family;
use crate::property::PropertyName::*;

/// The consumer group with a deduplicating sink's declaration.
pub static DECLARATION: Declaration = Declaration {
    name: "sync-stream-dedup",
    summary: "sync-stream, with a sink that applies each unit id once (SADD + RPUSH in one script)",
    lesson: "at-least-once delivery, exactly-once effect: nothing lost, nothing applied twice, under client faults",
    family: Family::Sync,
    caps: Capabilities {
        sync: Some(SyncCaps {
            take: Take::ConsumerGroup,
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
