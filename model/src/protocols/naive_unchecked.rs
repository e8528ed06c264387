//! The naive lock as the article writes it: the reply of `SET NX` is ignored.
//!
//! The article's Go code checks only the error of `SetNX`, never the boolean
//! it returns, so a client that lost the race proceeds as if it held the
//! lock. No fault is needed: two contenders are enough to break mutual
//! exclusion, and the loser's `DEL` then removes the winner's lock.

use crate::protocol::{Release, Rules};

/// The unchecked naive lock's rules.
pub const RULES: Rules = Rules {
    checks_reply: false,
    unique_token: false,
    release: Release::Del,
    fencing: false,
};

/// What the unchecked lock is there to show.
pub const LESSON: &str = "every contender \"gets\" the lock, with no fault at all";
