//! How a lock waits while it is busy, chosen per lock: [`Wait`].
//!
//! Three strategies, each measured by `locklab bench` (figures in
//! `docs/performance.md`, "Lock variants"):
//!
//! - [`Wait::Poll`] — jittered backoff polling, what the plain locks do
//!   ([`Backoff`](crate::Backoff)): every waiter retries `SET NX` on its own clock. Simple
//!   and stateless, but a releaser that asks again at once usually wins
//!   again, so under contention a few clients get most grants.
//! - [`Wait::Notify`] — wake-up on release: the release script `PUBLISH`es
//!   on the channel `<key>:released`, and waiters subscribed there try again
//!   at once. A subscription is confirmed before the first attempt, so a
//!   release after a busy reply always reaches the waiter; a lease that runs
//!   out publishes nothing, and a subscription can break, so every waiter
//!   also polls on a bounded, jittered fallback ([`NotifyOptions::fallback`]).
//!   No wake-up is lost for longer than that. All waiters wake on every
//!   release and race; one wins.
//! - [`Wait::Fifo`] — a fair hand-off (for a Redlock on N masters, which
//!   cannot hand on, a queue that refuses out of turn instead: see
//!   `redlock/queue.rs`): waiters queue in a Redis list; the
//!   release script grants the lock directly to the oldest *live* waiter
//!   and wakes it through that waiter's own list (`BLPOP`). Grants go in
//!   arrival order. Fault tolerance: a queued waiter keeps a liveness key
//!   alive while it waits ([`FifoOptions::waiter_lease`]); one that dies
//!   is skipped once that key runs out, and one that was handed the lock
//!   just before dying holds it for at most one lease, after which the next
//!   waiter's poll ([`FifoOptions::poll`]) hands it on. A waiter that gives
//!   up leaves the queue and passes on a lock handed to it meanwhile. So a
//!   waiter that crashes or gives up costs the others at most one lease.
//!
//! Every strategy keeps the protocol's own safety (mutual exclusion under no
//! fault; the token and fenced releases never delete another's lock; the
//! naive release still deletes whatever is there, which is its bug). The
//! strategies differ only in who tries when, and, for FIFO, in who is handed
//! the lock.
//!
//! [`WaitingLock`] is a `naive`, `token` or `fenced` lock with a strategy;
//! its [`default`](Wait::default) strategy is the one the figures chose
//! ([`Wait::Fifo`]).
//!
//! Clients of one key should use one strategy: a plain release (no publish,
//! no hand-off) is still safe next to waiters of the other strategies, but
//! they only notice it on their fallback poll.
//!
//! # Layout
//!
//! - [`options`] — [`Wait`], [`NotifyOptions`], [`FifoOptions`].
//! - [`lock`] — [`WaitingLock`].
//! - `notify`: the shared subscription of one lock.
//! - `fifo`: the queue's scripts and the waiter's loop.
//! - `scripts`: the Lua scripts (`impl/src/scripts/fifo_*.lua`,
//!   `notify_release.lua`).

pub(crate) mod fifo;
pub mod lock;
pub(crate) mod notify;
pub mod options;
pub(crate) mod scripts;

pub use lock::WaitingLock;
pub use options::{FifoOptions, NotifyOptions, Wait};
