//! Failover on the lab's real Sentinel set, end to end: the model's
//! counterexamples replayed (a lock lost to a replica that lacked it, the
//! fencing counter going back, `WAIT 1` enough with one replica and not
//! with two) and agreeing with it; chaos with a failover in its budget
//! agreeing on every cell; `--redis` with a Sentinel URL of a set the test
//! starts; clients that follow a failover; and no `redis-server` or
//! `redis-sentinel` left after a chaos run, however it ends.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use locklab::client::connect_any;
use locklab::history::{self, Event, Op};
use locklab::replay::{play, Clients, KeySpace, Played, Stage};
use locklab::sentinel::{SentinelOptions, SentinelSet};
use locklab::server::RedisServer;
use locklab_impl::{
    redis, AcquireRequest, Attempt, ConnectOptions, LockKey, ReleaseOutcome, TokenLock,
    TokenWaitLock, Ttl,
};
use locklab_model::path::script;
use locklab_model::step::parse_schedule;
use locklab_model::{
    check, CheckOptions, Fault, Faults, NodeId, Outcome, PropertyName, Scenario, Step, Verdict,
};
use nix::sys::signal::Signal;

use crate::support::{assert_gone, descendants, locklab, locklab_child, p, proc_stat};

/// Bounds a set's start and each failover; generous, for a loaded machine.
const SET_GUARD: Duration = Duration::from_secs(90);

fn failover() -> Faults {
    Faults::one(Fault::Failover)
}

fn scenario(protocol: &str, faults: Faults, replicas: u64) -> Scenario {
    Scenario::new(p(protocol), faults)
        .replicated(replicas)
        .expect("1 or 2 replicas")
}

/// The checker's shortest counterexample of `property` in `s`.
fn counterexample(s: Scenario, property: PropertyName) -> Vec<Step> {
    let o = check(s, &CheckOptions::default(), &|_| {});
    o.verdict(property)
        .and_then(|v| v.counterexample.as_ref())
        .expect("a counterexample")
        .iter()
        .map(|s| s.step)
        .collect()
}

