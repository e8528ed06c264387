//! Validated inputs: keys, lease lengths, connection options.
//!
//! Every value that reaches Redis has been checked here first, so a bad
//! input fails at construction with a one-line [`LockError`] saying what is
//! accepted, instead of as a server error (or worse, silently) in the middle
//! of a run.

use std::fmt;
use std::time::Duration;

use crate::error::LockError;

/// The longest key accepted, in bytes.
///
/// Redis itself accepts keys up to 512 MB, but a lock key is a name: one of
/// more than a kilobyte is always a bug (a payload or a whole request used as
/// the key by mistake), and it would be copied into every command and every
/// log line.
pub const MAX_KEY_BYTES: usize = 1024;

/// The shortest lease accepted: one millisecond, the resolution of `PX`.
pub const MIN_TTL: Duration = Duration::from_millis(1);

/// The longest lease accepted: 24 hours.
///
/// A lease is how long a crashed holder blocks everyone else. Beyond a day
/// it stops being a lease and becomes a lock that needs an operator; such a
/// TTL is almost always a unit mistake (seconds passed as milliseconds).
pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

pub(crate) fn check_key(key: &str) -> Result<(), LockError> {
    if key.is_empty() {
        return Err(LockError::InvalidKey {
            reason: "the key is empty; give a non-empty name".into(),
        });
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(LockError::InvalidKey {
            reason: format!(
                "the key is {} bytes; at most {MAX_KEY_BYTES} are accepted",
                key.len()
            ),
        });
    }
    Ok(())
}

/// A checked Redis key of one kind: a newtype each, so that a resource
/// name and a lock name cannot be swapped by mistake.
macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Checks and wraps a key.
            pub fn new(key: impl Into<String>) -> Result<Self, LockError> {
                let key = key.into();
                check_key(&key)?;
                Ok(Self(key))
            }

            /// The key as sent to Redis.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// A key derived from this one (`<key>:<suffix>`).
            pub(crate) fn derived(&self, suffix: &str) -> String {
                format!("{}:{suffix}", self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

key_type!(
    /// The name of a lock: a non-empty Redis key of at most [`MAX_KEY_BYTES`].
    ///
    /// Locks derive further keys from it by appending a suffix (the fenced
    /// lock's counter is `<key>:fence`). On Redis Cluster, wrap the name in a
    /// hash tag (`{orders}`) so that the derived keys land in the same slot.
    LockKey
);

key_type!(
    /// The name of a protected resource: the same rules as [`LockKey`].
    ResourceKey
);

/// A lease length: between [`MIN_TTL`] and [`MAX_TTL`], in whole
/// milliseconds (the resolution of `PX`; any sub-millisecond part is
/// dropped, so the client's own arithmetic uses exactly what Redis got).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ttl(Duration);

impl Ttl {
    /// Checks a lease length.
    pub fn new(ttl: Duration) -> Result<Self, LockError> {
        if ttl < MIN_TTL {
            return Err(LockError::InvalidTtl {
                ttl,
                reason: "below the 1 ms minimum; accepted is 1 ms to 24 h",
            });
        }
        if ttl > MAX_TTL {
            return Err(LockError::InvalidTtl {
                ttl,
                reason: "above the 24 h maximum; accepted is 1 ms to 24 h",
            });
        }
        Ok(Self(Duration::from_millis(ttl.as_millis() as u64)))
    }

    /// Shorthand for `Ttl::new(Duration::from_millis(ms))`.
    pub fn from_millis(ms: u64) -> Result<Self, LockError> {
        Self::new(Duration::from_millis(ms))
    }

    /// The lease as a duration.
    pub fn as_duration(self) -> Duration {
        self.0
    }

    /// The lease in milliseconds, as passed to `PX`.
    pub fn as_millis(self) -> u64 {
        // At most 24 h, so this cannot truncate.
        self.0.as_millis() as u64
    }
}

/// The default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The default response timeout.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long to wait for Redis.
///
/// Both timeouts are there so that no call of this crate can hang: an
/// unreachable server fails [`connect`](crate::connect) within
/// `connect_timeout`, and a stopped server (paused, or behind a black-holing
/// network) fails each command within `response_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions {
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
        }
    }
}

