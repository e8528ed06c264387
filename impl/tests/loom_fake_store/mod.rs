//! `LoomFakeStore`: an in-memory stand-in for the lock's Redis key, **for the
//! loom tests only** (`tests/loom_watchdog.rs`). It is not a store anyone
//! should use: it has no time (loom has no clock, so keys never expire on
//! their own), and it exists so that loom can run the watchdog's
//! [`LeaseState`](locklab_impl::watchdog::LeaseState) against something that
//! answers like `renew.lua` and `compare_and_delete.lua` do.
//!
//! Each operation runs under one loom `Mutex`, as each script runs
//! atomically on Redis: `renew` compares the token and "extends" (records an
//! extension) without ever creating the key; `release` compares and
//! deletes. Every operation is logged in the order the store ran it, so a
//! test can say what happened after the delete.
//!
//! [`LoomFakeStore::recreating`] is a deliberately wrong store whose renewal
//! re-creates a missing key (a `SET` where `renew.lua` has none): the loom
//! test built on it must fail, showing that the script-side compare is what
//! makes a late renewal harmless.

use loom::sync::Mutex;

use locklab_impl::watchdog::{LeaseStore, Renewal};
use locklab_impl::{LockError, ReleaseOutcome, Token};

/// What the fake store ran, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A renewal ran and found this.
    Renew(Renewal),
    /// A renewal found the key gone and re-created it (the wrong store only).
    Recreated,
    /// A release ran: `Released` (deleted) or `NotHeld`.
    Release(ReleaseOutcome),
    /// The key was set to another client's token, by the test.
    TakenByAnother,
    /// A point the test marks (e.g. "the guard was dropped").
    Mark(&'static str),
}

/// See the [module docs](self).
#[derive(Debug)]
pub struct LoomFakeStore {
    recreate_missing: bool,
    inner: Mutex<Fake>,
}

#[derive(Debug)]
struct Fake {
    key: Option<Token>,
    log: Vec<Event>,
}

impl LoomFakeStore {
    /// A key holding `token`.
    pub fn holding(token: Token) -> Self {
        Self::new(Some(token), false)
    }

    /// The wrong store: renewal re-creates a missing key (see the module docs).
    pub fn recreating(token: Token) -> Self {
        Self::new(Some(token), true)
    }

    fn new(key: Option<Token>, recreate_missing: bool) -> Self {
        Self {
            recreate_missing,
            inner: Mutex::new(Fake {
                key,
                log: Vec::new(),
            }),
        }
    }

    /// Another client's token takes the key (as if our lease ran out and it
    /// acquired).
    pub fn take_by_another(&self, other: Token) {
        let mut f = self.inner.lock().unwrap();
        f.key = Some(other);
        f.log.push(Event::TakenByAnother);
    }

    /// Logs a marker.
    pub fn mark(&self, label: &'static str) {
        self.inner.lock().unwrap().log.push(Event::Mark(label));
    }

    /// The token the key holds, if any.
    pub fn key(&self) -> Option<Token> {
        self.inner.lock().unwrap().key
    }

    /// Everything the store ran, in order.
    pub fn log(&self) -> Vec<Event> {
        self.inner.lock().unwrap().log.clone()
    }
}

impl LeaseStore for LoomFakeStore {
    async fn renew(&self, token: Token) -> Result<Renewal, LockError> {
        let mut f = self.inner.lock().unwrap();
        let renewal = match f.key {
            Some(t) if t == token => Renewal::Extended,
            Some(_) => Renewal::Taken,
            None if self.recreate_missing => {
                f.key = Some(token);
                f.log.push(Event::Recreated);
                Renewal::Extended
            }
            None => Renewal::Gone,
        };
        f.log.push(Event::Renew(renewal));
        Ok(renewal)
    }

    async fn release(&self, token: Token) -> Result<ReleaseOutcome, LockError> {
        let mut f = self.inner.lock().unwrap();
        let outcome = if f.key == Some(token) {
            f.key = None;
            ReleaseOutcome::Released
        } else {
            ReleaseOutcome::NotHeld
        };
        f.log.push(Event::Release(outcome));
        Ok(outcome)
    }
}
