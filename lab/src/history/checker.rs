//! The history checker: the model's properties, evaluated on a recorded
//! history, each broken one reported with the events that break it.
//!
//! Order of execution in Redis is read from the order of invocations: the
//! conductor and the chaos runner issue one step at a time and wait for its
//! effect before the next, so invocation order is execution order. (For
//! concurrent histories, as in the bench, only `mutual-exclusion` is read,
//! from belief intervals, which needs no such order.)

use locklab_model::{PropertyName, Verdict};
use serde::{Deserialize, Serialize};

use super::event::{Event, History, Op, WriteOutcome};

/// What the checker found for one property.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The property.
    pub property: PropertyName,
    /// `holds` or `violated` on this history.
    pub verdict: Verdict,
    /// The indices of the events that break it (empty when it holds).
    pub events: Vec<usize>,
    /// The break, in words.
    pub says: Option<String>,
}

impl Finding {
    fn holds(property: PropertyName) -> Finding {
        Finding {
            property,
            verdict: Verdict::Holds,
            events: Vec::new(),
            says: None,
        }
    }

    fn violated(property: PropertyName, events: Vec<usize>, says: String) -> Finding {
        Finding {
            property,
            verdict: Verdict::Violated,
            events,
            says: Some(says),
        }
    }
}

/// Checks the safety properties on a history. (`eventually-acquired` is a
/// statement about complete runs — a replayed prefix in which a client is
/// still waiting proves nothing — so it is asked for explicitly with
/// [`finding`] where a run went to its end.)
pub fn check(history: &History) -> Vec<Finding> {
    vec![
        mutual_exclusion(history),
        no_foreign_release(history),
        fenced_resource(history),
    ]
}

/// The finding for one property.
pub fn finding(history: &History, property: PropertyName) -> Finding {
    match property {
        PropertyName::MutualExclusion => mutual_exclusion(history),
        PropertyName::NoForeignRelease => no_foreign_release(history),
        PropertyName::FencedResource => fenced_resource(history),
        PropertyName::EventuallyAcquired => eventually_acquired(history),
        PropertyName::SomeoneAcquires => {
            if history.events.iter().any(Event::gives_belief) {
                Finding::holds(property)
            } else {
                Finding::violated(property, vec![], "no client ever held the lock".into())
            }
        }
        PropertyName::EveryoneFinishes => Finding {
            property,
            verdict: Verdict::NotApplicable,
            events: vec![],
            says: None,
        },
    }
}

fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

/// A moment in a history: a time, and the index of the event it belongs to,
/// which orders events recorded within the same microsecond (an event
/// invoked after another completed has a higher index).
type Moment = (u64, usize);

/// A span of time during which a client believed it held the lock: from
/// the moment it learned of its grant to the moment it sent its release (or
/// crashed, or the history ended).
#[derive(Clone, Copy, Debug)]
struct Belief {
    acquire: usize,
    from: Moment,
    until: Moment,
}

fn beliefs(history: &History) -> Vec<(String, Belief)> {
    let mut open: Vec<(String, usize, Moment)> = Vec::new();
    let mut closed = Vec::new();
    for (i, e) in history.events.iter().enumerate() {
        let ends_belief = matches!(e.op, Op::Release { .. } | Op::Crash);
        if ends_belief {
            if let Some(pos) = open.iter().position(|(c, _, _)| *c == e.client) {
                let (client, acquire, from) = open.remove(pos);
                closed.push((
                    client,
                    Belief {
                        acquire,
                        from,
                        until: (e.start_us, i),
                    },
                ));
            }
        }
        if e.gives_belief() {
            if let Some(learned) = e.end_us {
                open.push((e.client.clone(), i, (learned, i)));
            }
        }
    }
    closed.extend(open.into_iter().map(|(client, acquire, from)| {
        (
            client,
            Belief {
                acquire,
                from,
                until: (u64::MAX, usize::MAX),
            },
        )
    }));
    closed.sort_by_key(|(_, b)| b.from);
    closed
}

/// The most overlapping pairs told in words (all are counted).
const PAIRS_TOLD: usize = 10;

