//! A history as a timeline people can read: one line per event, with the
//! time, the client, what it did and what came of it, and a mark on the
//! events the checker names.

use locklab_model::{Call, ClientOp, KeyRole};

use crate::client::Inspection;

use super::event::{Event, History, Op};
use super::finding::Finding;
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
        Op::Call(Call {
            op: ClientOp::Write,
            ..
        }) => {
            let fence = e
                .fence
                .map(|f| format!(" with token {f}"))
                .unwrap_or_default();
            format!("{}{fence}", e.result_words())
        }
        Op::Call(_) => e.result_words(),
        Op::Observed => {
            let what = match e.key {
                None | Some(KeyRole::Lock) => "lock key",
                Some(KeyRole::Marker) => "marker",
                Some(KeyRole::Claim) => "claim",
                Some(KeyRole::Pending { .. }) => "pending entry",
                Some(KeyRole::Attempt { .. } | KeyRole::Down) => "clock",
            };
            if e.present == Some(true) {
                format!("{what} present{node}")
            } else {
                format!("{what} gone from Redis{node}")
            }
        }
        Op::Inspected => match &e.inspected {
            Some(seen) => inspection(seen),
            None => e.result_words(),
        },
        Op::Pause => "paused".into(),
        Op::Resume => "resumed".into(),
        Op::Crash => "crashed".into(),
        Op::Restart => format!("redis-server killed, restarted empty{node}"),
        Op::Down => format!("redis-server killed, kept down{node}"),
        Op::Rejoin => format!("redis-server back, empty{node}"),
        Op::ClockJump => format!("clock moved ahead{node}"),
        Op::Replicate => format!("{} caught up with the primary", name(e.node)),
        Op::Failover => format!(
            "Sentinel promoted {}; every client follows it",
            name(e.node)
        ),
        Op::Lost => match &e.said {
            Some(why) => format!("told the lock is lost: {why}"),
            None => "told the lock is lost".into(),
        },
        Op::Stall => "watchdog starved".into(),
        Op::Wake => "watchdog runs again".into(),
    }
}

fn name(node: Option<locklab_model::NodeId>) -> String {
    node.map_or_else(|| "a replica".to_owned(), |n| n.to_string())
}

/// An inspection in words: `sink: u1 ×2, u2 · waiting: none`.
fn inspection(seen: &Inspection) -> String {
    let mut counts: Vec<(u32, usize)> = Vec::new();
    for a in &seen.applied {
        match counts.iter_mut().find(|(u, _)| *u == a.unit) {
            Some((_, n)) => *n += 1,
            None => counts.push((a.unit, 1)),
        }
    }
    let sink: Vec<String> = counts
        .iter()
        .map(|(u, n)| {
            if *n > 1 {
                format!("u{u} ×{n}")
            } else {
                format!("u{u}")
            }
        })
        .collect();
    let waiting: Vec<String> = seen.waiting.iter().map(|u| format!("u{u}")).collect();
    let or_none = |v: Vec<String>| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    format!(
        "sink: {} · waiting in Redis: {}",
        or_none(sink),
        or_none(waiting)
    )
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
        // A finding names the events that together break the property; the
        // first of several is what came before (a legitimate grant), the
        // breaking ones are the rest.
        let marks: Vec<&str> = findings
            .iter()
            .filter(|f| {
                let first = f.events.iter().min().copied();
                f.events.contains(&i) && (f.events.len() == 1 || first != Some(i))
            })
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
