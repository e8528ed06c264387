//! Replays on a real `redis-server`: the model's counterexamples happen on
//! Redis, step for step, and the fixes hold under the same schedule.

use std::time::Duration;

use locklab::history::{self, Event, Op};
use locklab::replay::{play, Clients, KeySpace, Played, Stage};
use locklab::server::RedisServer;
use locklab_impl::ConnectOptions;
use locklab_model::path::script;
use locklab_model::{
    check, CheckOptions, ClientId, ClientOp, Fault, Faults, Outcome, PropertyName, Protocol, Reply,
    Scenario, Step, Verdict,
};

use crate::support::{locklab, p};

/// The counterexample the checker finds for `property` of `protocol` under
/// `faults`, with what it leads to.
fn schedule(protocol: Protocol, faults: Faults, property: PropertyName) -> Vec<Step> {
    schedule_in(Scenario::new(protocol, faults), property)
}

/// The same, in a given scenario.
fn schedule_in(scenario: Scenario, property: PropertyName) -> Vec<Step> {
    let o = check(scenario, &CheckOptions::default(), &|_| {});
    let v = o.verdict(property).expect("a verdict");
    let mut steps: Vec<Step> = v
        .counterexample
        .as_ref()
        .expect("a counterexample")
        .iter()
        .map(|s| s.step)
        .collect();
    steps.extend(v.aftermath.iter().flatten().map(|s| s.step));
    steps
}

fn replay(server: &RedisServer, protocol: Protocol, faults: Faults, steps: &[Step]) -> Played {
    replay_in(server, Scenario::new(protocol, faults), steps)
}

fn replay_in(server: &RedisServer, scenario: Scenario, steps: &[Step]) -> Played {
    let stage = Stage {
        url: server.url(),
        nodes: Vec::new(),
        embedded: true,
        tick: Duration::from_millis(50),
        connect: ConnectOptions::default(),
        keys: KeySpace::new(),
        clients: Clients::InProcess,
        lock: None,
        sentinels: Default::default(),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime
        .block_on(play(&stage, 0, script(scenario, steps)))
        .unwrap_or_else(|e| panic!("replay failed: {e}\nredis log:\n{}", server.log_tail(20)))
}

fn find(events: &[Event], what: impl Fn(&Event) -> bool) -> usize {
    events
        .iter()
        .position(what)
        .unwrap_or_else(|| panic!("no such event in {events:#?}"))
}

fn is(e: &Event, client: &str, op: &str) -> bool {
    e.client == client && e.op.name() == op
}

fn pause() -> Faults {
    Faults::one(Fault::Pause)
}

#[test]
fn the_articles_unsafe_release_happens_on_redis() {
    let server = RedisServer::start().expect("redis-server");
    let steps = schedule(p("naive"), pause(), PropertyName::NoForeignRelease);
    let played = replay(&server, p("naive"), pause(), &steps);
    assert_eq!(played.standing.divergence(), None);
    let ev = &played.history.events;

    // c1 is granted, paused; Redis expires its key; c2 is granted.
    let c1_grant = find(ev, |e| is(e, "c1", "acquire"));
    assert!(ev[c1_grant].is_grant());
    let expired = find(ev, |e| e.op == Op::Observed && e.present == Some(false));
    let c2_grant = find(ev, |e| is(e, "c2", "acquire"));
    assert!(ev[c2_grant].is_grant());
    assert!(c1_grant < expired && expired < c2_grant);
    // c1's DEL removes a key — c2's: nobody else held it.
    let del = find(ev, |e| is(e, "c1", "release"));
    assert!(c2_grant < del);
    assert_eq!(ev[del].outcome, Some(Outcome::Deleted));
    // c3 gets in beside c2.
    let c3_grant = find(ev, |e| is(e, "c3", "acquire"));
    assert!(del < c3_grant && ev[c3_grant].is_grant());

    let nfr = history::finding(&played.history, PropertyName::NoForeignRelease);
    assert_eq!(nfr.verdict, Verdict::Violated);
    assert_eq!(nfr.events, [c2_grant, del]);
    let me = history::finding(&played.history, PropertyName::MutualExclusion);
    assert_eq!(me.verdict, Verdict::Violated);
    assert_eq!(me.events, [c1_grant, c2_grant, c3_grant]);
}

#[test]
fn naive_unchecked_lets_every_contender_hold_with_no_fault() {
    let server = RedisServer::start().expect("redis-server");
    let steps: Vec<Step> = (0..3)
        .map(|c| Step::now(ClientId(c), ClientOp::Acquire))
        .collect();
    let played = replay(&server, p("naive-unchecked"), Faults::NONE, &steps);
    assert_eq!(played.standing.divergence(), None);
    let acquires: Vec<(usize, Option<Outcome>)> = played
        .history
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.op.is_acquire())
        .map(|(i, e)| (i, e.outcome.clone()))
        .collect();
    let outcomes: Vec<&str> = acquires
        .iter()
        .map(|(_, o)| o.as_ref().map_or("none", Outcome::name))
        .collect();
    assert_eq!(outcomes, ["granted", "believed", "believed"]);
    let me = history::finding(&played.history, PropertyName::MutualExclusion);
    assert_eq!(me.verdict, Verdict::Violated);
    let indices: Vec<usize> = acquires.iter().map(|(i, _)| *i).collect();
    assert_eq!(me.events, indices);
}

