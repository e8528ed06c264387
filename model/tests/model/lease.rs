//! The verdicts the checker must compute, asserted on what it computed: the
//! lessons (which cells break, and how) and the claims (which hold).

use locklab_model::{
    check, CheckOptions, Fault, Faults, Kind, NarratedStep, PropertyName, PropertyVerdict,
    Protocol, Scenario, ScenarioOutcome, Step, Verdict,
};

use crate::support::{p, step};

fn run(protocol: Protocol, faults: Faults) -> ScenarioOutcome {
    check(
        Scenario::new(protocol, faults),
        &CheckOptions::default(),
        &|_| {},
    )
}

fn verdict(o: &ScenarioOutcome, p: PropertyName) -> &PropertyVerdict {
    o.verdict(p).expect("every property has a verdict")
}

fn pause() -> Faults {
    Faults::one(Fault::Pause)
}

fn delay() -> Faults {
    Faults::one(Fault::Delay)
}

fn position(steps: &[NarratedStep], what: impl Fn(&NarratedStep) -> bool) -> usize {
    steps
        .iter()
        .position(what)
        .unwrap_or_else(|| panic!("step not found in {steps:#?}"))
}

#[test]
fn naive_under_pause_is_the_articles_unsafe_release() {
    let o = run(p("naive"), pause());
    assert_eq!(
        verdict(&o, PropertyName::MutualExclusion).verdict,
        Verdict::Violated
    );
    let nfr = verdict(&o, PropertyName::NoForeignRelease);
    assert_eq!(nfr.verdict, Verdict::Violated);
    let steps = nfr.counterexample.as_ref().expect("a counterexample");

    // c1's lease runs out while c1 is paused and still believes it holds.
    let expiry = position(steps, |s| {
        s.step == Step::Tick && s.key.is_none() && s.holders == ["c1"]
    });
    let paused = position(steps, |s| s.step == step("pause c1"));
    assert!(paused < expiry);
    // c2 acquires after that.
    let c2_acquires = position(steps, |s| s.step == step("acquire c2"));
    assert!(expiry < c2_acquires);
    assert_eq!(steps[c2_acquires].holders, ["c1", "c2"]);
    // c1's DEL removes c2's lock: the key was c2's before, gone after.
    let release = position(steps, |s| s.step == step("release c1"));
    assert!(c2_acquires < release);
    assert_eq!(release, steps.len() - 1, "the violation is the last step");
    let before = steps[release - 1]
        .key
        .as_ref()
        .expect("c2's key before the DEL");
    assert_eq!(before.owner, "c2");
    assert_eq!(steps[release].command.as_deref(), Some("DEL lock"));
    assert_eq!(steps[release].reply.as_deref(), Some("1"));
    assert!(steps[release].key.is_none());
    assert_eq!(steps[release].holders, ["c2"]);

    // And then c3 acquires beside c2.
    let after = nfr.aftermath.as_ref().expect("what the release leads to");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].step, step("acquire c3"));
    assert_eq!(after[0].n, steps.len() + 1);
    assert_eq!(after[0].holders, ["c2", "c3"]);
}

#[test]
fn naive_under_pause_breaks_mutual_exclusion_in_six_steps() {
    let o = run(p("naive"), pause());
    let me = verdict(&o, PropertyName::MutualExclusion);
    let steps: Vec<Step> = me
        .counterexample
        .as_ref()
        .expect("a counterexample")
        .iter()
        .map(|s| s.step)
        .collect();
    assert_eq!(
        steps,
        [
            step("acquire c1"),
            step("pause c1"),
            Step::Tick,
            Step::Tick,
            Step::Tick,
            step("acquire c2"),
        ]
    );
    assert_eq!(me.shortest, Some(true));
}

#[test]
fn naive_unchecked_breaks_mutual_exclusion_with_no_fault() {
    let o = run(p("naive-unchecked"), Faults::NONE);
    let me = verdict(&o, PropertyName::MutualExclusion);
    assert_eq!(me.verdict, Verdict::Violated);
    let steps = me.counterexample.as_ref().expect("a counterexample");
    // Two acquires, no fault: the second SET NX fails and is ignored.
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[1].reply.as_deref(), Some("(nil)"));
    assert_eq!(steps[1].holders, ["c1", "c2"]);
    assert!(steps.iter().all(|s| s.step.kind() == "acquire"));
}

#[test]
fn naive_and_token_keep_mutual_exclusion_with_no_fault_and_under_crash() {
    for protocol in [p("naive"), p("token"), p("fenced")] {
        for faults in [Faults::NONE, Faults::one(Fault::Crash)] {
            let o = run(protocol, faults);
            for p in [
                PropertyName::MutualExclusion,
                PropertyName::NoForeignRelease,
            ] {
                let v = verdict(&o, p);
                assert_eq!(v.verdict, Verdict::Holds, "{protocol} {faults} {p}");
                assert!(v.claimed);
            }
        }
    }
}