/// Plays `steps` in `s` on the lab's own Sentinel set (the resource on a
/// server of its own), with the clients in the test's process.
fn replay(s: Scenario, steps: &[Step]) -> Played {
    let resource = RedisServer::start().expect("redis-server");
    let stage = Stage {
        url: resource.url(),
        nodes: Vec::new(),
        embedded: true,
        // Long enough that a loaded machine keeps up (a replay that fails
        // over plays at the lab's failover tick, longer still).
        tick: Duration::from_millis(500),
        connect: ConnectOptions::default(),
        keys: KeySpace::new(),
        clients: Clients::InProcess,
        lock: None,
        sentinels: Default::default(),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let played = runtime
        .block_on(play(&stage, 0, script(s, steps)))
        .unwrap_or_else(|e| panic!("replay failed: {e}\n{}", e.log_tail().unwrap_or_default()));
    stage.sentinels.clear();
    played
}

/// A replay that is judged (on time) and did what the model said at every
/// step.
fn assert_played_as_modelled(played: &Played) {
    assert_eq!(
        played.standing.divergence(),
        None,
        "{:#?}",
        played.history.events
    );
    assert_eq!(
        played.standing.overrun(),
        None,
        "the machine did not keep up"
    );
}

fn verdict(played: &Played, property: PropertyName) -> Verdict {
    history::finding(&played.history, property).verdict
}

fn find(events: &[Event], what: impl Fn(&Event) -> bool) -> usize {
    events
        .iter()
        .position(what)
        .unwrap_or_else(|| panic!("no such event in {events:#?}"))
}

fn by(e: &Event, client: &str, op: &str) -> bool {
    e.client == client && e.op.name() == op
}

fn failover_event(e: &Event) -> bool {
    e.op == Op::Failover
}

#[test]
fn a_failover_to_a_replica_that_lacked_the_key_loses_tokens_lock_on_real_sentinel() {
    let s = scenario("token", failover(), 1);
    let steps = counterexample(s, PropertyName::MutualExclusion);
    assert_eq!(
        steps,
        parse_schedule("acquire c1; failover n2; acquire c2").unwrap()
    );
    let played = replay(s, &steps);
    assert_played_as_modelled(&played);
    assert_eq!(
        played.script.verdict(PropertyName::MutualExclusion),
        Verdict::Violated
    );
    assert_eq!(
        verdict(&played, PropertyName::MutualExclusion),
        Verdict::Violated
    );

    let ev = &played.history.events;
    let c1 = find(ev, |e| by(e, "c1", "acquire"));
    assert!(ev[c1].gives_belief());
    let promoted = find(ev, failover_event);
    assert_eq!(ev[promoted].node, Some(NodeId(1)));
    // The lab saw no key on the new primary: the replica never had it.
    let gone = find(ev, |e| e.op == Op::Observed && e.present == Some(false));
    assert_eq!(ev[gone].node, Some(NodeId(1)));
    let c2 = find(ev, |e| by(e, "c2", "acquire"));
    assert!(c1 < promoted && promoted < gone && gone < c2);
    assert!(ev[c2].gives_belief(), "c2 is granted while c1 still holds");
}

#[test]
fn the_fencing_counter_goes_back_on_a_real_failover() {
    let s = scenario("fenced", failover(), 1);
    let steps = counterexample(s, PropertyName::FencedResource);
    let played = replay(s, &steps);
    assert_played_as_modelled(&played);
    assert_eq!(
        verdict(&played, PropertyName::FencedResource),
        Verdict::Violated
    );
    let ev = &played.history.events;
    let fence = |client| {
        ev[find(ev, |e| by(e, client, "acquire"))]
            .outcome
            .as_ref()
            .and_then(Outcome::fence)
    };
    assert_eq!(fence("c1"), Some(1));
    assert_eq!(fence("c2"), Some(1), "the promoted replica's counter was 0");
    let c1_write = find(ev, |e| by(e, "c1", "write"));
    assert_eq!(ev[c1_write].outcome, Some(Outcome::Accepted));
}

#[test]
fn wait_1_keeps_the_lock_through_a_failover_with_one_replica() {
    let s = scenario("token-wait", failover(), 1);
    let steps = parse_schedule(
        "acquire c1; replicate n2; confirm c1; failover n2; acquire c2; write c1; release c1; acquire c2; confirm c2",
    )
    .unwrap();
    let played = replay(s, &steps);
    assert_played_as_modelled(&played);
    assert_eq!(
        played.script.verdict(PropertyName::MutualExclusion),
        Verdict::Holds
    );
    assert_eq!(
        verdict(&played, PropertyName::MutualExclusion),
        Verdict::Holds
    );
    let ev = &played.history.events;
    // On the new primary, c1's key is there: c2 waits, then gets the lock
    // c1 released.
    let busy = find(ev, |e| by(e, "c2", "acquire"));
    assert_eq!(ev[busy].outcome, Some(Outcome::Busy));
    let released = find(ev, |e| by(e, "c1", "release"));
    assert_eq!(ev[released].outcome, Some(Outcome::Released));
    let confirmed = find(ev, |e| by(e, "c2", "confirm"));
    assert!(ev[confirmed].gives_belief());
}

#[test]
fn wait_1_is_not_enough_with_two_replicas_on_real_sentinel() {
    let s = scenario("token-wait", failover(), 2);
    let steps = counterexample(s, PropertyName::MutualExclusion);
    let played = replay(s, &steps);
    assert_played_as_modelled(&played);
    assert_eq!(
        verdict(&played, PropertyName::MutualExclusion),
        Verdict::Violated
    );
    let ev = &played.history.events;
    // c1's WAIT counted n2; Sentinel promoted n3, which never caught up.
    let caught_up = find(ev, |e| e.op == Op::Replicate);
    let promoted = find(ev, failover_event);
    assert_ne!(ev[caught_up].node, ev[promoted].node);
    let c1 = find(ev, |e| by(e, "c1", "confirm"));
    assert!(ev[c1].gives_belief() && c1 < promoted);
    let c2 = find(ev, |e| by(e, "c2", "confirm"));
    assert!(ev[c2].gives_belief() && promoted < c2);
}

#[test]
fn an_unacknowledged_grant_is_released_and_a_wait_across_a_failover_confirms_nothing() {
    let none = scenario("token-wait", Faults::NONE, 1);
    let played = replay(
        none,
        &parse_schedule("acquire c1; confirm c1; acquire c2").unwrap(),
    );
    assert_played_as_modelled(&played);
    let outcomes: Vec<Option<Outcome>> = played
        .history
        .events
        .iter()
        .filter(|e| matches!(e.op, Op::Call(_)))
        .map(|e| e.outcome.clone())
        .collect();
    assert_eq!(
        outcomes,
        [
            Some(Outcome::Pending),
            Some(Outcome::Unacknowledged),
            Some(Outcome::Pending)
        ]
    );

    // n2 has c1's grant, but c1's WAIT would run on the demoted primary's
    // connection: it is refused, and c1 releases the key on the new one.
    let s = scenario("token-wait", failover(), 1);
    let steps =
        parse_schedule("acquire c1; replicate n2; failover n2; confirm c1; acquire c2; confirm c2")
            .unwrap();
    let played = replay(s, &steps);
    assert_played_as_modelled(&played);
    let ev = &played.history.events;
    let c1 = find(ev, |e| by(e, "c1", "confirm"));
    assert_eq!(ev[c1].outcome, Some(Outcome::Unacknowledged));
    let c2 = find(ev, |e| by(e, "c2", "confirm"));
    assert!(ev[c2].gives_belief());
}

#[test]
fn min_replicas_to_write_does_not_keep_the_lock_through_a_failover() {
    let s = scenario("token", failover(), 1)
        .min_replicas(1)
        .expect("one replica");
    let steps = counterexample(s, PropertyName::MutualExclusion);
    let played = replay(s, &steps);
    assert_played_as_modelled(&played);
    assert_eq!(
        verdict(&played, PropertyName::MutualExclusion),
        Verdict::Violated
    );
}

#[test]
fn reproduce_shows_the_failover_rows_on_real_sentinel_and_agrees() {
    let run = locklab(&["reproduce", "--protocol", "token-wait", "--json"]);
    assert_eq!(
        run.code, 0,
        "stderr: {}\nstdout: {}",
        run.stderr, run.stdout
    );
    let json = run.json();
    assert_eq!(json["disagreed"], 0);
    let rows = json["replays"].as_array().expect("replays");
    let two = rows
        .iter()
        .find(|r| r["found_in"] == "token-wait +2 replicas" && r["property"] == "mutual-exclusion")
        .expect("the two-replica failover row");
    assert_eq!(
        (two["model"].as_str(), two["real"].as_str()),
        (Some("violated"), Some("violated"))
    );
}

fn assert_cells_agree(json: &serde_json::Value) {
    let runs = json["runs"].as_array().expect("runs");
    assert!(!runs.is_empty());
    for r in runs {
        assert_eq!(
            r["agree"],
            true,
            "{}",
            serde_json::to_string_pretty(r).unwrap_or_default()
        );
        assert!(r["replicas"].as_u64() >= Some(1), "{r}");
    }
    assert_eq!(json["disagreements"], 0);
}

#[test]
fn chaos_with_a_failover_in_its_budget_agrees_on_every_cell() {
    for replicas in ["1", "2"] {
        let run = locklab(&[
            "chaos",
            "--json",
            "--faults",
            "failover",
            "--replicas",
            replicas,
            "--schedules",
            "2",
            "--max-len",
            "16",
        ]);
        assert_eq!(run.code, 0, "{replicas} replicas: {}", run.stderr);
        let json = run.json();
        assert_cells_agree(&json);
        let cells: Vec<&str> = json["runs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["protocol"].as_str())
            .collect();
        // Every lock whose declaration takes a failover, in table order.
        let takes_failover: Vec<&str> = locklab_model::Protocol::all()
            .iter()
            .filter(|p| p.family() == locklab_model::Family::Lease)
            .filter(|p| p.faults().contains(&locklab_model::Fault::Failover))
            .map(|p| p.name())
            .collect();
        assert_eq!(cells, takes_failover, "every lock that takes a failover");
        assert!(cells.contains(&"token") && cells.contains(&"renew"));
    }
}

async fn start_set(replicas: usize) -> SentinelSet {
    SentinelSet::start(&SentinelOptions {
        replicas,
        ready_timeout: SET_GUARD,
        failover_deadline: SET_GUARD,
        ..SentinelOptions::default()
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "start a Sentinel set: {e}\n{}",
            e.log_tail().unwrap_or_default()
        )
    })
}

#[test]
fn the_redis_flag_takes_a_sentinel_url() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let set = runtime.block_on(start_set(1));
    let url = set.url();

    // Schedules without a failover play on the service's primary; those
    // that hold a replica or fail over are left to the lab's own set.
    let run = locklab(&[
        "reproduce",
        "--protocol",
        "token",
        "--redis",
        &url,
        "--json",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let json = run.json();
    assert_eq!(json["disagreed"], 0);
    assert!(json["agreed"].as_u64() > Some(0));
    let skipped = json["skipped"].to_string();
    assert!(skipped.contains("own Sentinel set"), "{skipped}");

    let run = locklab(&[
        "chaos",
        "--protocol",
        "token",
        "--faults",
        "pause",
        "--schedules",
        "5",
        "--redis",
        &url,
        "--json",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(run.json()["disagreements"], 0);

    // The bench, on the same primary: token-wait's WAIT has a replica.
    let run = locklab(&[
        "bench",
        "--quick",
        "--json",
        "--protocol",
        "token",
        "--protocol",
        "token-wait",
        "--wait",
        "poll",
        "--peer",
        "none",
        "--clients",
        "1",
        "--redis",
        &url,
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let json = run.json();
    let rows = json["uncontended"].as_array().expect("uncontended rows");
    assert_eq!(rows.len(), 2, "{json}");
    assert!(
        rows.iter().all(|r| r["grants"].as_u64() > Some(0)),
        "{json}"
    );

    // The lab keeps its keys to itself there too.
    let left: Vec<String> = runtime.block_on(async {
        let conn = connect_any(&url, &ConnectOptions::default()).await.unwrap();
        conn.query(redis::cmd("KEYS").arg("locklab:*"))
            .await
            .unwrap()
    });
    assert_eq!(left, Vec::<String>::new());

    // A failover is not played on a deployment the lab does not own.
    let run = locklab(&[
        "chaos",
        "--protocol",
        "token",
        "--faults",
        "failover",
        "--redis",
        &url,
    ]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stderr.contains("own Sentinel set"), "{}", run.stderr);
}

fn addr_of(url: &str) -> SocketAddr {
    let rest = url.trim_start_matches("redis://");
    rest.split('/')
        .next()
        .unwrap_or_default()
        .parse()
        .expect("host:port")
}

#[tokio::test]
async fn a_lock_on_the_sentinel_url_follows_a_failover() {
    let mut set = start_set(1).await;
    let conn = connect_any(&set.url(), &ConnectOptions::default())
        .await
        .unwrap();
    let lock = TokenLock::new(
        conn.clone(),
        LockKey::new("locklab:follow").unwrap(),
        Ttl::from_millis(30_000).unwrap(),
    );
    let grant = lock.acquire(Duration::ZERO).await.unwrap();
    assert_eq!(
        lock.release(&grant).await.unwrap(),
        ReleaseOutcome::Released
    );

    set.failover_to_at_once(1)
        .await
        .unwrap_or_else(|e| panic!("failover: {e}\n{}", e.log_tail().unwrap_or_default()));
    assert!(conn.follow().await.unwrap(), "the primary moved");
    let grant = lock.acquire(Duration::ZERO).await.unwrap();
    // The key is on node 1, the new primary.
    let new_primary = connect_any(&set.node(1).unwrap().url(), &ConnectOptions::default())
        .await
        .unwrap();
    let value: Option<String> = new_primary
        .query(redis::cmd("GET").arg("locklab:follow"))
        .await
        .unwrap();
    assert_eq!(value, grant.token().map(|t| t.to_string()));
    assert_eq!(addr_of(&set.primary_url()), set.node(1).unwrap().addr());
}

#[tokio::test]
async fn token_wait_counts_only_a_grant_a_replica_has() {
    let mut set = start_set(1).await;
    let conn = connect_any(&set.url(), &ConnectOptions::default())
        .await
        .unwrap();
    let key = "locklab:token-wait";
    let lock = TokenWaitLock::new(
        conn.clone(),
        LockKey::new(key).unwrap(),
        Ttl::from_millis(3_000).unwrap(),
    );
    // The replica lags: the grant is refused, and released.
    set.lag(1).unwrap();
    match lock.try_acquire().await.unwrap() {
        Attempt::Unacknowledged(u) => {
            assert_eq!((u.acked, u.wanted), (Some(0), 1));
            assert_eq!(u.released, Some(ReleaseOutcome::Released));
        }
        other => panic!("{other:?}"),
    }
    let exists: bool = conn.query(redis::cmd("EXISTS").arg(key)).await.unwrap();
    assert!(!exists, "the unacknowledged grant was released");
    // It catches up and follows: the next grant is acknowledged.
    set.catch_up(1).await.unwrap();
    let grant = match lock.try_acquire().await.unwrap() {
        Attempt::Granted(g) => g,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        lock.release(&grant).await.unwrap(),
        ReleaseOutcome::Released
    );

    // A WAIT on another connection than the SET's confirms nothing.
    let pending = lock
        .try_grant(&AcquireRequest::fresh())
        .await
        .unwrap()
        .expect("free");
    set.failover_to_at_once(1)
        .await
        .unwrap_or_else(|e| panic!("failover: {e}\n{}", e.log_tail().unwrap_or_default()));
    assert!(conn.follow().await.unwrap());
    match lock.confirm(pending).await.unwrap() {
        Attempt::Unacknowledged(u) => assert_eq!(u.acked, None),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------
// No process outlives a chaos run on the Sentinel set.

/// Starts `locklab` with `args`, waits until it runs `redis-sentinel`s,
/// and returns it with every redis process it has then. (The lint cannot
/// see that the caller waits for the child it is handed.)
#[allow(clippy::zombie_processes)]
fn with_sentinels(args: &[&str]) -> (std::process::Child, Vec<(u32, String)>) {
    let mut lab = locklab_child(args);
    let deadline = Instant::now() + SET_GUARD;
    loop {
        let procs: Vec<(u32, String)> = descendants(lab.id())
            .into_iter()
            .filter_map(|pid| proc_stat(pid).map(|p| (pid, p.comm)))
            .filter(|(_, comm)| comm.starts_with("redis-"))
            .collect();
        if procs.iter().any(|(_, c)| c.starts_with("redis-sentinel")) {
            return (lab, procs);
        }
        if Instant::now() >= deadline {
            let _ = lab.kill();
            let _ = lab.wait();
            panic!("the lab started no redis-sentinel");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

const LONG_CHAOS: [&str; 9] = [
    "chaos",
    "--protocol",
    "token",
    "--faults",
    "failover",
    "--schedules",
    "100000",
    "--sentinel-schedules",
    "100000",
];

#[test]
fn no_redis_process_outlives_a_chaos_run_killed_or_interrupted() {
    for signal in [Signal::SIGKILL, Signal::SIGINT] {
        let (mut lab, procs) = with_sentinels(&LONG_CHAOS);
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(lab.id() as i32), signal)
            .expect("signal the lab");
        let _ = lab.wait();
        for (pid, comm) in procs {
            assert_gone(pid, &comm, &format!("after {signal:?} of the lab"));
        }
    }
}

#[test]
fn no_redis_process_outlives_a_chaos_run_that_ends() {
    let (mut lab, procs) = with_sentinels(&[
        "chaos",
        "--protocol",
        "token",
        "--faults",
        "failover",
        "--schedules",
        "1",
    ]);
    let status = lab.wait().expect("the lab ends");
    assert!(status.code().is_some(), "{status:?}");
    for (pid, comm) in procs {
        assert_gone(pid, &comm, "after the lab ended");
    }
}
