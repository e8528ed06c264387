//! The renewing locks' verdicts, asserted on what the checker computed and
//! on the counterexamples it found: `renew` keeps every claim, and each of
//! the two mistakes breaks where the literature says — a bare `PEXPIRE`
//! extends another client's lease, a re-created key hides the loss.

use locklab_model::path::follow;
use locklab_model::step::parse_schedule;
use locklab_model::{
    check, CheckOptions, Fault, Faults, NarratedStep, Outcome, PropertyName, PropertyVerdict,
    Protocol, Scenario, ScenarioOutcome, Verdict,
};

use crate::support::p;

fn run(protocol: &str, faults: Faults) -> ScenarioOutcome {
    check(
        Scenario::new(p(protocol), faults),
        &CheckOptions::default(),
        &|_| {},
    )
}

fn verdict(o: &ScenarioOutcome, p: PropertyName) -> &PropertyVerdict {
    o.verdict(p).expect("every property has a verdict")
}

/// The counterexample of a violated property, asserted violated.
fn broken(o: &ScenarioOutcome, property: PropertyName) -> Vec<NarratedStep> {
    let v = verdict(o, property);
    assert_eq!(v.verdict, Verdict::Violated, "{property}");
    assert_eq!(v.shortest, Some(true), "{property}");
    v.counterexample.clone().expect("a counterexample")
}

