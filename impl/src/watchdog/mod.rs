//! Lease renewal: a watchdog that keeps a token or fenced lock's lease alive
//! while its holder works, and tells the holder the moment the lease is lost.
//!
//! # Why
//!
//! A lease must be short, so that a crashed holder blocks the others only
//! briefly, and long enough for the work, which is often unknown. A
//! watchdog resolves that: a short TTL, renewed every third of it
//! ([`WatchdogOptions`]) by a compare-and-`PEXPIRE` script (`renew.lua`)
//! that extends the key only while it still holds the grant's token. A
//! crashed holder's watchdog dies with it and the lease runs out within one
//! TTL.
//!
//! A watchdog does not make a lease safe against pauses: a holder paused
//! (GC, swap, SIGSTOP) with its watchdog past the lease still believes it
//! holds when it wakes. What the watchdog adds is that the holder *learns*
//! of the loss as soon as this process can: [`LeaseGuard::lost`] completes
//! when a renewal finds the key gone or another's, or when no renewal was
//! confirmed within the lease by the local clock, counted from the *send*
//! time of the last confirmed renewal (a renewal without a reply extends
//! nothing). Fencing ([`FencedLock`](crate::FencedLock)) is still what
//! makes a stale holder harmless; a kept fenced grant keeps its fencing
//! token, since renewal never touches the counter.
//!
//! # Release, renewal, drop: the race that must not happen
//!
//! Redisson issue #7272: the watchdog's renewal was scheduled from
//! one asynchronous callback and cancelled from another, with nothing
//! ordering the two, so an unlock could run before the renewal was armed,
//! and the armed renewal then kept the lock alive forever with no holder.
//! The bug class is "renewal outliving release": a renewal that extends or
//! re-creates a lock after it was released.
//!
//! Here one [`LeaseState`] (a mutex-guarded state machine, see its module)
//! is shared by the renewal task and the guard, and every renewal needs a
//! permit from it:
//!
//! 1. The state exists, in phase `Held`, before the task is spawned; the
//!    task only ever asks it for permits. So a task that first runs after
//!    the guard was released or dropped gets no permit and renews nothing.
//! 2. Release sets `Releasing` (no permit is granted from then on), then
//!    waits until the permit in flight, if any, is finished (its reply
//!    received) or abandoned (timed out), and only then sends
//!    compare-and-delete. Locally, no renewal is *sent* after the delete.
//! 3. On the wire, a renewal can still *arrive* after the delete: one that
//!    was abandoned on timeout may sit in a socket buffer, or on an older
//!    connection, and be run by Redis after the delete sent on a newer one.
//!    That is safe because of the script: `renew.lua` extends only a key
//!    that holds our token, in one atomic step, and never `SET`s. After the
//!    delete, no key holds our token ever again — tokens are 128 random
//!    bits, written only by our own acquire, and nothing re-writes them — so
//!    the late renewal finds the key gone or another's, and changes
//!    nothing. It cannot re-create the lock, and cannot extend another
//!    client's.
//! 4. Dropping the guard sets `Dropped`: no permit from then on. `Drop`
//!    cannot await, so it neither waits for the renewal in flight nor
//!    releases: at most one renewal, begun before the drop, may still land
//!    (extending the lease by at most one TTL from its send time); the lease
//!    then runs out on Redis.
//!
//! The loom models in `impl/tests/loom_watchdog.rs` check 2–4 and the lost
//! signal in every interleaving of the state's threads, with a stand-in
//! store.
//!
//! # Layout
//!
//! - [`options`]: [`WatchdogOptions`], the renewal interval and maximum
//!   hold time.
//! - [`store`]: [`LeaseStore`], the two compare-then-act operations a kept
//!   lease needs; [`RedisLeaseStore`] runs them on Redis.
//! - [`state`]: [`LeaseState`], the concurrency core (loom-checked).
//! - [`lost`]: why a lease was lost, [`LostReason`].
//! - `task`: the tokio renewal loop.
//! - [`guard`]: [`LeaseGuard`], the holder's handle.
//! - `sync`: the primitives, swapped for loom's under `--cfg locklab_loom`.

pub mod guard;
pub mod lost;
pub mod options;
pub mod state;
pub mod store;
pub(crate) mod sync;
mod task;

#[cfg(all(test, not(locklab_loom)))]
mod tests;

pub use guard::LeaseGuard;
pub use lost::LostReason;
pub use options::{WatchdogOptions, MAX_HOLD};
pub use state::LeaseState;
pub use store::{LeaseStore, RedisLeaseStore, Renewal, Traced};

use crate::base::LockBase;
use crate::error::LockError;
use crate::grant::Grant;

/// Checks what `keep` needs before a lock is taken: an interval that fits
/// the TTL, and a tokio runtime to run the watchdog on.
fn preflight(base: &LockBase, options: &WatchdogOptions) -> Result<(), LockError> {
    options.interval_for(base.ttl)?;
    guard::current_runtime()?;
    Ok(())
}

/// Keeps `grant` of the lock `base` alive (the shared body of the locks'
/// `keep`).
pub(crate) fn keep(
    base: &LockBase,
    grant: Grant,
    options: &WatchdogOptions,
) -> Result<LeaseGuard, LockError> {
    base.check(&grant)?;
    LeaseGuard::start(RedisLeaseStore::new(base.clone()), grant, options)
}

/// Takes the lock `base` with `acquire` and keeps the grant alive (the
/// shared body of the locks' `acquire_kept`). Everything `keep` checks is
/// checked first, so a bad option takes no lock.
pub(crate) async fn acquire_kept<F>(
    base: &LockBase,
    options: &WatchdogOptions,
    acquire: F,
) -> Result<LeaseGuard, LockError>
where
    F: std::future::Future<Output = Result<Grant, LockError>>,
{
    preflight(base, options)?;
    let grant = acquire.await?;
    keep(base, grant, options)
}
