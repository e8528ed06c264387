//! Waiting for a busy lock: jittered exponential backoff up to a deadline.
//!
//! Contenders that retry in lock-step hammer Redis together and collide
//! again; randomising each wait spreads them out. This is "full jitter" from
//! Marc Brooker, "Exponential Backoff And Jitter" (AWS Architecture Blog,
//! 2015, <https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/>):
//! the n-th wait is drawn uniformly up to `min(max, base · 2ⁿ)`, here with
//! `base` as the floor so that every wait but the last is at least `base`.
//! That floor bounds the loop: at most `deadline / base + 2` attempts.
//!
//! Polling is what the design asks for now; a later issue may add
//! keyspace-notification wake-ups, which would keep this as the fallback.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use crate::error::LockError;
use crate::grant::{Attempt, Grant};

/// The longest deadline `acquire` accepts: 24 hours (the longest lease).
/// To wait "forever", loop over `acquire` in the caller, where the policy
/// belongs.
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest single wait a [`Backoff`] may be configured with.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How long to wait between acquire attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
}

impl Default for Backoff {
    /// 1 ms to 50 ms: short next to a lease of a second or more, and at most
    /// 20 attempts a second per waiting client once backed off.
    fn default() -> Self {
        Self {
            base: Duration::from_millis(1),
            max: Duration::from_millis(50),
        }
    }
}

impl Backoff {
    /// Waits from `base` up to `max`; needs `0 < base <= max <= 10 s`.
    pub fn new(base: Duration, max: Duration) -> Result<Self, LockError> {
        if base.is_zero() || base > max || max > MAX_BACKOFF {
            return Err(LockError::InvalidOption {
                reason: format!(
                    "backoff {base:?}..{max:?} refused; need 0 < base <= max <= {MAX_BACKOFF:?}"
                ),
            });
        }
        Ok(Self { base, max })
    }

    /// The shortest wait.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The longest wait.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The wait after the `attempt`-th busy reply (0-based): uniform in
    /// `[base, min(max, base · 2^attempt)]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .checked_mul(1 << attempt.min(31))
            .unwrap_or(self.max)
            .min(self.max);
        let (lo, hi) = (self.base.as_nanos() as u64, ceiling.as_nanos() as u64);
        Duration::from_nanos(rand::rng().random_range(lo..=hi))
    }
}

