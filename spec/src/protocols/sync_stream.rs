//! What Redis offers for the job: a Stream with a consumer group. The
//! producer appends units (`XADD key * unit u1`); a worker takes the next
//! new one with `XREADGROUP GROUP g <worker> COUNT 1 STREAMS key >`, which
//! leaves it pending for that worker, processes it, and acknowledges it
//! (`XACK`); a worker with nothing new takes a unit pending longer than the
//! claim idle time (`XAUTOCLAIM key g <worker> <idle> 0-0 COUNT 1`) — the
//! unit of a worker that crashed, or only paused.
//!
//! That is at-least-once delivery, as the Redis documentation says
//! (<https://redis.io/docs/latest/develop/data-types/streams/>): nothing is
//! lost to a crashed worker, and a worker paused past the idle time (or
//! that crashed after processing, before `XACK`) has its unit processed a
//! second time.

use super::{CLIENT_FAULTS_SYNC, SYNC_FAULTS};
use crate::declaration::{claim, Capabilities, Declaration, Shape, SyncCaps, Take};
use crate::family::Family;
use crate::property::PropertyName::*;

/// The consumer group's declaration.
pub static DECLARATION: Declaration = Declaration {
    name: "sync-stream",
    summary: "XADD; XREADGROUP … > (or XAUTOCLAIM after the idle time); process; XACK",
    lesson:
        "at-least-once: nothing lost to a crash, processed twice after a pause past the idle time",
    family: Family::Sync,
    caps: Capabilities {
        sync: Some(SyncCaps {
            take: Take::ConsumerGroup,
            dedup_sink: false,
        }),
        ..Capabilities::NOT_A_LOCK
    },
    claims: &[
        claim(NoDoubleProcessing, &[]),
        claim(NoLostUpdate, CLIENT_FAULTS_SYNC),
        claim(ExactlyOnceSync, &[]),
    ],
    fixed_by: &[&super::sync_stream_dedup::DECLARATION],
    shape: Shape::SYNC,
    faults: SYNC_FAULTS,
};
