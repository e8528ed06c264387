//! The lab's own `redis-server` processes: one handle, [`RedisServer`], used
//! by the binary and by every test.
//!
//! A server runs `redis-server` from `PATH` (or `$LOCKLAB_REDIS_SERVER`) on a
//! free port of 127.0.0.1, in its own temporary directory holding its data
//! and its log, with persistence off unless its [`ServerConfig`] asks. The
//! lab waits until it answers `PING` (within a deadline), can pause, resume,
//! kill and restart it (same port, empty), and kills it when the handle is
//! dropped or the lab dies ([`crate::process`]). Every error carries the
//! tail of the server's log ([`ServerError::log_tail`]).
//!
//! - [`config`]: what a scenario can change, [`ServerConfig`].
//! - [`clock`]: a wall clock the lab shifts under a running server,
//!   [`ClockOffset`].
//! - [`handle`]: start, stop, pause and restart, [`RedisServer`].
//! - [`error`]: what can go wrong, [`ServerError`].
//! - [`probe`]: a `PING` over raw RESP with a timeout, [`ping`].
//! - [`port`]: a free loopback port, [`free_port`].
//! - `binary`: where `redis-server` is found ([`REDIS_SERVER_ENV`]).
//! - `log`: the log file and its tail.

mod binary;
pub mod clock;
pub mod config;
pub mod error;
pub mod handle;
pub(crate) mod log;
pub mod port;
pub mod probe;

pub use binary::REDIS_SERVER_ENV;
pub use clock::ClockOffset;
pub use config::{ServerConfig, DEFAULT_READY_TIMEOUT};
pub use error::ServerError;
pub use handle::RedisServer;
pub use log::ERROR_TAIL_LINES;
pub use port::free_port;
pub use probe::ping;
