//! What the locks hand back: attempts, grants, and release outcomes.
//!
//! All the locks speak these types, so a caller (or the lab) can drive them
//! uniformly and record exactly what happened: who was granted what, with
//! which token and fencing token, and what a release really did.

use std::time::{Duration, Instant};

use crate::config::{LockKey, Ttl};
use crate::protocol::Protocol;
use crate::token::Token;

/// The result of one acquire attempt, without waiting.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// The caller holds the lock (or, for `naive-unchecked`, believes it
    /// does: see [`Grant::server_granted`]).
    Granted(Grant),
    /// Another client holds the lock.
    Busy,
    /// (`reentrant`) A re-entry found the caller's own hold gone: its lease
    /// ran out under it. The caller no longer holds the lock at any level.
    Lost,
    /// (`token-wait`) The primary granted the lock, but too few replicas
    /// acknowledged it: the grant was released and does not count. Try
    /// again as after [`Attempt::Busy`].
    Unacknowledged(Unacknowledged),
}

impl Attempt {
    /// The grant, if the attempt was granted.
    pub fn granted(self) -> Option<Grant> {
        match self {
            Attempt::Granted(g) => Some(g),
            Attempt::Busy | Attempt::Lost | Attempt::Unacknowledged(_) => None,
        }
    }
}

/// A grant no replica (or too few) acknowledged, and what became of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unacknowledged {
    /// Replicas that acknowledged it (`WAIT`'s answer); `None` when the
    /// `WAIT` could not run on the connection that sent the grant (it
    /// broke, or the primary moved), so nothing was confirmed.
    pub acked: Option<u32>,
    /// Replicas asked for.
    pub wanted: u32,
    /// The release of the grant: `None` when it failed (the lease then
    /// ends on its own).
    pub released: Option<ReleaseOutcome>,
}

/// One acquire request, as it goes on the wire: sending the same request
/// twice (a client library's retry after a lost reply) sends the same token
/// and attempt id, so a lock that recognises its own attempts can count it
/// once ([`crate::ReentrantLock`]); the others cannot, and show what a
/// retry does to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireRequest {
    pub(crate) token: Token,
}

impl AcquireRequest {
    /// A new request, with a fresh random token (which is also its attempt
    /// id).
    pub fn fresh() -> Self {
        AcquireRequest {
            token: Token::random(),
        }
    }
}

/// A held lock: the proof a caller passes back to release it.
///
/// A grant is a *lease*: it is valid for [`ttl`](Self::ttl) from the moment
/// Redis set the key, which is some time after [`granted_at`](Self::granted_at)
/// (the instant the request was sent). So `granted_at + ttl` is the
/// earliest the lease can end, and [`remaining`](Self::remaining) is a safe
/// (pessimistic) estimate — as long as this process was not paused and the
/// server's clock runs at the rate of ours. It is never a guarantee: that is
/// what the fenced lock is for.
///
/// Grants are created only by the locks (fields are read through methods),
/// so a grant always matches the lock, key and token that issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub(crate) protocol: Protocol,
    pub(crate) key: LockKey,
    pub(crate) token: Option<Token>,
    pub(crate) fence: Option<u64>,
    pub(crate) ttl: Ttl,
    pub(crate) granted_at: Instant,
    pub(crate) server_granted: bool,
    pub(crate) count: Option<u32>,
}

impl Grant {
    /// The protocol of the lock that issued this grant.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The lock's key.
    pub fn key(&self) -> &LockKey {
        &self.key
    }

    /// The random token stored as the key's value (`token`, `fenced`);
    /// `None` for the naive locks, which all store `1`.
    pub fn token(&self) -> Option<Token> {
        self.token
    }

    /// The fencing token (`fenced` only): strictly greater than that of
    /// every earlier grant of the same lock key. Pass it with every write to
    /// the protected resource.
    pub fn fence(&self) -> Option<u64> {
        self.fence
    }

    /// The lease length asked for.
    pub fn ttl(&self) -> Ttl {
        self.ttl
    }

    /// When the acquiring request was sent (just before Redis set the key).
    pub fn granted_at(&self) -> Instant {
        self.granted_at
    }

    /// Whether Redis really set the key for this grant.
    ///
    /// Always `true`, except for `naive-unchecked`, whose bug is to report
    /// every attempt as granted: there this field is what `SET NX` actually
    /// answered, so the truth can be recorded beside the belief.
    pub fn server_granted(&self) -> bool {
        self.server_granted
    }

    /// (`reentrant`) The hold count after this grant: 1 for a first
    /// acquire, one more for each re-entry.
    pub fn count(&self) -> Option<u32> {
        self.count
    }

    /// How much of the lease is left at the latest, by this process's clock
    /// (zero once it may have run out).
    pub fn remaining(&self) -> Duration {
        self.ttl
            .as_duration()
            .saturating_sub(self.granted_at.elapsed())
    }
}

/// What a release did. Never silent: a release that found the lock gone or
/// taken says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReleaseOutcome {
    /// (`token`, `fenced`) The key still held our token and was deleted.
    Released,
    /// (`token`, `fenced`) The key held no longer our token: the lease ran
    /// out, and the key is gone or another client holds it now. Nothing was
    /// deleted.
    NotHeld,
    /// (`naive`, `naive-unchecked`) `DEL` removed *a* key. The naive locks
    /// cannot know whose: if our lease ran out and another client acquired,
    /// this just removed *their* lock. That is exactly the unsafe release
    /// these locks are there to show.
    Deleted,
    /// (`naive`, `naive-unchecked`) `DEL` found no key: the lease had run
    /// out and nobody had taken the lock since.
    NothingToDelete,
    /// (`reentrant`) One level given back; the lock is still held, at
    /// `count` levels.
    StillHeld {
        /// The hold count left.
        count: u32,
    },
}

impl ReleaseOutcome {
    /// Whether a key was removed (ours for `Released`; someone's for
    /// `Deleted`).
    pub fn removed_a_key(self) -> bool {
        matches!(self, ReleaseOutcome::Released | ReleaseOutcome::Deleted)
    }
}
