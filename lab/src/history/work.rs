//! The sync properties on a recorded history, judged from what the workers
//! were told (the replies of produce, read, claim and process) and from
//! what the lab itself read at the end of the run (the sink's content and
//! the units Redis still holds: [`Op::Inspected`]) — never from a model.
//!
//! - `no-double-processing`: no unit's effect is in the sink twice (nor
//!   did two process replies both say the sink applied it).
//! - `no-lost-update`: every unit produced was applied, or is still in
//!   Redis, or is in the hands of a worker that has not crashed (its last
//!   take handed it the unit, and it has not processed it since). A unit
//!   that is none of these can never be processed: it was overwritten or
//!   dropped. A take whose reply was still in flight counts with what Redis
//!   handed out (the lab reads it, unseen by the worker, at the end).

use std::collections::{BTreeMap, BTreeSet};

use locklab_model::{Call, ClientOp, Outcome, PropertyName};

use super::event::{Event, History, Op};
use super::finding::Finding;

/// What the history says about units.
struct Evidence {
    /// Each unit produced, with its produce event.
    produced: BTreeMap<u32, usize>,
    /// The process events whose reply says the sink applied the unit.
    applied_replies: BTreeMap<u32, Vec<usize>>,
    /// The lab's inspection, if it made one: its event, how many times
    /// the sink holds each unit, and the units waiting in Redis.
    inspected: Option<(usize, BTreeMap<u32, usize>, BTreeSet<u32>)>,
    /// Units in the hands of a live worker at the end.
    held: BTreeSet<u32>,
    /// Takes in flight whose unit nobody knows (their reply could not be
    /// read): each may hide one unit.
    unknown_held: usize,
}

fn is_worker_op(e: &Event, ops: &[ClientOp]) -> bool {
    matches!(e.op, Op::Call(call) if ops.contains(&call.op))
}

fn evidence(history: &History) -> Evidence {
    let mut produced = BTreeMap::new();
    let mut applied_replies: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    let mut inspected = None;
    let mut hands: BTreeMap<&str, Option<Option<u32>>> = BTreeMap::new();
    for (i, e) in history.events.iter().enumerate() {
        match (&e.op, &e.outcome) {
            (
                Op::Call(Call {
                    op: ClientOp::Produce,
                    ..
                }),
                Some(Outcome::Produced { unit }),
            ) => {
                produced.entry(*unit).or_insert(i);
            }
            (
                Op::Call(Call {
                    op: ClientOp::Process,
                    ..
                }),
                Some(Outcome::Processed {
                    unit,
                    applied: true,
                }),
            ) => {
                applied_replies.entry(*unit).or_default().push(i);
            }
            (Op::Inspected, _) => {
                if let Some(seen) = &e.inspected {
                    let mut counts = BTreeMap::new();
                    for a in &seen.applied {
                        *counts.entry(a.unit).or_insert(0) += 1;
                    }
                    inspected = Some((i, counts, seen.waiting.iter().copied().collect()));
                }
            }
            _ => {}
        }
        // What each worker has in hand: Some(Some(u)) a unit, Some(None)
        // a unit nobody knows, None nothing.
        let hand = hands.entry(e.client.as_str()).or_insert(None);
        if is_worker_op(e, &[ClientOp::Read, ClientOp::Claim]) {
            *hand = match e.outcome.as_ref().and_then(Outcome::took) {
                Some(u) => Some(Some(u)),
                None if e.outcome.is_none() && e.error.is_none() => Some(None),
                // An empty read, a lost claim, a failed take: nothing.
                None => None,
            };
        } else if is_worker_op(e, &[ClientOp::Process, ClientOp::Mark, ClientOp::Ack])
            || e.op == Op::Crash
        {
            *hand = None;
        }
    }
    let held = hands.values().filter_map(|h| h.flatten()).collect();
    let unknown_held = hands.values().filter(|h| matches!(h, Some(None))).count();
    Evidence {
        produced,
        applied_replies,
        inspected,
        held,
        unknown_held,
    }
}

fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

