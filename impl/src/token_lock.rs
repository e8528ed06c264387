//! The token lock: `SET key <random token> NX PX ttl`, released by a Lua
//! script that deletes the key only if it still holds the caller's token.
//!
//! This is the single-instance algorithm of the Redis documentation
//! ("Distributed Locks with Redis",
//! <https://redis.io/docs/manual/patterns/distributed-locks/>). It removes
//! the foreign release, but it cannot stop a holder that was paused (GC,
//! swap, SIGSTOP) or whose grant reply was delayed past its lease from
//! *believing* it still holds: a lease is a promise about time, and the
//! client cannot see time pass while it is stopped. When the protected
//! resource can check a number, use [`FencedLock`](crate::FencedLock).
//!
//! Renewal: [`TokenLock::keep`] and [`TokenLock::acquire_kept`] keep a
//! grant alive with a watchdog (compare-and-`PEXPIRE`, see
//! [`watchdog`](crate::watchdog)), which also tells the holder the moment
//! the lease is lost.

use std::time::Instant;

use crate::base::{common_lock_methods, kept_lock_methods, LockBase};
use crate::config::{LockKey, Ttl};
use crate::connection::Conn;
use crate::error::LockError;
use crate::grant::{AcquireRequest, Attempt, Grant, ReleaseOutcome};
use crate::protocol::TOKEN;
use crate::scripts;
use crate::token::Token;

/// The token lock (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct TokenLock {
    base: LockBase,
}

common_lock_methods!(TokenLock);
kept_lock_methods!(TokenLock);

impl TokenLock {
    /// A token lock on `key` with leases of `ttl`.
    pub fn new(conn: Conn, key: LockKey, ttl: Ttl) -> Self {
        Self {
            base: LockBase::new(TOKEN, conn, key, ttl),
        }
    }

    /// One `SET key <fresh token> NX PX ttl`: granted if it set the key,
    /// busy if not.
    pub async fn try_acquire_as(&self, request: &AcquireRequest) -> Result<Attempt, LockError> {
        let token = request.token;
        let sent = Instant::now();
        let reply: Option<String> = self
            .base
            .conn
            .query(
                redis::cmd("SET")
                    .arg(self.base.key.as_str())
                    .arg(token)
                    .arg("NX")
                    .arg("PX")
                    .arg(self.base.ttl.as_millis()),
            )
            .await?;
        tracing::debug!(key = %self.base.key, %token, set = reply.is_some(), "token SET NX");
        Ok(match reply {
            Some(_) => Attempt::Granted(self.base.grant(sent, Some(token), None, true)),
            None => Attempt::Busy,
        })
    }

    /// Deletes the key only if it still holds this grant's token:
    /// [`ReleaseOutcome::Released`], or [`ReleaseOutcome::NotHeld`] (the
    /// lease ran out; the key is gone or another's, and is left alone).
    pub async fn release(&self, grant: &Grant) -> Result<ReleaseOutcome, LockError> {
        let token = self.base.token_of(grant)?;
        compare_and_delete(&self.base, token).await
    }
}

/// Runs the compare-and-delete script.
pub(crate) async fn compare_and_delete(
    base: &LockBase,
    token: Token,
) -> Result<ReleaseOutcome, LockError> {
    let deleted: u64 = base
        .conn
        .invoke(
            scripts::COMPARE_AND_DELETE
                .key(base.key.as_str())
                .arg(token),
        )
        .await?;
    tracing::debug!(key = %base.key, %token, deleted, "compare-and-delete");
    Ok(if deleted == 1 {
        ReleaseOutcome::Released
    } else {
        ReleaseOutcome::NotHeld
    })
}
