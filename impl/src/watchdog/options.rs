//! How often the watchdog renews, and for how long at most.
//!
//! The renewal interval trades Redis traffic for slack: renewing every
//! third of the lease (the default, as Redisson does) leaves room for two
//! failed renewals before the lease runs out. The maximum hold time bounds
//! the renewal loop: a holder that hangs forever (a deadlock, a lost task)
//! would otherwise keep the lock forever through its watchdog.

use std::time::Duration;

use crate::config::Ttl;
use crate::error::LockError;

/// The longest maximum hold time accepted, and the default: 24 hours (the
/// longest lease, [`MAX_TTL`](crate::MAX_TTL)). A lock held longer than a
/// day is an operator's business, not a watchdog's.
pub const MAX_HOLD: Duration = Duration::from_secs(24 * 60 * 60);

/// The watchdog's settings; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchdogOptions {
    interval: Option<Duration>,
    max_hold: Duration,
}

impl Default for WatchdogOptions {
    /// Renew every third of the lease; hold at most [`MAX_HOLD`].
    fn default() -> Self {
        Self {
            interval: None,
            max_hold: MAX_HOLD,
        }
    }
}

impl WatchdogOptions {
    /// The defaults (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Renews every `interval` instead of every third of the lease. It must
    /// be at least 1 ms and shorter than the lease; that is checked against
    /// the lock's TTL when the watchdog starts.
    pub fn with_interval(self, interval: Duration) -> Result<Self, LockError> {
        if interval < Duration::from_millis(1) {
            return Err(LockError::InvalidOption {
                reason: format!(
                    "renewal interval {interval:?} is below 1 ms; give 1 ms up to less than the TTL"
                ),
            });
        }
        Ok(Self {
            interval: Some(interval),
            ..self
        })
    }

    /// Stops renewing `max_hold` after the grant (the lease then runs out
    /// and the guard reports [`MaxHoldReached`](super::LostReason::MaxHoldReached)).
    /// More than zero, at most [`MAX_HOLD`].
    pub fn with_max_hold(self, max_hold: Duration) -> Result<Self, LockError> {
        if max_hold.is_zero() || max_hold > MAX_HOLD {
            return Err(LockError::InvalidOption {
                reason: format!(
                    "maximum hold time {max_hold:?} refused; give more than zero, at most {MAX_HOLD:?}"
                ),
            });
        }
        Ok(Self { max_hold, ..self })
    }

    /// The interval asked for, if any (`None`: a third of the lease).
    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// The maximum hold time.
    pub fn max_hold(&self) -> Duration {
        self.max_hold
    }

    /// The renewal interval for leases of `ttl`: the one asked for, or a
    /// third of `ttl` (whole milliseconds); refused unless 1 ms ≤ interval
    /// < ttl.
    pub fn interval_for(&self, ttl: Ttl) -> Result<Duration, LockError> {
        let ttl = ttl.as_duration();
        let interval = self
            .interval
            .unwrap_or_else(|| Duration::from_millis(ttl.as_millis() as u64 / 3));
        if interval < Duration::from_millis(1) || interval >= ttl {
            return Err(LockError::InvalidOption {
                reason: format!(
                    "renewal interval {interval:?} refused for a {ttl:?} lease; \
                     it must be at least 1 ms and shorter than the lease (the default, \
                     a third of the lease, needs a lease of at least 3 ms)"
                ),
            });
        }
        Ok(interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ttl(ms: u64) -> Ttl {
        Ttl::from_millis(ms).unwrap()
    }

    #[test]
    fn the_default_interval_is_a_third_of_the_lease() {
        let o = WatchdogOptions::new();
        assert_eq!(
            o.interval_for(ttl(300)).unwrap(),
            Duration::from_millis(100)
        );
        assert_eq!(o.interval_for(ttl(3)).unwrap(), Duration::from_millis(1));
        assert_eq!(o.max_hold(), MAX_HOLD);
    }

    #[test]
    fn an_interval_must_be_shorter_than_the_lease() {
        let o = WatchdogOptions::new()
            .with_interval(Duration::from_millis(300))
            .unwrap();
        let e = o.interval_for(ttl(300)).unwrap_err();
        assert!(matches!(e, LockError::InvalidOption { .. }), "{e:?}");
        assert!(!e.to_string().contains('\n'), "{e}");
        assert_eq!(
            o.interval_for(ttl(301)).unwrap(),
            Duration::from_millis(300)
        );
        // Too short a lease for the default third.
        assert!(WatchdogOptions::new().interval_for(ttl(2)).is_err());
    }

    #[test]
    fn zero_and_oversized_settings_are_refused() {
        assert!(WatchdogOptions::new()
            .with_interval(Duration::ZERO)
            .is_err());
        assert!(WatchdogOptions::new()
            .with_interval(Duration::from_micros(999))
            .is_err());
        assert!(WatchdogOptions::new()
            .with_max_hold(Duration::ZERO)
            .is_err());
        assert!(WatchdogOptions::new()
            .with_max_hold(MAX_HOLD + Duration::from_millis(1))
            .is_err());
        let o = WatchdogOptions::new()
            .with_max_hold(Duration::from_secs(5))
            .unwrap();
        assert_eq!(o.max_hold(), Duration::from_secs(5));
    }
}
