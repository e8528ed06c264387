//! One module per protocol: its declaration — what it is, the source it
//! follows, the lesson it teaches, its capabilities and its claims. The
//! transitions its capabilities drive live in its family's model in
//! `locklab-model`; its Redis client in `locklab-impl`.

pub mod fenced;
pub mod naive;
pub mod naive_unchecked;
pub mod reentrant;
pub mod reentrant_redisson;
pub mod token;

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
