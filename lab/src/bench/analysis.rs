//! What a bench history says: grants per client, fairness, starved clients,
//! hand-offs, overlaps, and the latencies of acquire and release.
//!
//! A client *believes* it holds the lock from the moment it learned of its
//! grant (the acquire's end) to the moment it sent its release (the
//! release's start), as the history checker reads it. Two beliefs of
//! different clients that overlap are a break of mutual exclusion; every
//! grant that begins while another client's belief is still open counts as
//! one **overlap**.
//!
//! A **hand-off** pairs consecutive grants: the release that ended the
//! earlier holder's belief and the later holder's grant. Its time runs from
//! the release's start to the later grant's end (when the next holder
//! knows): that is the time the lock serves nobody. Only releases that
//! removed a key are paired (a lease that ran out is not a hand-off).

use std::collections::BTreeMap;

use locklab_model::{Call, ClientOp, Outcome};

use crate::history::{Event, History, Op};

use super::latency::Recording;

/// One grant and the release that ended it, from a history.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Tenure {
    client: String,
    /// When the client learned of its grant, µs.
    from: u64,
    /// When it sent its release, µs (`None`: never released).
    until: Option<u64>,
    /// Whether that release removed a key.
    removed: bool,
}

/// The figures of one history.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// Grants per client, every client named (0 for a starved one).
    pub per_client: BTreeMap<String, u64>,
    /// Grants in all.
    pub grants: u64,
    /// Hand-off times, µs.
    pub handoffs: Recording,
    /// Grants that began while another client believed it held the lock.
    pub overlaps: u64,
    /// Durations of granted acquires, µs (call to grant, waiting included).
    pub acquire: Recording,
    /// Durations of re-entries (an acquire by the holder, of a re-entrant
    /// lock), µs.
    pub reentry: Recording,
    /// Durations of releases, µs.
    pub release: Recording,
    /// Operations that failed (connection, timeout, …).
    pub errors: u64,
}

impl Analysis {
    /// Reads a history of `clients` (named as in its events).
    pub fn of(history: &History, clients: &[String]) -> Analysis {
        let mut per_client: BTreeMap<String, u64> =
            clients.iter().map(|c| (c.clone(), 0)).collect();
        let mut acquire = Recording::new();
        let mut reentry = Recording::new();
        let mut release = Recording::new();
        let mut errors = 0;
        for e in &history.events {
            let took = e.end_us.map(|end| end.saturating_sub(e.start_us));
            if e.error.is_some() {
                errors += 1;
                continue;
            }
            match (&e.op, &e.outcome) {
                (
                    Op::Call(Call {
                        op: ClientOp::Acquire,
                        ..
                    }),
                    Some(Outcome::Granted { count: Some(n), .. }),
                ) if *n > 1 => {
                    if let Some(us) = took {
                        reentry.record(us);
                    }
                }
                (
                    Op::Call(Call {
                        op: ClientOp::Acquire,
                        ..
                    }),
                    Some(o),
                ) if o.gives_belief() => {
                    *per_client.entry(e.client.clone()).or_default() += 1;
                    if let Some(us) = took {
                        acquire.record(us);
                    }
                }
                (
                    Op::Call(Call {
                        op: ClientOp::Release,
                        ..
                    }),
                    Some(_),
                ) => {
                    if let Some(us) = took {
                        release.record(us);
                    }
                }
                _ => {}
            }
        }
        let tenures = tenures(&history.events);
        Analysis {
            grants: per_client.values().sum(),
            per_client,
            handoffs: handoffs(&tenures),
            overlaps: overlaps(&tenures),
            acquire,
            reentry,
            release,
            errors,
        }
    }

    /// Clients that got no grant at all.
    pub fn starved(&self) -> u64 {
        self.per_client.values().filter(|&&n| n == 0).count() as u64
    }

    /// The most grants of one client over the fewest of another, among the
    /// clients that got any (1.0 is perfectly fair; starved clients are
    /// counted apart, by [`starved`](Self::starved)). `None` when no client
    /// got a grant.
    pub fn fairness(&self) -> Option<f64> {
        let served = self.per_client.values().filter(|&&n| n > 0);
        let max = served.clone().max()?;
        let min = served.min()?;
        Some(*max as f64 / *min as f64)
    }
}

/// Every grant with the release that ended it, in grant order (for a
/// re-entrant lock: from the first level to the release of the last).
fn tenures(events: &[Event]) -> Vec<Tenure> {
    let mut open: BTreeMap<&str, (usize, u32)> = BTreeMap::new();
    let mut out: Vec<Tenure> = Vec::new();
    for e in events {
        match &e.op {
            Op::Call(Call {
                op: ClientOp::Acquire,
                ..
            }) if e.gives_belief() => {
                if let Some((_, levels)) = open.get_mut(e.client.as_str()) {
                    *levels += 1;
                } else if let Some(from) = e.end_us {
                    open.insert(&e.client, (out.len(), 1));
                    out.push(Tenure {
                        client: e.client.clone(),
                        from,
                        until: None,
                        removed: false,
                    });
                }
            }
            Op::Call(Call {
                op: ClientOp::Release,
                ..
            }) => {
                let last = match open.get_mut(e.client.as_str()) {
                    Some((_, levels)) if *levels > 1 => {
                        *levels -= 1;
                        false
                    }
                    Some(_) => true,
                    None => false,
                };
                if last {
                    if let Some((i, _)) = open.remove(e.client.as_str()) {
                        out[i].until = Some(e.start_us);
                        out[i].removed = e.outcome.as_ref().is_some_and(Outcome::removed_a_key);
                    }
                }
            }
            Op::Crash => {
                if let Some((i, _)) = open.remove(e.client.as_str()) {
                    out[i].until = Some(e.start_us);
                }
            }
            _ => {}
        }
    }
    out.sort_by_key(|t| t.from);
    out
}

