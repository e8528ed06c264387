//! The checker on histories built by hand.

use locklab_model::{Call, ClientOp, Outcome, PropertyName, Reply, Verdict};

use super::*;

const SAFETY: [PropertyName; 6] = [
    PropertyName::MutualExclusion,
    PropertyName::NoForeignRelease,
    PropertyName::FencedResource,
    PropertyName::ReentryNoSelfWait,
    PropertyName::NoEarlyRelease,
    PropertyName::NoLeakedHold,
];

/// A history builder: events at 1 ms apart, each completing at once.
struct H(Vec<Event>);

impl H {
    fn new() -> H {
        H(Vec::new())
    }

    fn at(mut self, client: &str, op: Op, outcome: Option<Outcome>) -> H {
        let t = (self.0.len() as u64 + 1) * 1000;
        let mut e = Event::new(client, op, t);
        e.outcome = outcome;
        e.end_us = Some(t + 100);
        self.0.push(e);
        self
    }

    fn fault(self, client: &str, op: Op) -> H {
        self.at(client, op, None)
    }

    fn expired(self) -> H {
        let mut h = self.at("lab", Op::Observed, None);
        h.0.last_mut().unwrap().present = Some(false);
        h
    }

    fn seen(self) -> H {
        let mut h = self.at("lab", Op::Observed, None);
        h.0.last_mut().unwrap().present = Some(true);
        h
    }

    fn acquire(self, client: &str, outcome: Outcome) -> H {
        self.at(client, Op::call(ClientOp::Acquire), Some(outcome))
    }

    fn grant(self, client: &str) -> H {
        self.acquire(client, Outcome::GRANTED)
    }

    fn counted(self, client: &str, count: u32) -> H {
        self.acquire(
            client,
            Outcome::Granted {
                token: None,
                fence: Some(1),
                count: Some(count),
            },
        )
    }

    fn fenced_grant(self, client: &str, fence: u64) -> H {
        self.acquire(
            client,
            Outcome::Granted {
                token: None,
                fence: Some(fence),
                count: None,
            },
        )
    }

    fn release(self, client: &str, outcome: Outcome) -> H {
        self.at(client, Op::call(ClientOp::Release), Some(outcome))
    }

    fn write(self, client: &str, fence: Option<u64>, outcome: Outcome) -> H {
        let mut h = self.at(client, Op::call(ClientOp::Write), Some(outcome));
        h.0.last_mut().unwrap().fence = fence;
        h
    }

    /// An acquire that failed; `definite`: surely without effect.
    fn failed(mut self, client: &str, definite: bool) -> H {
        self = self.at(client, Op::call(ClientOp::Acquire), None);
        self.0.last_mut().unwrap().error = Some(crate::client::OpError {
            message: "timed out".into(),
            definite,
            refused: false,
        });
        self
    }

    fn done(self) -> History {
        History { events: self.0 }
    }
}

fn verdict(h: &History, p: PropertyName) -> Finding {
    finding(h, p)
}

#[test]
fn the_articles_unsafe_release_breaks_both_properties() {
    let h = H::new()
        .grant("c1")
        .fault("c1", Op::Pause)
        .expired()
        .grant("c2")
        .fault("c1", Op::Resume)
        .release("c1", Outcome::Deleted)
        .grant("c3")
        .done();
    let me = verdict(&h, PropertyName::MutualExclusion);
    assert_eq!(me.verdict, Verdict::Violated);
    assert_eq!(
        me.events,
        [0, 3, 6],
        "c1's and c2's grants, then c3's beside c2"
    );
    let says = me.says.as_deref().unwrap_or_default();
    assert!(says.contains("c1 and c2 from"), "{says}");
    assert!(says.contains("c2 and c3 from"), "{says}");
    let nfr = verdict(&h, PropertyName::NoForeignRelease);
    assert_eq!(nfr.verdict, Verdict::Violated);
    assert_eq!(nfr.events, [3, 5], "c2's grant, c1's DEL");
    assert_eq!(nfr.says.as_deref(), Some("c1's release removed c2's lock"));
}

