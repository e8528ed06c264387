//! A history as a timeline people can read: one line per event, with the
//! time, the client, what it did and what came of it, and a mark on the
//! events the checker names.

use super::checker::Finding;
use super::event::{AcquireOutcome, History, Op, ReleaseOutcome, WriteOutcome};
use crate::output::table::Table;

/// The outcome of an event, in words.
pub fn outcome(op: &Op) -> String {
    match op {
        Op::Acquire { outcome, fence, .. } => {
            let fence = fence.map(|f| format!(" (fence {f})")).unwrap_or_default();
            match outcome {
                AcquireOutcome::Granted => format!("granted{fence}"),
                AcquireOutcome::Busy => "busy".into(),
                AcquireOutcome::Believed => "refused, ignored: believes it holds".into(),
                AcquireOutcome::Failed(e) => format!("failed: {e}"),
            }
        }
        Op::Release { outcome } => match outcome {
            ReleaseOutcome::Released => "released its lock".into(),
            ReleaseOutcome::Deleted => "DEL removed a key".into(),
            ReleaseOutcome::NotHeld => "not held any more".into(),
            ReleaseOutcome::NothingToDelete => "DEL found no key".into(),
            ReleaseOutcome::Failed(e) => format!("failed: {e}"),
        },
        Op::Write { fence, outcome } => {
            let fence = fence
                .map(|f| format!(" with token {f}"))
                .unwrap_or_default();
            match outcome {
                WriteOutcome::Accepted => format!("accepted{fence}"),
                WriteOutcome::Refused { highest } => {
                    format!("refused{fence} (resource has {highest})")
                }
                WriteOutcome::Failed(e) => format!("failed: {e}"),
            }
        }
        Op::Expired => "lock key gone from Redis".into(),
        Op::Pause => "paused".into(),
        Op::Resume => "resumed".into(),
        Op::Crash => "crashed".into(),
        Op::Restart => "redis-server killed, restarted empty".into(),
    }
}

/// The timeline as a table, marking the events each finding names.
pub fn render(history: &History, findings: &[Finding]) -> String {
    let mut table = Table::new(["time", "client", "op", "outcome", "breaks"]);
    for (i, e) in history.events.iter().enumerate() {
        let time = match e.end_us {
            Some(end) if end != e.start_us => format!(
                "{:>7.1}–{:.1} ms",
                e.start_us as f64 / 1000.0,
                end as f64 / 1000.0
            ),
            Some(_) => format!("{:>7.1} ms", e.start_us as f64 / 1000.0),
            None => format!("{:>7.1}– ms (no reply read)", e.start_us as f64 / 1000.0),
        };
        let marks: Vec<&str> = findings
            .iter()
            .filter(|f| f.events.contains(&i))
            .map(|f| f.property.name())
            .collect();
        table.row([
            time,
            e.client.clone(),
            e.op.name().to_owned(),
            outcome(&e.op),
            marks.join(", "),
        ]);
    }
    table.render()
}
