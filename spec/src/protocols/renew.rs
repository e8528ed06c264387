//! The renewing lease lock done right: `token`, and a watchdog that renews
//! the lease by token (compare-and-`PEXPIRE`, Lua) every period — a third
//! of the lease — while the holder works, and stops on release or on the
//! first renewal that fails, telling the holder. The holder also checks its
//! own lease deadline, by its local clock, before each operation.
//!
//! This is Redisson's watchdog (a 30 s lease renewed every 10 s,
//! `RedissonBaseLock.renewExpiration`) and redsync's `Extend`, done with
//! the checks the field's bug reports ask for. Renewal lets the work
//! outlast the lease; it cannot keep a lease whose watchdog does not run:
//! a whole-process pause stops the watchdog too, and a starved watchdog
//! thread lets the lease run out while the holder works — then two clients
//! hold, and what renewal still buys is that the first one is told.

use super::{CRASH, RENEW_FAULTS};
use crate::declaration::{claim, Capabilities, Declaration, Renewal, Shape};
use crate::family::Family;
use crate::fault::Fault;
use crate::property::PropertyName::*;

/// The renewing lock's declaration.
pub static DECLARATION: Declaration = Declaration {
    name: "renew",
    summary: "token, and a watchdog that renews by token (compare, then PEXPIRE, in Lua) every third of the lease",
    lesson: "the work may outlast the lease; a paused or starved watchdog still lets it run out, and the holder is told",
    family: Family::Lease,
    caps: Capabilities {
        renewal: Some(Renewal {
            checked: true,
            reacquire: false,
        }),
        ..Capabilities::TOKEN
    },
    claims: &[
        claim(MutualExclusion, CRASH),
        claim(NoForeignRelease, RENEW_FAULTS),
        claim(EventuallyAcquired, RENEW_FAULTS),
        claim(NoForeignExtension, RENEW_FAULTS),
        claim(
            LossTold,
            &[Fault::Pause, Fault::Stall, Fault::Delay, Fault::Crash],
        ),
    ],
    // Nothing in the lab renews and fixes what renewal cannot: fencing
    // (`fenced`) is the answer to a lost lease, and it does not renew.
    fixed_by: &[],
    shape: Shape::LOCK,
    faults: RENEW_FAULTS,
};