/// `no-double-processing`.
pub fn no_double_processing(history: &History) -> Finding {
    let property = PropertyName::NoDoubleProcessing;
    let ev = evidence(history);
    let mut units: BTreeSet<u32> = ev.applied_replies.keys().copied().collect();
    if let Some((_, counts, _)) = &ev.inspected {
        units.extend(counts.keys());
    }
    for unit in units {
        let replies = ev.applied_replies.get(&unit).cloned().unwrap_or_default();
        let in_sink = ev
            .inspected
            .as_ref()
            .and_then(|(_, counts, _)| counts.get(&unit).copied())
            .unwrap_or(0);
        if replies.len() < 2 && in_sink < 2 {
            continue;
        }
        let by: Vec<String> = replies
            .iter()
            .map(|&i| {
                let e = &history.events[i];
                format!("{} at {}", e.client, ms(e.start_us))
            })
            .collect();
        let mut events = replies;
        let sink = match &ev.inspected {
            Some((i, _, _)) => {
                events.push(*i);
                format!(
                    "; the sink holds it {in_sink} time{}",
                    if in_sink == 1 { "" } else { "s" }
                )
            }
            None => String::new(),
        };
        return Finding::violated(
            property,
            events,
            format!(
                "u{unit}'s effect was applied more than once: by {}{sink}",
                by.join(" and ")
            ),
        );
    }
    Finding::holds(property)
}

/// `no-lost-update`.
pub fn no_lost_update(history: &History) -> Finding {
    let property = PropertyName::NoLostUpdate;
    let ev = evidence(history);
    if ev.produced.is_empty() {
        return Finding::holds(property);
    }
    let Some((at, counts, waiting)) = &ev.inspected else {
        return Finding::unknowable(property);
    };
    let lost: Vec<(u32, usize)> = ev
        .produced
        .iter()
        .filter(|(u, _)| {
            !counts.contains_key(u)
                && !ev.applied_replies.contains_key(u)
                && !waiting.contains(u)
                && !ev.held.contains(u)
        })
        .map(|(u, i)| (*u, *i))
        .collect();
    if lost.len() <= ev.unknown_held {
        return Finding::holds(property);
    }
    let names: Vec<String> = lost.iter().map(|(u, _)| format!("u{u}")).collect();
    let mut events: Vec<usize> = lost.iter().map(|(_, i)| *i).collect();
    events.push(*at);
    Finding::violated(
        property,
        events,
        format!(
            "{} produced, never applied, and at the end neither in Redis nor in a live worker's hands",
            names.join(", ")
        ),
    )
}

/// `exactly-once-sync`: both.
pub fn exactly_once_sync(history: &History) -> Finding {
    let property = PropertyName::ExactlyOnceSync;
    let double = no_double_processing(history);
    let lost = no_lost_update(history);
    let broken: Vec<&Finding> = [&double, &lost]
        .into_iter()
        .filter(|f| f.verdict == locklab_model::Verdict::Violated)
        .collect();
    if broken.is_empty() {
        return if lost.verdict == locklab_model::Verdict::NotApplicable {
            Finding::unknowable(property)
        } else {
            Finding::holds(property)
        };
    }
    let mut events: Vec<usize> = broken.iter().flat_map(|f| f.events.clone()).collect();
    events.sort_unstable();
    events.dedup();
    let says: Vec<String> = broken.iter().filter_map(|f| f.says.clone()).collect();
    Finding::violated(property, events, says.join("; "))
}

/// `some-unit-processed`.
pub fn some_unit_processed(history: &History) -> Finding {
    let property = PropertyName::SomeUnitProcessed;
    let ev = evidence(history);
    let in_sink = ev.inspected.as_ref().is_some_and(|(_, c, _)| !c.is_empty());
    if in_sink || !ev.applied_replies.is_empty() {
        Finding::holds(property)
    } else {
        Finding::violated(property, vec![], "no unit's effect was ever applied".into())
    }
}

/// `every-unit-processed`: every unit produced was applied.
pub fn every_unit_processed(history: &History) -> Finding {
    let property = PropertyName::EveryUnitProcessed;
    let ev = evidence(history);
    let applied = |u: &u32| {
        ev.applied_replies.contains_key(u)
            || ev
                .inspected
                .as_ref()
                .is_some_and(|(_, c, _)| c.contains_key(u))
    };
    if !ev.produced.is_empty() && ev.produced.keys().all(applied) {
        Finding::holds(property)
    } else {
        Finding::violated(
            property,
            vec![],
            "some unit was never produced or never applied".into(),
        )
    }
}