impl ConnectOptions {
    /// The defaults: [`DEFAULT_CONNECT_TIMEOUT`], [`DEFAULT_RESPONSE_TIMEOUT`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the connect timeout; it must be more than zero.
    pub fn with_connect_timeout(self, timeout: Duration) -> Result<Self, LockError> {
        positive("connect timeout", timeout)?;
        Ok(Self {
            connect_timeout: timeout,
            ..self
        })
    }

    /// Sets the response timeout; it must be more than zero.
    pub fn with_response_timeout(self, timeout: Duration) -> Result<Self, LockError> {
        positive("response timeout", timeout)?;
        Ok(Self {
            response_timeout: timeout,
            ..self
        })
    }

    /// How long opening a connection may take.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// How long one command may wait for its reply.
    pub fn response_timeout(&self) -> Duration {
        self.response_timeout
    }
}

fn positive(what: &str, d: Duration) -> Result<(), LockError> {
    if d.is_zero() {
        return Err(LockError::InvalidOption {
            reason: format!("the {what} is zero; give a positive duration"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_line(e: &LockError) {
        let s = e.to_string();
        assert!(!s.is_empty() && !s.contains('\n'), "{s:?}");
    }

    #[test]
    fn an_empty_key_is_refused() {
        let e = LockKey::new("").unwrap_err();
        assert!(matches!(e, LockError::InvalidKey { .. }));
        assert!(e.to_string().contains("empty"), "{e}");
        one_line(&e);
    }

    #[test]
    fn a_key_over_1024_bytes_is_refused_and_1024_is_accepted() {
        let e = LockKey::new("k".repeat(1025)).unwrap_err();
        assert!(e.to_string().contains("1025 bytes"), "{e}");
        assert!(e.to_string().contains("1024"), "{e}");
        one_line(&e);
        assert!(LockKey::new("k".repeat(1024)).is_ok());
        // Bytes, not characters: 513 two-byte characters are 1026 bytes.
        assert!(LockKey::new("é".repeat(513)).is_err());
        assert!(ResourceKey::new("").is_err());
    }

    #[test]
    fn derived_keys_append_a_suffix() {
        let k = LockKey::new("orders").unwrap();
        assert_eq!(k.derived("fence"), "orders:fence");
        assert_eq!(k.to_string(), "orders");
    }

    #[test]
    fn ttls_outside_1ms_to_24h_are_refused() {
        for bad in [
            Duration::ZERO,
            Duration::from_micros(500),
            Duration::from_secs(25 * 3600),
            MAX_TTL + Duration::from_millis(1),
        ] {
            let e = Ttl::new(bad).unwrap_err();
            assert!(matches!(e, LockError::InvalidTtl { .. }), "{bad:?}");
            assert!(e.to_string().contains("1 ms to 24 h"), "{e}");
            one_line(&e);
        }
        assert_eq!(Ttl::new(MIN_TTL).unwrap().as_millis(), 1);
        assert_eq!(Ttl::new(MAX_TTL).unwrap().as_duration(), MAX_TTL);
    }

    #[test]
    fn sub_millisecond_parts_are_dropped() {
        let t = Ttl::new(Duration::from_micros(1_999)).unwrap();
        assert_eq!(t.as_millis(), 1);
        assert_eq!(t.as_duration(), Duration::from_millis(1));
    }

    #[test]
    fn connect_options_have_defaults_and_refuse_zero() {
        let o = ConnectOptions::new();
        assert_eq!(o.connect_timeout(), Duration::from_secs(2));
        assert_eq!(o.response_timeout(), Duration::from_secs(2));
        let e = o.with_response_timeout(Duration::ZERO).unwrap_err();
        one_line(&e);
        let o = o
            .with_connect_timeout(Duration::from_millis(300))
            .unwrap()
            .with_response_timeout(Duration::from_millis(400))
            .unwrap();
        assert_eq!(o.connect_timeout(), Duration::from_millis(300));
        assert_eq!(o.response_timeout(), Duration::from_millis(400));
    }
}