fn mutual_exclusion(history: &History) -> Finding {
    let property = PropertyName::MutualExclusion;
    // A sweep over belief spans sorted by start, keeping those still open:
    // linear in the history for a lock that works (few spans open at once),
    // so a bench's long history is checked in one pass.
    let spans = beliefs(history);
    let mut open: Vec<&(String, Belief)> = Vec::new();
    let mut events = std::collections::BTreeSet::new();
    let mut pairs = Vec::new();
    let mut overlaps = 0usize;
    for span in &spans {
        let (cb, b) = span;
        open.retain(|(_, a)| a.until > b.from);
        for (ca, a) in &open {
            if ca != cb {
                overlaps += 1;
                events.extend([a.acquire, b.acquire]);
                if pairs.len() < PAIRS_TOLD {
                    pairs.push(format!("{ca} and {cb} from {}", ms(b.from.0)));
                }
            }
        }
        open.push(span);
    }
    if overlaps == 0 {
        return Finding::holds(property);
    }
    let more = overlaps.saturating_sub(pairs.len());
    let tail = if more > 0 {
        format!("; and {more} more")
    } else {
        String::new()
    };
    Finding::violated(
        property,
        events.into_iter().collect(),
        format!(
            "two clients believed they held the lock at once: {}{tail}",
            pairs.join("; ")
        ),
    )
}

fn no_foreign_release(history: &History) -> Finding {
    let property = PropertyName::NoForeignRelease;
    let events = &history.events;
    for (r, release) in events.iter().enumerate() {
        let Op::Release { outcome } = &release.op else {
            continue;
        };
        if !outcome.removed_a_key() {
            continue;
        }
        // The releaser's own latest grant before the release, if any.
        let own = events[..r]
            .iter()
            .rposition(|e| e.client == release.client && e.is_grant());
        // Another client's grant after it: the releaser's key was gone by
        // then, so what the release removed was not the releaser's.
        let after = own.map_or(0, |o| o + 1);
        let victim = events[after..r]
            .iter()
            .rposition(|e| e.client != release.client && e.is_grant())
            .map(|v| v + after);
        if let Some(v) = victim {
            return Finding::violated(
                property,
                vec![v, r],
                format!(
                    "{}'s release removed {}'s lock",
                    release.client, events[v].client
                ),
            );
        }
    }
    Finding::holds(property)
}

/// The number of the grant a client was acting under at event `at`: the
/// rank of its latest grant among all grants, 0 when it believes without a
/// grant. Grant order, not the fencing token, is what the resource's history
/// is judged by: a fencing counter that Redis forgot in a restart hands out
/// low tokens again, and the judgement must see through that.
fn grant_number(history: &History, at: usize) -> u64 {
    let events = &history.events;
    let e = &events[at];
    let latest = events[..at]
        .iter()
        .rposition(|x| x.client == e.client && x.gives_belief());
    match latest {
        Some(g) if events[g].is_grant() => {
            events[..=g].iter().filter(|x| x.is_grant()).count() as u64
        }
        _ => 0,
    }
}

fn fenced_resource(history: &History) -> Finding {
    let property = PropertyName::FencedResource;
    let mut highest: Option<(u64, usize)> = None;
    for (i, e) in history.events.iter().enumerate() {
        if !matches!(
            e.op,
            Op::Write {
                outcome: WriteOutcome::Accepted,
                ..
            }
        ) {
            continue;
        }
        let grant = grant_number(history, i);
        match highest {
            Some((top, at)) if grant < top => {
                let under = if grant == 0 {
                    "without a grant".to_owned()
                } else {
                    format!("under grant {grant}")
                };
                return Finding::violated(
                    property,
                    vec![at, i],
                    format!(
                        "the resource accepted {}'s write made {under} after {}'s write under grant {top}",
                        e.client, history.events[at].client
                    ),
                );
            }
            Some((top, _)) if grant == top => {}
            _ => highest = Some((grant, i)),
        }
    }
    Finding::holds(property)
}

fn eventually_acquired(history: &History) -> Finding {
    let property = PropertyName::EventuallyAcquired;
    let mut clients: Vec<&str> = Vec::new();
    for e in &history.events {
        if matches!(e.op, Op::Acquire { .. }) && !clients.contains(&e.client.as_str()) {
            clients.push(&e.client);
        }
    }
    for client in clients {
        let mine = || history.events.iter().filter(|e| e.client == client);
        let crashed = mine().any(|e| e.op == Op::Crash);
        let held = mine().any(|e| e.gives_belief() && e.end_us.is_some());
        if !crashed && !held {
            let attempts: Vec<usize> = history
                .events
                .iter()
                .enumerate()
                .filter(|(_, e)| e.client == client && matches!(e.op, Op::Acquire { .. }))
                .map(|(i, _)| i)
                .collect();
            return Finding::violated(
                property,
                attempts,
                format!("{client} tried to acquire and never got the lock"),
            );
        }
    }
    Finding::holds(property)
}
