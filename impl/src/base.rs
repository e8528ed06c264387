//! What every lock holds and checks, whatever its protocol.
//!
//! Kept apart so the protocol modules show only what differs between them:
//! the commands they send and how they read the replies.

use std::time::Instant;

use crate::backoff::Backoff;
use crate::config::{LockKey, Ttl};
use crate::connection::Conn;
use crate::error::LockError;
use crate::grant::Grant;
use crate::protocol::Protocol;
use crate::token::Token;

/// A lock's connection, key, lease and backoff.
#[derive(Debug, Clone)]
pub(crate) struct LockBase {
    pub(crate) protocol: Protocol,
    pub(crate) conn: Conn,
    pub(crate) key: LockKey,
    pub(crate) ttl: Ttl,
    pub(crate) backoff: Backoff,
}

impl LockBase {
    pub(crate) fn new(protocol: Protocol, conn: Conn, key: LockKey, ttl: Ttl) -> Self {
        Self {
            protocol,
            conn,
            key,
            ttl,
            backoff: Backoff::default(),
        }
    }

    /// A grant of this lock, sent at `sent`.
    pub(crate) fn grant(
        &self,
        sent: Instant,
        token: Option<Token>,
        fence: Option<u64>,
        server_granted: bool,
    ) -> Grant {
        Grant {
            protocol: self.protocol,
            key: self.key.clone(),
            token,
            fence,
            ttl: self.ttl,
            granted_at: sent,
            server_granted,
            count: None,
        }
    }

    /// Refuses a grant this lock did not issue.
    pub(crate) fn check(&self, grant: &Grant) -> Result<(), LockError> {
        if grant.protocol != self.protocol {
            return Err(LockError::WrongGrant {
                reason: format!(
                    "a {} grant handed to a {} lock",
                    grant.protocol, self.protocol
                ),
            });
        }
        if grant.key != self.key {
            return Err(LockError::WrongGrant {
                reason: format!(
                    "a grant for key {:?} handed to the lock of key {:?}",
                    grant.key.as_str(),
                    self.key.as_str()
                ),
            });
        }
        Ok(())
    }

    /// The grant's token; every grant of a token-carrying protocol has one.
    pub(crate) fn token_of(&self, grant: &Grant) -> Result<Token, LockError> {
        self.check(grant)?;
        grant.token.ok_or_else(|| LockError::WrongGrant {
            reason: format!("a {} grant without a token", self.protocol),
        })
    }
}

/// The methods every lock has in common: accessors, backoff, and `acquire`
/// (waiting on the lock's own `try_acquire`).
macro_rules! common_lock_methods {
    ($lock:ty) => {
        impl $lock {
            /// Sets how `acquire` waits between attempts.
            pub fn with_backoff(mut self, backoff: $crate::Backoff) -> Self {
                self.base.backoff = backoff;
                self
            }

            /// The lock's key.
            pub fn key(&self) -> &$crate::LockKey {
                &self.base.key
            }

            /// The lease each grant gets.
            pub fn ttl(&self) -> $crate::Ttl {
                self.base.ttl
            }

            /// The connection the lock uses.
            pub fn conn(&self) -> &$crate::Conn {
                &self.base.conn
            }

            /// The lock's protocol.
            pub fn protocol(&self) -> $crate::Protocol {
                self.base.protocol
            }

            /// The same lock under another protocol's declaration with the
            /// same capabilities (its grants then name that protocol).
            pub fn declared_as(mut self, protocol: $crate::Protocol) -> Self {
                self.base.protocol = protocol;
                self
            }

            /// Takes the lock, waiting by jittered backoff while it is busy,
            /// for at most `deadline` (at most [`MAX_WAIT`](crate::backoff::MAX_WAIT)).
            ///
            /// Fails with [`LockError::NotAcquired`](crate::LockError::NotAcquired)
            /// when the lock is still held at the deadline. Always makes one
            /// attempt, even with a zero deadline. Other errors are returned
            /// at once, without retrying.
            pub async fn acquire(
                &self,
                deadline: std::time::Duration,
            ) -> Result<$crate::Grant, $crate::LockError> {
                $crate::backoff::acquire_with_backoff(&self.base.backoff, deadline, || {
                    self.try_acquire()
                })
                .await
            }

            /// One acquire attempt, without waiting: [`try_acquire_as`](Self::try_acquire_as)
            /// with a fresh request.
            pub async fn try_acquire(&self) -> Result<$crate::Attempt, $crate::LockError> {
                self.try_acquire_as(&$crate::AcquireRequest::fresh()).await
            }
        }
    };
}
pub(crate) use common_lock_methods;

/// The methods of the locks whose grants carry a token, and so can be
/// renewed by compare-and-`PEXPIRE`: keeping a lease alive with a watchdog.
macro_rules! kept_lock_methods {
    ($lock:ty) => {
        impl $lock {
            /// Takes the lock as [`acquire`](Self::acquire) does and keeps it
            /// with a watchdog that renews its lease until the guard is
            /// released or dropped (see [`LeaseGuard`](crate::LeaseGuard)).
            /// The options, and the tokio runtime the watchdog needs, are
            /// checked before the lock is taken.
            pub async fn acquire_kept(
                &self,
                deadline: std::time::Duration,
                options: &$crate::WatchdogOptions,
            ) -> Result<$crate::LeaseGuard, $crate::LockError> {
                $crate::watchdog::acquire_kept(&self.base, options, self.acquire(deadline)).await
            }

            /// Keeps a grant of this lock alive with a watchdog (see
            /// [`LeaseGuard`](crate::LeaseGuard)); refused for a grant of
            /// another lock, or options that do not fit the TTL.
            pub fn keep(
                &self,
                grant: $crate::Grant,
                options: &$crate::WatchdogOptions,
            ) -> Result<$crate::LeaseGuard, $crate::LockError> {
                $crate::watchdog::keep(&self.base, grant, options)
            }

            /// The store a watchdog of this lock renews in, renewing as the
            /// lock's protocol declares: for a caller that times the
            /// renewals itself (the lab, replaying a model's `renew` steps).
            pub fn lease_store(&self) -> $crate::watchdog::RedisLeaseStore {
                $crate::watchdog::RedisLeaseStore::new(self.base.clone())
            }
        }
    };
}
pub(crate) use kept_lock_methods;
