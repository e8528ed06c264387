//! The fenced lock: the token lock, plus a fencing token — a number from a
//! counter incremented in the same script that grants the lock, so it grows
//! strictly with every grant — which the protected resource checks on every
//! write, refusing any token lower than the highest it has accepted.
//!
//! Fencing follows Martin Kleppmann, "How to do distributed locking" (2016,
//! <https://martin.kleppmann.com/2016/02/08/how-to-do-distributed-locking.html>).
//! It does not restore mutual exclusion — a paused client still believes it
//! holds — but it makes that belief harmless: the stale holder's write is
//! refused by the resource ([`FencedResource`](crate::FencedResource)).
//! Belief is not effect.
//!
//! The counter lives at `<key>:fence` and never expires. It must outlive
//! every lease: if it were lost (a Redis restart without persistence), the
//! tokens would start again from 1 and a resource that remembers a higher
//! one would refuse every new holder — safe, but stuck until reset.

use std::time::Instant;

use crate::base::{common_lock_methods, kept_lock_methods, LockBase};
use crate::config::{LockKey, Ttl};
use crate::connection::Conn;
use crate::error::LockError;
use crate::grant::{AcquireRequest, Attempt, Grant, ReleaseOutcome};
use crate::protocol::FENCED;
use crate::scripts;
use crate::token_lock::compare_and_delete;

/// The suffix of the fence counter's key: `<lock key>:fence`.
pub const FENCE_SUFFIX: &str = "fence";

/// The fenced lock (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct FencedLock {
    base: LockBase,
    counter: String,
}

common_lock_methods!(FencedLock);
kept_lock_methods!(FencedLock);

impl FencedLock {
    /// A fenced lock on `key` with leases of `ttl`; its counter is
    /// `<key>:fence`.
    pub fn new(conn: Conn, key: LockKey, ttl: Ttl) -> Self {
        let counter = key.derived(FENCE_SUFFIX);
        Self {
            base: LockBase::new(FENCED, conn, key, ttl),
            counter,
        }
    }

    /// The key of the fence counter.
    pub fn counter_key(&self) -> &str {
        &self.counter
    }

    /// One run of the acquire script (`SET key <fresh token> NX PX ttl`
    /// and, only if set, `INCR <key>:fence`): granted with the new fencing
    /// token, or busy.
    pub async fn try_acquire_as(&self, request: &AcquireRequest) -> Result<Attempt, LockError> {
        let token = request.token;
        let sent = Instant::now();
        let fence: Option<u64> = self
            .base
            .conn
            .invoke(
                scripts::ACQUIRE_FENCED
                    .key(self.base.key.as_str())
                    .key(&self.counter)
                    .arg(token)
                    .arg(self.base.ttl.as_millis()),
            )
            .await?;
        tracing::debug!(key = %self.base.key, %token, ?fence, "fenced acquire");
        Ok(match fence {
            Some(fence) => Attempt::Granted(self.base.grant(sent, Some(token), Some(fence), true)),
            None => Attempt::Busy,
        })
    }

    /// Deletes the key only if it still holds this grant's token, as
    /// [`TokenLock::release`](crate::TokenLock::release). The counter is
    /// never touched.
    pub async fn release(&self, grant: &Grant) -> Result<ReleaseOutcome, LockError> {
        let token = self.base.token_of(grant)?;
        compare_and_delete(&self.base, token).await
    }
}
