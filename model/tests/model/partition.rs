//! A network partition under Sentinel, asserted on what the checker
//! computed: the old primary, cut off with some clients, keeps granting
//! until it is demoted; the far side's Sentinels promote a replica that
//! may lack the lock. `token` and `fenced` break; `WAIT 1` holds with one
//! replica (the old primary has none left to acknowledge) and not with two;
//! `min-replicas-to-write` closes the old primary's window only from its
//! lag on, and changes no verdict.

use locklab_model::matrix::default_scenarios;
use locklab_model::path::follow;
use locklab_model::step::parse_schedule;
use locklab_model::{
    check, CheckOptions, Fault, Faults, Outcome, PropertyName, Scenario, ScenarioOutcome, Step,
    Verdict,
};

use crate::support::p;

fn partition() -> Faults {
    Faults::one(Fault::Partition)
}

fn scenario(protocol: &str, replicas: u64, min_replicas: u64) -> Scenario {
    Scenario::new(p(protocol), partition())
        .replicated(replicas)
        .and_then(|s| s.min_replicas(min_replicas))
        .expect("a partition scenario")
}

fn run(s: Scenario) -> ScenarioOutcome {
    let o = check(s, &CheckOptions::default(), &|_| {});
    assert!(o.complete, "{s:?}");
    o
}

fn schedule(text: &str) -> Vec<Step> {
    parse_schedule(text).expect("a schedule")
}

fn verdict(o: &ScenarioOutcome, property: PropertyName) -> Verdict {
    o.verdict(property).expect("a verdict").verdict
}

fn counterexample(o: &ScenarioOutcome, property: PropertyName) -> Vec<Step> {
    let v = o.verdict(property).expect("a verdict");
    assert_eq!(v.shortest, Some(true), "{property}");
    v.counterexample
        .as_ref()
        .expect("a counterexample")
        .iter()
        .map(|s| s.step)
        .collect()
}

#[test]
fn the_failover_protocols_are_partitioned_with_one_and_two_replicas_and_min_replicas() {
    let rows = default_scenarios(&[p("token"), p("fenced"), p("token-wait"), p("naive")]);
    for protocol in ["token", "fenced", "token-wait"] {
        let shapes: Vec<(u8, u8)> = rows
            .iter()
            .filter(|s| s.protocol == p(protocol) && s.faults == partition())
            .map(|s| (s.replicas, s.min_replicas_to_write))
            .collect();
        assert_eq!(shapes, [(1, 0), (1, 1), (2, 0), (2, 1)], "{protocol}");
    }
    assert!(!rows
        .iter()
        .any(|s| s.protocol == p("naive") && s.faults == partition()));
}

#[test]
fn a_partition_of_a_single_server_is_refused() {
    let token = Scenario::new(p("token"), partition());
    assert_eq!(token.replicas, 1, "a partition gets a replica to promote");
    let err = token.replicated(0).unwrap_err().to_string();
    assert!(
        err.contains("a single server has no Sentinel to partition it from"),
        "{err}"
    );
}

#[test]
fn token_and_fenced_lose_the_lock_to_the_far_sides_promotion() {
    for protocol in ["token", "fenced"] {
        for (replicas, min) in [(1, 0), (1, 1), (2, 0), (2, 1)] {
            let o = run(scenario(protocol, replicas, min));
            let at = format!("{protocol} +{replicas} min {min}");
            assert_eq!(
                verdict(&o, PropertyName::MutualExclusion),
                Verdict::Violated,
                "{at}"
            );
            assert_eq!(
                counterexample(&o, PropertyName::MutualExclusion),
                schedule("acquire c1; partition n1; failover n2; acquire c2"),
                "{at}"
            );
            assert_eq!(
                verdict(&o, PropertyName::FencedResource),
                Verdict::Violated,
                "{at}"
            );
            assert_eq!(
                counterexample(&o, PropertyName::FencedResource),
                schedule("acquire c1; partition n1; failover n2; acquire c2; write c2; write c1"),
                "{at}"
            );
            for claimed in [
                PropertyName::NoForeignRelease,
                PropertyName::EventuallyAcquired,
            ] {
                let v = o.verdict(claimed).expect("a verdict");
                assert!(v.claimed, "{at} {claimed}");
                assert_eq!(v.verdict, Verdict::Holds, "{at} {claimed}");
            }
        }
    }
}

