//! The naive lock: `SET key 1 NX PX ttl` to acquire, `DEL key` to release.
//!
//! This is the lock of the popular article locklab answers (and of many
//! tutorials): the reply of `SET NX` is checked and the lease bounds how long
//! a crashed holder blocks the others, but the release deletes *whatever*
//! lock is there. When the holder is paused past its lease, another client
//! acquires, and the first client's `DEL` removes the second client's lock —
//! so a third client gets in beside the second. Redis's own documentation of
//! `SET` warns against this pattern ("Patterns" section of
//! <https://redis.io/commands/set/>).
//!
//! It is here to be measured and shown failing, not to be used: take
//! [`TokenLock`](crate::TokenLock) or [`FencedLock`](crate::FencedLock).

use std::time::Instant;

use crate::base::{common_lock_methods, LockBase};
use crate::config::{LockKey, Ttl};
use crate::connection::Conn;
use crate::error::LockError;
use crate::grant::{AcquireRequest, Attempt, Grant, ReleaseOutcome};
use crate::protocol::NAIVE;

/// The naive lock (see the [module docs](self) for why it is unsafe).
#[derive(Debug, Clone)]
pub struct NaiveLock {
    base: LockBase,
}

common_lock_methods!(NaiveLock);

impl NaiveLock {
    /// A naive lock on `key` with leases of `ttl`.
    pub fn new(conn: Conn, key: LockKey, ttl: Ttl) -> Self {
        Self {
            base: LockBase::new(NAIVE, conn, key, ttl),
        }
    }

    /// One `SET key 1 NX PX ttl`: granted if it set the key, busy if not.
    pub async fn try_acquire_as(&self, _request: &AcquireRequest) -> Result<Attempt, LockError> {
        let sent = Instant::now();
        let set = set_nx(&self.base).await?;
        tracing::debug!(key = %self.base.key, set, "naive SET NX");
        Ok(if set {
            Attempt::Granted(self.base.grant(sent, None, None, true))
        } else {
            Attempt::Busy
        })
    }

    /// `DEL key`. [`ReleaseOutcome::Deleted`] means *a* key was removed —
    /// possibly another client's, which is this lock's bug.
    pub async fn release(&self, grant: &Grant) -> Result<ReleaseOutcome, LockError> {
        self.base.check(grant)?;
        del(&self.base).await
    }
}

/// `SET key 1 NX PX ttl`; whether it set the key.
pub(crate) async fn set_nx(base: &LockBase) -> Result<bool, LockError> {
    let reply: Option<String> = base
        .conn
        .query(
            redis::cmd("SET")
                .arg(base.key.as_str())
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(base.ttl.as_millis()),
        )
        .await?;
    Ok(reply.is_some())
}

/// `DEL key`, blind to whose key it is.
pub(crate) async fn del(base: &LockBase) -> Result<ReleaseOutcome, LockError> {
    let removed: u64 = base
        .conn
        .query(redis::cmd("DEL").arg(base.key.as_str()))
        .await?;
    tracing::debug!(key = %base.key, removed, "naive DEL");
    Ok(if removed > 0 {
        ReleaseOutcome::Deleted
    } else {
        ReleaseOutcome::NothingToDelete
    })
}
