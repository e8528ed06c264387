//! [`QuorumGrant`]: a Redlock held by a majority, valid until a deadline
//! on this process's monotonic clock.

use std::time::{Duration, Instant};

use crate::grant::Grant;

/// A Redlock grant: the token on a majority of the masters, valid until
/// [`valid_until`](Self::valid_until) — the lease from the first request,
/// less the drift allowance. Past it, the keys may be gone on enough
/// masters for another client to hold the lock; the holder must stop
/// acting under it ([`expired`](Self::expired) says when), or extend it in
/// time ([`Redlock::extend`](super::Redlock::extend)).
///
/// A pause of this process (GC, swap, SIGSTOP) can carry the holder past
/// its validity without it noticing until it looks again: that is the
/// limit of every lease, which fencing exists for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumGrant {
    pub(crate) grant: Grant,
    pub(crate) valid_until: Instant,
    pub(crate) masters: Vec<usize>,
    /// The waiter in turn that won it ([`Wait::Fifo`](crate::Wait::Fifo)):
    /// its release leaves every queue.
    pub(crate) waiter: Option<String>,
}

impl QuorumGrant {
    /// The grant as the single-instance locks give it: key, token, fencing
    /// token, lease, and when the first request was sent.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// The fencing token (fenced Redlock): the largest counter of the
    /// granting masters. Computed, not assumed monotonic: see
    /// `docs/redlock.md`.
    pub fn fence(&self) -> Option<u64> {
        self.grant.fence()
    }

    /// The masters (by index) that granted.
    pub fn masters(&self) -> &[usize] {
        &self.masters
    }

    /// When the validity ends.
    pub fn valid_until(&self) -> Instant {
        self.valid_until
    }

    /// How much validity is left (zero once it is gone).
    pub fn remaining(&self) -> Duration {
        self.valid_until.saturating_duration_since(Instant::now())
    }

    /// Whether validity is left.
    pub fn is_valid(&self) -> bool {
        Instant::now() < self.valid_until
    }

    /// Completes when the validity is gone: select on it beside the work
    /// done under the lock.
    pub async fn expired(&self) {
        tokio::time::sleep_until(self.valid_until.into()).await;
    }
}
