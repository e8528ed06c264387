use super::*;
use crate::path::{follow, script};
use crate::verdict::Verdict;
use locklab_spec::fault::Faults;
use locklab_spec::protocol::Protocol;

fn p(name: &str) -> Protocol {
    name.parse().unwrap()
}

fn step(text: &str) -> Step {
    text.parse().expect("a step")
}

/// Two workers read u1 before either marks it; the producer writes u2 in
/// between; the second mark overwrites u2.
fn double_then_lost() -> Vec<Step> {
    vec![
        Step::Produce,
        step("read c1"),
        step("read c2"),
        step("process c1"),
        step("mark c1"),
        Step::Produce,
        step("process c2"),
        step("mark c2"),
    ]
}

#[test]
fn the_articles_sync_processes_twice_and_loses_a_unit() {
    let s = follow(
        Scenario::new(p("sync-naive"), Faults::NONE),
        &double_then_lost(),
    )
    .unwrap();
    assert_eq!(s.first_break[&PropertyName::NoDoubleProcessing], 7);
    assert_eq!(s.first_break[&PropertyName::NoLostUpdate], 8);
    assert_eq!(s.first_break[&PropertyName::ExactlyOnceSync], 7);
    let outcomes: Vec<Option<Outcome>> = s.steps.iter().map(|s| s.expect.clone()).collect();
    assert_eq!(
        outcomes,
        [
            Some(Outcome::Produced { unit: 1 }),
            Some(Outcome::Read { unit: 1 }),
            Some(Outcome::Read { unit: 1 }),
            Some(Outcome::Processed {
                unit: 1,
                applied: true
            }),
            Some(Outcome::Marked),
            Some(Outcome::Produced { unit: 2 }),
            Some(Outcome::Processed {
                unit: 1,
                applied: true
            }),
            Some(Outcome::Marked),
        ]
    );
}

#[test]
fn the_same_schedule_on_the_claim_makes_the_second_reader_conflict() {
    let steps = [
        Step::Produce,
        step("read c1"),
        step("read c2"),
        step("claim c1"),
        step("claim c2"),
        step("process c1"),
        step("mark c1"),
    ];
    let s = follow(Scenario::new(p("sync-cas"), Faults::NONE), &steps).unwrap();
    assert_eq!(s.steps[3].expect, Some(Outcome::Claimed { unit: 1 }));
    assert_eq!(s.steps[4].expect, Some(Outcome::Conflict));
    assert_eq!(s.steps[6].expect, Some(Outcome::Marked));
    assert!(
        s.verdicts.values().all(|v| *v == Verdict::Holds),
        "{:?}",
        s.verdicts
    );
}

#[test]
fn a_naive_schedule_walked_on_the_stream_reads_nothing_twice() {
    let s = script(
        Scenario::new(p("sync-stream"), Faults::NONE),
        &double_then_lost(),
    );
    let taken: Vec<Taken> = s.steps.iter().map(|s| s.taken).collect();
    assert_eq!(taken[2], Taken::Waits);
    assert_eq!(s.steps[2].expect, Some(Outcome::Empty));
    assert!(
        s.verdicts.values().all(|v| *v == Verdict::Holds),
        "{:?}",
        s.verdicts
    );
}

#[test]
fn a_worker_paused_past_its_idle_time_has_its_unit_claimed() {
    let steps = [
        Step::Produce,
        step("read c1"),
        step("pause c1"),
        Step::Tick,
        Step::Tick,
        step("claim c2"),
        step("process c2"),
        step("resume c1"),
        step("process c1"),
    ];
    let faults = Faults::one(Fault::Pause);
    let s = follow(Scenario::new(p("sync-stream"), faults), &steps).unwrap();
    assert_eq!(
        s.verdict(PropertyName::NoDoubleProcessing),
        Verdict::Violated
    );
    assert_eq!(s.verdict(PropertyName::NoLostUpdate), Verdict::Holds);
    assert_eq!(s.steps[3].after.len(), 1, "the idle clock runs");
    assert!(
        s.steps[4].after.is_empty(),
        "and ends: the unit is claimable"
    );
    let dedup = follow(Scenario::new(p("sync-stream-dedup"), faults), &steps).unwrap();
    assert_eq!(
        dedup.steps[8].expect,
        Some(Outcome::Processed {
            unit: 1,
            applied: false
        })
    );
    assert_eq!(dedup.verdict(PropertyName::ExactlyOnceSync), Verdict::Holds);
}
