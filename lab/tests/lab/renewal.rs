//! Renewing locks on a real `redis-server`: the model's counterexamples of
//! the two renewal mistakes happen on Redis, and the lab's `renew` client
//! tells its holder where the model says it does. The lab times each
//! renewal (a `renew` step), so a starved watchdog is one given none.

use std::time::Duration;

use locklab::history::{self, Event, Op};
use locklab::replay::{play, Clients, KeySpace, Played, Stage};
use locklab::server::RedisServer;
use locklab_impl::ConnectOptions;
use locklab_model::path::script;
use locklab_model::{
    check, CheckOptions, ClientOp, Fault, Faults, Outcome, PropertyName, Scenario, Step, Verdict,
};

use crate::support::p;

/// The shortest counterexample of `property` for `protocol` under `fault`.
fn counterexample(protocol: &str, fault: Fault, property: PropertyName) -> Vec<Step> {
    let scenario = Scenario::new(p(protocol), Faults::one(fault));
    let o = check(scenario, &CheckOptions::default(), &|_| {});
    let v = o.verdict(property).expect("a verdict");
    assert_eq!(v.verdict, Verdict::Violated, "{property} of {protocol}");
    v.counterexample
        .as_ref()
        .expect("a counterexample")
        .iter()
        .map(|s| s.step)
        .collect()
}

/// Plays `steps` as `protocol` under `fault` on a server of the lab's own.
fn replay(protocol: &str, fault: Fault, steps: &[Step]) -> Played {
    let server = RedisServer::start().expect("a redis-server");
    let stage = Stage {
        url: server.url(),
        nodes: vec![server.url()],
        embedded: true,
        tick: Duration::from_millis(100),
        connect: ConnectOptions::default(),
        keys: KeySpace::new(),
        clients: Clients::InProcess,
        lock: None,
        sentinels: Default::default(),
    };
    let scenario = Scenario::new(p(protocol), Faults::one(fault));
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime
        .block_on(play(&stage, 0, script(scenario, steps)))
        .unwrap_or_else(|e| panic!("replay failed: {e}"))
}

/// The model and Redis agree on every step and on the property.
fn assert_agrees(played: &Played, property: PropertyName) -> history::Finding {
    assert!(
        matches!(
            played.standing,
            locklab::replay::standing::Standing::OnModel
        ),
        "{:?}\n{:#?}",
        played.standing,
        played.history.events
    );
    let real = history::finding(&played.history, property);
    assert_eq!(
        played.script.verdict(property),
        real.verdict,
        "{property}: {:?}\n{:#?}",
        real.says,
        played.history.events
    );
    real
}

fn renewals(events: &[Event]) -> Vec<&Event> {
    events.iter().filter(|e| e.op.is_renewal()).collect()
}

fn granted_token(events: &[Event], client: &str) -> Option<String> {
    events.iter().find_map(|e| match &e.outcome {
        Some(Outcome::Granted { token, .. }) if e.client == client => token.clone(),
        _ => None,
    })
}

#[test]
fn a_bare_pexpire_extends_the_next_holders_key_on_redis() {
    let steps = counterexample(
        "renew-unchecked",
        Fault::Stall,
        PropertyName::NoForeignExtension,
    );
    let played = replay("renew-unchecked", Fault::Stall, &steps);
    let found = assert_agrees(&played, PropertyName::NoForeignExtension);
    assert_eq!(found.verdict, Verdict::Violated);
    let events = &played.history.events;
    let renew = renewals(events);
    assert_eq!(renew.len(), 1);
    assert_eq!(renew[0].outcome, Some(Outcome::Renewed));
    assert_eq!(
        renew[0].token,
        granted_token(events, "c2"),
        "the key the renewal extended held c2's token"
    );
    assert!(events.iter().any(|e| e.op == Op::Stall));

    // The same schedule on `renew`: the compare-and-PEXPIRE extends
    // nothing, and c1 is told.
    let fixed = replay("renew", Fault::Stall, &steps);
    assert_eq!(
        assert_agrees(&fixed, PropertyName::NoForeignExtension).verdict,
        Verdict::Holds
    );
    let renew = renewals(&fixed.history.events);
    assert_eq!(renew[0].outcome, Some(Outcome::NotHeld));
}

#[test]
fn a_re_created_key_hides_the_loss_on_redis() {
    let steps = counterexample("renew-reacquire", Fault::Pause, PropertyName::LossTold);
    let played = replay("renew-reacquire", Fault::Pause, &steps);
    let found = assert_agrees(&played, PropertyName::LossTold);
    assert_eq!(found.verdict, Verdict::Violated);
    let renew = renewals(&played.history.events);
    assert_eq!(renew[0].outcome, Some(Outcome::Reacquired));
    let write = played.history.events.last().expect("the write");
    assert_eq!(write.op, Op::call(ClientOp::Write));
    assert_eq!(write.outcome, Some(Outcome::Accepted));

    let fixed = replay("renew", Fault::Pause, &steps);
    assert_eq!(
        assert_agrees(&fixed, PropertyName::LossTold).verdict,
        Verdict::Holds
    );
}

#[test]
fn a_holder_whose_deadline_passed_does_not_write() {
    // c1 paused past its lease; c2 holds; c1's write is refused by its own
    // deadline check, as the model says.
    let steps = locklab_model::step::parse_schedule(
        "acquire c1; pause c1; tick; tick; tick; acquire c2; resume c1; write c1",
    )
    .unwrap();
    let played = replay("renew", Fault::Pause, &steps);
    assert_eq!(
        assert_agrees(&played, PropertyName::LossTold).verdict,
        Verdict::Holds
    );
    let write = played.history.events.last().expect("the write");
    assert_eq!(write.outcome, Some(Outcome::Lost));
}