#[test]
fn events_in_the_same_microsecond_are_ordered_by_invocation() {
    let mut h = H::new()
        .grant("c1")
        .expired()
        .grant("c2")
        .release("c1", Outcome::Deleted)
        .done();
    for e in &mut h.events {
        e.start_us = 7;
        e.end_us = Some(7);
    }
    assert_eq!(verdict(&h, PropertyName::MutualExclusion).events, [0, 2]);
}

#[test]
fn sequential_holders_keep_mutual_exclusion() {
    let h = H::new()
        .grant("c1")
        .release("c1", Outcome::Released)
        .grant("c2")
        .release("c2", Outcome::Released)
        .done();
    for f in check(&h, &SAFETY) {
        assert_eq!(f.verdict, Verdict::Holds, "{f:?}");
    }
}

#[test]
fn a_compare_and_delete_that_finds_another_token_is_not_a_foreign_release() {
    let h = H::new()
        .grant("c1")
        .expired()
        .grant("c2")
        .release("c1", Outcome::NotHeld)
        .done();
    assert_eq!(
        verdict(&h, PropertyName::NoForeignRelease).verdict,
        Verdict::Holds
    );
    assert_eq!(
        verdict(&h, PropertyName::MutualExclusion).verdict,
        Verdict::Violated
    );
}

#[test]
fn an_unchecked_client_believes_without_a_grant() {
    let h = H::new()
        .grant("c1")
        .acquire("c2", Outcome::Believed)
        .write("c1", None, Outcome::Accepted)
        .write("c2", None, Outcome::Accepted)
        .release("c2", Outcome::Deleted)
        .done();
    assert_eq!(verdict(&h, PropertyName::MutualExclusion).events, [0, 1]);
    let fr = verdict(&h, PropertyName::FencedResource);
    assert_eq!(fr.verdict, Verdict::Violated);
    assert_eq!(fr.events, [2, 3]);
    let nfr = verdict(&h, PropertyName::NoForeignRelease);
    assert_eq!(nfr.events, [0, 4], "c2 removed c1's lock");
}

#[test]
fn a_stale_write_breaks_the_plain_resource_but_not_the_fenced_one() {
    let plain = H::new()
        .grant("c1")
        .expired()
        .grant("c2")
        .write("c2", None, Outcome::Accepted)
        .write("c1", None, Outcome::Accepted)
        .done();
    let fr = verdict(&plain, PropertyName::FencedResource);
    assert_eq!(fr.verdict, Verdict::Violated);
    assert_eq!(fr.events, [3, 4]);

    let fenced = H::new()
        .fenced_grant("c1", 1)
        .expired()
        .fenced_grant("c2", 2)
        .write("c2", Some(2), Outcome::Accepted)
        .write("c1", Some(1), Outcome::Refused { highest: 2 })
        .done();
    assert_eq!(
        verdict(&fenced, PropertyName::FencedResource).verdict,
        Verdict::Holds
    );
}

#[test]
fn a_reply_never_read_gives_no_belief() {
    let mut h = H::new().grant("c1").done();
    h.events[0].end_us = None;
    let mut e = Event::new("c2", Op::call(ClientOp::Acquire), 5000);
    e.outcome = Some(Outcome::GRANTED);
    e.end_us = Some(5100);
    h.events.push(e);
    assert_eq!(
        verdict(&h, PropertyName::MutualExclusion).verdict,
        Verdict::Holds
    );
}

#[test]
fn a_grant_whose_reply_is_still_in_flight_is_still_a_grant() {
    // Found by chaos: c1's delayed grant is on Redis, c1 has not read the
    // reply, and c2 (unchecked) deletes c1's lock.
    let mut h = H::new()
        .grant("c2")
        .release("c2", Outcome::Released)
        .grant("c1")
        .acquire("c2", Outcome::Believed)
        .release("c2", Outcome::Deleted)
        .done();
    h.events[2].end_us = None;
    let nfr = verdict(&h, PropertyName::NoForeignRelease);
    assert_eq!(nfr.verdict, Verdict::Violated);
    assert_eq!(nfr.says.as_deref(), Some("c2's release removed c1's lock"));
    // c1 never learned it held the lock: no overlap of beliefs.
    assert_eq!(
        verdict(&h, PropertyName::MutualExclusion).verdict,
        Verdict::Holds
    );
}

