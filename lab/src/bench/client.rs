//! [`BenchLock`]: what the bench drives — a lock client that waits by its
//! own strategy — and its implementation for `locklab-impl`'s
//! [`WaitingLock`].
//!
//! The lab's [`LabLock`](crate::worker::LabLock) makes one attempt per call
//! and leaves the waiting to the harness, which is what a replay needs. A
//! benchmark must measure each lock's *own* waiting (backoff, wake-ups, a
//! queue, a peer crate's retry loop), so this adapter trait takes a
//! deadline instead. It shares the lab's outcome types and boxed futures.

use std::time::Duration;

use locklab_impl::{Grant, LockError, ReleaseOutcome, WaitingLock};

use crate::worker::{LabFuture, LabRelease};

/// The outcome of a bench acquire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acquired {
    /// The client holds the lock.
    Granted {
        /// The holder's value, if the lock has one.
        token: Option<String>,
        /// The fencing token, for a fenced lock.
        fence: Option<u64>,
    },
    /// Still held by others at the deadline.
    TimedOut,
}

/// A lock client the bench drives: acquire (waiting by the lock's own
/// strategy), release. Errors are one line each.
pub trait BenchLock: Send {
    /// Takes the lock, waiting at most about `deadline`.
    fn acquire(&mut self, deadline: Duration) -> LabFuture<'_, Acquired>;

    /// Releases the grant of the last acquire.
    fn release(&mut self) -> LabFuture<'_, LabRelease>;
}

/// [`BenchLock`] for a [`WaitingLock`].
#[derive(Debug)]
pub struct ImplBench {
    lock: WaitingLock,
    grant: Option<Grant>,
}

impl ImplBench {
    /// Drives `lock`.
    pub fn new(lock: WaitingLock) -> Self {
        Self { lock, grant: None }
    }
}

fn line(e: &LockError) -> String {
    crate::worker::lock::error_line(e)
}

impl BenchLock for ImplBench {
    fn acquire(&mut self, deadline: Duration) -> LabFuture<'_, Acquired> {
        Box::pin(async move {
            match self.lock.acquire(deadline).await {
                Ok(grant) => {
                    let acquired = Acquired::Granted {
                        token: grant.token().map(|t| t.to_string()),
                        fence: grant.fence(),
                    };
                    self.grant = Some(grant);
                    Ok(acquired)
                }
                Err(LockError::NotAcquired { .. }) => Ok(Acquired::TimedOut),
                Err(e) => Err(line(&e)),
            }
        })
    }

    fn release(&mut self) -> LabFuture<'_, LabRelease> {
        Box::pin(async move {
            let grant = self
                .grant
                .take()
                .ok_or_else(|| "nothing to release: no grant held".to_owned())?;
            Ok(
                match self.lock.release(&grant).await.map_err(|e| line(&e))? {
                    ReleaseOutcome::Released => LabRelease::Released,
                    ReleaseOutcome::NotHeld => LabRelease::NotHeld,
                    ReleaseOutcome::Deleted => LabRelease::Deleted,
                    ReleaseOutcome::NothingToDelete => LabRelease::NothingToDelete,
                },
            )
        })
    }
}
