//! The waiting strategies' Lua scripts (the single-instance FIFO's, the
//! fair quorum lock's, the notifying release), in `impl/src/scripts/`
//! beside the others and run the same way (`EVALSHA`, reloaded on
//! `NOSCRIPT`).

use std::sync::LazyLock;

use redis::Script;

/// Take a FIFO lock or queue for it; see `fifo_acquire.lua`.
pub(crate) static FIFO_ACQUIRE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../scripts/fifo_acquire.lua")));

/// Release a FIFO lock and hand it to the oldest live waiter.
pub(crate) static FIFO_RELEASE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../scripts/fifo_release.lua")));

/// Leave a FIFO queue, passing on a lock handed over meanwhile.
pub(crate) static FIFO_LEAVE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../scripts/fifo_leave.lua")));

/// Ask one Redlock master in turn: granted only to the oldest live waiter.
pub(crate) static QUORUM_ACQUIRE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../scripts/quorum_acquire.lua")));

/// Release one Redlock master (compare-and-delete) and wake its next waiter.
pub(crate) static QUORUM_RELEASE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../scripts/quorum_release.lua")));

/// Leave one Redlock master's queue, waking the next waiter.
pub(crate) static QUORUM_LEAVE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../scripts/quorum_leave.lua")));

/// Release (compare-and-delete, or `DEL` for naive) and `PUBLISH`.
pub(crate) static NOTIFY_RELEASE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../scripts/notify_release.lua")));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_distinct_from_each_other_and_from_the_locks_own() {
        let mine = [
            FIFO_ACQUIRE.get_hash(),
            FIFO_RELEASE.get_hash(),
            FIFO_LEAVE.get_hash(),
            QUORUM_ACQUIRE.get_hash(),
            QUORUM_RELEASE.get_hash(),
            QUORUM_LEAVE.get_hash(),
            NOTIFY_RELEASE.get_hash(),
        ];
        let theirs = [
            crate::scripts::COMPARE_AND_DELETE.get_hash(),
            crate::scripts::ACQUIRE_FENCED.get_hash(),
        ];
        for (i, h) in mine.iter().enumerate() {
            assert!(!mine[i + 1..].contains(h));
            assert!(!theirs.contains(h));
        }
    }
}
