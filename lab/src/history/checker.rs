//! The history checker: the model's properties, evaluated on a recorded
//! history, each broken one reported with the events that break it.
//!
//! Order of execution in Redis is read from the order of invocations: the
//! conductor and the chaos runner issue one step at a time and wait for its
//! effect before the next, so invocation order is execution order. (For
//! concurrent histories, as in the bench, only `mutual-exclusion` and what a
//! reply itself shows are read, from belief intervals and outcomes, which
//! need no such order.)
//!
//! The sync family's properties are read from units, not beliefs: see
//! [`super::work`].
//!
//! A client's belief is counted in levels: each acquire it reads as granted
//! (or ignores, believing) adds one, each release it sends takes one off,
//! and it believes it holds the lock from its first level to its last.
//!
//! # Failures that may have happened
//!
//! An operation that failed without being `definite` (a timeout, a
//! connection lost after sending) may have run. For an acquire that means
//! a *possible grant*: Redis may hold the lock for a client that was told
//! the acquire failed. What that does to each property:
//!
//! - `mutual-exclusion` is about belief, and a client told "failed" does
//!   not believe it holds the lock: a possible grant is no belief, so it
//!   neither makes nor excuses an overlap.
//! - `no-foreign-release`: a possible grant of another client between a
//!   client's grant and its release is a possible lock on Redis, which the
//!   release may have removed. With no sure victim, the verdict is
//!   `unknown` (the history cannot tell), not `holds` — unless the lab saw
//!   the key gone (or Redis restarted) in between, so that whatever the
//!   possible grant took was gone before the release.
//! - `no-leaked-hold`: a possible grant is a possible lock its client does
//!   not believe it holds. A key the lab sees with no believer is a leaked
//!   hold whoever holds it, as before; but where the key would be excused
//!   as a crashed holder's lease, a possible grant after that crash may be
//!   what holds it, and the verdict is `unknown`.
//! - the others (`fenced-resource`, the re-entry properties,
//!   `eventually-acquired`) read grants and beliefs a client acted on; a
//!   client that was told "failed" does not act on a possible grant, so
//!   they read it as no grant.
//!
//! A definite failure surely did not happen and is read as nothing at all.

use std::collections::{BTreeSet, HashMap};

use locklab_model::{Call, ClientOp, Outcome, PropertyName};

use super::event::{Event, History, Op};
use super::finding::Finding;
use super::{renewal, work};

/// Checks the given safety properties on a history. (`eventually-acquired`
/// is a statement about complete runs — a replayed prefix in which a client
/// is still waiting proves nothing — so it is asked for explicitly with
/// [`finding`] where a run went to its end.)
pub fn check(history: &History, properties: &[PropertyName]) -> Vec<Finding> {
    properties.iter().map(|&p| finding(history, p)).collect()
}