/// Pairs each grant with the release of the grant before it, when the two
/// are different clients' (a client taking the lock again is no hand-off).
fn handoffs(tenures: &[Tenure]) -> Recording {
    let mut r = Recording::new();
    for pair in tenures.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        if prev.client == next.client {
            continue;
        }
        if let (Some(released), true) = (prev.until, prev.removed) {
            if released <= next.from {
                r.record(next.from - released);
            }
        }
    }
    r
}

/// Grants that began while another client's belief was open. A client's
/// own earlier belief always ended before its next grant, so the running
/// latest end of all earlier beliefs is enough.
fn overlaps(tenures: &[Tenure]) -> u64 {
    let mut latest_end: Option<(u64, &str)> = None;
    let mut count = 0;
    for t in tenures {
        if let Some((end, client)) = latest_end {
            if end > t.from && client != t.client {
                count += 1;
            }
        }
        let end = t.until.unwrap_or(u64::MAX);
        if latest_end.is_none_or(|(e, _)| end > e) {
            latest_end = Some((end, &t.client));
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A history of (client, op and outcome, start µs, end µs).
    fn history(events: &[(&str, (Op, Outcome), u64, u64)]) -> History {
        History {
            events: events
                .iter()
                .map(|(c, (op, outcome), s, e)| {
                    let mut event = Event::new(c, *op, *s);
                    event.outcome = Some(outcome.clone());
                    event.end_us = Some(*e);
                    event
                })
                .collect(),
        }
    }

    fn granted() -> (Op, Outcome) {
        (Op::call(ClientOp::Acquire), Outcome::GRANTED)
    }

    fn released() -> (Op, Outcome) {
        (Op::call(ClientOp::Release), Outcome::Released)
    }

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn sequential_holders_hand_off_from_release_to_the_next_grant() {
        // c1 holds 10..20, c2 waits from 5 and learns at 25, c1 again at 40.
        let h = history(&[
            ("c1", granted(), 0, 10),
            ("c2", granted(), 5, 25),
            ("c1", released(), 20, 30),
            ("c2", released(), 30, 35),
            ("c1", granted(), 31, 40),
            ("c1", released(), 41, 45),
        ]);
        let a = Analysis::of(&h, &names(3));
        assert_eq!(a.grants, 3);
        assert_eq!(a.per_client["c1"], 2);
        assert_eq!(a.starved(), 1, "c3 never got the lock");
        assert_eq!(a.fairness(), Some(2.0));
        assert_eq!(a.overlaps, 0);
        // 20 → 25 and 30 → 40.
        assert_eq!(a.handoffs.len(), 2);
        assert_eq!(a.handoffs.quantile(0.0), 5.0);
        assert_eq!(a.handoffs.quantile(1.0), 10.0);
        assert_eq!(a.acquire.len(), 3);
        assert_eq!(a.acquire.quantile(1.0), 20.0, "c2 waited 5..25");
        assert_eq!(a.release.len(), 3);
    }

    #[test]
    fn a_grant_inside_another_clients_belief_is_an_overlap() {
        // c2 learns of a grant at 15 while c1 believes until 20; c3's grant
        // at 18 overlaps both.
        let h = history(&[
            ("c1", granted(), 0, 10),
            ("c2", granted(), 5, 15),
            ("c3", granted(), 6, 18),
            ("c1", released(), 20, 21),
            ("c2", released(), 22, 23),
            ("c3", released(), 24, 25),
        ]);
        let a = Analysis::of(&h, &names(3));
        assert_eq!(a.overlaps, 2);
        assert_eq!(a.handoffs.len(), 0, "no release came before the next grant");
    }

    #[test]
    fn a_belief_never_released_overlaps_every_later_grant_of_others() {
        let h = history(&[
            ("c1", granted(), 0, 10),
            ("c2", granted(), 5, 100),
            ("c2", released(), 110, 111),
            ("c2", granted(), 120, 130),
        ]);
        assert_eq!(Analysis::of(&h, &names(2)).overlaps, 2);
    }

    #[test]
    fn touching_beliefs_do_not_overlap_and_expired_leases_are_not_hand_offs() {
        let h = history(&[
            ("c1", granted(), 0, 10),
            ("c1", released(), 20, 21),
            ("c2", granted(), 5, 20),
            (
                "c2",
                (Op::call(ClientOp::Release), Outcome::NotHeld),
                30,
                31,
            ),
            ("c1", granted(), 25, 40),
        ]);
        let a = Analysis::of(&h, &names(2));
        assert_eq!(a.overlaps, 0);
        assert_eq!(a.handoffs.len(), 1, "only c1's release → c2's grant");
        assert_eq!(a.handoffs.quantile(0.5), 1.0, "0 µs counts as 1");
    }

    #[test]
    fn failures_are_counted_and_nothing_granted_has_no_fairness() {
        let mut failed = Event::new("c1", Op::call(ClientOp::Acquire), 0);
        failed.error = Some(crate::client::OpError::indefinite("reset"));
        failed.end_us = Some(1);
        let h = History {
            events: vec![failed],
        };
        let a = Analysis::of(&h, &names(1));
        assert_eq!((a.errors, a.grants, a.starved()), (1, 0, 1));
        assert_eq!(a.fairness(), None);
    }
}
