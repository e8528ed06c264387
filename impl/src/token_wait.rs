//! The token lock with `WAIT`: `SET key <token> NX PX ttl` on the primary,
//! then `WAIT <n> <timeout>` on the same connection; a grant fewer than `n`
//! replicas acknowledged within the timeout is released and does not
//! count ([`Attempt::Unacknowledged`]).
//!
//! Replication is asynchronous: without `WAIT`, a failover to a replica
//! that never received the key loses the lock. `WAIT` narrows that, and
//! no more ("does not make Redis a strongly consistent store", its own
//! page, <https://redis.io/commands/wait/>): with two replicas, `WAIT 1`
//! returns once one of them has the grant, and Sentinel may promote the
//! other. `locklab check` computes both cases.
//!
//! Two details matter in production:
//!
//! - `WAIT` counts the replicas that acknowledged *this connection's* last
//!   write. If the connection broke between the `SET` and the `WAIT` (a
//!   failover: Sentinel closes the clients of every node it reconfigures),
//!   a `WAIT` on a new connection would count acknowledgements of nothing
//!   and confirm a grant that may be gone. So the `WAIT` runs only on the
//!   connection that sent the `SET`; if that one is gone, the grant is
//!   treated as unacknowledged.
//! - The `WAIT` timeout is time the lease spends unused, and it must end
//!   before the connection's response timeout gives up on the reply. The
//!   default is a tenth of the lease, at most half the response timeout.
//!
//! The acquire is also available in its two halves ([`TokenWaitLock::try_grant`],
//! [`TokenWaitLock::confirm`]), so that the lab can play a replica catching
//! up between them, as the model's steps do.

use std::time::{Duration, Instant};

use crate::base::{common_lock_methods, LockBase};
use crate::config::{LockKey, Ttl};
use crate::connection::Conn;
use crate::error::LockError;
use crate::grant::{AcquireRequest, Attempt, Grant, ReleaseOutcome, Unacknowledged};
use crate::protocol::TOKEN_WAIT;
use crate::token_lock::compare_and_delete;

/// The token lock with `WAIT` (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct TokenWaitLock {
    base: LockBase,
    replicas: u32,
    timeout: Duration,
}

/// A grant the primary made and the replicas have not been asked about
/// yet: hand it to [`TokenWaitLock::confirm`].
#[derive(Debug, Clone)]
pub struct PendingGrant {
    grant: Grant,
    /// The connection the `SET` ran on.
    generation: u64,
}

impl PendingGrant {
    /// The grant, as the primary made it.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }
}

common_lock_methods!(TokenWaitLock);

impl TokenWaitLock {
    /// A lock on `key` with leases of `ttl` that waits for one replica, for
    /// the default timeout (see the module docs).
    pub fn new(conn: Conn, key: LockKey, ttl: Ttl) -> Self {
        let timeout = default_timeout(ttl, conn.options().response_timeout());
        Self {
            base: LockBase::new(TOKEN_WAIT, conn, key, ttl),
            replicas: 1,
            timeout,
        }
    }

    /// Waits for `replicas` replicas (at least 1) for at most `timeout`
    /// (at least 1 ms, shorter than the lease and than the connection's
    /// response timeout).
    pub fn with_wait(mut self, replicas: u32, timeout: Duration) -> Result<Self, LockError> {
        let response = self.base.conn.options().response_timeout();
        if replicas == 0
            || timeout < Duration::from_millis(1)
            || timeout >= self.base.ttl.as_duration()
            || timeout >= response
        {
            return Err(LockError::InvalidOption {
                reason: format!(
                    "WAIT {replicas} for {timeout:?} refused; need at least 1 replica and \
                     1 ms <= timeout < the lease ({:?}) and < the response timeout ({response:?})",
                    self.base.ttl.as_duration()
                ),
            });
        }
        self.replicas = replicas;
        self.timeout = timeout;
        Ok(self)
    }