/// The finding for one property.
pub fn finding(history: &History, property: PropertyName) -> Finding {
    match property {
        PropertyName::MutualExclusion => mutual_exclusion(history),
        PropertyName::NoForeignRelease => no_foreign_release(history),
        PropertyName::FencedResource => fenced_resource(history),
        PropertyName::EventuallyAcquired => eventually_acquired(history),
        PropertyName::ReentryNoSelfWait => reentry_no_self_wait(history),
        PropertyName::NoEarlyRelease => no_early_release(history),
        PropertyName::NoLeakedHold => no_leaked_hold(history),
        PropertyName::NoForeignExtension => renewal::no_foreign_extension(history),
        PropertyName::LossTold => renewal::loss_told(history),
        PropertyName::SomeoneRenews => renewal::someone_renews(history),
        PropertyName::SomeoneAcquires => {
            if history.events.iter().any(Event::gives_belief) {
                Finding::holds(property)
            } else {
                Finding::violated(property, vec![], "no client ever held the lock".into())
            }
        }
        PropertyName::SomeoneReenters => {
            if walk(history).reentered {
                Finding::holds(property)
            } else {
                Finding::violated(property, vec![], "no holder ever re-entered".into())
            }
        }
        PropertyName::EveryoneFinishes => Finding::unknowable(property),
        PropertyName::NoDoubleProcessing => work::no_double_processing(history),
        PropertyName::NoLostUpdate => work::no_lost_update(history),
        PropertyName::ExactlyOnceSync => work::exactly_once_sync(history),
        PropertyName::SomeUnitProcessed => work::some_unit_processed(history),
        PropertyName::EveryUnitProcessed => work::every_unit_processed(history),
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
/// the moment it learned of its first level to the moment it sent the
/// release of its last (or crashed, lost it, or the history ended).
#[derive(Clone, Copy, Debug)]
struct Belief {
    acquire: usize,
    from: Moment,
    until: Moment,
}

/// What a pass over a history in invocation order sees: belief spans, and
/// each client's level count before and after every event.
struct Walked {
    spans: Vec<(String, Belief)>,
    /// Levels the event's client believed it held before the event.
    before: Vec<u32>,
    /// And after it.
    after: Vec<u32>,
    reentered: bool,
}

fn walk(history: &History) -> Walked {
    struct Open {
        acquire: usize,
        from: Moment,
        levels: u32,
    }
    let mut open: HashMap<&str, Open> = HashMap::new();
    let mut closed = Vec::new();
    let mut before = Vec::with_capacity(history.events.len());
    let mut after = Vec::with_capacity(history.events.len());
    let mut reentered = false;
    for (i, e) in history.events.iter().enumerate() {
        let had = open.get(e.client.as_str()).map_or(0, |o| o.levels);
        before.push(had);
        let close = |open: &mut HashMap<&str, Open>, closed: &mut Vec<_>, at: Moment| {
            if let Some(o) = open.remove(e.client.as_str()) {
                closed.push((
                    e.client.clone(),
                    Belief {
                        acquire: o.acquire,
                        from: o.from,
                        until: at,
                    },
                ));
            }
        };
        match e.op {
            Op::Call(Call {
                op: ClientOp::Release,
                ..
            }) if had > 0 => {
                if had == 1 {
                    close(&mut open, &mut closed, (e.start_us, i));
                } else if let Some(o) = open.get_mut(e.client.as_str()) {
                    o.levels -= 1;
                }
            }
            Op::Crash | Op::Lost => close(&mut open, &mut closed, (e.start_us, i)),
            // A renewal that found nothing of the client's, or a deadline
            // check before a write: the holder is told, and stops.
            Op::Call(Call {
                op: ClientOp::Renew,
                ..
            }) if e.outcome == Some(Outcome::NotHeld) && e.end_us.is_some() => {
                close(&mut open, &mut closed, (e.end_us.unwrap_or(e.start_us), i));
            }
            Op::Call(Call {
                op: ClientOp::Write,
                ..
            }) if e.outcome == Some(Outcome::Lost) && e.end_us.is_some() => {
                close(&mut open, &mut closed, (e.end_us.unwrap_or(e.start_us), i));
            }
            _ if e.op.is_acquire() && e.outcome == Some(Outcome::Lost) && e.end_us.is_some() => {
                close(&mut open, &mut closed, (e.end_us.unwrap_or(e.start_us), i));
            }
            _ if e.gives_belief() => {
                let learned = (e.end_us.unwrap_or(e.start_us), i);
                let o = open.entry(&e.client).or_insert(Open {
                    acquire: i,
                    from: learned,
                    levels: 0,
                });
                o.levels += 1;
                reentered |= o.levels > 1;
            }
            _ => {}
        }
        after.push(open.get(e.client.as_str()).map_or(0, |o| o.levels));
    }
    closed.extend(open.into_iter().map(|(client, o)| {
        (
            client.to_owned(),
            Belief {
                acquire: o.acquire,
                from: o.from,
                until: (u64::MAX, usize::MAX),
            },
        )
    }));
    closed.sort_by_key(|(_, b)| b.from);
    Walked {
        spans: closed,
        before,
        after,
        reentered,
    }
}

/// The most overlapping pairs told in words (all are counted).
const PAIRS_TOLD: usize = 10;

fn mutual_exclusion(history: &History) -> Finding {
    let property = PropertyName::MutualExclusion;
    // A sweep over belief spans sorted by start, keeping those still open:
    // linear in the history for a lock that works (few spans open at once),
    // so a bench's long history is checked in one pass.
    let spans = walk(history).spans;
    let mut open: Vec<&(String, Belief)> = Vec::new();
    let mut events = BTreeSet::new();
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

/// The latest grant before event `at`, by anyone.
fn latest_grant(events: &[Event], at: usize) -> Option<usize> {
    events[..at].iter().rposition(Event::is_grant)
}

/// Whether `client`'s own latest grant before `at` is still the lock on
/// Redis as far as the history shows: nobody was granted since, and the lab
/// saw no expiry or restart since.
fn still_own(events: &[Event], at: usize, client: &str) -> Option<usize> {
    let own = latest_grant(events, at).filter(|g| events[*g].client == client)?;
    let gone = events[own + 1..at].iter().any(|e| {
        matches!(e.op, Op::Restart | Op::Down)
            || (e.op == Op::Observed && e.present == Some(false))
            || (e.client == client
                && e.op == Op::call(ClientOp::Release)
                && e.outcome.as_ref().is_some_and(Outcome::removed_a_key))
    });
    (!gone).then_some(own)
}

fn no_foreign_release(history: &History) -> Finding {
    let property = PropertyName::NoForeignRelease;
    let events = &history.events;
    let mut possible = None;
    for (r, release) in events.iter().enumerate() {
        if release.op != Op::call(ClientOp::Release)
            || !release.outcome.as_ref().is_some_and(Outcome::removed_a_key)
        {
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
        // Another client's acquire that may have run: its lock may be what
        // the release removed, unless the key was seen gone since.
        if possible.is_none() {
            possible = (after..r)
                .rev()
                .find(|&p| {
                    events[p].client != release.client
                        && events[p].may_have_granted()
                        && !events[p + 1..r].iter().any(|e| {
                            e.op == Op::Restart
                                || (e.op == Op::Observed && e.present == Some(false))
                        })
                })
                .map(|p| (p, r));
        }
    }
    match possible {
        Some((p, r)) => Finding::unknown(
            property,
            vec![p, r],
            format!(
                "{}'s release may have removed {}'s lock: {}'s acquire failed and may have taken it",
                events[r].client, events[p].client, events[p].client
            ),
        ),
        None => Finding::holds(property),
    }
}

/// The number of the grant a client was acting under at event `at`: the
/// rank among all grants of the latest grant in its current tenure (since
/// it last let go of every level, crashed or learned it lost the lock); 0
/// when it believes without a grant. Where tokens cannot tell two writes
/// apart, grant order is what the resource's history is judged by: a
/// fencing counter that Redis forgot in a restart hands out the same token
/// again, and the judgement must see through that.
fn grant_number(history: &History, walked: &Walked, at: usize) -> u64 {
    let events = &history.events;
    let client = &events[at].client;
    // A tenure that began by adding a level to a lease Redis still held for
    // the client (a count above 1 with nothing believed: a leaked level)
    // goes on under that lease's grant, from before the let-go.
    let mut continues = false;
    // A confirmed grant (`WAIT`) is the pending grant before it.
    let mut confirmed = false;
    for i in (0..at).rev() {
        let x = &events[i];
        if &x.client != client {
            continue;
        }
        if x.op == Op::call(ClientOp::Confirm) && x.gives_belief() {
            confirmed = true;
            continue;
        }
        let let_go = (x.op == Op::call(ClientOp::Release) && walked.after[i] == 0)
            || matches!(x.op, Op::Crash | Op::Lost)
            || x.outcome == Some(Outcome::Lost)
            || (x.op.is_renewal() && x.outcome == Some(Outcome::NotHeld));
        if let_go {
            if !std::mem::take(&mut continues) {
                return 0;
            }
            continue;
        }
        // A grant the client read, or one whose reply it lost (Redis ran
        // it for the client all the same).
        // (A renewal that created the key again is one the client acts
        // under.)
        let its_grant = x.is_grant()
            && (x.gives_belief() || x.end_us.is_none() || confirmed || x.op.is_renewal());
        if its_grant {
            return events[..=i].iter().filter(|e| e.is_grant()).count() as u64;
        }
        if x.gives_belief()
            && walked.before[i] == 0
            && matches!(x.outcome, Some(Outcome::Granted { count: Some(n), .. }) if n > 1)
        {
            continues = true;
        }
    }
    0
}

/// The writes the resource accepted, in the order it can see (the model's
/// definition, `model/src/kit/resource.rs`): by fencing token, and where
/// tokens cannot tell two grants apart (no fencing, or a token handed out
/// twice), by grant. One that comes before a write accepted earlier is
/// stale.
fn fenced_resource(history: &History) -> Finding {
    let property = PropertyName::FencedResource;
    let walked = walk(history);
    let mut latest: Option<((u64, u64), usize)> = None;
    for (i, e) in history.events.iter().enumerate() {
        if e.op != Op::call(ClientOp::Write) || e.outcome != Some(Outcome::Accepted) {
            continue;
        }
        let key = (e.fence.unwrap_or(0), grant_number(history, &walked, i));
        match latest {
            Some((top, at)) if key < top => {
                let under = |(token, grant): (u64, u64)| {
                    let grant = if grant == 0 {
                        "without a grant".to_owned()
                    } else {
                        format!("under grant {grant}")
                    };
                    if token == 0 {
                        grant
                    } else {
                        format!("{grant} with token {token}")
                    }
                };
                return Finding::violated(
                    property,
                    vec![at, i],
                    format!(
                        "the resource accepted {}'s write made {} after {}'s write made {}",
                        e.client,
                        under(key),
                        history.events[at].client,
                        under(top)
                    ),
                );
            }
            Some((top, _)) if key == top => {}
            _ => latest = Some((key, i)),
        }
    }
    Finding::holds(property)
}

fn reentry_no_self_wait(history: &History) -> Finding {
    let property = PropertyName::ReentryNoSelfWait;
    let walked = walk(history);
    let events = &history.events;
    for (i, e) in events.iter().enumerate() {
        let refused = e.op.is_acquire() && e.outcome == Some(Outcome::Busy);
        if refused && walked.before[i] > 0 {
            if let Some(own) = still_own(events, i, &e.client) {
                return Finding::violated(
                    property,
                    vec![own, i],
                    format!(
                        "{}'s re-acquire was refused by its own lock, which it still held",
                        e.client
                    ),
                );
            }
        }
    }
    Finding::holds(property)
}

fn no_early_release(history: &History) -> Finding {
    let property = PropertyName::NoEarlyRelease;
    let walked = walk(history);
    let events = &history.events;
    for (i, e) in events.iter().enumerate() {
        let removed = e.op == Op::call(ClientOp::Release)
            && e.outcome.as_ref().is_some_and(Outcome::removed_a_key);
        if removed && walked.after[i] > 0 {
            if let Some(own) = still_own(events, i, &e.client) {
                return Finding::violated(
                    property,
                    vec![own, i],
                    format!(
                        "{}'s release freed its lock while it still believed it held {} level{}",
                        e.client,
                        walked.after[i],
                        if walked.after[i] == 1 { "" } else { "s" }
                    ),
                );
            }
        }
    }
    Finding::holds(property)
}

fn no_leaked_hold(history: &History) -> Finding {
    let property = PropertyName::NoLeakedHold;
    let walked = walk(history);
    let events = &history.events;
    let mut unknown = None;
    for (i, e) in events.iter().enumerate() {
        // A reply that says Redis counts more levels than the client holds.
        if let (true, Some(Outcome::Granted { count: Some(n), .. })) =
            (e.gives_belief(), &e.outcome)
        {
            if *n > walked.after[i] {
                return Finding::violated(
                    property,
                    vec![i],
                    format!(
                        "Redis counts {n} levels for {}, which believes it holds {}",
                        e.client, walked.after[i]
                    ),
                );
            }
        }
        // The lab sees the key while nobody believes they hold it, nobody's
        // acquire is in flight, and its last grantee did not crash.
        if e.op == Op::Observed && e.present == Some(true) {
            let believers = walked
                .spans
                .iter()
                .any(|(_, b)| b.from < (e.start_us, i) && b.until > (e.start_us, i));
            // (A reply that was lost is not in flight: nobody will read it.)
            let in_flight = events[..i].iter().any(|x| {
                x.op.is_acquire() && !x.op.is_lost() && x.end_us.is_none_or(|end| end > e.start_us)
            });
            let crashed_grant = latest_grant(events, i).filter(|&g| {
                events[g + 1..i]
                    .iter()
                    .any(|x| x.client == events[g].client && x.op == Op::Crash)
            });
            let crashed_holder = crashed_grant.is_some();
            // A possible grant since that crash may be what holds the key:
            // a lock its client does not know of.
            let possible = crashed_grant
                .and_then(|g| (g + 1..i).rev().find(|&p| events[p].may_have_granted()));
            if let (false, false, Some(p), None) = (believers, in_flight, possible, &unknown) {
                unknown = Some(Finding::unknown(
                    property,
                    vec![p, i],
                    format!(
                        "the lock key is held on Redis while no client believes it holds it: a crashed holder's lease, or {}'s, whose acquire failed and may have taken it",
                        events[p].client
                    ),
                ));
            }
            if !believers && !in_flight && !crashed_holder {
                let last = events[..i]
                    .iter()
                    .rposition(|x| x.op.is_acquire())
                    .into_iter()
                    .chain([i])
                    .collect();
                return Finding::violated(
                    property,
                    last,
                    "the lock key is held on Redis while no client believes it holds it".into(),
                );
            }
        }
    }
    unknown.unwrap_or_else(|| Finding::holds(property))
}

fn eventually_acquired(history: &History) -> Finding {
    let property = PropertyName::EventuallyAcquired;
    let mut clients: Vec<&str> = Vec::new();
    for e in &history.events {
        if e.op.is_acquire() && !clients.contains(&e.client.as_str()) {
            clients.push(&e.client);
        }
    }
    for client in clients {
        let mine = || history.events.iter().filter(|e| e.client == client);
        let crashed = mine().any(|e| e.op == Op::Crash);
        let held = mine().any(Event::gives_belief);
        if !crashed && !held {
            let attempts: Vec<usize> = history
                .events
                .iter()
                .enumerate()
                .filter(|(_, e)| e.client == client && e.op.is_acquire())
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
