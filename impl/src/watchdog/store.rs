//! Where a kept lease lives: the two operations the watchdog needs from it.
//!
//! The watchdog's logic (when to renew, when the lease counts as lost, how
//! release and renewal exclude each other) does not depend on Redis, only
//! on these two compare-then-act operations. Keeping them behind a small
//! trait lets the same logic run against Redis ([`RedisLeaseStore`]), an
//! in-memory store in the crate's tokio tests, and a stand-in under loom.
//!
//! Both operations must compare the token and act in one atomic step, and
//! `renew` must never create a key: the safety of the watchdog against a
//! late renewal rests on that (see the [watchdog docs](super)).

use std::future::Future;

use crate::base::LockBase;
use crate::error::LockError;
use crate::grant::ReleaseOutcome;
use crate::scripts;
use crate::token::Token;
use crate::token_lock::compare_and_delete;

/// What one renewal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Renewal {
    /// The key held our token; its TTL is a full lease again.
    Extended,
    /// The key is gone; nothing was changed (in particular, nothing was
    /// created).
    Gone,
    /// The key holds another token; nothing was changed.
    Taken,
}

/// The lease's key on some store: compare-and-extend, compare-and-delete.
///
/// Implemented by [`RedisLeaseStore`]; implement it to keep a lease on
/// something else (or a fake, in tests). Contract:
///
/// - `renew(token)` extends the key's lease only if the key holds `token`,
///   atomically, and never creates or re-creates the key.
/// - `release(token)` deletes the key only if it holds `token`, atomically.
pub trait LeaseStore: Send + Sync + 'static {
    /// Extends the lease if the key still holds `token`.
    fn renew(&self, token: Token) -> impl Future<Output = Result<Renewal, LockError>> + Send;

    /// Deletes the key if it still holds `token`:
    /// [`ReleaseOutcome::Released`] or [`ReleaseOutcome::NotHeld`].
    fn release(
        &self,
        token: Token,
    ) -> impl Future<Output = Result<ReleaseOutcome, LockError>> + Send;
}

/// A token or fenced lock's key on Redis: renewal by the `renew.lua` script
/// (compare-and-`PEXPIRE` to the lock's TTL), release by compare-and-delete.
///
/// Made by [`TokenLock::keep`](crate::TokenLock::keep) and
/// [`FencedLock::keep`](crate::FencedLock::keep). The fence counter is
/// never touched: a kept fenced grant keeps its fencing token.
#[derive(Debug, Clone)]
pub struct RedisLeaseStore {
    base: LockBase,
}

impl RedisLeaseStore {
    pub(crate) fn new(base: LockBase) -> Self {
        Self { base }
    }
}

impl LeaseStore for RedisLeaseStore {
    async fn renew(&self, token: Token) -> Result<Renewal, LockError> {
        let reply: i64 = self
            .base
            .conn
            .invoke(
                scripts::RENEW
                    .key(self.base.key.as_str())
                    .arg(token)
                    .arg(self.base.ttl.as_millis()),
            )
            .await?;
        tracing::debug!(key = %self.base.key, %token, reply, "renew");
        match reply {
            1 => Ok(Renewal::Extended),
            0 => Ok(Renewal::Gone),
            -1 => Ok(Renewal::Taken),
            other => Err(LockError::Redis(redis::RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "renew.lua answered outside {1, 0, -1}",
                other.to_string(),
            )))),
        }
    }

    async fn release(&self, token: Token) -> Result<ReleaseOutcome, LockError> {
        compare_and_delete(&self.base, token).await
    }
}
