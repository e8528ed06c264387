//! The naive lock as the article writes it: the reply of `SET NX` is ignored.
//!
//! The article's Go code checks only the error of `SetNX`, never the boolean
//! it returns, so a client that lost the race proceeds as if it held the
//! lock. No fault is needed: two contenders are enough to break mutual
//! exclusion, and the loser's `DEL` then removes the winner's lock.

use super::LEASE_FAULTS;
use crate::declaration::{claim, Capabilities, Declaration, Shape};
use crate::family::Family;
use crate::property::PropertyName::*;

/// The unchecked naive lock's declaration. As written it promises nothing
/// beyond liveness.
pub static DECLARATION: Declaration = Declaration {
    name: "naive-unchecked",
    summary: "SET key 1 NX PX ttl, its reply never read; release by DEL key",
    lesson: "every contender \"gets\" the lock, with no fault at all",
    family: Family::Lease,
    caps: Capabilities {
        checks_reply: false,
        ..Capabilities::NAIVE
    },
    claims: &[claim(EventuallyAcquired, LEASE_FAULTS)],
    fixed_by: &[
        &super::token::DECLARATION,
        &super::fenced::DECLARATION,
        &super::reentrant::DECLARATION,
    ],
    shape: Shape::LOCK,
    faults: LEASE_FAULTS,
};