#[test]
fn a_client_that_never_gets_the_lock_breaks_eventually_acquired() {
    let h = H::new().grant("c1").acquire("c2", Outcome::Busy).done();
    let ea = verdict(&h, PropertyName::EventuallyAcquired);
    assert_eq!(ea.verdict, Verdict::Violated);
    assert_eq!(ea.events, [1]);
    let crashed = H::new()
        .grant("c1")
        .acquire("c2", Outcome::Busy)
        .fault("c2", Op::Crash)
        .done();
    assert_eq!(
        verdict(&crashed, PropertyName::EventuallyAcquired).verdict,
        Verdict::Holds
    );
}

#[test]
fn the_timeline_marks_the_breaking_events() {
    let h = H::new()
        .grant("c1")
        .expired()
        .grant("c2")
        .release("c1", Outcome::Deleted)
        .done();
    let text = timeline::render(&h, &check(&h, &SAFETY));
    let del_line = text
        .lines()
        .find(|l| l.contains("DEL removed a key"))
        .unwrap();
    assert!(del_line.contains("no-foreign-release"), "{text}");
}

#[test]
fn a_holder_refused_by_its_own_lock_waits_for_itself() {
    let h = H::new().grant("c1").acquire("c1", Outcome::Busy).done();
    let w = verdict(&h, PropertyName::ReentryNoSelfWait);
    assert_eq!(w.verdict, Verdict::Violated);
    assert_eq!(w.events, [0, 1]);
    // Refused after its lease ran out and another took the lock: waiting
    // for someone else, not for itself.
    let other = H::new()
        .grant("c1")
        .expired()
        .grant("c2")
        .acquire("c1", Outcome::Busy)
        .done();
    assert_eq!(
        verdict(&other, PropertyName::ReentryNoSelfWait).verdict,
        Verdict::Holds
    );
}

#[test]
fn a_release_that_frees_the_lock_while_inside_is_early() {
    let h = H::new()
        .grant("c1")
        .acquire("c1", Outcome::Believed)
        .release("c1", Outcome::Deleted)
        .done();
    let e = verdict(&h, PropertyName::NoEarlyRelease);
    assert_eq!(e.verdict, Verdict::Violated);
    assert_eq!(e.events, [0, 2]);
    let counted = H::new()
        .counted("c1", 1)
        .counted("c1", 2)
        .release("c1", Outcome::StillHeld { count: 1 })
        .release("c1", Outcome::Released)
        .done();
    for f in check(&counted, &SAFETY) {
        assert_eq!(f.verdict, Verdict::Holds, "{f:?}");
    }
    assert_eq!(
        verdict(&counted, PropertyName::SomeoneReenters).verdict,
        Verdict::Holds
    );
}

#[test]
fn a_leaked_level_shows_in_the_reply_or_on_redis() {
    let counted_twice = H::new().counted("c1", 2).done();
    assert_eq!(
        verdict(&counted_twice, PropertyName::NoLeakedHold).events,
        [0]
    );
    // A resent SET NX refused by its own first run: the key is there, and
    // nobody believes they hold it.
    let mut resent = H::new();
    let call = Call {
        op: ClientOp::Acquire,
        reply: Reply::Resent,
    };
    resent = resent.at("c1", Op::Call(call), Some(Outcome::Busy));
    let h = resent.seen().done();
    let f = verdict(&h, PropertyName::NoLeakedHold);
    assert_eq!(f.verdict, Verdict::Violated);
    assert_eq!(f.events, [0, 1]);
    // A crashed holder's key is not a leak.
    let crashed = H::new().grant("c1").fault("c1", Op::Crash).seen().done();
    assert_eq!(
        verdict(&crashed, PropertyName::NoLeakedHold).verdict,
        Verdict::Holds
    );
}

