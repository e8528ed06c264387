use super::*;
use crate::path::{follow, script, Taken};
use crate::verdict::Verdict;
use locklab_spec::fault::Faults;
use locklab_spec::protocol::Protocol;

fn p(name: &str) -> Protocol {
    name.parse().unwrap()
}

fn step(text: &str) -> Step {
    text.parse().expect("a step")
}

fn unsafe_release() -> Vec<Step> {
    vec![
        step("acquire c1"),
        step("pause c1"),
        Step::Tick,
        Step::Tick,
        Step::Tick,
        step("resume c1"),
        step("acquire c2"),
        step("write c1"),
        step("release c1"),
    ]
}

#[test]
fn the_naive_schedule_breaks_naive_but_not_token() {
    let faults = Faults::one(Fault::Pause);
    let naive = follow(Scenario::new(p("naive"), faults), &unsafe_release()).unwrap();
    assert_eq!(
        naive.verdict(PropertyName::NoForeignRelease),
        Verdict::Violated
    );
    assert_eq!(naive.first_break[&PropertyName::NoForeignRelease], 9);
    assert_eq!(naive.steps[8].expect, Some(Outcome::Deleted));
    let token = follow(Scenario::new(p("token"), faults), &unsafe_release()).unwrap();
    assert_eq!(
        token.verdict(PropertyName::NoForeignRelease),
        Verdict::Holds
    );
    assert_eq!(
        token.verdict(PropertyName::MutualExclusion),
        Verdict::Violated
    );
    assert_eq!(token.steps[8].expect, Some(Outcome::NotHeld));
}

#[test]
fn a_fix_makes_the_third_client_wait() {
    let mut steps = unsafe_release();
    steps.push(step("acquire c3"));
    steps.push(step("write c3"));
    let token = script(Scenario::new(p("token"), Faults::one(Fault::Pause)), &steps);
    let taken: Vec<Taken> = token.steps.iter().map(|s| s.taken).collect();
    assert_eq!(taken[..9], [Taken::Step; 9]);
    assert_eq!(taken[9..], [Taken::Waits, Taken::Skipped]);
    assert_eq!(token.steps[9].expect, Some(Outcome::Busy));
}

#[test]
fn a_step_the_protocol_does_not_allow_is_named() {
    let unchecked_overlap = [step("acquire c1"), step("acquire c2")];
    let err = follow(Scenario::new(p("token"), Faults::NONE), &unchecked_overlap).unwrap_err();
    assert_eq!(err.n, 2);
    assert_eq!(
        err.to_string(),
        "step 2 (`acquire c2`) is not possible for token at that point"
    );
}

#[test]
fn the_model_says_what_each_reentrant_step_returns() {
    let steps = [
        step("acquire c1"),
        step("acquire c1"),
        step("write c1"),
        step("release c1"),
        step("release c1"),
    ];
    let s = follow(Scenario::new(p("reentrant"), Faults::NONE), &steps).unwrap();
    let expected: Vec<Option<Outcome>> = s.steps.iter().map(|s| s.expect.clone()).collect();
    assert_eq!(
        expected,
        [
            Some(Outcome::Granted {
                token: None,
                fence: Some(1),
                count: Some(1)
            }),
            Some(Outcome::Granted {
                token: None,
                fence: Some(1),
                count: Some(2)
            }),
            Some(Outcome::Accepted),
            Some(Outcome::StillHeld { count: 1 }),
            Some(Outcome::Released),
        ]
    );
    assert!(
        s.verdicts.values().all(|v| *v == Verdict::Holds),
        "{:?}",
        s.verdicts
    );
}

#[test]
fn a_retried_acquire_counts_twice_without_attempt_ids() {
    let steps = [step("acquire-resent c1")];
    let retry = Faults::one(Fault::Retry);
    let redisson = follow(Scenario::new(p("reentrant-redisson"), retry), &steps).unwrap();
    assert_eq!(
        redisson.steps[0].expect,
        Some(Outcome::Granted {
            token: None,
            fence: Some(1),
            count: Some(2)
        })
    );
    assert_eq!(
        redisson.verdict(PropertyName::NoLeakedHold),
        Verdict::Violated
    );
    let fixed = follow(Scenario::new(p("reentrant"), retry), &steps).unwrap();
    assert_eq!(fixed.verdict(PropertyName::NoLeakedHold), Verdict::Holds);
}
