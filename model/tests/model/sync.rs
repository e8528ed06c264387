//! The sync family's verdicts, asserted on what the checker computed and
//! on the counterexamples it found: the article's pattern breaks with no
//! fault at all; the compare-and-set claim keeps both properties with no
//! fault and processes twice under a pause or a crash after processing;
//! the consumer group loses nothing to a crash and processes twice after a
//! pause; and a deduplicating sink keeps the effect exactly-once under
//! every client fault (not under a restart, which loses the unit itself).

use locklab_model::path::follow;
use locklab_model::{
    check, CheckOptions, ClientOp, Fault, Faults, NarratedStep, Outcome, PropertyName,
    PropertyVerdict, Reply, Scenario, ScenarioOutcome, Step, Verdict,
};

use crate::support::{p, step};

fn run(protocol: &str, faults: Faults) -> ScenarioOutcome {
    check(
        Scenario::new(p(protocol), faults),
        &CheckOptions::default(),
        &|_| {},
    )
}

fn verdict(o: &ScenarioOutcome, property: PropertyName) -> &PropertyVerdict {
    o.verdict(property).expect("every property has a verdict")
}

fn counterexample(o: &ScenarioOutcome, property: PropertyName) -> &[NarratedStep] {
    let v = verdict(o, property);
    assert_eq!(v.verdict, Verdict::Violated, "{property}");
    assert_eq!(v.shortest, Some(true));
    v.counterexample.as_deref().expect("a counterexample")
}

fn one(fault: Fault) -> Faults {
    Faults::one(fault)
}

fn processed(unit: u32) -> Option<Outcome> {
    Some(Outcome::Processed {
        unit,
        applied: true,
    })
}

/// The steps of the two workers that processed the unit the counterexample
/// ends on, in order.
fn processing(steps: &[NarratedStep]) -> Vec<(usize, &NarratedStep)> {
    steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.step.kind() == "process")
        .collect()
}

#[test]
fn the_articles_sync_processes_a_unit_twice_with_no_fault() {
    let o = run("sync-naive", Faults::NONE);
    assert!(!verdict(&o, PropertyName::NoDoubleProcessing).claimed);
    let steps = counterexample(&o, PropertyName::NoDoubleProcessing);
    // Two workers GET u1 (nothing tells the second it is taken) and both
    // apply its effect; the second application is the last step.
    let reads: Vec<&NarratedStep> = steps.iter().filter(|s| s.step.kind() == "read").collect();
    assert_eq!(reads.len(), 2);
    assert_ne!(reads[0].step.client(), reads[1].step.client());
    for r in &reads {
        assert_eq!(r.command.as_deref(), Some("GET key"));
        assert_eq!(r.outcome, Some(Outcome::Read { unit: 1 }));
    }
    let procs = processing(steps);
    assert_eq!(procs.len(), 2);
    assert_eq!(
        procs[1].0,
        steps.len() - 1,
        "the second application breaks it"
    );
    assert_eq!(procs[1].1.outcome, processed(1));
    assert!(
        procs[1].1.says.contains("applied twice"),
        "{}",
        procs[1].1.says
    );
    assert!(
        procs[1]
            .1
            .state
            .as_deref()
            .is_some_and(|s| s.contains("u1×2")),
        "{:?}",
        procs[1].1.state
    );
}

#[test]
fn the_articles_mark_overwrites_a_unit_nobody_processed() {
    let o = run("sync-naive", Faults::NONE);
    let steps = counterexample(&o, PropertyName::NoLostUpdate);
    // The last step is a worker's SET processed, made for u1, over u2.
    let last = steps.last().expect("steps");
    assert!(last.step.kind() == "mark", "{last:?}");
    assert_eq!(
        last.command.as_deref(),
        Some("SET key processed PX <2 ticks>")
    );
    assert!(
        last.says.contains("over u2") && last.says.contains("u2 is lost"),
        "{}",
        last.says
    );
    // u2 was produced after the first mark, and before the losing one; the
    // marking worker had read u1 before u2 existed.
    let marker = last.step.client().expect("a worker");
    let produce_u2 = steps
        .iter()
        .position(|s| s.outcome == Some(Outcome::Produced { unit: 2 }))
        .expect("u2 is produced");
    let first_mark = steps
        .iter()
        .position(|s| s.step.kind() == "mark")
        .expect("a first mark");
    let its_read = steps
        .iter()
        .position(|s| s.step == Step::now(marker, ClientOp::Read))
        .expect("the marker's read");
    assert!(its_read < first_mark && first_mark < produce_u2);
    assert_eq!(steps[its_read].outcome, Some(Outcome::Read { unit: 1 }));
    // No fault was needed: every step is a produce, read, process or mark.
    assert!(steps.iter().all(|s| matches!(
        s.step,
        Step::Produce
            | Step::Op {
                op: ClientOp::Read | ClientOp::Process | ClientOp::Mark,
                reply: Reply::Now,
                ..
            }
    )));
}

