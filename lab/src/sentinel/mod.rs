//! Failover with real Sentinel: the lab's own primary, replicas and three
//! `redis-sentinel`s ([`SentinelSet`]), the real side of the `failover`
//! fault (a replica made to lag, then promoted with what it has), and
//! finding a primary through Sentinel as production clients do
//! ([`PrimaryResolver`], [`SentinelUrl`] for `--redis`).
//!
//! Replication is asynchronous: a lock granted on the primary and not yet
//! replicated is gone once a replica without it is promoted. The set makes
//! that happen on purpose, deterministically, on the engine users run.
//!
//! - [`set`]: start, readiness, accessors, [`SentinelSet`].
//! - [`failover`]: `lag`, `catch_up`, `failover_to`, `kill_primary`,
//!   [`FailoverReport`]; the module docs give Sentinel's rules the lab
//!   relies on, and their margins.
//! - [`options`]: what a scenario may change, [`SentinelOptions`], and the
//!   Sentinel timings the lab sets.
//! - [`process`]: one `redis-sentinel`, [`SentinelProcess`].
//! - [`resolve`]: the current primary through the `redis` crate's Sentinel
//!   client, [`PrimaryResolver`].
//! - [`url`]: the `redis+sentinel://` form of `--redis`, [`SentinelUrl`],
//!   [`RedisTarget`].
//! - [`error`]: what can go wrong, [`SentinelError`].
//! - `query`, `wait`: what the set asks the processes, and its one polling
//!   loop.

pub mod error;
pub mod failover;
pub mod options;
pub mod process;
mod query;
pub mod resolve;
pub mod set;
pub mod url;
mod wait;

pub use error::SentinelError;
pub use failover::{FailoverKind, FailoverReport};
pub use options::{MinReplicas, SentinelOptions, QUORUM, SENTINELS, SERVICE};
pub use process::{SentinelProcess, REDIS_SENTINEL_ENV};
pub use resolve::{PrimaryResolver, ResolveError};
pub use set::SentinelSet;
pub use url::{RedisTarget, RedisTargetError, SentinelUrl, SentinelUrlError};
