//! Why a kept lease was lost.
//!
//! A holder told "your lease is lost" must stop acting as the holder; *why*
//! it was lost tells it (and whoever reads the log) what happened on the
//! other side: was the lock taken by someone else, did it vanish, or did
//! this process simply stop hearing from Redis?

use std::fmt;

/// Why a [`LeaseGuard`](super::LeaseGuard) says its lease is lost. Once
/// lost, a lease stays lost: the watchdog never renews it again.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LostReason {
    /// A renewal found the key gone: the lease ran out on Redis (this
    /// process or the server was paused, or renewals came too late), or
    /// something deleted it (an operator, a restart without persistence, a
    /// naive lock's foreign `DEL`).
    Gone,
    /// A renewal found another client's token in the key: the lease ran out
    /// and another client took the lock.
    Taken,
    /// No renewal was confirmed within the lease, by this process's clock,
    /// counted from the send time of the last confirmed one: Redis was
    /// unreachable, paused or too slow. The key may still hold our token on
    /// Redis, but nothing says so any more, so the lease counts as lost.
    Unconfirmed,
    /// The guard's maximum hold time was reached: renewals stopped there,
    /// and the last lease then ran out.
    MaxHoldReached,
}

impl LostReason {
    /// A short, stable name: `gone`, `taken`, `unconfirmed`,
    /// `max-hold-reached`.
    pub fn name(self) -> &'static str {
        match self {
            LostReason::Gone => "gone",
            LostReason::Taken => "taken",
            LostReason::Unconfirmed => "unconfirmed",
            LostReason::MaxHoldReached => "max-hold-reached",
        }
    }
}

impl fmt::Display for LostReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
