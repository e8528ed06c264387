//! Redis lock clients: the naive lock of the popular article, its unchecked
//! variant, the token lock of the Redis documentation, and the fenced lock
//! with its protected resource — as a service would use them.
//!
//! Each lock leases a single Redis key for a TTL. The naive locks are here to
//! be measured and shown failing (they are what locklab's verdict matrix
//! marks *violated*); [`TokenLock`] never deletes another client's lock; and
//! [`FencedLock`] with a [`FencedResource`] keeps the resource safe even when
//! a holder is paused past its lease, because stale writes are refused.
//!
//! All the lease locks share one shape: [`try_acquire`](TokenLock::try_acquire)
//! (one attempt: [`Attempt::Granted`] or [`Attempt::Busy`]),
//! [`acquire`](TokenLock::acquire) (wait by jittered backoff until a
//! deadline), and [`release`](TokenLock::release), which always says what it
//! did ([`ReleaseOutcome`]). [`AnyLock`] holds any of them, chosen by a
//! protocol's capabilities.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use locklab_impl::{connect, ConnectOptions, FencedLock, FencedResource, LockKey,
//!     ResourceKey, Ttl, WriteOutcome};
//!
//! # async fn run() -> Result<(), locklab_impl::LockError> {
//! let conn = connect("redis://127.0.0.1:6379/", &ConnectOptions::default()).await?;
//! let lock = FencedLock::new(conn.clone(), LockKey::new("orders")?, Ttl::from_millis(5_000)?);
//! let resource = FencedResource::new(conn, ResourceKey::new("orders:data")?);
//!
//! let grant = lock.acquire(Duration::from_secs(1)).await?;
//! let fence = grant.fence().expect("a fenced grant has a fencing token");
//! match resource.write(fence, "new state").await? {
//!     WriteOutcome::Accepted => {}
//!     WriteOutcome::Refused { highest } => {
//!         eprintln!("our lock went stale: token {highest} has written since");
//!     }
//! }
//! let outcome = lock.release(&grant).await?;
//! println!("release: {outcome:?}");
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! - [`config`]: validated inputs — [`LockKey`], [`ResourceKey`], [`Ttl`],
//!   [`ConnectOptions`] — and their documented limits.
//! - [`connection`]: [`connect`] and [`Conn`], the shared multiplexed
//!   connection with connect and response timeouts.
//! - [`error`]: [`LockError`], retryable or final.
//! - [`token`]: random 128-bit [`Token`]s.
//! - [`scripts`]: the Lua scripts (one `.lua` file each), run by SHA with a
//!   reload when the server lost its script cache.
//! - [`grant`]: what the locks return — [`Attempt`], [`Grant`],
//!   [`ReleaseOutcome`].
//! - [`backoff`]: [`Backoff`], how `acquire` waits.
//! - [`protocol`]: the protocol names, [`Protocol`].
//! - One module per lock: [`naive`], [`naive_unchecked`], [`token_lock`],
//!   [`fenced`], [`token_wait`] (the token lock, then `WAIT` for a
//!   replica's acknowledgement).
//! - [`resource`]: the protected resource — [`FencedResource`],
//!   [`PlainResource`].
//! - [`any`]: [`AnyLock`], any of the lease locks by capabilities.
//! - [`watchdog`]: lease renewal — [`LeaseGuard`] keeps a token or fenced
//!   grant alive (`acquire_kept`, `keep`), tells the holder the moment the
//!   lease is lost ([`LostReason`]), and never renews after release; its
//!   concurrency core [`LeaseState`](watchdog::LeaseState) is checked with
//!   loom (`impl/tests/loom_watchdog.rs`).
//! - [`sync`]: not a lock — units of work from a producer to workers
//!   through one key or a Stream ([`sync::SyncWorker`]): the article's
//!   "distributed sync", a compare-and-set claim, a consumer group, and a
//!   deduplicating sink.
//! - [`redlock`]: [`Redlock`], the token lock on N independent masters
//!   with a majority and a validity window, step by step ([`Round`]) or at
//!   once, with a per-master [`Refusal`] when it does not get the lock.
//! - [`wait`]: how a lock waits while busy — jittered polling, wake-up on
//!   release (pub/sub), or a fair FIFO hand-off — chosen per lock
//!   ([`Wait`]) by [`WaitingLock`].

pub mod any;
pub mod backoff;
mod base;
pub mod config;
pub mod connection;
pub mod error;
pub mod fenced;
pub mod grant;
pub mod naive;
pub mod naive_unchecked;
pub mod protocol;
pub mod redlock;
pub mod reentrant;
pub mod resource;
pub mod scripts;
pub mod sync;
pub mod token;
pub mod token_lock;
pub mod token_wait;
pub mod wait;
pub mod watchdog;

/// The `redis` crate this one is built on, for [`Conn::query`] and for
/// matching on [`LockError::Redis`] with the same version.
pub use redis;

pub use any::{AnyLock, LockType};
pub use backoff::Backoff;
pub use config::{ConnectOptions, LockKey, ResourceKey, Ttl, MAX_KEY_BYTES, MAX_TTL};
pub use connection::{connect, connect_located, Conn, Locate};
pub use error::LockError;
pub use fenced::FencedLock;
pub use grant::{AcquireRequest, Attempt, Grant, ReleaseOutcome, Unacknowledged};
pub use naive::NaiveLock;
pub use naive_unchecked::NaiveUncheckedLock;
pub use protocol::Protocol;
pub use redlock::{MasterReply, QuorumGrant, Redlock, RedlockOptions, Refusal, Round};
pub use reentrant::{OwnerId, ReentrantLock};
pub use resource::{AcceptedWrite, FencedResource, PlainResource, WriteOutcome};
pub use token::Token;
pub use token_lock::TokenLock;
pub use token_wait::{PendingGrant, TokenWaitLock};
pub use wait::{Wait, WaitingLock};
pub use watchdog::{LeaseGuard, LostReason, WatchdogOptions};