#[test]
fn the_compare_and_set_claim_keeps_both_with_no_fault() {
    let o = run("sync-cas", Faults::NONE);
    for property in [
        PropertyName::NoDoubleProcessing,
        PropertyName::NoLostUpdate,
        PropertyName::ExactlyOnceSync,
    ] {
        let v = verdict(&o, property);
        assert_eq!((v.verdict, v.claimed), (Verdict::Holds, true), "{property}");
    }
    assert_eq!(
        verdict(&o, PropertyName::EveryUnitProcessed).verdict,
        Verdict::Holds
    );
    // The article's race, played on the claim: the second claim conflicts.
    let race = [
        Step::Produce,
        step("read c1"),
        step("read c2"),
        step("claim c1"),
        step("claim c2"),
    ];
    let s = follow(Scenario::new(p("sync-cas"), Faults::NONE), &race).expect("a path");
    assert_eq!(s.steps[3].expect, Some(Outcome::Claimed { unit: 1 }));
    assert_eq!(s.steps[4].expect, Some(Outcome::Conflict));
}

#[test]
fn the_claim_processes_twice_under_a_pause_past_it() {
    let o = run("sync-cas", one(Fault::Pause));
    assert_eq!(
        verdict(&o, PropertyName::NoLostUpdate).verdict,
        Verdict::Holds
    );
    let steps = counterexample(&o, PropertyName::NoDoubleProcessing);
    // c1 claims u1 and pauses; the claim runs out while it is paused; c2
    // claims u1 again; both apply it.
    let claims: Vec<&NarratedStep> = steps
        .iter()
        .filter(|s| s.outcome == Some(Outcome::Claimed { unit: 1 }))
        .collect();
    assert_eq!(claims.len(), 2);
    let first = claims[0].step.client().expect("a worker");
    let pause = steps
        .iter()
        .position(|s| s.step == step(&format!("pause {first}")))
        .expect("the claimant pauses");
    let runs_out = steps
        .iter()
        .position(|s| s.step == Step::Tick && s.says.contains("claim of u1 runs out"))
        .expect("the claim runs out");
    assert!(pause < runs_out);
    assert!(
        steps[runs_out..]
            .iter()
            .any(|s| s.outcome == Some(Outcome::Claimed { unit: 1 })
                && s.step.client() != Some(first))
    );
    assert!(claims[0]
        .command
        .as_deref()
        .is_some_and(|c| c.starts_with("EVALSHA sync-claim 2 key key:claim u1")));
    assert_eq!(processing(steps).len(), 2);
}

#[test]
fn the_claim_processes_twice_after_a_crash_between_processing_and_marking() {
    let o = run("sync-cas", one(Fault::Crash));
    let v = verdict(&o, PropertyName::NoLostUpdate);
    assert_eq!((v.verdict, v.claimed), (Verdict::Holds, true));
    let steps = counterexample(&o, PropertyName::NoDoubleProcessing);
    let crash = steps
        .iter()
        .position(|s| s.step.kind() == "crash")
        .expect("a crash");
    assert!(
        steps[crash]
            .says
            .contains("after processing u1, before marking"),
        "{}",
        steps[crash].says
    );
    let procs = processing(steps);
    assert!(procs[0].0 < crash && crash < procs[1].0);
    // A crash before processing loses nothing and doubles nothing: the
    // claim runs out and another worker takes the unit.
    let before = [
        Step::Produce,
        step("read c1"),
        step("claim c1"),
        step("crash c1"),
        Step::Tick,
        Step::Tick,
        step("read c2"),
        step("claim c2"),
        step("process c2"),
        step("mark c2"),
    ];
    let s = follow(Scenario::new(p("sync-cas"), one(Fault::Crash)), &before).expect("a path");
    assert!(
        s.verdicts.values().all(|v| *v == Verdict::Holds),
        "{:?}",
        s.verdicts
    );
}

#[test]
fn the_claim_processes_twice_when_its_reply_is_delayed_past_it() {
    let o = run("sync-cas", one(Fault::Delay));
    let steps = counterexample(&o, PropertyName::NoDoubleProcessing);
    assert!(steps.iter().any(|s| s.step.kind() == "claim-delayed"));
    assert!(steps
        .iter()
        .any(|s| s.says.contains("its claim has run out")));
}

#[test]
fn a_restart_loses_the_unit_redis_held_whatever_the_protocol() {
    for protocol in [
        "sync-cas",
        "sync-stream",
        "sync-cas-dedup",
        "sync-stream-dedup",
    ] {
        let o = run(protocol, one(Fault::Restart));
        let steps = counterexample(&o, PropertyName::NoLostUpdate);
        let kinds: Vec<Step> = steps.iter().map(|s| s.step).collect();
        assert_eq!(kinds[0], Step::Produce, "{protocol}");
        assert_eq!(kinds[1].kind(), "restart", "{protocol}");
        assert_eq!(kinds.len(), 2, "{protocol}");
    }
}