#[test]
fn token_never_releases_a_foreign_lock_but_loses_mutual_exclusion_to_pause_and_delay() {
    for faults in Faults::default_sets(p("token").faults()) {
        let o = run(p("token"), faults);
        assert_eq!(
            verdict(&o, PropertyName::NoForeignRelease).verdict,
            Verdict::Holds,
            "token under {faults}"
        );
    }
    for faults in [pause(), delay()] {
        let o = run(p("token"), faults);
        let me = verdict(&o, PropertyName::MutualExclusion);
        assert_eq!(me.verdict, Verdict::Violated, "token under {faults}");
        let last = me
            .counterexample
            .as_ref()
            .and_then(|s| s.last())
            .expect("a path");
        assert_eq!(last.holders.len(), 2);
        // Without fencing, the resource takes the stale write.
        let fr = verdict(&o, PropertyName::FencedResource);
        assert_eq!(fr.verdict, Verdict::Violated, "token under {faults}");
    }
}

#[test]
fn fencing_protects_the_resource_when_mutual_exclusion_is_lost() {
    for faults in [pause(), delay()] {
        let o = run(p("fenced"), faults);
        assert_eq!(
            verdict(&o, PropertyName::MutualExclusion).verdict,
            Verdict::Violated,
            "fenced under {faults}"
        );
        let fr = verdict(&o, PropertyName::FencedResource);
        assert_eq!(fr.verdict, Verdict::Holds, "fenced under {faults}");
        assert!(fr.claimed);
        // The witness ends with the stale holder's write refused.
        let witness = fr.witness.as_ref().expect("fencing at work");
        let last = witness.last().expect("steps");
        assert_eq!(last.step, step("write c1"));
        assert_eq!(last.reply.as_deref(), Some("refused"));
        assert_eq!(last.holders, ["c1", "c2"]);
    }
}

#[test]
fn a_restart_forgets_the_lock_and_the_fencing_counter() {
    let restart = Faults::one(Fault::Restart);
    for protocol in [p("naive"), p("token"), p("fenced")] {
        let o = run(protocol, restart);
        let me = verdict(&o, PropertyName::MutualExclusion);
        assert_eq!(me.verdict, Verdict::Violated, "{protocol}");
        let steps = me.counterexample.as_ref().expect("a path");
        assert!(steps.iter().any(|s| s.step == step("restart")));
    }
    for protocol in [p("token"), p("fenced")] {
        let o = run(protocol, restart);
        assert_eq!(
            verdict(&o, PropertyName::NoForeignRelease).verdict,
            Verdict::Holds
        );
    }
    // Fencing cannot absorb a counter Redis forgot: c2 is issued token 1
    // again, and the resource takes c1's stale write with the same token.
    let o = run(p("fenced"), restart);
    let fr = verdict(&o, PropertyName::FencedResource);
    assert_eq!(fr.verdict, Verdict::Violated);
    assert!(!fr.claimed);
    let steps = fr.counterexample.as_ref().expect("a path");
    let tokens: Vec<&str> = steps
        .iter()
        .filter(|s| s.step.kind() == "acquire")
        .filter_map(|s| s.reply.as_deref())
        .collect();
    assert_eq!(tokens, ["1", "1"]);
    let last = steps.last().expect("steps");
    assert_eq!(last.step, step("write c1"));
    assert_eq!(last.reply.as_deref(), Some("accepted"));
}

#[test]
fn every_claim_holds_and_no_holds_is_vacuous() {
    for protocol in Protocol::all().iter().copied() {
        for faults in Faults::default_sets(protocol.faults()) {
            let o = run(protocol, faults);
            assert!(o.complete);
            for v in &o.verdicts {
                assert!(!v.breaks_claim(), "{protocol} {faults} {}", v.property);
            }
            // Every witness and every liveness property that applies holds
            // (the lock family's someone-acquires, everyone-finishes and
            // eventually-acquired; the sync family's some- and
            // every-unit-processed).
            let live: Vec<&PropertyVerdict> = o
                .verdicts
                .iter()
                .filter(|v| v.kind != Kind::Always && v.verdict != Verdict::NotApplicable)
                .collect();
            assert!(live.len() >= 2, "{protocol} {faults}: {live:?}");
            for v in live {
                assert_eq!(
                    v.verdict,
                    Verdict::Holds,
                    "{protocol} {faults} {}",
                    v.property
                );
            }
        }
    }
}

