//! The renewal task: a tokio task that renews the lease every interval
//! until the lease is released, dropped, lost, or held for the maximum hold
//! time.
//!
//! It holds no state of its own beyond "when is the next renewal due": every
//! decision (may I renew? does this reply count?) is asked of the
//! [`LeaseState`], so the loom models of that state cover the task's races
//! too. The loop is bounded: [`begin_renewal`](LeaseState::begin_renewal)
//! refuses once the lease is lost, which the clock guarantees at the latest
//! one TTL after the last confirmed renewal, and refuses from the maximum
//! hold time on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::state::{Begin, LeaseState, Phase};
use super::store::LeaseStore;

/// Now, by tokio's clock (so that tests with paused time see one clock).
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Renews `lease` in `store` every `interval` until told to stop.
pub(crate) async fn renew<S: LeaseStore>(
    lease: Arc<LeaseState>,
    store: Arc<S>,
    interval: Duration,
    key: String,
) {
    let mut due = lease.granted_at() + interval;
    loop {
        // Sleep until the next renewal is due; wake early on release or drop.
        loop {
            let changed = lease.changed();
            if lease.phase() != Phase::Held || lease.lost_reason().is_some() {
                return;
            }
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep_until(due.into()) => break,
            }
        }

        let sent = now();
        let permit = match lease.begin_renewal(sent) {
            Begin::Renew(permit) => permit,
            Begin::Stop(why) => {
                tracing::debug!(%key, ?why, "watchdog stops");
                return;
            }
        };
        // A renewal with no reply by the end of the believed lease is
        // abandoned: it could not extend the lease in time any more.
        let deadline = lease.lease_until();
        let reply = match tokio::time::timeout_at(deadline.into(), store.renew(lease.token())).await
        {
            Ok(Ok(renewal)) => Some(renewal),
            Ok(Err(error)) => {
                tracing::warn!(%key, %error, "renewal failed; retrying while the lease lasts");
                None
            }
            Err(_) => {
                tracing::warn!(%key, "no reply to the renewal before the believed lease ended");
                None
            }
        };
        if let Some(reason) = permit.finish(now(), reply) {
            tracing::warn!(%key, %reason, "lease lost");
            return;
        }
        due = sent + interval;
    }
}
