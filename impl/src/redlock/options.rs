//! How a [`Redlock`](super::Redlock) counts time: the drift allowance and
//! the per-master timeout, checked against the lease.

use std::time::Duration;

use crate::backoff::Backoff;
use crate::config::Ttl;
use crate::error::LockError;

/// Settings of a Redlock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RedlockOptions {
    drift_factor: f64,
    drift_floor: Duration,
    master_timeout: Duration,
    backoff: Backoff,
}

impl Default for RedlockOptions {
    /// The Redis documentation's drift (1 % of the lease plus 2 ms for
    /// Redis's millisecond expiry), a 50 ms timeout per master, and the
    /// crate's default jittered backoff between attempts.
    fn default() -> Self {
        RedlockOptions {
            drift_factor: 0.01,
            drift_floor: Duration::from_millis(2),
            master_timeout: Duration::from_millis(50),
            backoff: Backoff::default(),
        }
    }
}

impl RedlockOptions {
    /// The drift allowance as a share of the lease, in `[0, 1)`.
    pub fn with_drift_factor(mut self, factor: f64) -> Result<Self, LockError> {
        if !(0.0..1.0).contains(&factor) {
            return Err(LockError::InvalidOption {
                reason: format!("drift factor {factor} refused; give 0 up to, not including, 1"),
            });
        }
        self.drift_factor = factor;
        Ok(self)
    }

    /// The drift allowance added to the share of the lease (Redis expires
    /// keys to the millisecond).
    pub fn with_drift_floor(mut self, floor: Duration) -> Self {
        self.drift_floor = floor;
        self
    }

    /// How long one master may take to answer one request; a master that
    /// takes longer counts as not granted (its request may still run: a
    /// failed attempt releases on every master that did not refuse).
    pub fn with_master_timeout(mut self, timeout: Duration) -> Result<Self, LockError> {
        if timeout.is_zero() {
            return Err(LockError::InvalidOption {
                reason: "a master timeout of 0 refused; give at least 1 ms".into(),
            });
        }
        self.master_timeout = timeout;
        Ok(self)
    }

    /// How `acquire` waits between lost attempts (jittered).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The drift factor.
    pub fn drift_factor(&self) -> f64 {
        self.drift_factor
    }

    /// The drift allowance added to the share of the lease.
    pub fn drift_floor(&self) -> Duration {
        self.drift_floor
    }

    /// The per-master timeout.
    pub fn master_timeout(&self) -> Duration {
        self.master_timeout
    }

    /// The backoff between attempts.
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The drift allowance for a lease of `ttl`.
    pub fn drift(&self, ttl: Ttl) -> Duration {
        ttl.as_duration().mul_f64(self.drift_factor) + self.drift_floor
    }

    /// Refuses settings that leave a lease of `ttl` no validity at all.
    pub(crate) fn check(&self, ttl: Ttl) -> Result<(), LockError> {
        let lease = ttl.as_duration();
        if self.drift(ttl) >= lease {
            return Err(LockError::InvalidOption {
                reason: format!(
                    "a drift of {:?} leaves a lease of {lease:?} no validity; give a longer lease or less drift",
                    self.drift(ttl)
                ),
            });
        }
        if self.master_timeout >= lease {
            return Err(LockError::InvalidOption {
                reason: format!(
                    "a master timeout of {:?} is not shorter than the lease ({lease:?}): one slow master would eat the whole validity",
                    self.master_timeout
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_is_a_share_of_the_lease_plus_the_floor() {
        let o = RedlockOptions::default();
        let ttl = Ttl::from_millis(10_000).unwrap();
        assert_eq!(o.drift(ttl), Duration::from_millis(102));
        assert!(o.check(ttl).is_ok());
    }

    #[test]
    fn bad_settings_are_refused_in_one_line() {
        let o = RedlockOptions::default();
        for f in [-0.1, 1.0, 3.0, f64::NAN] {
            let e = o.with_drift_factor(f).unwrap_err();
            assert!(!e.to_string().contains('\n'));
        }
        assert!(o.with_master_timeout(Duration::ZERO).is_err());
        let short = Ttl::from_millis(40).unwrap();
        assert!(o.check(short).is_err(), "50 ms per master on a 40 ms lease");
        let o = o.with_drift_factor(0.99).unwrap();
        assert!(o.check(Ttl::from_millis(100).unwrap()).is_err());
    }
}