#[test]
fn a_failed_acquire_that_may_have_run_is_a_possible_lock_not_a_belief() {
    // c1's lease runs out; c2's acquire times out (it may have taken the
    // lock); c1's late DEL may have removed it.
    let possible = |definite| {
        H::new()
            .grant("c1")
            .fault("c1", Op::Pause)
            .failed("c2", definite)
            .fault("c1", Op::Resume)
            .release("c1", Outcome::Deleted)
            .done()
    };
    let h = possible(false);
    assert_eq!(
        verdict(&h, PropertyName::MutualExclusion).verdict,
        Verdict::Holds,
        "c2 was told it failed: no belief"
    );
    let nfr = verdict(&h, PropertyName::NoForeignRelease);
    assert_eq!(nfr.verdict, Verdict::Unknown, "{nfr:?}");
    assert_eq!(nfr.events, [2, 4]);
    assert!(nfr.says.unwrap().contains("may have removed c2's lock"));
    // A definite failure surely did nothing.
    let h = possible(true);
    assert_eq!(
        verdict(&h, PropertyName::NoForeignRelease).verdict,
        Verdict::Holds
    );
    // Nor does a possible grant whose key the lab saw gone before the
    // release.
    let h = H::new()
        .grant("c1")
        .failed("c2", false)
        .expired()
        .release("c1", Outcome::Deleted)
        .done();
    assert_eq!(
        verdict(&h, PropertyName::NoForeignRelease).verdict,
        Verdict::Holds
    );
}

#[test]
fn a_key_seen_after_a_crash_and_a_possible_grant_may_be_a_leaked_hold() {
    let h = |definite| {
        H::new()
            .grant("c1")
            .fault("c1", Op::Crash)
            .failed("c2", definite)
            .seen()
            .done()
    };
    let leak = verdict(&h(false), PropertyName::NoLeakedHold);
    assert_eq!(leak.verdict, Verdict::Unknown, "{leak:?}");
    assert_eq!(leak.events, [2, 3]);
    assert_eq!(
        verdict(&h(true), PropertyName::NoLeakedHold).verdict,
        Verdict::Holds,
        "the crashed holder's lease, surely"
    );
    // With no crashed holder to excuse it, a key nobody believes in is a
    // leak whoever holds it.
    let h = H::new()
        .grant("c1")
        .release("c1", Outcome::Released)
        .failed("c2", false)
        .seen()
        .done();
    assert_eq!(
        verdict(&h, PropertyName::NoLeakedHold).verdict,
        Verdict::Violated
    );
}

