//! Where the lab's keys live on a Redis server: under a prefix unique to
//! the run, so that the lab can clean up exactly what it created (by
//! `SCAN MATCH` on its own prefix) and never touches anything else — it
//! never flushes a server, not even one it started.

use locklab_impl::{Conn, LockError, LockKey, ResourceKey};
use locklab_model::KeyRole;
use rand::Rng;

/// The key prefix of one lab run: `locklab:<8 hex>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySpace {
    prefix: String,
}

/// The keys of one replay.
#[derive(Clone, Debug)]
pub struct ReplayKeys {
    /// The lock key.
    pub lock: LockKey,
    /// The protected resource's key.
    pub resource: ResourceKey,
    /// The pattern matching every key of this replay.
    pub pattern: String,
}

/// The key that holds a lease of this role in a replay, if a key does: the
/// lock key; the marker, in the sync key itself; the claim derived from it.
/// (A Stream entry's idle time is in no key of its own.)
pub fn role_key(keys: &ReplayKeys, role: KeyRole) -> Option<String> {
    match role {
        KeyRole::Lock | KeyRole::Marker => Some(keys.lock.as_str().to_owned()),
        KeyRole::Claim => Some(locklab_impl::sync::claim_key(keys.lock.as_str())),
        KeyRole::Pending { .. } | KeyRole::Attempt { .. } | KeyRole::Down => None,
    }
}

impl Default for KeySpace {
    fn default() -> Self {
        KeySpace::new()
    }
}

impl KeySpace {
    /// A fresh prefix for this run.
    pub fn new() -> KeySpace {
        let id: u32 = rand::rng().random();
        KeySpace {
            prefix: format!("locklab:{id:08x}"),
        }
    }

    /// The run's prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The keys of the replay numbered `n`.
    pub fn replay(&self, n: usize) -> Result<ReplayKeys, LockError> {
        let base = format!("{}:r{n}", self.prefix);
        Ok(ReplayKeys {
            lock: LockKey::new(format!("{base}:lock"))?,
            resource: ResourceKey::new(format!("{base}:resource"))?,
            pattern: format!("{base}:*"),
        })
    }

    /// Deletes every key matching `pattern` (which must lie under this
    /// prefix), and every key that holds such a name inside it: a library
    /// may keep a key of its own named after the lab's (Redisson's fencing
    /// counter `redisson_lock_token:{<lock key>}`), and a replay played
    /// again on the same keys must find it gone too. The prefix is the
    /// run's own, so such a key is the run's. Returns how many it deleted.
    pub async fn delete(&self, conn: &Conn, pattern: &str) -> Result<usize, LockError> {
        debug_assert!(pattern.starts_with(&self.prefix));
        let pattern = format!("*{pattern}");
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        // Bounded: SCAN visits every key at most a few times; a keyspace
        // this large is not one the lab filled.
        for _ in 0..100_000 {
            let (next, keys): (u64, Vec<String>) = conn
                .query(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000),
                )
                .await?;
            if !keys.is_empty() {
                deleted += conn.query::<usize>(redis::cmd("DEL").arg(&keys)).await?;
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        Ok(deleted)
    }
}
