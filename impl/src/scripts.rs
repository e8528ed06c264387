//! The Lua scripts, each in its own `.lua` file under `src/scripts/`.
//!
//! Every step that must compare and then change (release or renew only if
//! the token is ours; issue a fencing token only with a grant; accept a
//! write only if its token is not stale) is one script, because Redis runs
//! a script atomically: no other client's command can land between the
//! comparison and the change.
//!
//! Each script is wrapped in a [`redis::Script`], which sends `EVALSHA` (the
//! script's SHA-1, not its text) and, when the server answers `NOSCRIPT`
//! (its script cache was flushed, or it restarted), loads the script and
//! runs it again. Scripts are plain files so they can be read, reviewed and
//! tried with `redis-cli --eval` on their own.

use std::sync::LazyLock;

use redis::Script;

use crate::connection::Conn;
use crate::error::LockError;

/// Every script's source, in the order [`preload`] loads them.
const SOURCES: [&str; 14] = [
    include_str!("scripts/compare_and_delete.lua"),
    include_str!("scripts/renew.lua"),
    include_str!("scripts/acquire_fenced.lua"),
    include_str!("scripts/fenced_write.lua"),
    include_str!("scripts/plain_write.lua"),
    include_str!("scripts/reentrant_acquire.lua"),
    include_str!("scripts/reentrant_release.lua"),
    include_str!("scripts/sync_produce.lua"),
    include_str!("scripts/sync_claim.lua"),
    include_str!("scripts/sync_mark.lua"),
    include_str!("scripts/dedup_apply.lua"),
    include_str!("scripts/sync_produce_many.lua"),
    include_str!("scripts/renew_unchecked.lua"),
    include_str!("scripts/renew_reacquire.lua"),
];

/// `DEL` the lock only if it holds the caller's token; returns 1 or 0.
pub static COMPARE_AND_DELETE: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCES[0]));

/// `PEXPIRE` the lock only if it holds the caller's token (a watchdog's
/// renewal); returns 1 (extended), 0 (gone) or -1 (another's token). Never
/// creates a key.
pub static RENEW: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCES[1]));

/// `SET NX PX` the lock and, only if set, `INCR` the fence counter; returns
/// the fencing token or nil.
pub static ACQUIRE_FENCED: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCES[2]));

/// Accept a write iff its fencing token is not lower than the highest
/// accepted; returns `{1, token}` or `{0, highest}`.
pub static FENCED_WRITE: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCES[3]));

/// Store a write unconditionally (the unfenced resource); returns 1.
pub static PLAIN_WRITE: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCES[4]));

/// One acquire of a re-entrant lock (a hash `{owner, count, fence,
/// attempt}`); returns `{'granted', fence, count}`, `{'busy'}` or
/// `{'lost'}`.
pub static REENTRANT_ACQUIRE: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCES[5]));

/// One release of a re-entrant lock; returns -1 (not the owner's), 0
/// (deleted) or the count left.
pub static REENTRANT_RELEASE: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCES[6]));

/// Writes a sync key's next unit only where there is room (the key absent
/// or holding the marker); returns 1 or 0.
pub static SYNC_PRODUCE: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCES[7]));

/// Claims a unit by compare-and-set on the unit read, leasing the claim;
/// returns 1 or 0 (a conflict).
pub static SYNC_CLAIM: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCES[8]));

/// Marks a claimed unit processed by compare-and-set, dropping the claim;
/// returns 1 or 0.
pub static SYNC_MARK: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCES[9]));

/// Applies a unit's effect to the deduplicating sink at most once; returns
/// 1 (applied) or 0 (refused: applied before).
pub static DEDUP_APPLY: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCES[10]));

/// Appends several units to a Stream in one round trip; returns how many.
pub static SYNC_PRODUCE_MANY: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCES[11]));

/// A bare `PEXPIRE` of the lock (`renew-unchecked`'s renewal); returns
/// `{1, value}` (extended, and the value the key held) or `{0}` (no key).
pub static RENEW_UNCHECKED: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCES[12]));

/// Compare-and-`PEXPIRE`, or `SET NX` when the key is gone
/// (`renew-reacquire`'s renewal); returns 1 (extended), 2 (created again)
/// or -1 (another's token).
pub static RENEW_REACQUIRE: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCES[13]));

/// Loads every script into the server's cache (`SCRIPT LOAD`), so that the
/// next call of each is one `EVALSHA` round trip, not a `NOSCRIPT` and a
/// second trip — for a caller that must know what a command will cost
/// before it sends it (the lab, before it holds a reply in flight).
pub async fn preload(conn: &Conn) -> Result<(), LockError> {
    for source in SOURCES {
        let _sha: String = conn
            .query(redis::cmd("SCRIPT").arg("LOAD").arg(source))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_has_a_distinct_sha1() {
        let hashes = [
            COMPARE_AND_DELETE.get_hash(),
            RENEW.get_hash(),
            ACQUIRE_FENCED.get_hash(),
            FENCED_WRITE.get_hash(),
            PLAIN_WRITE.get_hash(),
            REENTRANT_ACQUIRE.get_hash(),
            REENTRANT_RELEASE.get_hash(),
            SYNC_PRODUCE.get_hash(),
            SYNC_CLAIM.get_hash(),
            SYNC_MARK.get_hash(),
            DEDUP_APPLY.get_hash(),
            SYNC_PRODUCE_MANY.get_hash(),
            RENEW_UNCHECKED.get_hash(),
            RENEW_REACQUIRE.get_hash(),
        ];
        for (i, h) in hashes.iter().enumerate() {
            assert_eq!(h.len(), 40);
            assert!(!hashes[i + 1..].contains(h));
        }
    }
}
