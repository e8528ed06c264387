//! One module per protocol: its declaration — what it is, the source it
//! follows, the lesson it teaches, its capabilities and its claims. The
//! transitions its capabilities drive live in its family's model in
//! `locklab-model`; its Redis client in `locklab-impl`.

pub mod fenced;
pub mod naive;
pub mod naive_unchecked;
pub mod redlock;
pub mod redlock_fenced;
pub mod reentrant;
pub mod reentrant_redisson;
pub mod renew;
pub mod renew_reacquire;
pub mod renew_unchecked;
pub mod sync_cas;
pub mod sync_cas_dedup;
pub mod sync_naive;
pub mod sync_stream;
pub mod sync_stream_dedup;
pub mod token;
pub mod token_wait;

use crate::fault::Fault;

/// The lease family's fault menu.
pub(crate) const LEASE_FAULTS: &[Fault] = &[
    Fault::Pause,
    Fault::Delay,
    Fault::Crash,
    Fault::Restart,
    Fault::Retry,
];
/// A crash alone: a lease lock's one promise for mutual exclusion.
pub(crate) const CRASH: &[Fault] = &[Fault::Crash];
/// Every fault of a client: what fencing absorbs (the fencing counter lives
/// in Redis, so a restart that forgets it is the one fault it cannot).
pub(crate) const CLIENT_FAULTS: &[Fault] =
    &[Fault::Pause, Fault::Delay, Fault::Crash, Fault::Retry];
/// The sync family's fault menu.
pub(crate) const SYNC_FAULTS: &[Fault] =
    &[Fault::Pause, Fault::Delay, Fault::Crash, Fault::Restart];
/// A sync protocol's client faults: what a claim lease or a consumer group
/// absorbs without losing a unit (a restart without persistence takes the
/// units Redis holds with it).
pub(crate) const CLIENT_FAULTS_SYNC: &[Fault] = &[Fault::Pause, Fault::Delay, Fault::Crash];
/// The quorum family's fault menu: the lease family's client faults, and
/// the faults of one master — forgetting its keys, rejoining only after a
/// lease, its clock jumping ahead. (`delay` is a reply that does not come
/// within the client's per-master timeout.)
pub(crate) const QUORUM_FAULTS: &[Fault] = &[
    Fault::Pause,
    Fault::Delay,
    Fault::Crash,
    Fault::Restart,
    Fault::DelayedRestart,
    Fault::ClockJump,
];
/// The lease faults and a failover: the menu of a lock that runs on a
/// Sentinel-managed primary (its scenarios under `failover` get replicas).
pub(crate) const REPLICATED_FAULTS: &[Fault] = &[
    Fault::Pause,
    Fault::Delay,
    Fault::Crash,
    Fault::Restart,
    Fault::Retry,
    Fault::Failover,
    Fault::Partition,
];
/// The renewing locks' menu: the lease faults, the watchdog starved alone
/// (`stall`), and a failover (`delay` holds a grant's or a renewal's
/// reply).
pub(crate) const RENEW_FAULTS: &[Fault] = &[
    Fault::Pause,
    Fault::Stall,
    Fault::Delay,
    Fault::Crash,
    Fault::Restart,
    Fault::Failover,
];
