//! The one error type of the crate.
//!
//! A caller of a lock has two questions when something goes wrong: *was it
//! my fault* (a bad key, a bad TTL: fix the code) and *is it worth trying
//! again* (the network or the server hiccupped). [`LockError`] answers the
//! first with its variant and the second with [`LockError::is_retryable`].
//! Every message is one line and says what is accepted, so it can be shown
//! to a user as is.

use std::time::Duration;

use redis::{ErrorKind, RedisError, ServerErrorKind};

/// Everything that can go wrong when taking, releasing or using a lock.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The lock (or resource) key was refused before anything was sent.
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// What is wrong and what is accepted.
        reason: String,
    },

    /// The lease length was refused before anything was sent.
    #[error("invalid TTL {ttl:?}: {reason}")]
    InvalidTtl {
        /// The TTL that was asked for.
        ttl: Duration,
        /// What is accepted.
        reason: &'static str,
    },

    /// A connection or backoff option was refused.
    #[error("invalid option: {reason}")]
    InvalidOption {
        /// What is wrong and what is accepted.
        reason: String,
    },

    /// The Redis URL could not be parsed. Not retryable: fix the URL.
    #[error("invalid Redis URL {url}: {reason}")]
    InvalidUrl {
        /// The URL, with any password replaced by `***`.
        url: String,
        /// Why it was refused.
        reason: String,
    },

    /// No connection could be made within the connect timeout (refused,
    /// unreachable, or too slow to answer).
    #[error("could not connect to Redis at {url}: {}", connect_reason(source, *timeout))]
    Connect {
        /// The URL, with any password replaced by `***`.
        url: String,
        /// The connect timeout that applied.
        timeout: Duration,
        /// What the operating system or the server said.
        #[source]
        source: RedisError,
    },

    /// An established connection broke (server gone, reset, closed). The
    /// command may or may not have run. The next command reconnects.
    #[error("connection to Redis at {url} lost")]
    ConnectionLost {
        /// The URL, with any password replaced by `***`.
        url: String,
        /// What the operating system said.
        #[source]
        source: RedisError,
    },

    /// A command got no reply within the response timeout. The command may
    /// or may not have run on the server (for an acquire: the lock may be
    /// held, by us, until its TTL runs out).
    #[error("no reply from Redis within the response timeout ({timeout:?})")]
    Timeout {
        /// The response timeout that applied.
        timeout: Duration,
    },

    /// The server answered with an error, or with a reply of the wrong
    /// shape.
    #[error("Redis returned an error: {}", server_says(.0))]
    Redis(#[source] RedisError),

    /// `acquire` gave up: the lock was still held when its deadline passed.
    #[error("lock not acquired: still held by another client after waiting {waited:?}")]
    NotAcquired {
        /// How long `acquire` waited.
        waited: Duration,
    },

    /// A Redlock `acquire` gave up: no attempt got a majority with
    /// validity left before its deadline. The last attempt says, per
    /// master, why.
    #[error("lock not acquired after waiting {waited:?}: {last}")]
    NoQuorum {
        /// How long `acquire` waited.
        waited: Duration,
        /// The last attempt's refusal.
        last: Box<crate::redlock::Refusal>,
    },

    /// A grant was handed to a lock that did not issue it (another key or
    /// another protocol).
    #[error("wrong grant: {reason}")]
    WrongGrant {
        /// Which part did not match.
        reason: String,
    },

    /// A fencing token too large for the resource's script to compare
    /// exactly.
    #[error("invalid fencing token {fence}: at most 2^53 is accepted")]
    InvalidFence {
        /// The token that was refused.
        fence: u64,
    },

    /// A protocol name that this crate does not implement.
    #[error("unknown protocol {name:?}: known protocols are {known}")]
    UnknownProtocol {
        /// The name that was asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },

    /// A lease protocol whose mix of capabilities no lock type of this
    /// crate implements: refused rather than served by a lock that would
    /// do less than the declaration says (a fenced declaration without a
    /// fence).
    #[error("no lock type implements protocol {protocol:?}: {caps}")]
    NoLockType {
        /// The protocol's name.
        protocol: String,
        /// Its capabilities, as declared.
        caps: String,
    },

    /// A re-entrant lock's owner id was refused before anything was sent.
    #[error("invalid owner id: {reason}")]
    InvalidOwner {
        /// What is wrong and what is accepted.
        reason: String,
    },

    /// A release with nothing to release (a re-entrant lock held at depth 0).
    #[error("nothing to release: {reason}")]
    NotHeld {
        /// What was asked.
        reason: String,
    },
}

/// Why a connection failed, on one line: a timeout names the timeout, a
/// refusal says what the system said (at once, not "within" anything).
fn connect_reason(e: &RedisError, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("no answer within {timeout:?}")
    } else {
        server_says(e)
    }
}

