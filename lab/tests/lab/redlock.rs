//! Redlock on real masters: the model's counterexamples happen on three
//! `redis-server`s the lab starts (restarts, delayed restarts and clock
//! jumps real), the client's decisions agree with the model's step by
//! step, and chaos agrees cell by cell.

use std::time::Duration;

use locklab::history::{self, Event, Op};
use locklab::replay::{play, Clients, KeySpace, Played, Stage};
use locklab::server::RedisServer;
use locklab_impl::ConnectOptions;
use locklab_model::path::script;
use locklab_model::{
    check, CheckOptions, Fault, Faults, NodeId, Outcome, PropertyName, Scenario, Step, Verdict,
};

use crate::support::p;

/// The shortest counterexample of `property` in `scenario`.
fn counterexample(scenario: Scenario, property: PropertyName) -> Vec<Step> {
    let o = check(scenario, &CheckOptions::default(), &|_| {});
    let v = o.verdict(property).expect("a verdict");
    assert_eq!(v.verdict, Verdict::Violated, "{property} in {scenario:?}");
    v.counterexample
        .as_ref()
        .expect("a counterexample")
        .iter()
        .map(|s| s.step)
        .collect()
}

/// Plays `steps` in `scenario` on masters of the lab's own (private ones
/// when the schedule touches a node), clients in `clients`.
fn replay(scenario: Scenario, steps: &[Step], clients: Clients) -> Played {
    let masters = RedisServer::start_many(usize::from(scenario.nodes())).expect("redis-servers");
    let stage = Stage {
        url: masters[0].url(),
        nodes: masters.iter().map(RedisServer::url).collect(),
        embedded: true,
        tick: Duration::from_millis(100),
        connect: ConnectOptions::default(),
        keys: KeySpace::new(),
        clients,
        lock: None,
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime
        .block_on(play(&stage, 0, script(scenario, steps)))
        .unwrap_or_else(|e| panic!("replay failed: {e}"))
}

fn redlock(faults: Faults) -> Scenario {
    Scenario::new(p("redlock"), faults)
}

/// The model and Redis agree on every step and on the property.
fn assert_agrees(played: &Played, property: PropertyName) {
    assert_eq!(played.divergence, None, "{:#?}", played.history.events);
    assert_eq!(played.overrun, None);
    let real = history::finding(&played.history, property);
    assert_eq!(
        played.script.verdict(property),
        real.verdict,
        "{property}: {:?}\n{:#?}",
        real.says,
        played.history.events
    );
}

fn conclusions(events: &[Event]) -> Vec<(String, Option<Outcome>)> {
    events
        .iter()
        .filter(|e| e.op.name() == "conclude")
        .map(|e| (e.client.clone(), e.outcome.clone()))
        .collect()
}

#[test]
fn a_restarted_master_lets_a_second_majority_form_on_real_servers() {
    let scenario = redlock(Faults::one(Fault::Restart));
    let steps = counterexample(scenario, PropertyName::MutualExclusion);
    let played = replay(scenario, &steps, Clients::InProcess);
    assert_agrees(&played, PropertyName::MutualExclusion);
    let ev = &played.history.events;
    let restart = ev
        .iter()
        .position(|e| e.op == Op::Restart)
        .expect("a restart");
    assert_eq!(ev[restart].node, Some(NodeId(1)));
    let granted: Vec<String> = conclusions(ev)
        .into_iter()
        .filter(|(_, o)| o.as_ref().is_some_and(Outcome::gives_belief))
        .map(|(c, _)| c)
        .collect();
    assert_eq!(granted, ["c1", "c2"]);
    let me = history::finding(&played.history, PropertyName::MutualExclusion);
    assert_eq!(me.verdict, Verdict::Violated);
    assert!(me.says.as_deref().is_some_and(|s| s.contains("c1 and c2")), "{me:?}");
}
