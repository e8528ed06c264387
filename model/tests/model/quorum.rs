//! The quorum family's verdicts and walks, asserted on what the checker
//! computed: a majority within the validity holds; a master that forgets,
//! a clock that jumps and a paused holder each let a second majority form;
//! a token made from the masters' counters hands one token to two grants.

use locklab_model::path::follow;
use locklab_model::{
    check, CheckOptions, Fault, Faults, Outcome, PropertyName, QuorumModel, Scenario, Step, System,
    Verdict,
};
use stateright::Representative;

use crate::support::{p, step};

fn ask(client: u8, node: u8) -> Step {
    step(&format!("ask c{client} n{node}"))
}

fn redlock(faults: Faults) -> Scenario {
    Scenario::new(p("redlock"), faults)
}

/// c1 takes n1 and n2, c2 takes n3 meanwhile: c1 holds with 2 of 3.
fn c1_holds_two_of_three() -> Vec<Step> {
    vec![
        ask(1, 1),
        ask(1, 2),
        ask(2, 3),
        ask(1, 3),
        step("conclude c1"),
    ]
}

#[test]
fn a_majority_within_the_validity_holds_and_the_outcomes_are_the_masters_replies() {
    let s = follow(redlock(Faults::NONE), &c1_holds_two_of_three()).unwrap();
    let expected: Vec<Option<Outcome>> = s.steps.iter().map(|s| s.expect.clone()).collect();
    assert_eq!(
        expected,
        [
            Some(Outcome::GRANTED),
            Some(Outcome::GRANTED),
            Some(Outcome::GRANTED),
            Some(Outcome::Busy),
            Some(Outcome::GRANTED),
        ]
    );
    let last = &s.steps[4].told;
    assert_eq!(last.holders, ["c1"]);
    assert_eq!(last.nodes.len(), 3);
    assert_eq!(
        last.nodes
            .iter()
            .map(|v| v.key.as_ref().map(|k| k.owner.clone()))
            .collect::<Vec<_>>(),
        [Some("c1".into()), Some("c1".into()), Some("c2".into())]
    );
    assert_eq!(s.verdict(PropertyName::MutualExclusion), Verdict::Holds);
}

#[test]
fn the_time_a_round_takes_is_taken_off_its_validity() {
    // Two ticks between the first request and the last: one tick left.
    let steps = [
        ask(1, 1),
        ask(1, 2),
        Step::Tick,
        Step::Tick,
        ask(1, 3),
        step("conclude c1"),
    ];
    let s = follow(redlock(Faults::NONE), &steps).unwrap();
    assert_eq!(s.steps[5].expect, Some(Outcome::GRANTED));
    assert!(
        s.steps[5].told.says.contains("1 tick of validity left"),
        "{}",
        s.steps[5].told.says
    );
    // Three: every master granted, but the first two keys are already gone
    // and no validity is left. The client releases everywhere.
    let steps = [
        ask(1, 1),
        ask(1, 2),
        Step::Tick,
        Step::Tick,
        Step::Tick,
        ask(1, 3),
        step("conclude c1"),
    ];
    let s = follow(redlock(Faults::NONE), &steps).unwrap();
    assert_eq!(s.steps[6].expect, Some(Outcome::Expired));
    assert!(s.steps[6].told.nodes.iter().all(|v| v.key.is_none()));
    assert!(s.steps[6].after.is_empty(), "{:?}", s.steps[6].after);
}

#[test]
fn a_reply_that_never_came_is_released_all_the_same() {
    let faults = Faults::one(Fault::Delay);
    let steps = [
        step("ask-lost c1 n1"),
        ask(2, 2),
        ask(1, 2),
        ask(1, 3),
        step("conclude c1"),
    ];
    let s = follow(redlock(faults), &steps).unwrap();
    // n1 ran the request (the lab sees the grant), c1 counts it not granted.
    assert_eq!(s.steps[0].expect, Some(Outcome::GRANTED));
    assert_eq!(s.steps[4].expect, Some(Outcome::Busy));
    // The release after the failed round removed c1's key on n1 too.
    let after = &s.steps[4].told.nodes;
    assert!(after[0].key.is_none(), "{after:?}");
    assert_eq!(after[1].key.as_ref().map(|k| k.owner.as_str()), Some("c2"));
    assert!(after[2].key.is_none());
}

#[test]
fn a_master_that_is_down_does_not_answer_and_rejoins_empty_after_a_lease() {
    let faults = Faults::one(Fault::DelayedRestart);
    let mut steps = c1_holds_two_of_three();
    steps.push(step("delayed-restart n2"));
    steps.push(ask(2, 2));
    let s = follow(redlock(faults), &steps).unwrap();
    assert_eq!(s.steps[6].expect, Some(Outcome::Unreachable));
    assert!(s.steps[5].told.nodes[1].down);
    // Not before a lease has passed: c1 still holds, so time may not pass
    // past its validity; it must write and release first.
    let mut early = steps.clone();
    early.push(step("rejoin n2"));
    assert!(follow(redlock(faults), &early).is_err());
    steps.extend([
        step("write c1"),
        step("release c1"),
        Step::Tick,
        Step::Tick,
        Step::Tick,
        step("rejoin n2"),
    ]);
    let s = follow(redlock(faults), &steps).unwrap();
    assert!(!s.steps.last().unwrap().told.nodes[1].down);
}