/// The evidence of a verdict that does not depend on the search's order:
/// the shortest counterexample (a longer one is the verdict search's own
/// find), what it leads to, and the witness.
fn evidence(o: &ScenarioOutcome) -> Vec<(PropertyName, Evidence<'_>)> {
    o.verdicts
        .iter()
        .map(|v| {
            let shortest = v
                .counterexample
                .as_deref()
                .filter(|_| v.shortest == Some(true));
            (
                v.property,
                (shortest, v.aftermath.as_deref(), v.witness.as_deref()),
            )
        })
        .collect()
}

type Evidence<'a> = (
    Option<&'a [NarratedStep]>,
    Option<&'a [NarratedStep]>,
    Option<&'a [NarratedStep]>,
);

/// Symmetry reduction changes how many states are visited, never what is
/// found: the breadth-first search keeps one state per class of renamed
/// states and still finds, step for step, the counterexample it finds
/// without symmetry.
#[test]
fn symmetry_changes_state_counts_not_verdicts_nor_counterexamples() {
    let without = CheckOptions {
        symmetry: false,
        ..CheckOptions::default()
    };
    for protocol in Protocol::all().iter().copied() {
        for faults in Faults::default_sets(protocol.faults()) {
            let s = Scenario::new(protocol, faults);
            let a = check(s, &CheckOptions::default(), &|_| {});
            let b = check(s, &without, &|_| {});
            let words = |o: &ScenarioOutcome| -> Vec<Verdict> {
                o.verdicts.iter().map(|v| v.verdict).collect()
            };
            assert_eq!(words(&a), words(&b), "{protocol} {faults}");
            assert!(a.unique_states < b.unique_states);
            assert_eq!(evidence(&a), evidence(&b), "{protocol} {faults}");
            for v in &a.verdicts {
                if v.kind == Kind::Always && v.verdict == Verdict::Violated {
                    assert_eq!(v.shortest, Some(true), "{protocol} {faults} {}", v.property);
                }
            }
        }
    }
}

#[test]
fn a_budget_that_runs_out_gives_unknown_not_holds() {
    let tiny = CheckOptions {
        max_states: 10,
        ..CheckOptions::default()
    };
    let o = check(Scenario::new(p("token"), pause()), &tiny, &|_| {});
    assert!(!o.complete);
    assert_eq!(
        verdict(&o, PropertyName::NoForeignRelease).verdict,
        Verdict::Unknown
    );
}

/// A time budget that runs out stops every search — the verdicts, the
/// shortest counterexamples — and what was found before it is still told.
/// (Stateright rebuilds a path by asking the model for its steps again,
/// which a halted quorum model no longer offered: this panicked.)
#[test]
fn a_time_budget_that_runs_out_gives_unknown_not_a_panic() {
    // Tens of millions of states: no machine checks them in the second
    // each search is given; the verdict search finds a break on its way.
    let large = Scenario::new(p("redlock-fenced"), pause())
        .sized(3, 1, 3)
        .and_then(|s| s.with_nodes(7))
        .expect("a valid size");
    let brief = CheckOptions {
        timeout: Some(std::time::Duration::from_secs(1)),
        ..CheckOptions::default()
    };
    let o = check(large, &brief, &|_| {});
    assert!(!o.complete);
    assert!(o.unique_states > 0);
    for v in o.verdicts.iter().filter(|v| v.kind != Kind::Sometimes) {
        match v.verdict {
            Verdict::Violated => {
                assert_eq!(v.kind, Kind::Always, "{}", v.property);
                assert!(v.counterexample.as_ref().is_some_and(|c| !c.is_empty()));
            }
            Verdict::Unknown
            | Verdict::NotApplicable
            | Verdict::NotModelled
            | Verdict::NotJudged => {}
            Verdict::Holds => panic!("{} holds after a search cut short", v.property),
        }
    }
}

/// The rows of the article's lock used re-entrantly, and the lock that
/// fixes it: each client acquires twice before it writes.
fn reentered(protocol: Protocol, faults: Faults) -> ScenarioOutcome {
    let s = Scenario::new(protocol, faults).deep(2).expect("depth 2");
    check(s, &CheckOptions::default(), &|_| {})
}

