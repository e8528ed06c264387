//! The checker on histories built by hand.

use locklab_model::{PropertyName, Verdict};

use super::*;

/// A history builder: events at 1 ms apart, each completing at once.
struct H(Vec<Event>);

impl H {
    fn new() -> H {
        H(Vec::new())
    }

    fn at(mut self, client: &str, op: Op) -> H {
        let t = (self.0.len() as u64 + 1) * 1000;
        self.0.push(Event {
            client: client.into(),
            op,
            start_us: t,
            end_us: Some(t + 100),
        });
        self
    }

    fn grant(self, client: &str) -> H {
        self.at(client, acquire(AcquireOutcome::Granted, None))
    }

    fn fenced_grant(self, client: &str, fence: u64) -> H {
        self.at(client, acquire(AcquireOutcome::Granted, Some(fence)))
    }

    fn release(self, client: &str, outcome: ReleaseOutcome) -> H {
        self.at(client, Op::Release { outcome })
    }

    fn write(self, client: &str, fence: Option<u64>, outcome: WriteOutcome) -> H {
        self.at(client, Op::Write { fence, outcome })
    }

    fn done(self) -> History {
        History { events: self.0 }
    }
}

fn acquire(outcome: AcquireOutcome, fence: Option<u64>) -> Op {
    Op::Acquire {
        outcome,
        token: None,
        fence,
    }
}

fn verdict(h: &History, p: PropertyName) -> Finding {
    finding(h, p)
}

#[test]
fn the_articles_unsafe_release_breaks_both_properties() {
    let h = H::new()
        .grant("c1")
        .at("c1", Op::Pause)
        .at("lab", Op::Expired)
        .grant("c2")
        .at("c1", Op::Resume)
        .release("c1", ReleaseOutcome::Deleted)
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
        .at("lab", Op::Expired)
        .grant("c2")
        .release("c1", ReleaseOutcome::Deleted)
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
        .release("c1", ReleaseOutcome::Released)
        .grant("c2")
        .release("c2", ReleaseOutcome::Released)
        .done();
    for f in check(&h) {
        assert_eq!(f.verdict, Verdict::Holds, "{f:?}");
    }
}

#[test]
fn a_compare_and_delete_that_finds_another_token_is_not_a_foreign_release() {
    let h = H::new()
        .grant("c1")
        .at("lab", Op::Expired)
        .grant("c2")
        .release("c1", ReleaseOutcome::NotHeld)
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
        .at("c2", acquire(AcquireOutcome::Believed, None))
        .write("c1", None, WriteOutcome::Accepted)
        .write("c2", None, WriteOutcome::Accepted)
        .release("c2", ReleaseOutcome::Deleted)
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
        .at("lab", Op::Expired)
        .grant("c2")
        .write("c2", None, WriteOutcome::Accepted)
        .write("c1", None, WriteOutcome::Accepted)
        .done();
    let fr = verdict(&plain, PropertyName::FencedResource);
    assert_eq!(fr.verdict, Verdict::Violated);
    assert_eq!(fr.events, [3, 4]);

    let fenced = H::new()
        .fenced_grant("c1", 1)
        .at("lab", Op::Expired)
        .fenced_grant("c2", 2)
        .write("c2", Some(2), WriteOutcome::Accepted)
        .write("c1", Some(1), WriteOutcome::Refused { highest: 2 })
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
    h.events.push(Event {
        client: "c2".into(),
        op: acquire(AcquireOutcome::Granted, None),
        start_us: 5000,
        end_us: Some(5100),
    });
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
        .release("c2", ReleaseOutcome::Released)
        .grant("c1")
        .at("c2", acquire(AcquireOutcome::Believed, None))
        .release("c2", ReleaseOutcome::Deleted)
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
    let h = H::new()
        .grant("c1")
        .at("c2", acquire(AcquireOutcome::Busy, None))
        .done();
    let ea = verdict(&h, PropertyName::EventuallyAcquired);
    assert_eq!(ea.verdict, Verdict::Violated);
    assert_eq!(ea.events, [1]);
    let crashed = H::new()
        .grant("c1")
        .at("c2", acquire(AcquireOutcome::Busy, None))
        .at("c2", Op::Crash)
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
        .at("lab", Op::Expired)
        .grant("c2")
        .release("c1", ReleaseOutcome::Deleted)
        .done();
    let text = timeline::render(&h, &check(&h));
    let del_line = text
        .lines()
        .find(|l| l.contains("DEL removed a key"))
        .unwrap();
    assert!(del_line.contains("no-foreign-release"), "{text}");
}
