//! A renewing lock whose watchdog extends the key with a bare `PEXPIRE`,
//! without checking that it still holds the holder's token.
//!
//! Once the holder's lease ran out (its watchdog paused, starved, or its
//! reply late) and another client took the lock, the watchdog's next
//! `PEXPIRE` extends *that* client's lease — and reads as renewed, so the
//! first holder goes on believing too. Naive extensions of this kind are
//! what node-redlock's and redis-semaphore's refresh scripts guard
//! against by comparing the value first.

use super::{CRASH, RENEW_FAULTS};
use crate::declaration::{claim, Capabilities, Declaration, Renewal, Shape};
use crate::family::Family;
use crate::property::PropertyName::*;

/// The unchecked renewing lock's declaration.
pub static DECLARATION: Declaration = Declaration {
    name: "renew-unchecked",
    summary: "as renew, but the watchdog renews with a bare PEXPIRE (no token check)",
    lesson: "a renewal that extends another client's lease, and tells its own holder all is well",
    family: Family::Lease,
    caps: Capabilities {
        renewal: Some(Renewal {
            checked: false,
            reacquire: false,
        }),
        ..Capabilities::TOKEN
    },
    claims: &[
        claim(MutualExclusion, CRASH),
        claim(NoForeignRelease, RENEW_FAULTS),
        claim(EventuallyAcquired, RENEW_FAULTS),
        claim(NoForeignExtension, CRASH),
        claim(LossTold, CRASH),
    ],
    fixed_by: &[&super::renew::DECLARATION],
    shape: Shape::LOCK,
    faults: RENEW_FAULTS,
};