/// Calls `attempt` until it grants, waiting by `backoff` between busy
/// replies, and gives up with [`LockError::NotAcquired`] once `deadline`
/// has passed.
///
/// Always makes at least one attempt (a zero deadline is one try). An
/// attempt in flight is never cancelled — a `SET NX` cut off mid-way may have
/// taken the lock — so the call can overrun the deadline by at most one
/// command's response timeout. Errors from an attempt are returned at once:
/// whether to retry after, say, a timeout is the caller's call (see
/// [`LockError::is_retryable`]).
pub(crate) async fn acquire_with_backoff<F, Fut>(
    backoff: &Backoff,
    deadline: Duration,
    mut attempt: F,
) -> Result<Grant, LockError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Attempt, LockError>>,
{
    if deadline > MAX_WAIT {
        return Err(LockError::InvalidOption {
            reason: format!("acquire deadline {deadline:?} refused; at most {MAX_WAIT:?}"),
        });
    }
    let start = Instant::now();
    let mut busy: u32 = 0;
    loop {
        match attempt().await? {
            Attempt::Granted(grant) => return Ok(grant),
            Attempt::Lost => {
                return Err(LockError::NotHeld {
                    reason: "a re-entry found this owner's hold gone (its lease ran out)".into(),
                })
            }
            Attempt::Busy | Attempt::Unacknowledged(_) => {}
        }
        let waited = start.elapsed();
        let remaining = deadline.saturating_sub(waited);
        if remaining.is_zero() {
            tracing::debug!(
                ?waited,
                attempts = busy + 1,
                "lock not acquired by the deadline"
            );
            return Err(LockError::NotAcquired { waited });
        }
        tokio::time::sleep(backoff.delay(busy).min(remaining)).await;
        busy = busy.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Instant as StdInstant;

    use super::*;
    use crate::config::{LockKey, Ttl};
    use crate::protocol::Protocol;

    fn grant() -> Grant {
        Grant {
            protocol: Protocol::named("token").unwrap(),
            key: LockKey::new("k").unwrap(),
            token: None,
            fence: None,
            ttl: Ttl::from_millis(100).unwrap(),
            granted_at: StdInstant::now(),
            server_granted: true,
            count: None,
        }
    }

    #[test]
    fn delays_stay_within_base_and_the_growing_ceiling() {
        let b = Backoff::default();
        for attempt in 0..100 {
            let ceiling = Duration::from_millis(1 << attempt.min(6)).min(b.max());
            for _ in 0..50 {
                let d = b.delay(attempt);
                assert!(d >= b.base() && d <= ceiling, "attempt {attempt}: {d:?}");
            }
        }
        assert_eq!(b.delay(0), b.base());
        assert!(b.delay(u32::MAX) <= b.max());
    }

    #[test]
    fn delays_are_jittered() {
        let b = Backoff::default();
        let distinct: std::collections::HashSet<Duration> = (0..100).map(|_| b.delay(10)).collect();
        assert!(distinct.len() > 50, "{}", distinct.len());
    }

    #[test]
    fn bad_backoffs_are_refused() {
        let ms = Duration::from_millis;
        assert!(Backoff::new(Duration::ZERO, ms(5)).is_err());
        assert!(Backoff::new(ms(6), ms(5)).is_err());
        assert!(Backoff::new(ms(1), Duration::from_secs(11)).is_err());
        assert!(Backoff::new(ms(5), ms(5)).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_lock_gives_not_acquired_after_the_deadline_with_bounded_attempts() {
        let calls = Cell::new(0u32);
        let deadline = Duration::from_millis(200);
        let start = Instant::now();
        let err = acquire_with_backoff(&Backoff::default(), deadline, || {
            calls.set(calls.get() + 1);
            async { Ok(Attempt::Busy) }
        })
        .await
        .unwrap_err();
        let LockError::NotAcquired { waited } = err else {
            panic!("{err:?}")
        };
        assert!(waited >= deadline, "{waited:?}");
        // Paused clock: time only moves by the sleeps, so this is exact.
        assert_eq!(start.elapsed(), waited);
        assert!(
            calls.get() >= 2 && calls.get() <= 200 + 2,
            "{}",
            calls.get()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_deadline_is_one_attempt() {
        let calls = Cell::new(0u32);
        let err = acquire_with_backoff(&Backoff::default(), Duration::ZERO, || {
            calls.set(calls.get() + 1);
            async { Ok(Attempt::Busy) }
        })
        .await
        .unwrap_err();
        assert!(matches!(err, LockError::NotAcquired { .. }));
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_ends_when_the_lock_is_granted() {
        let calls = Cell::new(0u32);
        let g = acquire_with_backoff(&Backoff::default(), Duration::from_secs(5), || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                Ok(if n < 5 {
                    Attempt::Busy
                } else {
                    Attempt::Granted(grant())
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(g.key().as_str(), "k");
        assert_eq!(calls.get(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn errors_are_returned_at_once_and_huge_deadlines_refused() {
        let calls = Cell::new(0u32);
        let err = acquire_with_backoff(&Backoff::default(), Duration::from_secs(5), || {
            calls.set(calls.get() + 1);
            async {
                Err(LockError::Timeout {
                    timeout: Duration::from_secs(2),
                })
            }
        })
        .await
        .unwrap_err();
        assert!(matches!(err, LockError::Timeout { .. }));
        assert_eq!(calls.get(), 1);

        let err = acquire_with_backoff(&Backoff::default(), Duration::MAX, || async {
            Ok(Attempt::Busy)
        })
        .await
        .unwrap_err();
        assert!(matches!(err, LockError::InvalidOption { .. }), "{err:?}");
    }
}
