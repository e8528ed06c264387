//! A recorded history as a diagram on real time: one row per moment (an
//! invocation, or a reply held in flight being read), its time in µs, the
//! breaking rows marked by the history checker.

use std::collections::BTreeMap;

use locklab_model::{ClientOp, Kind, Outcome, PropertyName, Protocol, Verdict};

use super::bars::{bars, client_order, lanes, spans, After};
use crate::history::{timeline, Event, History, Op};
use crate::report::diagram::{BarEnd, Call, Clock, Diagram, Mark, Row, Tone};
use crate::report::text::{duration, micros};

/// The short reply of an operation, for an arrow.
fn reply_word(e: &Event) -> Option<String> {
    if !matches!(e.op, Op::Call(_)) {
        return None;
    }
    if e.error.is_some() {
        return Some("failed".into());
    }
    Some(match e.outcome.as_ref()? {
        Outcome::Granted { fence: Some(f), .. } => format!("granted · fence {f}"),
        Outcome::Granted { .. } => "granted".into(),
        Outcome::Believed => "refused (ignored)".into(),
        Outcome::Deleted => "removed a key".into(),
        Outcome::NotHeld => "not held".into(),
        Outcome::NothingToDelete => "no key".into(),
        Outcome::StillHeld { count } => format!("still held · {count}"),
        other => other.name().replace('-', " "),
    })
}

/// One row of a real run: an event's invocation, or the moment a reply
/// held in flight was read.
#[derive(Clone, Copy, Debug)]
enum Moment {
    Invoked,
    Replied,
}

/// The safety properties a history of `protocol` is judged by: the
/// renewal properties only for a lock that renews.
pub fn safety_of(protocol: Protocol) -> Vec<PropertyName> {
    PropertyName::ALL
        .into_iter()
        .filter(|p| p.kind() == Kind::Always)
        .filter(|p| !p.about_renewal() || protocol.caps().renews())
        .collect()
}