#[test]
fn what_the_library_said_is_kept_and_shown() {
    let mut h = H::new()
        .grant("c1")
        .expired()
        .release("c1", Outcome::NotHeld)
        .done();
    h.events[2].said =
        Some("LockNotOwnedError: Cannot release a lock that's no longer owned".into());
    let json = serde_json::to_string(&h).unwrap();
    assert!(json.contains(r#""said":"LockNotOwnedError"#), "{json}");
    let back: History = serde_json::from_str(&json).unwrap();
    assert_eq!(back, h);
    let text = timeline::render(&h, &[]);
    assert!(text.contains("said: LockNotOwnedError"), "{text}");
}

/// A grant carrying the client's token.
fn tokened(h: H, client: &str) -> H {
    h.acquire(
        client,
        Outcome::Granted {
            token: Some(format!("{client}-token")),
            fence: None,
            count: None,
        },
    )
}

/// A renewal by `client` of the key holding `key`'s token.
fn renewal(h: H, client: &str, key: Option<&str>, outcome: Outcome) -> H {
    let mut h = h.at(client, Op::call(ClientOp::Renew), Some(outcome));
    h.0.last_mut().unwrap().token = key.map(|k| format!("{k}-token"));
    h
}

#[test]
fn a_renewal_of_another_clients_key_is_a_foreign_extension() {
    let fine = renewal(tokened(H::new(), "c1"), "c1", Some("c1"), Outcome::Renewed)
        .write("c1", None, Outcome::Accepted)
        .release("c1", Outcome::Released)
        .done();
    for p in [PropertyName::NoForeignExtension, PropertyName::LossTold] {
        assert_eq!(verdict(&fine, p).verdict, Verdict::Holds, "{p}");
    }
    assert_eq!(
        verdict(&fine, PropertyName::SomeoneRenews).verdict,
        Verdict::Holds
    );
    // c1 paused past its lease, c2 took the lock, c1's bare PEXPIRE
    // extended c2's key.
    let h = tokened(H::new(), "c1").fault("c1", Op::Pause).expired();
    let h = renewal(
        tokened(h, "c2").fault("c1", Op::Resume),
        "c1",
        Some("c2"),
        Outcome::Renewed,
    )
    .write("c1", None, Outcome::Accepted)
    .done();
    let f = verdict(&h, PropertyName::NoForeignExtension);
    assert_eq!(f.verdict, Verdict::Violated);
    assert_eq!(f.events, [3, 5], "c2's grant, c1's renewal");
    let says = f.says.as_deref().unwrap_or_default();
    assert!(
        says.starts_with("c1's renewal at 6.0 ms extended a lease that was c2's"),
        "{says}"
    );
    // And c1 went on to write, never told.
    let told = verdict(&h, PropertyName::LossTold);
    assert_eq!(told.verdict, Verdict::Violated);
    assert_eq!(told.events, [2, 6], "the lab saw the key gone; c1's write");
}

#[test]
fn a_worker_that_reports_no_token_is_judged_by_the_latest_grant() {
    let h = H::new().grant("c1").expired().grant("c2");
    let h = renewal(h, "c1", None, Outcome::Renewed).done();
    let f = verdict(&h, PropertyName::NoForeignExtension);
    assert_eq!(f.verdict, Verdict::Violated);
    assert_eq!(f.events, [2, 3]);
    // After c2 released, the renewal found no key of c2's.
    let h = H::new().grant("c1").expired().grant("c2");
    let h = renewal(
        h.release("c2", Outcome::Released),
        "c1",
        None,
        Outcome::NotHeld,
    )
    .done();
    assert_eq!(
        verdict(&h, PropertyName::NoForeignExtension).verdict,
        Verdict::Holds
    );
}

#[test]
fn a_silent_re_acquire_is_a_loss_never_told() {
    let h = tokened(H::new(), "c1").fault("c1", Op::Stall).expired();
    let h = renewal(
        h.fault("c1", Op::Wake),
        "c1",
        Some("c1"),
        Outcome::Reacquired,
    )
    .write("c1", None, Outcome::Accepted)
    .done();
    let f = verdict(&h, PropertyName::LossTold);
    assert_eq!(f.verdict, Verdict::Violated);
    assert_eq!(f.events, [2, 5], "the expiry, then the write");
    assert_eq!(
        verdict(&h, PropertyName::NoForeignExtension).verdict,
        Verdict::Holds
    );
}

#[test]
fn a_holder_told_of_its_loss_keeps_loss_told_and_stops_believing() {
    // Told by its watchdog's failed renewal.
    let h = tokened(H::new(), "c1").fault("c1", Op::Stall).expired();
    let h = renewal(
        tokened(h, "c2").fault("c1", Op::Wake),
        "c1",
        Some("c1"),
        Outcome::NotHeld,
    )
    .write("c2", None, Outcome::Accepted)
    .done();
    assert_eq!(verdict(&h, PropertyName::LossTold).verdict, Verdict::Holds);
    // Told by an unsolicited `lost` line, before its next write.
    let mut h = tokened(H::new(), "c1").expired();
    h = tokened(h, "c2");
    h = h.fault("c1", Op::Lost).write("c1", None, Outcome::Accepted);
    let h = h.done();
    assert_eq!(verdict(&h, PropertyName::LossTold).verdict, Verdict::Holds);
    // A deadline check that refuses the write tells it too, and ends its
    // belief: the overlap with c2 ends there.
    let h = tokened(tokened(H::new(), "c1").expired(), "c2")
        .write("c1", None, Outcome::Lost)
        .write("c2", None, Outcome::Accepted)
        .done();
    assert_eq!(verdict(&h, PropertyName::LossTold).verdict, Verdict::Holds);
    // Not told at all: a restart took the key, and c1 wrote.
    let h = tokened(H::new(), "c1")
        .fault("lab", Op::Restart)
        .write("c1", None, Outcome::Accepted)
        .done();
    let f = verdict(&h, PropertyName::LossTold);
    assert_eq!(f.verdict, Verdict::Violated);
    let says = f.says.as_deref().unwrap_or_default();
    assert!(says.contains("the lock key was gone from Redis"), "{says}");
}

#[test]
fn no_renewal_at_all_is_a_vacuous_history() {
    let h = H::new().grant("c1").release("c1", Outcome::Released).done();
    assert_eq!(
        verdict(&h, PropertyName::SomeoneRenews).verdict,
        Verdict::Violated
    );
}
