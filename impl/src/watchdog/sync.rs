//! The two synchronisation primitives the watchdog's shared state uses, and
//! their stand-ins under loom.
//!
//! Why a module of its own: the lease's state machine
//! ([`LeaseState`](super::LeaseState)) is the part of the watchdog where a
//! race would re-extend a released lock, so it is model-checked with
//! [loom](https://docs.rs/loom), which explores every interleaving of the
//! threads touching it — but only if every synchronising operation goes
//! through loom's own types. Built with `RUSTFLAGS="--cfg locklab_loom"`,
//! this module swaps them in; in every other build it is `std` and `tokio`.
//! (The cfg is not the customary `loom`: RUSTFLAGS reach every crate, and
//! under `cfg(loom)` some of redis's dependencies — async-lock,
//! event-listener, parking — want their own loom features and do not
//! compile. A name of our own switches only this crate.)
//!
//! - [`Mutex`]: `std::sync::Mutex`, or `loom::sync::Mutex`.
//! - [`Notify`]: `tokio::sync::Notify`, or, under loom, a stand-in with the
//!   part of its contract the state machine relies on (see [`loom_notify`]).
//!
//! A loom build is for the loom tests only (`impl/tests/loom_watchdog.rs`):
//! its primitives panic when used outside `loom::model`.

#[cfg(not(locklab_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};
#[cfg(not(locklab_loom))]
pub(crate) use tokio::sync::Notify;

#[cfg(locklab_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(locklab_loom)]
pub(crate) use loom_notify::Notify;

/// Locks `mutex`, ignoring poisoning: no code that can panic runs while the
/// lease's lock is held, and a poisoned flag would only turn a bug elsewhere
/// into a second panic here.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A stand-in for `tokio::sync::Notify` under loom, for the loom tests only.
///
/// It keeps the one guarantee the lease relies on: a [`Notified`] future
/// completes after any [`notify_waiters`](Notify::notify_waiters) call made
/// after the future was *created* (not first polled). So the pattern
/// "create `notified()`, check the condition, await" never misses a wake-up
/// between the check and the await. Wakers go through loom's `Mutex`, so
/// loom sees every hand-over; a waiter that is never woken is reported by
/// loom as a deadlock.
#[cfg(locklab_loom)]
pub(crate) mod loom_notify {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use loom::sync::Mutex;

    /// See the [module docs](self).
    #[derive(Debug, Default)]
    pub(crate) struct Notify {
        state: Mutex<State>,
    }

    #[derive(Debug, Default)]
    struct State {
        /// How many `notify_waiters` calls there have been.
        generation: u64,
        wakers: Vec<Waker>,
    }

    impl Notify {
        pub(crate) fn new() -> Self {
            Self::default()
        }

        /// Completes every `Notified` created before this call.
        pub(crate) fn notify_waiters(&self) {
            let wakers = {
                let mut state = self.state.lock().unwrap();
                state.generation += 1;
                std::mem::take(&mut state.wakers)
            };
            for waker in wakers {
                waker.wake();
            }
        }

        /// A future completed by the next `notify_waiters`.
        pub(crate) fn notified(&self) -> Notified<'_> {
            let generation = self.state.lock().unwrap().generation;
            Notified {
                notify: self,
                generation,
            }
        }
    }

    /// See [`Notify::notified`].
    #[derive(Debug)]
    pub(crate) struct Notified<'a> {
        notify: &'a Notify,
        generation: u64,
    }

    impl Future for Notified<'_> {
        type Output = ();

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let mut state = self.notify.state.lock().unwrap();
            if state.generation != self.generation {
                return Poll::Ready(());
            }
            if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                state.wakers.push(cx.waker().clone());
            }
            Poll::Pending
        }
    }
}
