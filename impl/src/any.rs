//! Any of the lease locks, chosen at run time from a protocol's
//! capabilities — never from its name.
//!
//! The lab stores locks of different protocols side by side and drives them
//! with the same steps; an enum (rather than a trait object) keeps that
//! simple, with no boxing of the async methods.

use std::time::Duration;

use locklab_spec::{Capabilities, Family, Protocol, Reentry, Release};

use crate::backoff::Backoff;
use crate::config::{LockKey, Ttl};
use crate::connection::Conn;
use crate::error::LockError;
use crate::fenced::FencedLock;
use crate::grant::{AcquireRequest, Attempt, Grant, ReleaseOutcome};
use crate::naive::NaiveLock;
use crate::naive_unchecked::NaiveUncheckedLock;
use crate::reentrant::{OwnerId, ReentrantLock};
use crate::token::Token;
use crate::token_lock::TokenLock;
use crate::token_wait::TokenWaitLock;
use crate::watchdog::{LeaseGuard, RedisLeaseStore, WatchdogOptions};

/// One of the lease locks.
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
    /// See [`ReentrantLock`].
    Reentrant(ReentrantLock),
    /// See [`TokenWaitLock`].
    TokenWait(TokenWaitLock),
}

/// Calls the same method on whichever lock it is.
macro_rules! each {
    ($self:expr, $lock:ident => $body:expr) => {
        match $self {
            AnyLock::Naive($lock) => $body,
            AnyLock::NaiveUnchecked($lock) => $body,
            AnyLock::Token($lock) => $body,
            AnyLock::Fenced($lock) => $body,
            AnyLock::Reentrant($lock) => $body,
            AnyLock::TokenWait($lock) => $body,
        }
    };
}

/// Rebuilds the same variant around a changed lock.
macro_rules! map {
    ($self:expr, $lock:ident => $body:expr) => {
        match $self {
            AnyLock::Naive($lock) => AnyLock::Naive($body),
            AnyLock::NaiveUnchecked($lock) => AnyLock::NaiveUnchecked($body),
            AnyLock::Token($lock) => AnyLock::Token($body),
            AnyLock::Fenced($lock) => AnyLock::Fenced($body),
            AnyLock::Reentrant($lock) => AnyLock::Reentrant($body),
            AnyLock::TokenWait($lock) => AnyLock::TokenWait($body),
        }
    };
}

impl AnyLock {
    /// The lock `protocol`'s capabilities call for, on `key` with leases of
    /// `ttl`; a re-entrant one is held by a fresh random owner (see
    /// [`AnyLock::with_owner`]). A protocol of another family than the
    /// single-instance lease locks is [`LockError::UnknownProtocol`].
    pub fn new(protocol: Protocol, conn: Conn, key: LockKey, ttl: Ttl) -> Result<Self, LockError> {
        let owner = OwnerId::new(Token::random().to_string())?;
        Self::with_owner(protocol, conn, key, ttl, owner)
    }

    /// As [`AnyLock::new`], with the owner a re-entrant lock is held by.
    pub fn with_owner(
        protocol: Protocol,
        conn: Conn,
        key: LockKey,
        ttl: Ttl,
        owner: OwnerId,
    ) -> Result<Self, LockError> {
        if protocol.family() != Family::Lease {
            return Err(unknown(protocol.name()));
        }
        let caps = protocol.caps();
        let lock = match LockType::of(&caps).ok_or_else(|| LockError::NoLockType {
            protocol: protocol.name().to_owned(),
            caps: format!("{caps:?}"),
        })? {
            LockType::TokenWait => {
                let lock = TokenWaitLock::new(conn, key, ttl);
                let timeout = lock.wait_timeout();
                AnyLock::TokenWait(lock.with_wait(u32::from(caps.wait_replicas), timeout)?)
            }
            LockType::Reentrant => AnyLock::Reentrant(ReentrantLock::new(conn, key, ttl, owner)),
            LockType::Fenced => AnyLock::Fenced(FencedLock::new(conn, key, ttl)),
            LockType::Token => AnyLock::Token(TokenLock::new(conn, key, ttl)),
            LockType::Naive => AnyLock::Naive(NaiveLock::new(conn, key, ttl)),
            LockType::NaiveUnchecked => {
                AnyLock::NaiveUnchecked(NaiveUncheckedLock::new(conn, key, ttl))
            }
        };
        Ok(map!(lock, l => l.declared_as(protocol)))
    }

