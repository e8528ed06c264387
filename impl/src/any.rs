//! Any of the four locks, chosen by protocol name at run time.
//!
//! The lab stores locks of different protocols side by side and drives them
//! with the same steps; an enum (rather than a trait object) keeps that
//! simple, with no boxing of the async methods.

use std::time::Duration;

use crate::backoff::Backoff;
use crate::config::{LockKey, Ttl};
use crate::connection::Conn;
use crate::error::LockError;
use crate::fenced::FencedLock;
use crate::grant::{Attempt, Grant, ReleaseOutcome};
use crate::naive::NaiveLock;
use crate::naive_unchecked::NaiveUncheckedLock;
use crate::protocol::Protocol;
use crate::token_lock::TokenLock;
use crate::watchdog::{LeaseGuard, WatchdogOptions};

/// One of the four locks.
#[derive(Debug, Clone)]
pub enum AnyLock {
    /// See [`NaiveLock`].
    Naive(NaiveLock),
    /// See [`NaiveUncheckedLock`].
    NaiveUnchecked(NaiveUncheckedLock),
    /// See [`TokenLock`].
    Token(TokenLock),
    /// See [`FencedLock`].
    Fenced(FencedLock),
}

/// Calls the same method on whichever lock it is.
macro_rules! each {
    ($self:expr, $lock:ident => $body:expr) => {
        match $self {
            AnyLock::Naive($lock) => $body,
            AnyLock::NaiveUnchecked($lock) => $body,
            AnyLock::Token($lock) => $body,
            AnyLock::Fenced($lock) => $body,
        }
    };
}

impl AnyLock {
    /// A lock of `protocol` on `key` with leases of `ttl`.
    pub fn new(protocol: Protocol, conn: Conn, key: LockKey, ttl: Ttl) -> Self {
        match protocol {
            Protocol::Naive => AnyLock::Naive(NaiveLock::new(conn, key, ttl)),
            Protocol::NaiveUnchecked => {
                AnyLock::NaiveUnchecked(NaiveUncheckedLock::new(conn, key, ttl))
            }
            Protocol::Token => AnyLock::Token(TokenLock::new(conn, key, ttl)),
            Protocol::Fenced => AnyLock::Fenced(FencedLock::new(conn, key, ttl)),
        }
    }

    /// A lock of the protocol named `name` (`naive`, `naive-unchecked`,
    /// `token`, `fenced`); an unknown name is
    /// [`LockError::UnknownProtocol`].
    pub fn from_name(name: &str, conn: Conn, key: LockKey, ttl: Ttl) -> Result<Self, LockError> {
        Ok(Self::new(name.parse()?, conn, key, ttl))
    }

    /// The lock's protocol.
    pub fn protocol(&self) -> Protocol {
        each!(self, l => l.protocol())
    }

    /// The protocol's name: `naive`, `naive-unchecked`, `token` or `fenced`.
    pub fn protocol_name(&self) -> &'static str {
        self.protocol().name()
    }

    /// The lock's key.
    pub fn key(&self) -> &LockKey {
        each!(self, l => l.key())
    }

    /// The lease each grant gets.
    pub fn ttl(&self) -> Ttl {
        each!(self, l => l.ttl())
    }

    /// The connection the lock uses.
    pub fn conn(&self) -> &Conn {
        each!(self, l => l.conn())
    }

    /// Sets how `acquire` waits between attempts.
    pub fn with_backoff(self, backoff: Backoff) -> Self {
        match self {
            AnyLock::Naive(l) => AnyLock::Naive(l.with_backoff(backoff)),
            AnyLock::NaiveUnchecked(l) => AnyLock::NaiveUnchecked(l.with_backoff(backoff)),
            AnyLock::Token(l) => AnyLock::Token(l.with_backoff(backoff)),
            AnyLock::Fenced(l) => AnyLock::Fenced(l.with_backoff(backoff)),
        }
    }

    /// One acquire attempt, without waiting.
    pub async fn try_acquire(&self) -> Result<Attempt, LockError> {
        each!(self, l => l.try_acquire().await)
    }

    /// Takes the lock, waiting at most `deadline`.
    pub async fn acquire(&self, deadline: Duration) -> Result<Grant, LockError> {
        each!(self, l => l.acquire(deadline).await)
    }

    /// Releases a grant of this lock and says what happened.
    pub async fn release(&self, grant: &Grant) -> Result<ReleaseOutcome, LockError> {
        each!(self, l => l.release(grant).await)
    }

    /// Takes the lock and keeps it with a watchdog (`token` and `fenced`
    /// only; see [`TokenLock::acquire_kept`]). For the naive locks:
    /// [`LockError::WrongGrant`], before anything is sent.
    pub async fn acquire_kept(
        &self,
        deadline: Duration,
        options: &WatchdogOptions,
    ) -> Result<LeaseGuard, LockError> {
        match self {
            AnyLock::Token(l) => l.acquire_kept(deadline, options).await,
            AnyLock::Fenced(l) => l.acquire_kept(deadline, options).await,
            AnyLock::Naive(_) | AnyLock::NaiveUnchecked(_) => Err(self.not_keepable()),
        }
    }

    /// Keeps a grant of this lock alive with a watchdog (`token` and
    /// `fenced` only; see [`TokenLock::keep`]).
    pub fn keep(&self, grant: Grant, options: &WatchdogOptions) -> Result<LeaseGuard, LockError> {
        match self {
            AnyLock::Token(l) => l.keep(grant, options),
            AnyLock::Fenced(l) => l.keep(grant, options),
            AnyLock::Naive(_) | AnyLock::NaiveUnchecked(_) => Err(self.not_keepable()),
        }
    }

    fn not_keepable(&self) -> LockError {
        LockError::WrongGrant {
            reason: format!(
                "{} grants have no token, so a watchdog cannot renew them safely; \
                 keep a token or fenced lock",
                self.protocol()
            ),
        }
    }
}