#[test]
fn the_old_primary_grants_on_its_side_until_it_is_demoted() {
    let s = scenario("token", 1, 0);
    let walked = follow(
        s,
        &schedule("partition n1+c1; failover n2; acquire c1; acquire c2; heal"),
    )
    .expect("a path the model allows");
    let says = |i: usize| walked.steps[i].told.says.clone();
    assert!(
        says(0).contains(
            "the primary n1 with c1 on one side; n2, c2, c3 and a majority of the Sentinels on the other"
        ),
        "{}",
        says(0)
    );
    assert!(
        says(1).contains("the Sentinels cannot reach n1, which goes on as a primary"),
        "{}",
        says(1)
    );
    assert!(
        says(2).contains("(on the old primary n1, across the cut)"),
        "{}",
        says(2)
    );
    assert!(matches!(
        walked.steps[2].expect,
        Some(Outcome::Granted { .. })
    ));
    assert!(matches!(
        walked.steps[3].expect,
        Some(Outcome::Granted { .. })
    ));
    assert_eq!(walked.steps[3].told.holders, ["c1", "c2"]);
    assert_eq!(
        walked.verdict(PropertyName::MutualExclusion),
        Verdict::Violated
    );
    // The heal demotes n1: c1's key, which only it had, is gone.
    assert!(says(4).contains("Sentinel demotes the old primary n1, which resyncs from n2 and loses what only it had (c1's lock)"), "{}", says(4));
    // Before the heal the model shows both primaries' keys, after it one.
    assert_eq!(walked.steps[3].after.len(), 2);
    assert_eq!(walked.steps[4].after.len(), 1);
}

#[test]
fn min_replicas_to_write_closes_the_old_primarys_window_only_once_it_lags() {
    let s = scenario("token", 1, 1);
    // Refusing writes before the promotion, n1 grants nothing more.
    let refused = follow(
        s,
        &schedule("partition n1+c1; noreplicas n1; failover n2; acquire c1"),
    );
    assert!(
        refused.is_err(),
        "c1's SET is refused (NOREPLICAS): it waits"
    );
    let stalled = follow(s, &schedule("partition n1+c1; noreplicas n1")).expect("a path");
    assert!(stalled.steps[1]
        .told
        .says
        .contains("n1 has heard from fewer than 1 replica within min-replicas-max-lag"));
    // Within the lag it grants as any primary does.
    let window = follow(
        s,
        &schedule("partition n1+c1; failover n2; acquire c1; noreplicas n1; acquire c2"),
    )
    .expect("a path the model allows");
    assert_eq!(
        window.verdict(PropertyName::MutualExclusion),
        Verdict::Violated
    );
    // And a replica on the old primary's side keeps it taking writes.
    let r2 = scenario("token", 2, 1);
    assert!(
        follow(r2, &schedule("partition n1+n2+c1; noreplicas n1")).is_err(),
        "n1 still hears from n2"
    );
}

#[test]
fn wait_1_holds_across_a_partition_with_one_replica_and_not_with_two() {
    for min in [0, 1] {
        let o = run(scenario("token-wait", 1, min));
        for property in [
            PropertyName::MutualExclusion,
            PropertyName::NoForeignRelease,
            PropertyName::FencedResource,
            PropertyName::EventuallyAcquired,
        ] {
            assert_eq!(
                verdict(&o, property),
                Verdict::Holds,
                "min {min} {property}"
            );
        }
        let o = run(scenario("token-wait", 2, min));
        assert_eq!(
            verdict(&o, PropertyName::MutualExclusion),
            Verdict::Violated
        );
        assert_eq!(
            counterexample(&o, PropertyName::MutualExclusion),
            schedule("acquire c1; replicate n2; confirm c1; partition n1; failover n3; acquire c2; replicate n2; confirm c2"),
            "min {min}"
        );
    }
    // With one replica, a grant on the old primary cut off from it is
    // never confirmed: its WAIT counts nobody.
    let s = scenario("token-wait", 1, 0);
    let walked = follow(
        s,
        &schedule("partition n1+c1; failover n2; acquire c1; confirm c1"),
    )
    .expect("a path the model allows");
    assert_eq!(walked.steps[3].expect, Some(Outcome::Unacknowledged));
}

#[test]
fn two_replicas_split_with_the_old_primary_confirm_a_grant_on_each_side() {
    // n2 stays with n1: the old primary's WAIT 1 is answered there while
    // the far side's new primary n3 grants too (its WAIT after the heal,
    // once the replicas keep up).
    let s = scenario("token-wait", 2, 0);
    let walked = follow(
        s,
        &schedule(
            "partition n1+n2+c1; failover n3; acquire c1; replicate n2; confirm c1; acquire c2",
        ),
    )
    .expect("a path the model allows");
    assert_eq!(walked.steps[4].told.reply.as_deref(), Some("1"));
    assert_eq!(walked.steps[4].told.holders, ["c1"]);
    assert_eq!(walked.steps[5].expect, Some(Outcome::Pending));
}

/// The partition rows' state counts (3 clients × 1 round, lease 3,
/// symmetry on, every property checked), pinned as `state_counts.rs` pins
/// the rest.
#[test]
fn partition_state_counts() {
    for (protocol, replicas, min, states) in [
        ("token", 1, 0, 2307),
        ("token", 1, 1, 3978),
        ("token", 2, 0, 11753),
        ("token", 2, 1, 15726),
        ("fenced", 1, 0, 3249),
        ("fenced", 1, 1, 5646),
        ("fenced", 2, 0, 19078),
        ("fenced", 2, 1, 25288),
        ("token-wait", 1, 0, 1242),
        ("token-wait", 1, 1, 1979),
        ("token-wait", 2, 0, 13542),
        ("token-wait", 2, 1, 19199),
    ] {
        assert_eq!(
            run(scenario(protocol, replicas, min)).unique_states,
            states,
            "{protocol} +{replicas} min {min}"
        );
    }
}