#[test]
fn token_under_the_same_pause_releases_nothing_foreign_yet_two_believe() {
    let server = RedisServer::start().expect("redis-server");
    let steps = schedule(p("naive"), pause(), PropertyName::NoForeignRelease);
    let played = replay(&server, p("token"), pause(), &steps);
    assert_eq!(played.standing.divergence(), None);
    let ev = &played.history.events;
    let release = find(ev, |e| is(e, "c1", "release"));
    assert_eq!(ev[release].outcome, Some(Outcome::NotHeld));
    // c3, which got in beside c2 on the naive lock, waits here.
    let c3 = find(ev, |e| is(e, "c3", "acquire"));
    assert_eq!(ev[c3].outcome, Some(Outcome::Busy));
    assert_eq!(
        history::finding(&played.history, PropertyName::NoForeignRelease).verdict,
        Verdict::Holds
    );
    let me = history::finding(&played.history, PropertyName::MutualExclusion);
    assert_eq!(me.verdict, Verdict::Violated, "the model says so too");
    assert_eq!(
        me.says.as_deref().map(|s| s.contains("c1 and c2")),
        Some(true)
    );
}

#[test]
fn fenced_resource_refuses_the_stale_write() {
    let server = RedisServer::start().expect("redis-server");
    let steps = schedule(p("token"), pause(), PropertyName::FencedResource);
    let played = replay(&server, p("fenced"), pause(), &steps);
    assert_eq!(played.standing.divergence(), None);
    let ev = &played.history.events;
    let c2_write = find(ev, |e| is(e, "c2", "write"));
    let c1_write = find(ev, |e| is(e, "c1", "write"));
    assert!(c2_write < c1_write);
    assert_eq!(
        (ev[c2_write].fence, &ev[c2_write].outcome),
        (Some(2), &Some(Outcome::Accepted))
    );
    assert_eq!(
        (ev[c1_write].fence, &ev[c1_write].outcome),
        (Some(1), &Some(Outcome::Refused { highest: 2 }))
    );
    assert_eq!(
        history::finding(&played.history, PropertyName::FencedResource).verdict,
        Verdict::Holds
    );
    // And on the token lock, the same schedule lets the stale write in.
    let unfenced = replay(&server, p("token"), pause(), &steps);
    let fr = history::finding(&unfenced.history, PropertyName::FencedResource);
    assert_eq!(fr.verdict, Verdict::Violated);
}

#[test]
fn reproduce_agrees_with_the_model_on_every_counterexample() {
    // The single-instance locks: the quorum locks' replays (three masters
    // each) are `redlock.rs`'s.
    let mut args = vec!["reproduce", "--json", "--tick-ms", "50"];
    let lease: Vec<&str> = locklab_model::Protocol::all()
        .iter()
        .filter(|p| p.family() == locklab_model::Family::Lease)
        .map(|p| p.name())
        .collect();
    for name in &lease {
        args.extend(["--protocol", name]);
    }
    let run = locklab(&args);
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let json = run.json();
    let replays = json["replays"].as_array().expect("replays");
    assert!(replays.len() >= 29, "{} replays", replays.len());
    for r in replays {
        for field in ["protocol", "faults", "property", "model", "real", "agree"] {
            assert!(r.get(field).is_some(), "{field} missing in {r}");
        }
        assert_eq!(r["agree"], true, "{r}");
        assert_eq!(r["model"], r["real"], "{r}");
    }
    assert_eq!(json["disagreed"], 0);
    // The article's bug is among them, on naive, as the model said.
    assert!(replays.iter().any(|r| r["protocol"] == "naive"
        && r["property"] == "no-foreign-release"
        && r["real"] == "violated"));
    // And the same schedule on the token lock keeps the release safe.
    assert!(replays.iter().any(|r| r["protocol"] == "token"
        && r["schedule_from"] == "naive"
        && r["property"] == "no-foreign-release"
        && r["real"] == "holds"));
}

#[test]
fn an_unreachable_redis_is_one_line_and_exit_2() {
    let port = locklab::server::free_port().expect("a free port");
    let url = format!("redis://127.0.0.1:{port}/");
    let run = locklab(&["reproduce", "--protocol", "naive", "--redis", &url]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("cannot use Redis at"), "{}", run.stderr);

    for bad in ["redis//nope", "http://127.0.0.1:1/"] {
        let run = locklab(&["reproduce", "--redis", bad]);
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    }
    let run = locklab(&["reproduce", "--tick-ms", "0"]);
    assert_eq!(run.code, 2);
}