#[test]
fn the_consumer_group_loses_nothing_to_a_crash() {
    let o = run("sync-stream", one(Fault::Crash));
    let v = verdict(&o, PropertyName::NoLostUpdate);
    assert_eq!((v.verdict, v.claimed), (Verdict::Holds, true));
    // A crash after processing, before XACK, has the unit processed again
    // (at-least-once).
    let steps = counterexample(&o, PropertyName::NoDoubleProcessing);
    assert!(steps.iter().any(|s| s
        .command
        .as_deref()
        .is_some_and(|c| c.starts_with("XAUTOCLAIM key workers"))));
}

#[test]
fn the_consumer_group_processes_twice_after_a_pause_past_the_idle_time() {
    let o = run("sync-stream", one(Fault::Pause));
    assert_eq!(
        verdict(&o, PropertyName::NoLostUpdate).verdict,
        Verdict::Holds
    );
    let steps = counterexample(&o, PropertyName::NoDoubleProcessing);
    let read = steps
        .iter()
        .find(|s| s.outcome == Some(Outcome::Read { unit: 1 }))
        .expect("a read of u1");
    assert!(read
        .command
        .as_deref()
        .is_some_and(|c| c.starts_with("XREADGROUP GROUP workers")));
    let reader = read.step.client().expect("a worker");
    let paused = steps
        .iter()
        .position(|s| s.step == step(&format!("pause {reader}")))
        .expect("the reader pauses");
    let idle = steps
        .iter()
        .position(|s| s.says.contains("for the claim idle time"))
        .expect("u1 goes idle");
    let claimed = steps
        .iter()
        .position(|s| s.outcome == Some(Outcome::Claimed { unit: 1 }))
        .expect("another worker claims u1");
    assert!(paused < idle && idle < claimed);
    assert_ne!(steps[claimed].step.client(), Some(reader));
    assert_eq!(processing(steps).len(), 2);
}

#[test]
fn the_dedup_sink_is_what_keeps_the_effect_exactly_once_under_client_faults() {
    for (base, dedup) in [
        ("sync-cas", "sync-cas-dedup"),
        ("sync-stream", "sync-stream-dedup"),
    ] {
        for fault in [Fault::Pause, Fault::Delay, Fault::Crash] {
            let without = run(base, one(fault));
            let with = run(dedup, one(fault));
            assert_eq!(
                verdict(&without, PropertyName::ExactlyOnceSync).verdict,
                Verdict::Violated,
                "{base} under {fault} needs the dedup sink"
            );
            let v = verdict(&with, PropertyName::ExactlyOnceSync);
            assert_eq!(
                (v.verdict, v.claimed),
                (Verdict::Holds, true),
                "{dedup} under {fault}"
            );
            assert_eq!(
                verdict(&with, PropertyName::EveryUnitProcessed).verdict,
                Verdict::Holds
            );
        }
        // With no fault neither needs it; a restart it cannot help.
        assert_eq!(
            verdict(&run(base, Faults::NONE), PropertyName::ExactlyOnceSync).verdict,
            Verdict::Holds
        );
        let restart = run(dedup, one(Fault::Restart));
        assert_eq!(
            verdict(&restart, PropertyName::NoDoubleProcessing).verdict,
            Verdict::Holds
        );
        assert_eq!(
            verdict(&restart, PropertyName::NoLostUpdate).verdict,
            Verdict::Violated
        );
    }
}

#[test]
fn the_dedup_sink_refuses_the_second_application() {
    let faults = one(Fault::Pause);
    let base = run("sync-stream", faults);
    let path: Vec<Step> = counterexample(&base, PropertyName::NoDoubleProcessing)
        .iter()
        .map(|s| s.step)
        .collect();
    let s = follow(Scenario::new(p("sync-stream-dedup"), faults), &path).expect("the same path");
    let last = s.steps.last().expect("steps");
    assert_eq!(
        last.expect,
        Some(Outcome::Processed {
            unit: 1,
            applied: false
        })
    );
    assert_eq!(
        last.told
            .command
            .as_deref()
            .map(|c| c.starts_with("EVALSHA dedup-apply")),
        Some(true)
    );
    assert_eq!(s.verdict(PropertyName::NoDoubleProcessing), Verdict::Holds);
}

#[test]
fn the_lock_properties_do_not_apply_to_sync_and_the_sync_ones_not_to_locks() {
    let sync = run("sync-cas", Faults::NONE);
    let lock = run("token", Faults::NONE);
    for v in &sync.verdicts {
        let applies = v.verdict != Verdict::NotApplicable;
        assert_eq!(
            applies,
            v.property.family() == locklab_model::Family::Sync,
            "{}",
            v.property
        );
    }
    for property in [
        PropertyName::NoDoubleProcessing,
        PropertyName::NoLostUpdate,
        PropertyName::ExactlyOnceSync,
        PropertyName::SomeUnitProcessed,
    ] {
        assert_eq!(verdict(&lock, property).verdict, Verdict::NotApplicable);
    }
}
