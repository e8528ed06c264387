//! The waiting strategies and their settings.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::backoff::{Backoff, MAX_BACKOFF};
use crate::error::LockError;

/// How a [`WaitingLock`](super::WaitingLock) waits while the lock is busy
/// (see the [module docs](super)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Jittered backoff polling.
    Poll(Backoff),
    /// Wake-up on release over pub/sub, with a bounded fallback poll.
    Notify(NotifyOptions),
    /// A fair FIFO hand-off.
    Fifo(FifoOptions),
}

impl Default for Wait {
    /// [`Wait::Fifo`] with its default options: at 64 clients on one key it
    /// gave the most grants per second, max/min grants per client 1.0 and
    /// no starved client, with a hand-off near one round trip
    /// (`docs/performance.md`, "Lock variants"), and uncontended it costs
    /// one script, one round trip.
    fn default() -> Self {
        Wait::Fifo(FifoOptions::default())
    }
}

impl Wait {
    /// The strategy's name: `poll`, `notify` or `fifo`.
    pub fn name(&self) -> &'static str {
        match self {
            Wait::Poll(_) => "poll",
            Wait::Notify(_) => "notify",
            Wait::Fifo(_) => "fifo",
        }
    }

    /// The strategy of this name with its default options.
    pub fn named(name: &str) -> Result<Self, LockError> {
        name.parse()
    }
}

/// The known names, for messages.
pub const WAIT_NAMES: &str = "poll, notify, fifo";

impl FromStr for Wait {
    type Err = LockError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "poll" => Ok(Wait::Poll(Backoff::default())),
            "notify" => Ok(Wait::Notify(NotifyOptions::default())),
            "fifo" => Ok(Wait::Fifo(FifoOptions::default())),
            _ => Err(LockError::InvalidOption {
                reason: format!("unknown waiting strategy {name:?}; known: {WAIT_NAMES}"),
            }),
        }
    }
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Settings of [`Wait::Notify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyOptions {
    fallback: Duration,
}

impl Default for NotifyOptions {
    /// A fallback poll every 25–50 ms (jittered): how late a waiter may
    /// notice a lease that ran out, or a release it did not hear.
    fn default() -> Self {
        Self {
            fallback: Duration::from_millis(50),
        }
    }
}

impl NotifyOptions {
    /// Polls at least every `fallback` (jittered down to half of it);
    /// needs `1 ms <= fallback <= 10 s`.
    pub fn new(fallback: Duration) -> Result<Self, LockError> {
        if fallback < Duration::from_millis(1) || fallback > MAX_BACKOFF {
            return Err(LockError::InvalidOption {
                reason: format!(
                    "notify fallback {fallback:?} refused; need 1 ms to {MAX_BACKOFF:?}"
                ),
            });
        }
        Ok(Self { fallback })
    }

    /// The longest wait without a wake-up before trying again.
    pub fn fallback(&self) -> Duration {
        self.fallback
    }
}

/// Settings of [`Wait::Fifo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FifoOptions {
    poll: Duration,
    waiter_lease: Duration,
}

impl Default for FifoOptions {
    /// Each waiter blocks up to 100 ms per `BLPOP`, then polls (refreshing
    /// its place, and handing on a lock whose holder's lease ran out); a
    /// waiter silent for 400 ms is skipped.
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(100),
            waiter_lease: Duration::from_millis(400),
        }
    }
}

impl FifoOptions {
    /// A waiter blocks at most `poll` between polls and counts as dead after
    /// `waiter_lease` without one; needs `1 ms <= poll <= 10 s` and
    /// `waiter_lease >= 2 · poll` (at most 24 h), so that a live waiter
    /// always refreshes its place in time.
    pub fn new(poll: Duration, waiter_lease: Duration) -> Result<Self, LockError> {
        if poll < Duration::from_millis(1) || poll > MAX_BACKOFF {
            return Err(LockError::InvalidOption {
                reason: format!("fifo poll {poll:?} refused; need 1 ms to {MAX_BACKOFF:?}"),
            });
        }
        if waiter_lease < 2 * poll || waiter_lease > crate::config::MAX_TTL {
            return Err(LockError::InvalidOption {
                reason: format!(
                    "fifo waiter lease {waiter_lease:?} refused; need at least twice the poll \
                     ({:?}) and at most 24 h",
                    2 * poll
                ),
            });
        }
        Ok(Self { poll, waiter_lease })
    }

    /// The longest single `BLPOP` between two polls.
    pub fn poll(&self) -> Duration {
        self.poll
    }

    /// How long a queued waiter stays in line without polling.
    pub fn waiter_lease(&self) -> Duration {
        self.waiter_lease
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known() {
        for name in ["poll", "notify", "fifo"] {
            assert_eq!(Wait::named(name).unwrap().name(), name);
        }
        let e = Wait::named("spin").unwrap_err().to_string();
        assert!(e.contains(WAIT_NAMES) && !e.contains('\n'), "{e}");
        assert_eq!(Wait::default().name(), "fifo");
    }

    #[test]
    fn options_are_checked() {
        let ms = Duration::from_millis;
        assert!(NotifyOptions::new(Duration::ZERO).is_err());
        assert!(NotifyOptions::new(Duration::from_secs(11)).is_err());
        assert_eq!(NotifyOptions::new(ms(5)).unwrap().fallback(), ms(5));
        assert!(FifoOptions::new(ms(0), ms(10)).is_err());
        assert!(FifoOptions::new(ms(10), ms(19)).is_err());
        let o = FifoOptions::new(ms(10), ms(20)).unwrap();
        assert_eq!((o.poll(), o.waiter_lease()), (ms(10), ms(20)));
    }
}