#[test]
fn a_users_redis_keeps_its_own_keys_password_and_db_number_included() {
    let server = RedisServer::start().expect("redis-server");
    let port = server.port();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let opts = ConnectOptions::default();
    // The user's server: a key of theirs in db 3, then a password.
    runtime.block_on(async {
        let conn = locklab_impl::connect(&format!("redis://127.0.0.1:{port}/3"), &opts)
            .await
            .expect("connect");
        let _: () = conn
            .query(redis::cmd("SET").arg("orders:42").arg("paid"))
            .await
            .expect("SET");
        let _: () = conn
            .query(
                redis::cmd("CONFIG")
                    .arg("SET")
                    .arg("requirepass")
                    .arg("s3cret"),
            )
            .await
            .expect("CONFIG SET");
    });
    let url = format!("redis://:s3cret@127.0.0.1:{port}/3");
    let run = locklab(&[
        "reproduce",
        "--protocol",
        "naive",
        "--redis",
        &url,
        "--json",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(run.json()["disagreed"], 0);
    runtime.block_on(async {
        let conn = locklab_impl::connect(&url, &opts).await.expect("connect");
        let value: Option<String> = conn
            .query(redis::cmd("GET").arg("orders:42"))
            .await
            .expect("GET");
        assert_eq!(value.as_deref(), Some("paid"));
        let size: u64 = conn.query(&redis::cmd("DBSIZE")).await.expect("DBSIZE");
        assert_eq!(size, 1, "the lab left keys of its own behind");
    });
    // Without the password: one line, exit 2.
    let denied = format!("redis://127.0.0.1:{port}/3");
    let run = locklab(&["reproduce", "--protocol", "naive", "--redis", &denied]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
}

#[test]
fn the_articles_re_entry_waits_for_itself_and_frees_the_lock_early_on_redis() {
    let server = RedisServer::start().expect("redis-server");
    let reentered = Scenario::new(p("naive"), Faults::NONE)
        .deep(2)
        .expect("depth 2");
    let steps = schedule_in(reentered, PropertyName::NoEarlyRelease);
    let played = replay_in(&server, reentered, &steps);
    assert_eq!(played.standing.divergence(), None);
    assert_eq!(played.standing.overrun(), None);
    let ev = &played.history.events;
    // c1's second SET NX is refused by its own key: it waits for itself.
    let refused = find(ev, |e| {
        is(e, "c1", "acquire") && e.outcome == Some(Outcome::Busy)
    });
    let wait = history::finding(&played.history, PropertyName::ReentryNoSelfWait);
    assert_eq!(wait.verdict, Verdict::Violated);
    assert_eq!(wait.events.last(), Some(&refused));
    // Its first DEL frees the lock while it still counts a level.
    let early = history::finding(&played.history, PropertyName::NoEarlyRelease);
    assert_eq!(early.verdict, Verdict::Violated, "{:#?}", played.history);
    let del = *early.events.last().expect("the release");
    assert_eq!(ev[del].outcome, Some(Outcome::Deleted));

    // The same schedule on the re-entrant lock: no self-wait, no early
    // release; the second acquire is a re-entry at count 2.
    let fixed = replay_in(&server, reentered.on(p("reentrant")), &steps);
    assert_eq!(fixed.standing.divergence(), None);
    for property in [
        PropertyName::ReentryNoSelfWait,
        PropertyName::NoEarlyRelease,
    ] {
        assert_eq!(
            history::finding(&fixed.history, property).verdict,
            Verdict::Holds,
            "{property}"
        );
    }
    assert!(fixed
        .history
        .events
        .iter()
        .any(|e| matches!(e.outcome, Some(Outcome::Granted { count: Some(2), .. }))));
}

#[test]
fn a_retried_acquire_leaks_a_level_on_redis_without_attempt_ids() {
    let server = RedisServer::start().expect("redis-server");
    let retry = Faults::one(Fault::Retry);
    let leaky = Scenario::new(p("reentrant-redisson"), retry);
    let steps = schedule_in(leaky, PropertyName::NoLeakedHold);
    assert_eq!(
        steps,
        [Step::Op {
            client: ClientId(0),
            op: ClientOp::Acquire,
            reply: Reply::Resent,
        }]
    );
    let played = replay_in(&server, leaky, &steps);
    assert_eq!(played.standing.divergence(), None);
    let leak = history::finding(&played.history, PropertyName::NoLeakedHold);
    assert_eq!(leak.verdict, Verdict::Violated);
    // The lost first run and the resent request are both in the history.
    let ops: Vec<String> = played
        .history
        .events
        .iter()
        .filter(|e| e.op.is_acquire())
        .map(|e| e.op.name())
        .collect();
    assert_eq!(ops, ["acquire-lost", "acquire-resent"]);
    // With attempt ids the resend is counted once.
    let fixed = replay_in(&server, leaky.on(p("reentrant")), &steps);
    assert_eq!(fixed.standing.divergence(), None);
    assert_eq!(
        history::finding(&fixed.history, PropertyName::NoLeakedHold).verdict,
        Verdict::Holds
    );
}
