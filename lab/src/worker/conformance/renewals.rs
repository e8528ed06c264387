//! The renewal check of `locklab worker-check` (worker protocol version
//! 2): an adapter whose `ready` says it renews is held to it. On a worker
//! of its own, started with the short lease and `renew_every_ms`: holding
//! nothing, it renews nothing; granted, it reports a renewal of its own
//! key within a few periods; released, it renews nothing more. Each wait
//! is bounded; an adapter that claims renewals and sends none fails in one
//! line.

use std::time::Duration;

use locklab_model::{Call, ClientOp, Outcome};

use super::{told, Script};
use crate::client::LabClient;
use crate::worker::event::{Renewed, WorkerEvent};
use crate::worker::handle::WorkerHandle;

const NAME: &str = "renewals";

/// How many periods a renewing adapter has to report its first renewal.
pub const PERIODS: u32 = 5;

/// The renewals reported while `w` waits `wait`; `Err`: a line that is no
/// event, or an event line that is not one.
async fn reported(w: &mut WorkerHandle, wait: Duration) -> Result<Vec<WorkerEvent>, String> {
    w.gather_events(wait)
        .await
        .map_err(|line| format!("printed {line:?} with no request pending"))?;
    w.take_events()
        .into_iter()
        .map(|(_, e)| e.map_err(|e| e.to_string()))
        .collect()
}

fn extensions(events: &[WorkerEvent]) -> usize {
    events
        .iter()
        .filter(|e| {
            matches!(
                e,
                WorkerEvent::Renewal {
                    ok: Some(Renewed::Renewed | Renewed::Reacquired),
                    ..
                }
            )
        })
        .count()
}

/// The first renewal reported after the grant of `own`, waiting at most
/// `within`: `Ok(None)` if none came.
async fn first_renewal(
    w: &mut WorkerHandle,
    within: Duration,
    period: Duration,
) -> Result<Option<WorkerEvent>, String> {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        let events = reported(w, period.min(within)).await?;
        if let Some(e) = events
            .into_iter()
            .find(|e| matches!(e, WorkerEvent::Renewal { .. }))
        {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

pub(super) async fn renewals(s: &mut Script<'_>) {
    let period = s.plan.renew_every;
    let mut spec = s.spec_with("c1", 6, s.plan.lease);
    spec.renew_every = Some(period);
    let mut w = match s.spawn(&spec).await {
        Ok(w) => w,
        Err(e) => return s.fail(NAME, e.to_string()),
    };
    if !w.renews_by_itself() {
        return s.pass(
            NAME,
            format!(
                "its ready (version {}) does not say \"renews\":true: no renewal to check",
                w.version()
            ),
        );
    }
    match reported(&mut w, period * 2).await {
        Ok(events) if extensions(&events) > 0 => {
            return s.fail(
                NAME,
                format!(
                    "reported {} renewal(s) extending a lease before it was granted any: it renews a key it was never granted",
                    extensions(&events)
                ),
            )
        }
        Ok(_) => {}
        Err(e) => return s.fail(NAME, e),
    }
    let own = match w.perform(Call::now(ClientOp::Acquire), "").await {
        Ok(Outcome::Granted { token, .. }) => token,
        Ok(other) => {
            return s.fail(
                NAME,
                format!("answered {other} to an acquire of a free lock"),
            )
        }
        Err(e) => return s.fail(NAME, told(&w, e)),
    };
    let within = period * PERIODS;
    let first = match first_renewal(&mut w, within, period).await {
        Ok(first) => first,
        Err(e) => return s.fail(NAME, e),
    };
    let detail = match first {
        None => {
            return s.fail(
                NAME,
                format!(
                    "its ready says \"renews\":true, but it reported no renewal within {within:?} ({PERIODS} periods of {period:?}) of holding the lock"
                ),
            )
        }
        Some(WorkerEvent::Renewal {
            ok: Some(Renewed::Renewed | Renewed::Reacquired),
            token: Some(key),
            ..
        }) if own.as_deref().is_some_and(|own| own != key) => {
            return s.fail(
                NAME,
                format!("its first renewal extended the key of token {key}, not its own grant's"),
            )
        }
        Some(WorkerEvent::Renewal {
            ok: Some(found @ (Renewed::Renewed | Renewed::Reacquired)),
            ..
        }) => format!("{} within {PERIODS} periods of {period:?}", found.outcome()),
        Some(other) => {
            return s.fail(
                NAME,
                format!(
                    "its first renewal of a lease it holds did not extend it: {}",
                    other.to_line()
                ),
            )
        }
    };
    match w.perform(Call::now(ClientOp::Release), "").await {
        Ok(_) => {}
        Err(e) => return s.fail(NAME, told(&w, e)),
    }
    match reported(&mut w, period * 2).await {
        Ok(events) if extensions(&events) > 0 => s.fail(
            NAME,
            format!(
                "reported {} renewal(s) extending a lease after its release",
                extensions(&events)
            ),
        ),
        Ok(_) => s.pass(NAME, detail),
        Err(e) => s.fail(NAME, e),
    }
}