#[test]
fn the_articles_lock_used_re_entrantly_waits_for_itself_and_frees_the_lock_early() {
    let o = reentered(p("naive"), Faults::NONE);
    let wait = verdict(&o, PropertyName::ReentryNoSelfWait);
    assert_eq!(wait.verdict, Verdict::Violated);
    assert!(!wait.claimed, "naive never promised re-entry");
    let steps = wait.counterexample.as_ref().expect("a counterexample");
    // c1 takes the lock, then its second SET NX fails on its own key.
    assert_eq!(
        steps.iter().map(|s| s.step).collect::<Vec<_>>(),
        [step("acquire c1"), step("acquire c1")]
    );
    assert_eq!(steps[1].reply.as_deref(), Some("(nil)"));
    assert!(
        steps[1].says.contains("waits for itself"),
        "{}",
        steps[1].says
    );

    let early = verdict(&o, PropertyName::NoEarlyRelease);
    assert_eq!(early.verdict, Verdict::Violated);
    let steps = early.counterexample.as_ref().expect("a counterexample");
    let last = steps.last().expect("a last step");
    assert_eq!(last.step, step("release c1"));
    assert_eq!(last.command.as_deref(), Some("DEL lock"));
    assert!(last.key.is_none(), "the DEL freed the lock");
    assert_eq!(last.holders, ["c1"], "while c1 is still inside");
    // With no fault at all, another client then gets in beside c1.
    assert_eq!(
        verdict(&o, PropertyName::MutualExclusion).verdict,
        Verdict::Violated
    );
    assert_eq!(
        verdict(&o, PropertyName::SomeoneReenters).verdict,
        Verdict::Holds
    );
}

#[test]
fn the_reentrant_lock_keeps_re_entry_under_every_fault_and_loses_mutual_exclusion_to_a_pause() {
    for faults in Faults::default_sets(p("reentrant").faults()) {
        let o = reentered(p("reentrant"), faults);
        assert!(o.complete);
        for prop in [
            PropertyName::ReentryNoSelfWait,
            PropertyName::NoEarlyRelease,
            PropertyName::NoLeakedHold,
            PropertyName::NoForeignRelease,
        ] {
            let v = verdict(&o, prop);
            assert_eq!(v.verdict, Verdict::Holds, "reentrant {faults} {prop}");
            assert!(v.claimed, "reentrant {faults} {prop}");
        }
        assert_eq!(
            verdict(&o, PropertyName::SomeoneReenters).verdict,
            Verdict::Holds,
            "{faults}: re-entry happens, so the verdicts are not vacuous"
        );
    }
    let o = reentered(p("reentrant"), pause());
    let me = verdict(&o, PropertyName::MutualExclusion);
    assert_eq!(me.verdict, Verdict::Violated);
    let last = me
        .counterexample
        .as_ref()
        .and_then(|s| s.last())
        .expect("a path");
    assert_eq!(last.holders.len(), 2);
    // Fencing keeps the resource: c1's stale write is refused.
    assert_eq!(
        verdict(&o, PropertyName::FencedResource).verdict,
        Verdict::Holds
    );
}

#[test]
fn a_retried_acquire_leaks_a_level_without_attempt_ids_and_not_with_them() {
    let retry = Faults::one(Fault::Retry);
    let o = reentered(p("reentrant-redisson"), retry);
    let leak = verdict(&o, PropertyName::NoLeakedHold);
    assert_eq!(leak.verdict, Verdict::Violated);
    let steps = leak.counterexample.as_ref().expect("a counterexample");
    assert_eq!(steps.len(), 1, "{steps:#?}");
    assert_eq!(steps[0].step, step("acquire-resent c1"));
    assert_eq!(steps[0].key.as_ref().and_then(|k| k.count), Some(2));
    assert_eq!(
        verdict(
            &reentered(p("reentrant"), retry),
            PropertyName::NoLeakedHold
        )
        .verdict,
        Verdict::Holds
    );
    // And a plain SET NX lock retried: Redis holds it for a client that
    // was told "busy" by its own first run.
    let token = run(p("token"), retry);
    let leak = verdict(&token, PropertyName::NoLeakedHold);
    assert_eq!(leak.verdict, Verdict::Violated);
    let steps = leak.counterexample.as_ref().expect("a counterexample");
    assert_eq!(steps[0].reply.as_deref(), Some("(nil)"));
    assert_eq!(steps[0].key.as_ref().map(|k| k.owner.as_str()), Some("c1"));
    assert!(steps[0].holders.is_empty());
}

#[test]
fn redissons_re_entry_takes_a_fresh_lock_when_its_lease_ran_out_and_frees_it_early() {
    let o = reentered(p("reentrant-redisson"), pause());
    let early = verdict(&o, PropertyName::NoEarlyRelease);
    assert_eq!(early.verdict, Verdict::Violated);
    assert!(!early.claimed);
    let steps = early.counterexample.as_ref().expect("a counterexample");
    assert!(
        steps.iter().any(|s| s.says.contains("takes a fresh one")),
        "{steps:#?}"
    );
    // The guarded re-entry of `reentrant` learns it lost the lock instead.
    let fixed = reentered(p("reentrant"), pause());
    assert_eq!(
        verdict(&fixed, PropertyName::NoEarlyRelease).verdict,
        Verdict::Holds
    );
}