/// A recorded history of `protocol` as a diagram on real time, its
/// breaking rows marked by the history checker; `lease_us` is the lease in
/// real time (for how much of it is left).
pub fn real_diagram(
    title: &str,
    subtitle: &str,
    protocol: Protocol,
    events: &[Event],
    lease_us: u64,
) -> Diagram {
    let safety = safety_of(protocol);
    let findings = crate::history::check(
        &History {
            events: events.to_vec(),
        },
        &safety,
    );
    let names = client_order(events.iter().map(|e| e.client.clone()));
    let is_write = |e: &Event| e.op == Op::call(ClientOp::Write);
    let resource = events.iter().any(is_write);
    let lanes = lanes(&names, resource);
    let lane_of = |name: &str| names.iter().position(|n| n == name);
    let server = names.len();
    let held = |k: usize| {
        let e = &events[k];
        e.end_us.is_some_and(|end| {
            events[k + 1..]
                .iter()
                .any(|o| o.start_us > e.start_us && o.start_us < end)
        })
    };
    let mut moments: Vec<(u64, u8, usize, Moment)> = Vec::new();
    for (k, e) in events.iter().enumerate() {
        // The lab's looks that find the key there say nothing new, nor
        // its look at the sink at the end.
        if (e.op == Op::Observed && e.present == Some(true)) || e.op == Op::Inspected {
            continue;
        }
        moments.push((e.start_us, 1, k, Moment::Invoked));
        if let (true, Some(end)) = (held(k), e.end_us) {
            moments.push((end, 0, k, Moment::Replied));
        }
    }
    moments.sort_by_key(|&(t, pri, k, _)| (t, pri, k));
    let reply_row = |k: usize| {
        moments
            .iter()
            .position(|(_, _, j, m)| *j == k && matches!(m, Moment::Replied))
    };
    // The breaking events: all but the first event each finding names.
    let mut breaks: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.verdict == Verdict::Violated) {
        let mut ev = f.events.clone();
        ev.sort_unstable();
        let skip = usize::from(ev.len() > 1);
        for k in ev.into_iter().skip(skip) {
            let list = breaks.entry(k).or_default();
            if !list.iter().any(|p| p == f.property.name()) {
                list.push(f.property.name().to_owned());
            }
        }
    }
    let mut rows = Vec::new();
    let mut afters = Vec::new();
    let mut ends = Vec::new();
    let mut lease: Option<(usize, u64, Option<u64>)> = None;
    let mut believers: Vec<usize> = Vec::new();
    for (i, &(at, _, k, moment)) in moments.iter().enumerate() {
        let e = &events[k];
        let client = lane_of(&e.client);
        let mut end = BarEnd::Released;
        let row = match moment {
            Moment::Replied => {
                if e.gives_belief() {
                    believers.extend(client.filter(|c| !believers.contains(c)));
                }
                Row {
                    n: i + 1,
                    at_us: Some(at),
                    actor: client,
                    mark: Mark::Deliver,
                    says: format!(
                        "{} reads the reply held in flight: {}",
                        e.client,
                        timeline::outcome(e)
                    ),
                    ..Row::default()
                }
            }
            Moment::Invoked => {
                let is_held = held(k);
                let (mark, actor) = match e.op {
                    Op::Call(_) => (Mark::Call, client),
                    Op::Observed => (Mark::Expired, Some(server)),
                    Op::Restart => (Mark::Restart, Some(server)),
                    Op::Replicate | Op::Failover => (Mark::Note, Some(server)),
                    Op::Pause => (Mark::Pause, client),
                    Op::Resume => (Mark::Resume, client),
                    Op::Crash => (Mark::Crash, client),
                    Op::Inspected => (Mark::Note, None),
                    Op::Down => (Mark::Crash, Some(server)),
                    Op::Rejoin => (Mark::Restart, Some(server)),
                    Op::ClockJump => (Mark::Note, Some(server)),
                    Op::Lost | Op::Stall | Op::Wake => (Mark::Note, client),
                };
                let breaks_here = breaks.get(&k).cloned().unwrap_or_default();
                let mut calls = Vec::new();
                if mark == Mark::Call {
                    let to = if is_write(e) { server + 1 } else { server };
                    let tone = match &e.outcome {
                        Some(Outcome::Refused { .. }) => Tone::Good,
                        Some(Outcome::Believed) => Tone::Bad,
                        _ if !breaks_here.is_empty() => Tone::Bad,
                        _ => Tone::Plain,
                    };
                    let label = match (is_write(e), e.fence) {
                        (true, Some(f)) => format!("write · token {f}"),
                        _ => e.op.name().to_owned(),
                    };
                    calls.push(Call {
                        to,
                        label,
                        reply: e.end_us.and_then(|_| reply_word(e)),
                        reply_row: if is_held { reply_row(k) } else { None },
                        tone,
                    });
                }
                let says = match e.op {
                    Op::Observed => "Redis expired the key: `lock` is gone".to_owned(),
                    Op::Restart => "redis-server killed and restarted, empty".to_owned(),
                    Op::Replicate | Op::Failover => timeline::outcome(e),
                    _ => {
                        let mut says = format!("{} {}", e.client, e.op.name());
                        if mark == Mark::Call {
                            says.push_str(": ");
                            says.push_str(&timeline::outcome(e));
                        }
                        if is_held {
                            says.push_str(" — the reply is held in flight");
                        } else if e.end_us.is_none() && mark == Mark::Call {
                            says.push_str(" — no reply read");
                        }
                        says
                    }
                };
                let command = match (mark, e.end_us) {
                    (Mark::Call, Some(end)) => Some(format!(
                        "{} → {} ({})",
                        micros(e.start_us),
                        micros(end),
                        duration(end.saturating_sub(e.start_us))
                    )),
                    _ => None,
                };
                // What the event does to the lease and the believers.
                match &e.op {
                    op if op.is_acquire() => {
                        if e.is_grant() {
                            lease = client.map(|c| {
                                (c, e.start_us, e.outcome.as_ref().and_then(Outcome::fence))
                            });
                        }
                        if e.gives_belief() && !is_held {
                            believers.extend(client.filter(|c| !believers.contains(c)));
                        }
                    }
                    Op::Call(locklab_model::Call {
                        op: ClientOp::Release,
                        ..
                    }) => {
                        believers.retain(|c| Some(*c) != client);
                        if e.outcome.as_ref().is_some_and(Outcome::removed_a_key) {
                            end = match lease {
                                Some((owner, _, _)) if Some(owner) != client => BarEnd::Removed,
                                _ => BarEnd::Released,
                            };
                            lease = None;
                        }
                    }
                    Op::Observed => {
                        lease = None;
                        end = BarEnd::Expired;
                    }
                    Op::Restart => {
                        lease = None;
                        end = BarEnd::Lost;
                    }
                    Op::Crash => believers.retain(|c| Some(*c) != client),
                    _ => {}
                }
                Row {
                    n: i + 1,
                    at_us: Some(at),
                    actor,
                    mark,
                    calls,
                    says,
                    command,
                    state: None,
                    breaks: breaks_here,
                }
            }
        };
        let owner_of = |c: usize| names.get(c).cloned().unwrap_or_default();
        let left = |granted: u64| {
            if lease_us == 0 {
                1.0
            } else {
                (1.0 - at.saturating_sub(granted) as f64 / lease_us as f64).clamp(0.0, 1.0)
            }
        };
        let state = {
            let key = match lease {
                None => "lock: absent".to_owned(),
                Some((o, granted, fence)) => format!(
                    "lock: {}'s{}, granted {} ago",
                    owner_of(o),
                    fence.map(|f| format!(", fence {f}")).unwrap_or_default(),
                    duration(at.saturating_sub(granted))
                ),
            };
            let who: Vec<String> = believers.iter().map(|&c| owner_of(c)).collect();
            let who = if who.is_empty() {
                "nobody".to_owned()
            } else {
                who.join(", ")
            };
            format!("{key} · believe they hold it: {who}")
        };
        rows.push(Row {
            state: Some(state),
            ..row
        });
        ends.push(end);
        afters.push(After {
            lease: lease.map(|(o, granted, fence)| {
                let label = match fence {
                    Some(f) => format!("{} · fence {f}", owner_of(o)),
                    None => owner_of(o),
                };
                (o, label, left(granted))
            }),
            believers: believers
                .iter()
                .map(|&c| (c, lease.is_some_and(|(o, _, _)| o == c)))
                .collect(),
        });
    }
    let marks: Vec<(Mark, Option<usize>)> = rows.iter().map(|r| (r.mark, r.actor)).collect();
    Diagram {
        title: title.to_owned(),
        subtitle: subtitle.to_owned(),
        clock: Clock::Micros,
        bars: bars(&afters, server, &ends),
        spans: spans(&marks),
        dividers: Vec::new(),
        lanes,
        rows,
    }
}