fn counterexample(scenario: Scenario, property: PropertyName) -> Vec<Step> {
    let o = check(scenario, &CheckOptions::default(), &|_| {});
    let v = o.verdict(property).unwrap();
    assert_eq!(v.verdict, Verdict::Violated, "{property} in {scenario:?}");
    assert_eq!(v.shortest, Some(true));
    v.counterexample
        .as_ref()
        .unwrap()
        .iter()
        .map(|s| s.step)
        .collect()
}

#[test]
fn a_master_that_forgets_lets_a_second_majority_form() {
    let steps = counterexample(
        redlock(Faults::one(Fault::Restart)),
        PropertyName::MutualExclusion,
    );
    assert_eq!(
        steps,
        [
            ask(1, 1),
            ask(1, 2),
            ask(2, 1),
            ask(2, 3),
            ask(1, 3),
            step("conclude c1"),
            step("restart n2"),
            ask(2, 2),
            step("conclude c2"),
        ]
    );
}

#[test]
fn a_clock_jump_of_one_tick_on_the_oldest_key_is_enough() {
    let steps = counterexample(
        redlock(Faults::one(Fault::ClockJump)),
        PropertyName::MutualExclusion,
    );
    let jump = steps
        .iter()
        .position(|s| s.kind() == "clock-jump")
        .expect("a clock jump");
    // Before the jump, c1's keys are down to their last tick.
    let ticks = steps[..jump].iter().filter(|s| **s == Step::Tick).count();
    assert_eq!(ticks, 2, "{steps:?}");
    assert_eq!(steps.last(), Some(&step("conclude c2")));
}

#[test]
fn redlock_fenced_tokens_are_not_monotonic() {
    let scenario = Scenario::new(p("redlock-fenced"), Faults::one(Fault::Pause));
    let o = check(scenario, &CheckOptions::default(), &|_| {});
    let v = o.verdict(PropertyName::FencedResource).unwrap();
    assert_eq!(v.verdict, Verdict::Violated);
    let steps = v.counterexample.as_ref().unwrap();
    let writes: Vec<&Outcome> = steps
        .iter()
        .filter(|s| s.step.kind() == "write")
        .filter_map(|s| s.outcome.as_ref())
        .collect();
    assert_eq!(writes, [&Outcome::Accepted, &Outcome::Accepted]);
    let grants: Vec<Option<u64>> = steps
        .iter()
        .filter(|s| s.step.kind() == "conclude")
        .filter_map(|s| s.outcome.as_ref())
        .filter(|o| o.gives_belief())
        .map(Outcome::fence)
        .collect();
    // Two grants, the later one's token no higher than the earlier one's.
    assert_eq!(grants.len(), 2, "{grants:?}");
    assert!(grants[1] <= grants[0], "{grants:?}");
}

/// Under a clock jump, fencing fails because one token is handed out to
/// two grants (the masters' counters drift apart), not because of a token-2
/// write after a token-1 write, which is in order: the shortest break ends
/// with two accepted writes carrying the same token.
#[test]
fn a_clock_jump_hands_one_token_to_two_grants() {
    let scenario = Scenario::new(p("redlock-fenced"), Faults::one(Fault::ClockJump));
    let o = check(scenario, &CheckOptions::default(), &|_| {});
    let v = o.verdict(PropertyName::FencedResource).unwrap();
    assert_eq!(v.verdict, Verdict::Violated);
    let steps = v.counterexample.as_ref().unwrap();
    let tokens: Vec<Option<u64>> = steps
        .iter()
        .filter(|s| s.step.kind() == "conclude")
        .filter_map(|s| s.outcome.as_ref())
        .filter(|o| o.gives_belief())
        .map(Outcome::fence)
        .collect();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert_eq!(tokens[0], tokens[1], "{tokens:?}");
    let last = steps.last().unwrap();
    assert_eq!(last.step.kind(), "write");
    assert_eq!(last.outcome, Some(Outcome::Accepted));
    assert!(last.says.contains("with the same token"), "{}", last.says);
}

#[test]
fn the_representative_is_the_same_for_renamed_clients_and_masters() {
    let model = QuorumModel::of(
        redlock(Faults::NONE).with_nodes(5).unwrap(),
        &PropertyName::ALL,
    );
    let steps = [ask(1, 1), ask(1, 2), ask(2, 4), Step::Tick, ask(1, 5)];
    let renamed = [ask(2, 3), ask(2, 5), ask(1, 1), Step::Tick, ask(2, 2)];
    let walk = |steps: &[Step]| {
        steps
            .iter()
            .fold(model.initial(), |w, s| model.play(&w, *s).unwrap().0)
    };
    let (a, b) = (walk(&steps), walk(&renamed));
    assert_ne!(a, b);
    assert_eq!(a.representative(), b.representative());
    assert_eq!(a.representative().representative(), a.representative());
}
