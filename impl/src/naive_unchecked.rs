//! The naive lock as the article writes it: the reply of `SET NX` is ignored.
//!
//! **This is a bug, kept here to be demonstrated. Never use this lock.**
//!
//! The article's Go code checks only the error of `SetNX`, never the boolean
//! it returns, so a client that lost the race proceeds as if it held the
//! lock. No fault is needed: two contenders are enough to break mutual
//! exclusion, and the loser's `DEL` then removes the winner's lock.
//!
//! So that the lab can record the truth beside the belief, every grant
//! carries what Redis actually answered in [`Grant::server_granted`].

use std::time::Instant;

use crate::base::{common_lock_methods, LockBase};
use crate::config::{LockKey, Ttl};
use crate::connection::Conn;
use crate::error::LockError;
use crate::grant::{AcquireRequest, Attempt, Grant, ReleaseOutcome};
use crate::naive::{del, set_nx};
use crate::protocol::NAIVE_UNCHECKED;

/// The naive lock that ignores `SET NX`'s reply (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct NaiveUncheckedLock {
    base: LockBase,
}

common_lock_methods!(NaiveUncheckedLock);

impl NaiveUncheckedLock {
    /// An unchecked naive lock on `key` with leases of `ttl`.
    pub fn new(conn: Conn, key: LockKey, ttl: Ttl) -> Self {
        Self {
            base: LockBase::new(NAIVE_UNCHECKED, conn, key, ttl),
        }
    }

    /// One `SET key 1 NX PX ttl`, then — the bug — `Granted` whatever it
    /// answered. Only errors (no connection, no reply) are reported.
    /// [`Grant::server_granted`] says whether the key was really set.
    pub async fn try_acquire_as(&self, _request: &AcquireRequest) -> Result<Attempt, LockError> {
        let sent = Instant::now();
        let set = set_nx(&self.base).await?;
        tracing::debug!(key = %self.base.key, set, "naive-unchecked SET NX (reply ignored)");
        Ok(Attempt::Granted(self.base.grant(sent, None, None, set)))
    }

    /// `DEL key`, as the naive lock: it may remove another client's key.
    pub async fn release(&self, grant: &Grant) -> Result<ReleaseOutcome, LockError> {
        self.base.check(grant)?;
        del(&self.base).await
    }
}
