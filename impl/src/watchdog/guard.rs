//! The holder's handle on a kept lease.
//!
//! A holder needs three things while it works: to know *at once* when the
//! lease is lost (so it can stop, in a `select!`), to ask cheaply whether it
//! still holds, and to release. [`LeaseGuard`] gives exactly those, and
//! owns the renewal task's lifetime: releasing stops renewal before the
//! delete, and dropping stops renewal without deleting.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::lost::LostReason;
use super::options::WatchdogOptions;
use super::state::LeaseState;
use super::store::{LeaseStore, RedisLeaseStore};
use super::task::{self, now};
use crate::error::LockError;
use crate::grant::{Grant, ReleaseOutcome};

/// A held lock whose lease a watchdog keeps renewing.
///
/// Made by [`TokenLock::acquire_kept`](crate::TokenLock::acquire_kept),
/// [`keep`](crate::TokenLock::keep) (and the same on
/// [`FencedLock`](crate::FencedLock) and [`AnyLock`](crate::AnyLock)), or
/// [`LeaseGuard::start`] for any [`LeaseStore`].
///
/// ```no_run
/// # use std::time::Duration;
/// # use locklab_impl::{TokenLock, WatchdogOptions};
/// # async fn work() {}
/// # async fn run(lock: TokenLock) -> Result<(), locklab_impl::LockError> {
/// let guard = lock.acquire_kept(Duration::from_secs(1), &WatchdogOptions::default()).await?;
/// tokio::select! {
///     reason = guard.lost() => eprintln!("lease lost ({reason}): stopping the work"),
///     () = work() => {}
/// }
/// guard.release().await?;
/// # Ok(())
/// # }
/// ```
///
/// # Dropping
///
/// `Drop` cannot be async, so dropping a guard does **not** release the
/// lock: it stops the watchdog (no renewal starts after the drop; one
/// already in flight may still land, extending the lease by at most one TTL
/// from when it was sent), and the lease then runs out on Redis by itself.
/// Call [`release`](Self::release) to free the lock at once.
pub struct LeaseGuard<S: LeaseStore = RedisLeaseStore> {
    grant: Grant,
    lease: Arc<LeaseState>,
    store: Arc<S>,
    interval: Duration,
}

impl<S: LeaseStore> LeaseGuard<S> {
    /// Starts a watchdog keeping `grant` alive in `store`: a tokio task (on
    /// the current runtime) that renews every
    /// [`interval`](WatchdogOptions::interval_for) until the guard is
    /// released or dropped, the lease is lost, or the maximum hold time is
    /// reached.
    ///
    /// Refused ([`LockError::WrongGrant`]) for a grant without a token (the
    /// naive locks cannot tell their lock from another's, so they cannot be
    /// renewed safely), ([`LockError::InvalidOption`]) for an interval that
    /// does not fit the grant's TTL, and outside a tokio runtime.
    pub fn start(store: S, grant: Grant, options: &WatchdogOptions) -> Result<Self, LockError> {
        let token = grant.token().ok_or_else(|| LockError::WrongGrant {
            reason: format!(
                "a {} grant has no token; only token and fenced grants can be kept alive",
                grant.protocol()
            ),
        })?;
        let interval = options.interval_for(grant.ttl())?;
        let runtime = current_runtime()?;
        let lease = Arc::new(LeaseState::new(
            token,
            grant.ttl().as_duration(),
            grant.granted_at(),
            options.max_hold(),
        ));
        let store = Arc::new(store);
        // The task only ever asks `lease` whether it may renew, so it does
        // not matter when it first runs: a task first polled after the
        // guard was released or dropped renews nothing (the race of
        // Redisson issue #7272 has no window here).
        runtime.spawn(task::renew(
            Arc::clone(&lease),
            Arc::clone(&store),
            interval,
            grant.key().as_str().to_owned(),
        ));
        Ok(Self {
            grant,
            lease,
            store,
            interval,
        })
    }

    /// The grant being kept (same token and fencing token for the guard's
    /// whole life).
    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// The grant's fencing token (`fenced` only).
    pub fn fence(&self) -> Option<u64> {
        self.grant.fence()
    }

    /// How often the watchdog renews.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The believed end of the lease: the send time of the last confirmed
    /// renewal (or of the acquire) plus the TTL. Pessimistic, as
    /// [`Grant::remaining`]; no guarantee if this process was paused.
    pub fn lease_until(&self) -> Instant {
        self.lease.lease_until()
    }

    /// How much of the believed lease is left (zero once it may be over).
    pub fn remaining(&self) -> Duration {
        self.lease.lease_until().saturating_duration_since(now())
    }

    /// How many renewals have extended the lease so far.
    pub fn renewals(&self) -> u64 {
        self.lease.renewals()
    }

    /// Whether the lease is lost (a renewal found the key gone or taken, or
    /// the believed lease ended unconfirmed). Agrees with [`lost`](Self::lost):
    /// both look at the clock the same way, and once lost, always lost.
    pub fn is_lost(&self) -> bool {
        self.lease.check_clock(now()).is_some()
    }

    /// Why the lease is lost, if it is (see [`is_lost`](Self::is_lost)).
    pub fn lost_reason(&self) -> Option<LostReason> {
        self.lease.check_clock(now())
    }

    /// Completes the moment the lease is lost, with why: when a renewal
    /// finds the key gone or another's, or when the believed lease ends
    /// without a confirmed renewal (by a timer of its own, so even a
    /// renewal stuck on a paused server cannot delay it). Cancel-safe; can
    /// be awaited again, and by several tasks.
    pub async fn lost(&self) -> LostReason {
        loop {
            let changed = self.lease.changed();
            if let Some(reason) = self.lease.check_clock(now()) {
                return reason;
            }
            let until = self.lease.lease_until();
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep_until(until.into()) => {}
            }
        }
    }

    /// Stops renewal, waits for a renewal in flight (if any) to be
    /// answered, then deletes the key if it still holds our token:
    /// [`ReleaseOutcome::Released`], or [`ReleaseOutcome::NotHeld`] (the
    /// lease was lost). No renewal is sent after the delete.
    ///
    /// On an error the key may or may not be deleted; renewal is stopped
    /// either way, so the lease runs out by itself. To retry, keep a clone
    /// of [`grant`](Self::grant) and pass it to the lock's `release`. The
    /// same holds if this future is dropped before it completes (e.g. by a
    /// caller's timeout): renewal stays stopped.
    pub async fn release(self) -> Result<ReleaseOutcome, LockError> {
        self.lease.release(self.store.as_ref()).await
    }
}

/// The tokio runtime the watchdog task will run on.
pub(crate) fn current_runtime() -> Result<tokio::runtime::Handle, LockError> {
    tokio::runtime::Handle::try_current().map_err(|_| LockError::InvalidOption {
        reason: "a watchdog runs as a tokio task; start it from within a tokio runtime".into(),
    })
}

impl<S: LeaseStore> Drop for LeaseGuard<S> {
    /// Stops the watchdog without releasing (see [Dropping](Self#dropping)).
    fn drop(&mut self) {
        self.lease.abandon();
    }
}

impl<S: LeaseStore> fmt::Debug for LeaseGuard<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseGuard")
            .field("grant", &self.grant)
            .field("interval", &self.interval)
            .field("phase", &self.lease.phase())
            .field("lost", &self.lease.lost_reason())
            .field("renewals", &self.lease.renewals())
            .finish_non_exhaustive()
    }
}
