//! The naive lock: `SET key 1 NX PX ttl` to acquire, `DEL key` to release.
//!
//! This is the lock of the popular article locklab answers (and of many
//! tutorials): the reply of `SET NX` is checked, the lease bounds how long a
//! crashed holder blocks the others, but the release deletes *whatever* lock
//! is there. When the holder is paused past its lease, another client
//! acquires, and the first client's `DEL` removes the second client's lock —
//! so a third client gets in beside the second. Redis's own documentation of
//! `SET` warns against this pattern ("Patterns" section of
//! <https://redis.io/commands/set/>).

use crate::protocol::{Release, Rules};

/// The naive lock's rules.
pub const RULES: Rules = Rules {
    checks_reply: true,
    unique_token: false,
    release: Release::Del,
    fencing: false,
};

/// What the naive lock is there to show.
pub const LESSON: &str =
    "the unsafe release: a late DEL removes the next holder's lock and lets a third client in";
