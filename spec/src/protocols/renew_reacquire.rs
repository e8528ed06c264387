//! A renewing lock whose watchdog, finding the key gone, creates it again
//! with `SET NX` and reports the renewal as a success: the silent
//! re-acquire.
//!
//! This is redsync's `WithSetNXOnExtend` option (go-redsync/redsync,
//! `mutex.go`: the extend script falls back to `SET NX PX` when the key is
//! missing). The holder lost its lease — a pause, a starved watchdog, a
//! late reply, a restart — and anyone may have held the lock in between;
//! the re-created key hides that, so the holder goes on as if it never
//! lost it. It extends no other client's lease (`SET NX` refuses a key
//! that is there), which is why it passes a check for foreign extension.

use super::{CRASH, RENEW_FAULTS};
use crate::declaration::{claim, Capabilities, Declaration, Renewal, Shape};
use crate::family::Family;
use crate::property::PropertyName::*;

/// The re-acquiring renewing lock's declaration.
pub static DECLARATION: Declaration = Declaration {
    name: "renew-reacquire",
    summary: "as renew, but a renewal that finds the key gone re-creates it (SET NX) and reads as renewed",
    lesson: "the silent re-acquire: the holder never learns it lost the lock",
    family: Family::Lease,
    caps: Capabilities {
        renewal: Some(Renewal {
            checked: true,
            reacquire: true,
        }),
        ..Capabilities::TOKEN
    },
    claims: &[
        claim(MutualExclusion, CRASH),
        claim(NoForeignRelease, RENEW_FAULTS),
        claim(EventuallyAcquired, RENEW_FAULTS),
        claim(NoForeignExtension, RENEW_FAULTS),
        claim(LossTold, CRASH),
    ],
    fixed_by: &[&super::renew::DECLARATION],
    shape: Shape::LOCK,
    faults: RENEW_FAULTS,
};
