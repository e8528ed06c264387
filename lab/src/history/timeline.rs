//! A history as a timeline people can read: one line per event, with the
//! time, the client, what it did and what came of it, and a mark on the
//! events the checker names.

use locklab_model::ClientOp;

use super::checker::Finding;
use super::event::{Event, History, Op};
use crate::output::table::Table;

/// What came of an event, in words, with what the library said.
pub fn outcome(e: &Event) -> String {
    match &e.said {
        Some(said) => format!("{} — said: {said}", happened(e)),
        None => happened(e),
    }
}

fn happened(e: &Event) -> String {
    let node = e.node.map(|n| format!(" on {n}")).unwrap_or_default();
    match e.op {
        Op::Call(ClientOp::Write) => {
            let fence = e
                .fence
                .map(|f| format!(" with token {f}"))
                .unwrap_or_default();
            format!("{}{fence}", e.result_words())
        }
        Op::Call(_) => e.result_words(),
        Op::Observed if e.present == Some(true) => format!("lock key present{node}"),
        Op::Observed => format!("lock key gone from Redis{node}"),
        Op::Pause => "paused".into(),
        Op::Resume => "resumed".into(),
        Op::Crash => "crashed".into(),
        Op::Restart => format!("redis-server killed, restarted empty{node}"),
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
            outcome(e),
            marks.join(", "),
        ]);
    }
    table.render()
}
