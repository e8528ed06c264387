//! A primary with replicas restarted by its supervisor before Sentinel
//! notices, asserted on what the checker computed: without persistence it
//! comes back empty and its replica resyncs to nothing, so `WAIT 1` keeps
//! nothing; with `appendfsync everysec` what was not fsynced is lost the
//! same way; with `appendfsync always` the lock survives.

use locklab_model::matrix::default_scenarios;
use locklab_model::path::follow;
use locklab_model::step::parse_schedule;
use locklab_model::{
    check, CheckOptions, Fault, Faults, Outcome, Persistence, PropertyName, Scenario,
    ScenarioOutcome, Step, Verdict,
};

use crate::support::p;

fn restart() -> Faults {
    Faults::one(Fault::Restart)
}

fn scenario(protocol: &str, persistence: Persistence) -> Scenario {
    Scenario::new(p(protocol), restart())
        .replicated(1)
        .expect("one replica")
        .persisting(persistence)
}

fn run(s: Scenario) -> ScenarioOutcome {
    let o = check(s, &CheckOptions::default(), &|_| {});
    assert!(o.complete, "{s:?}");
    o
}

fn schedule(text: &str) -> Vec<Step> {
    parse_schedule(text).expect("a schedule")
}

#[test]
fn the_failover_protocols_restart_a_primary_with_a_replica_under_each_persistence() {
    let rows = default_scenarios(&[p("token"), p("fenced"), p("token-wait"), p("naive")]);
    let restarts = |protocol: &str| -> Vec<(u8, Persistence)> {
        rows.iter()
            .filter(|s| s.protocol == p(protocol) && s.faults == restart())
            .map(|s| (s.replicas, s.persistence))
            .collect()
    };
    use Persistence::{Always, Everysec, None};
    for protocol in ["token", "fenced"] {
        assert_eq!(
            restarts(protocol),
            [(0, None), (1, None), (1, Everysec), (1, Always)],
            "{protocol}"
        );
    }
    assert_eq!(
        restarts("token-wait"),
        [(1, None), (1, Everysec), (1, Always)]
    );
    // A protocol that never runs with replicas keeps its one restart row.
    assert_eq!(restarts("naive"), [(0, None)]);
}

#[test]
fn a_primary_restarted_empty_resyncs_its_replica_to_nothing_and_wait_1_keeps_nothing() {
    let o = run(scenario("token-wait", Persistence::None));
    let me = o.verdict(PropertyName::MutualExclusion).expect("a verdict");
    assert_eq!(me.verdict, Verdict::Violated);
    assert!(
        !me.claimed,
        "token-wait claims mutual exclusion under a crash only"
    );
    assert_eq!(me.shortest, Some(true));
    let told = me.counterexample.as_ref().expect("a counterexample");
    let steps: Vec<Step> = told.iter().map(|s| s.step).collect();
    assert_eq!(
        steps,
        schedule(
            "acquire c1; replicate n2; confirm c1; restart; acquire c2; replicate n2; confirm c2"
        )
    );
    // c1's grant was acknowledged by the one replica: WAIT 1 returned 1.
    assert_eq!(told[2].reply.as_deref(), Some("1"));
    assert_eq!(told[2].holders, ["c1"]);
    // The restart takes the key from the primary and, by the resync, from
    // the replica: nothing is left anywhere, and c1 still believes.
    let says = &told[3].says;
    assert!(says.contains("before Sentinel notices"), "{says}");
    assert!(says.contains("c1's lock gone with it"), "{says}");
    assert!(
        says.contains("its replicas resync to what it has (no lock)"),
        "{says}"
    );
    assert!(told[3].key.is_none());
    assert_eq!(told[3].holders, ["c1"]);
    assert!(matches!(told[6].outcome, Some(Outcome::Granted { .. })));
    assert_eq!(told[6].holders, ["c1", "c2"]);
    // No stale release follows: compare-and-delete still guards it.
    assert_eq!(
        o.verdict(PropertyName::NoForeignRelease).map(|v| v.verdict),
        Some(Verdict::Holds)
    );
}

#[test]
fn everysec_loses_the_lock_written_since_the_last_fsync_and_keeps_one_fsynced() {
    let s = scenario("token-wait", Persistence::Everysec);
    let o = run(s);
    let me = o.verdict(PropertyName::MutualExclusion).expect("a verdict");
    assert_eq!(me.verdict, Verdict::Violated);
    let told = me.counterexample.as_ref().expect("a counterexample");
    assert_eq!(told[3].step, schedule("restart")[0]);
    assert!(
        told[3].says.contains("not fsynced since: c1's lock gone"),
        "{}",
        told[3].says
    );
    // Fsynced before the restart, the lock comes back, and c2 waits.
    let kept = follow(
        s,
        &schedule("acquire c1; replicate n2; confirm c1; fsync; restart"),
    )
    .expect("a path the model allows");
    let restarted = kept.steps.last().expect("steps");
    assert!(
        restarted.told.says.contains("back with c1's lock"),
        "{}",
        restarted.told.says
    );
    assert_eq!(restarted.after.len(), 1, "c1's key is on the primary");
    assert!(
        follow(
            s,
            &schedule("acquire c1; replicate n2; confirm c1; fsync; restart; acquire c2")
        )
        .is_err(),
        "c2 waits: the primary has c1's lock again"
    );
}

#[test]
fn always_keeps_the_lock_and_the_fencing_counter_through_a_restart() {
    for protocol in ["token", "fenced", "token-wait"] {
        let o = run(scenario(protocol, Persistence::Always));
        for property in [
            PropertyName::MutualExclusion,
            PropertyName::NoForeignRelease,
            PropertyName::FencedResource,
            PropertyName::EventuallyAcquired,
        ] {
            assert_eq!(
                o.verdict(property).map(|v| v.verdict),
                Some(Verdict::Holds),
                "{protocol} {property}"
            );
        }
    }
}

#[test]
fn a_restart_closes_the_connection_of_a_pending_wait() {
    let s = scenario("token-wait", Persistence::Always);
    let walked = follow(
        s,
        &schedule("acquire c1; replicate n2; restart; confirm c1"),
    )
    .expect("a path the model allows");
    assert!(walked.steps[2]
        .told
        .says
        .contains("c1's connection closed, so its WAIT confirms nothing"));
    let wait = &walked.steps[3];
    assert_eq!(wait.expect, Some(Outcome::Unacknowledged));
    assert_eq!(wait.told.reply.as_deref(), Some("connection lost"));
    assert!(wait.after.is_empty(), "c1 released the grant it kept");
}

/// The new rows' state counts, pinned as `state_counts.rs` pins the rest
/// (3 clients × 1 round, lease 3, symmetry on, every property checked).
/// Without persistence and without a failover in the budget the replica's
/// copy is not state, so `token` and `fenced` with a replica count what
/// they count without one.
#[test]
fn restart_state_counts() {
    use Persistence::{Always, Everysec, None};
    for (protocol, persistence, states) in [
        ("token", None, 111),
        ("token", Everysec, 216),
        ("token", Always, 43),
        ("fenced", None, 116),
        ("fenced", Everysec, 299),
        ("fenced", Always, 43),
        ("token-wait", None, 244),
        ("token-wait", Everysec, 810),
        ("token-wait", Always, 89),
    ] {
        assert_eq!(
            run(scenario(protocol, persistence)).unique_states,
            states,
            "{protocol} {persistence}"
        );
    }
}