fn steps(told: &[NarratedStep]) -> String {
    told.iter()
        .map(|s| s.step.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

fn renewing() -> [Protocol; 3] {
    [p("renew"), p("renew-unchecked"), p("renew-reacquire")]
}

#[test]
fn every_claim_holds_and_no_renewal_verdict_is_vacuous() {
    for protocol in renewing() {
        for faults in Faults::default_sets(protocol.faults()) {
            let o = run(protocol.name(), faults);
            assert!(o.complete, "{protocol} {faults}");
            for v in &o.verdicts {
                if v.claimed {
                    assert_eq!(
                        v.verdict,
                        Verdict::Holds,
                        "{protocol} {faults} {}",
                        v.property
                    );
                }
            }
            for witness in [PropertyName::SomeoneRenews, PropertyName::EveryoneFinishes] {
                assert_eq!(
                    verdict(&o, witness).verdict,
                    Verdict::Holds,
                    "{protocol} {faults} {witness}"
                );
            }
        }
    }
}

#[test]
fn the_renewal_properties_apply_to_renewing_locks_only() {
    let o = run("token", Faults::NONE);
    for property in [
        PropertyName::NoForeignExtension,
        PropertyName::LossTold,
        PropertyName::SomeoneRenews,
    ] {
        assert_eq!(verdict(&o, property).verdict, Verdict::NotApplicable);
    }
}

#[test]
fn a_starved_watchdog_lets_the_lease_run_out_and_renew_tells_its_holder() {
    let o = run("renew", Faults::one(Fault::Stall));
    let me = broken(&o, PropertyName::MutualExclusion);
    assert_eq!(
        steps(&me),
        "acquire c1; stall c1; tick; tick; tick; acquire c2"
    );
    assert!(
        me[1].says.contains("c1's watchdog is starved"),
        "{}",
        me[1].says
    );
    assert_eq!(me[5].holders, ["c1", "c2"]);
    assert_eq!(verdict(&o, PropertyName::LossTold).verdict, Verdict::Holds);
    assert_eq!(
        verdict(&o, PropertyName::NoForeignExtension).verdict,
        Verdict::Holds
    );

    // Woken, the watchdog's compare-and-PEXPIRE finds c2's token, extends
    // nothing, and tells c1, which abandons its round without writing.
    let scenario = Scenario::new(p("renew"), Faults::one(Fault::Stall));
    let walked = follow(
        scenario,
        &parse_schedule("acquire c1; stall c1; tick; tick; tick; acquire c2; wake c1; renew c1")
            .unwrap(),
    )
    .unwrap();
    let renew = walked.steps.last().expect("the renewal");
    assert_eq!(renew.expect, Some(Outcome::NotHeld));
    assert_eq!(
        renew.told.command.as_deref(),
        Some("EVALSHA renew 1 lock <c1's token> <3 ticks>")
    );
    assert_eq!(renew.told.reply.as_deref(), Some("0"));
    assert_eq!(renew.told.holders, ["c2"]);
    assert!(renew.told.says.contains("tells c1"), "{}", renew.told.says);
}

#[test]
fn a_paused_holder_learns_at_its_next_write_that_its_deadline_passed() {
    let scenario = Scenario::new(p("renew"), Faults::one(Fault::Pause));
    let walked = follow(
        scenario,
        &parse_schedule("acquire c1; pause c1; tick; tick; tick; acquire c2; resume c1; write c1")
            .unwrap(),
    )
    .unwrap();
    let write = walked.steps.last().expect("the write");
    assert_eq!(write.expect, Some(Outcome::Lost));
    assert_eq!(write.told.command, None, "the check is local: no command");
    assert!(
        write.told.says.contains("its lease deadline"),
        "{}",
        write.told.says
    );
    assert_eq!(write.told.holders, ["c2"]);
}

#[test]
fn a_bare_pexpire_extends_the_next_holders_lease() {
    for (fault, wakes) in [(Fault::Stall, "wake c1"), (Fault::Pause, "resume c1")] {
        let o = run("renew-unchecked", Faults::one(fault));
        let ext = broken(&o, PropertyName::NoForeignExtension);
        assert_eq!(
            steps(&ext),
            format!("acquire c1; {fault} c1; tick; tick; tick; {wakes}; acquire c2; renew c1")
        );
        let renew = ext.last().expect("the renewal");
        assert_eq!(renew.command.as_deref(), Some("PEXPIRE lock <3 ticks>"));
        assert_eq!(renew.reply.as_deref(), Some("1"));
        assert_eq!(renew.outcome, Some(Outcome::Renewed));
        assert!(renew.says.contains("extends c2's lease"), "{}", renew.says);
        assert_eq!(renew.key.as_ref().map(|k| k.owner.as_str()), Some("c2"));

        // c1 read "renewed", so it goes on and writes: never told.
        let told = broken(&o, PropertyName::LossTold);
        assert_eq!(steps(&told), format!("{}; write c1", steps(&ext)));
        assert!(told.last().unwrap().says.contains("never told"));
    }
}

#[test]
fn a_re_created_key_hides_the_loss_from_its_holder() {
    for (fault, wakes) in [(Fault::Pause, "resume c1"), (Fault::Stall, "wake c1")] {
        let o = run("renew-reacquire", Faults::one(fault));
        let told = broken(&o, PropertyName::LossTold);
        assert_eq!(
            steps(&told),
            format!("acquire c1; {fault} c1; tick; tick; tick; {wakes}; renew c1; write c1")
        );
        let renew = &told[told.len() - 2];
        assert_eq!(
            renew.command.as_deref(),
            Some("EVALSHA renew-reacquire 1 lock <c1's token> <3 ticks>")
        );
        assert_eq!(renew.reply.as_deref(), Some("OK"));
        assert_eq!(renew.outcome, Some(Outcome::Reacquired));
        assert!(renew.says.contains("SET NX"), "{}", renew.says);
        assert_eq!(
            verdict(&o, PropertyName::NoForeignExtension).verdict,
            Verdict::Holds,
            "SET NX never takes a key that is there"
        );
    }
}

#[test]
fn no_renewal_survives_a_restart_untold() {
    let o = run("renew", Faults::one(Fault::Restart));
    let told = broken(&o, PropertyName::LossTold);
    assert_eq!(steps(&told), "acquire c1; restart; write c1");
    assert!(!verdict(&o, PropertyName::LossTold).claimed);
}

#[test]
fn a_delayed_renewal_reply_sets_the_deadline_to_what_is_left() {
    let scenario = Scenario::new(p("renew"), Faults::one(Fault::Delay));
    let walked = follow(
        scenario,
        &parse_schedule(
            "acquire c1; tick; renew-delayed c1; tick; tick; tick; deliver c1; write c1",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(walked.steps[2].expect, None, "the reply is in flight");
    assert_eq!(walked.steps[6].expect, Some(Outcome::Renewed));
    assert_eq!(
        walked.steps[7].expect,
        Some(Outcome::Lost),
        "the lease it renewed ran out while the reply was late"
    );
}