    /// The replicas `WAIT` asks for.
    pub fn wait_replicas(&self) -> u32 {
        self.replicas
    }

    /// How long `WAIT` waits for them.
    pub fn wait_timeout(&self) -> Duration {
        self.timeout
    }

    /// One attempt: the grant on the primary, then its confirmation.
    pub async fn try_acquire_as(&self, request: &AcquireRequest) -> Result<Attempt, LockError> {
        match self.try_grant(request).await? {
            Some(pending) => self.confirm(pending).await,
            None => Ok(Attempt::Busy),
        }
    }

    /// The first half of an attempt: `SET key <token> NX PX ttl` on the
    /// primary. `None`: busy.
    pub async fn try_grant(
        &self,
        request: &AcquireRequest,
    ) -> Result<Option<PendingGrant>, LockError> {
        let token = request.token;
        let sent = Instant::now();
        let (generation, reply): (u64, Option<String>) = self
            .base
            .conn
            .query_tracked(
                redis::cmd("SET")
                    .arg(self.base.key.as_str())
                    .arg(token)
                    .arg("NX")
                    .arg("PX")
                    .arg(self.base.ttl.as_millis()),
            )
            .await?;
        tracing::debug!(key = %self.base.key, %token, set = reply.is_some(), "token-wait SET NX");
        Ok(reply.map(|_| PendingGrant {
            grant: self.base.grant(sent, Some(token), None, true),
            generation,
        }))
    }

    /// The second half: `WAIT <n> <timeout>` on the connection that made
    /// the grant. Enough acknowledgements: [`Attempt::Granted`]. Too few,
    /// or no `WAIT` possible on that connection: the grant is released and
    /// the answer is [`Attempt::Unacknowledged`].
    pub async fn confirm(&self, pending: PendingGrant) -> Result<Attempt, LockError> {
        self.base.check(&pending.grant)?;
        let wait = redis::cmd("WAIT")
            .arg(self.replicas)
            .arg(self.timeout.as_millis() as u64)
            .clone();
        let acked = match self
            .base
            .conn
            .query_on::<u32>(pending.generation, &wait)
            .await
        {
            Ok(n) if n >= self.replicas => return Ok(Attempt::Granted(pending.grant)),
            Ok(n) => Some(n),
            Err(e) => {
                tracing::debug!(key = %self.base.key, error = %e, "WAIT could not confirm the grant");
                None
            }
        };
        let released = match self.release(&pending.grant).await {
            Ok(outcome) => Some(outcome),
            Err(e) => {
                tracing::debug!(key = %self.base.key, error = %e, "unacknowledged grant not released");
                None
            }
        };
        tracing::debug!(key = %self.base.key, ?acked, ?released, "grant unacknowledged");
        Ok(Attempt::Unacknowledged(Unacknowledged {
            acked,
            wanted: self.replicas,
            released,
        }))
    }

    /// Deletes the key only if it still holds this grant's token (as
    /// [`TokenLock::release`](crate::TokenLock::release)).
    pub async fn release(&self, grant: &Grant) -> Result<ReleaseOutcome, LockError> {
        let token = self.base.token_of(grant)?;
        compare_and_delete(&self.base, token).await
    }
}

/// A tenth of the lease, at least 1 ms, at most half the response timeout.
fn default_timeout(ttl: Ttl, response: Duration) -> Duration {
    (ttl.as_duration() / 10)
        .min(response / 2)
        .max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_timeout_is_a_tenth_of_the_lease_within_bounds() {
        let second = Duration::from_secs(1);
        let ttl = |ms| Ttl::from_millis(ms).unwrap();
        assert_eq!(
            default_timeout(ttl(3000), 2 * second),
            Duration::from_millis(300)
        );
        assert_eq!(default_timeout(ttl(60_000), 2 * second), second);
        assert_eq!(
            default_timeout(ttl(5), 2 * second),
            Duration::from_millis(1)
        );
    }
}