/// What the server said, on one line (the source's own message without
/// the crate's prefix).
fn server_says(e: &RedisError) -> String {
    let text = e.to_string();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl LockError {
    /// Whether trying the same operation again later may succeed.
    ///
    /// `true` for trouble with the connection or the server's availability
    /// ([`Connect`](Self::Connect), [`ConnectionLost`](Self::ConnectionLost),
    /// [`Timeout`](Self::Timeout), and the server saying it is loading,
    /// failing over or asking to try again). `false` for invalid input, for
    /// server errors that will repeat (wrong type, script errors, auth), and
    /// for [`NotAcquired`](Self::NotAcquired): that is the caller's own
    /// deadline, and whether to wait longer is the caller's policy, not a
    /// transient fault.
    ///
    /// Mind that after a retryable error the command may have run: a
    /// `SET NX` that timed out may have taken the lock.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::ConnectionLost { .. } | Self::Timeout { .. } => true,
            Self::Redis(e) => matches!(
                e.kind(),
                ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ClusterDown
                )
            ),
            Self::InvalidKey { .. }
            | Self::InvalidTtl { .. }
            | Self::InvalidOption { .. }
            | Self::InvalidUrl { .. }
            | Self::NotAcquired { .. }
            | Self::NoQuorum { .. }
            | Self::WrongGrant { .. }
            | Self::InvalidFence { .. }
            | Self::UnknownProtocol { .. }
            | Self::NoLockType { .. }
            | Self::InvalidOwner { .. }
            | Self::NotHeld { .. } => false,
        }
    }

    /// Classifies an error from a command on an established connection.
    ///
    /// I/O timeouts become [`Timeout`](Self::Timeout) (the `redis` crate
    /// reports an elapsed response timeout as `io::ErrorKind::TimedOut`),
    /// other I/O errors [`ConnectionLost`](Self::ConnectionLost), and
    /// everything else (server replies, type mismatches) stays
    /// [`Redis`](Self::Redis).
    pub(crate) fn from_command(err: RedisError, url: &str, response_timeout: Duration) -> Self {
        if err.is_timeout() {
            Self::Timeout {
                timeout: response_timeout,
            }
        } else if err.is_io_error() || err.is_connection_dropped() {
            Self::ConnectionLost {
                url: url.to_owned(),
                source: err,
            }
        } else {
            Self::Redis(err)
        }
    }

    /// Classifies an error from opening a connection: I/O trouble (refused,
    /// unreachable, timed out) is [`Connect`](Self::Connect); anything the
    /// server said (e.g. wrong password) is [`Redis`](Self::Redis).
    pub(crate) fn from_connect(err: RedisError, url: &str, connect_timeout: Duration) -> Self {
        if err.is_io_error() || err.is_timeout() || err.is_connection_refusal() {
            Self::Connect {
                url: url.to_owned(),
                timeout: connect_timeout,
                source: err,
            }
        } else {
            Self::Redis(err)
        }
    }
}

/// An I/O error of the given kind as the `redis` crate would report it
/// (used by tests of the classification).
#[cfg(test)]
pub(crate) fn io_error(kind: std::io::ErrorKind) -> RedisError {
    RedisError::from(std::io::Error::from(kind))
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    const URL: &str = "redis://127.0.0.1:1/";
    const T: Duration = Duration::from_secs(2);

    #[test]
    fn a_timed_out_command_is_a_retryable_timeout() {
        let e = LockError::from_command(io_error(io::ErrorKind::TimedOut), URL, T);
        assert!(matches!(e, LockError::Timeout { timeout } if timeout == T));
        assert!(e.is_retryable());
    }

    #[test]
    fn a_broken_connection_is_a_retryable_connection_loss() {
        for kind in [
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::UnexpectedEof,
        ] {
            let e = LockError::from_command(io_error(kind), URL, T);
            assert!(
                matches!(e, LockError::ConnectionLost { .. }),
                "{kind:?}: {e:?}"
            );
            assert!(e.is_retryable());
        }
    }

    #[test]
    fn a_refused_or_slow_connect_is_a_retryable_connect_error() {
        for kind in [io::ErrorKind::ConnectionRefused, io::ErrorKind::TimedOut] {
            let e = LockError::from_connect(io_error(kind), URL, T);
            assert!(matches!(e, LockError::Connect { .. }), "{kind:?}: {e:?}");
            assert!(e.is_retryable());
            assert!(e.to_string().contains(URL));
        }
    }

    #[test]
    fn server_logic_errors_and_bad_input_are_final() {
        let wrong_type = RedisError::from((
            ErrorKind::UnexpectedReturnType,
            "Response was of incompatible type",
        ));
        assert!(!LockError::from_command(wrong_type, URL, T).is_retryable());
        assert!(!LockError::InvalidKey { reason: "x".into() }.is_retryable());
        assert!(!LockError::NotAcquired { waited: T }.is_retryable());
    }

    #[test]
    fn messages_are_one_line() {
        let errors = [
            LockError::from_connect(io_error(io::ErrorKind::ConnectionRefused), URL, T),
            LockError::from_command(io_error(io::ErrorKind::TimedOut), URL, T),
            LockError::NotAcquired { waited: T },
        ];
        for e in errors {
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }
}