    /// A lock of the protocol named `name`; an unknown name is
    /// [`LockError::UnknownProtocol`].
    pub fn from_name(name: &str, conn: Conn, key: LockKey, ttl: Ttl) -> Result<Self, LockError> {
        let protocol = Protocol::named(name).map_err(|_| unknown(name))?;
        Self::new(protocol, conn, key, ttl)
    }

    /// The lock's protocol.
    pub fn protocol(&self) -> Protocol {
        each!(self, l => l.protocol())
    }

    /// The protocol's name.
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

    /// The owner id of a re-entrant lock.
    pub fn owner(&self) -> Option<&OwnerId> {
        match self {
            AnyLock::Reentrant(l) => Some(l.owner()),
            _ => None,
        }
    }

    /// The lock with `WAIT`, to run its acquire in two halves.
    pub fn token_wait(&self) -> Option<&TokenWaitLock> {
        match self {
            AnyLock::TokenWait(l) => Some(l),
            _ => None,
        }
    }

    /// Sets how `acquire` waits between attempts.
    pub fn with_backoff(self, backoff: Backoff) -> Self {
        map!(self, l => l.with_backoff(backoff))
    }

    /// One acquire attempt, without waiting.
    pub async fn try_acquire(&self) -> Result<Attempt, LockError> {
        each!(self, l => l.try_acquire().await)
    }

    /// One acquire attempt with a given request: sending the same request
    /// twice is what a client library's retry after a lost reply does.
    pub async fn try_acquire_as(&self, request: &AcquireRequest) -> Result<Attempt, LockError> {
        each!(self, l => l.try_acquire_as(request).await)
    }

    /// Runs an acquire request as a reply lost on its way back would: what
    /// Redis answered is returned (to the lab that injects the fault), but
    /// nothing of it reaches the lock's state; a client's retry then sends
    /// the same request again with [`AnyLock::try_acquire_as`].
    pub async fn run_unread(&self, request: &AcquireRequest) -> Result<Attempt, LockError> {
        match self {
            AnyLock::Reentrant(l) => l.run_unread(request).await,
            other => each!(other, l => l.try_acquire_as(request).await),
        }
    }

    /// Takes the lock, waiting at most `deadline`.
    pub async fn acquire(&self, deadline: Duration) -> Result<Grant, LockError> {
        each!(self, l => l.acquire(deadline).await)
    }

    /// Releases a grant of this lock (one level of a re-entrant one) and
    /// says what happened.
    pub async fn release(&self, grant: &Grant) -> Result<ReleaseOutcome, LockError> {
        each!(self, l => l.release(grant).await)
    }

    /// Takes the lock and keeps it with a watchdog (the locks whose value
    /// is a token only; see [`TokenLock::acquire_kept`]). For the others:
    /// [`LockError::WrongGrant`], before anything is sent.
    pub async fn acquire_kept(
        &self,
        deadline: Duration,
        options: &WatchdogOptions,
    ) -> Result<LeaseGuard, LockError> {
        match self {
            AnyLock::Token(l) => l.acquire_kept(deadline, options).await,
            AnyLock::Fenced(l) => l.acquire_kept(deadline, options).await,
            _ => Err(self.not_keepable()),
        }
    }

    /// Keeps a grant of this lock alive with a watchdog (the locks whose
    /// value is a token only; see [`TokenLock::keep`]).
    pub fn keep(&self, grant: Grant, options: &WatchdogOptions) -> Result<LeaseGuard, LockError> {
        match self {
            AnyLock::Token(l) => l.keep(grant, options),
            AnyLock::Fenced(l) => l.keep(grant, options),
            _ => Err(self.not_keepable()),
        }
    }

    /// The store a watchdog of this lock renews in (the locks whose value
    /// is a token only), renewing as the protocol's capabilities say.
    pub fn lease_store(&self) -> Result<RedisLeaseStore, LockError> {
        match self {
            AnyLock::Token(l) => Ok(l.lease_store()),
            AnyLock::Fenced(l) => Ok(l.lease_store()),
            _ => Err(self.not_keepable()),
        }
    }

    fn not_keepable(&self) -> LockError {
        LockError::WrongGrant {
            reason: format!(
                "{} grants are not a token in a string key, so the watchdog's \
                 compare-and-PEXPIRE cannot renew them; keep a token or fenced lock",
                self.protocol()
            ),
        }
    }
}

/// The lock types of this crate, by what they implement: each matches the
/// whole capability tuple, so a mix that none implements is refused
/// ([`LockError::NoLockType`]) instead of served by the nearest one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockType {
    /// `SET NX`, reply read, `DEL`.
    Naive,
    /// `SET NX`, reply ignored, `DEL`.
    NaiveUnchecked,
    /// A unique token, compare-and-delete.
    Token,
    /// The token lock with a fencing token per grant.
    Fenced,
    /// The fenced lock, counted per owner.
    Reentrant,
    /// The token lock with `WAIT` for replicas after each grant.
    TokenWait,
}

impl LockType {
    /// The lock type that implements exactly `caps`, if one does.
    pub fn of(caps: &Capabilities) -> Option<LockType> {
        use Release::{CompareAndDelete as Cad, Del};
        let Capabilities {
            checks_reply,
            unique_token,
            release,
            fencing,
            reentry,
            sync,
            wait_replicas,
            // Renewal is the watchdog's (its store renews as the
            // capability says); the lock beneath is the same type.
            renewal: _,
        } = *caps;
        if sync.is_some() {
            return None;
        }
        let counted = matches!(reentry, Reentry::Counted { .. });
        Some(
            match (
                checks_reply,
                unique_token,
                release,
                fencing,
                counted,
                wait_replicas,
            ) {
                (true, false, Del, false, false, 0) => LockType::Naive,
                (false, false, Del, false, false, 0) => LockType::NaiveUnchecked,
                (true, true, Cad, false, false, 0) => LockType::Token,
                (true, true, Cad, true, false, 0) => LockType::Fenced,
                (true, true, Cad, true, true, 0) => LockType::Reentrant,
                (true, true, Cad, false, false, 1..) => LockType::TokenWait,
                _ => return None,
            },
        )
    }
}

fn unknown(name: &str) -> LockError {
    let known: Vec<&str> = Protocol::all()
        .iter()
        .filter(|p| p.family() == Family::Lease)
        .map(|p| p.name())
        .collect();
    LockError::UnknownProtocol {
        name: name.to_owned(),
        known: known.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use locklab_spec::{Capabilities, Family, Protocol};

    use super::LockType;

    #[test]
    fn every_lease_protocol_has_its_lock_type() {
        for p in Protocol::all()
            .iter()
            .filter(|p| p.family() == Family::Lease)
        {
            assert!(LockType::of(&p.caps()).is_some(), "{p}");
        }
    }

    #[test]
    fn a_mix_no_lock_type_implements_is_refused() {
        let fenced_waiting = Capabilities {
            wait_replicas: 1,
            ..Capabilities::FENCED
        };
        assert_eq!(LockType::of(&fenced_waiting), None);
        let unchecked_token = Capabilities {
            checks_reply: false,
            ..Capabilities::TOKEN
        };
        assert_eq!(LockType::of(&unchecked_token), None);
        assert_eq!(LockType::of(&Capabilities::FENCED), Some(LockType::Fenced));
    }
}
