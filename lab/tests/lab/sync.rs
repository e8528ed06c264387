//! The sync protocols on a real `redis-server`: every counterexample the
//! model finds happens on Redis step for step and breaks the same property
//! there, with the workers in the lab's process and as processes of their
//! own. (`reproduce.rs` plays the same schedules on the fixes.)

use std::time::Duration;

use locklab::history;
use locklab::replay::{play, Clients, KeySpace, Played, Stage};
use locklab::server::RedisServer;
use locklab_impl::ConnectOptions;
use locklab_model::path::script;
use locklab_model::{check, CheckOptions, Faults, PropertyName, Protocol, Scenario, Step, Verdict};

use crate::support::p;

fn counterexample(scenario: Scenario, property: PropertyName) -> Vec<Step> {
    let o = check(scenario, &CheckOptions::default(), &|_| {});
    o.verdict(property)
        .and_then(|v| v.counterexample.as_ref())
        .unwrap_or_else(|| panic!("{} has no counterexample of {property}", scenario.protocol))
        .iter()
        .map(|s| s.step)
        .collect()
}

fn replay(server: &RedisServer, scenario: Scenario, steps: &[Step], clients: Clients) -> Played {
    let stage = Stage {
        url: server.url(),
        nodes: Vec::new(),
        embedded: true,
        tick: Duration::from_millis(50),
        connect: ConnectOptions::default(),
        keys: KeySpace::new(),
        clients,
        lock: None,
        sentinels: Default::default(),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime
        .block_on(play(&stage, 0, script(scenario, steps)))
        .unwrap_or_else(|e| panic!("replay failed: {e}\nredis log:\n{}", server.log_tail(20)))
}

fn show(played: &Played) -> String {
    let findings = history::check(
        &played.history,
        &played.script.verdicts.keys().copied().collect::<Vec<_>>(),
    );
    history::timeline::render(&played.history, &findings)
}

#[test]
fn every_sync_counterexample_breaks_the_same_property_on_real_redis() {
    let server = RedisServer::start().expect("redis-server");
    for name in [
        "sync-naive",
        "sync-cas",
        "sync-stream",
        "sync-cas-dedup",
        "sync-stream-dedup",
    ] {
        let protocol: Protocol = p(name);
        for faults in Faults::default_sets(protocol.faults()) {
            let scenario = Scenario::new(protocol, faults);
            let o = check(scenario, &CheckOptions::default(), &|_| {});
            for v in o.verdicts.iter().filter(|v| v.counterexample.is_some()) {
                let steps = counterexample(scenario, v.property);
                for clients in [
                    Clients::InProcess,
                    Clients::Workers {
                        binary: env!("CARGO_BIN_EXE_locklab").into(),
                    },
                ] {
                    let played = replay(&server, scenario, &steps, clients.clone());
                    let real = history::finding(&played.history, v.property);
                    assert!(
                        played.standing.divergence().is_none(),
                        "{name} under {faults}, {}: {:?}\n{}",
                        v.property,
                        played.standing.divergence(),
                        show(&played)
                    );
                    // A run the machine could not keep up with even slowed
                    // down proves nothing either way (and says so).
                    if played.standing.overrun().is_none() {
                        assert_eq!(
                            real.verdict,
                            Verdict::Violated,
                            "{name} under {faults}, {}:\n{}",
                            v.property,
                            show(&played)
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn chaos_agrees_with_the_model_on_every_sync_cell() {
    let run = crate::support::locklab(&[
        "chaos",
        "--protocol",
        "sync-naive",
        "--protocol",
        "sync-cas",
        "--protocol",
        "sync-stream",
        "--schedules",
        "20",
        "--json",
    ]);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["disagreements"], 0, "{}", run.stdout);
    let runs = json["runs"].as_array().expect("runs");
    // Three protocols × (none + pause, delay, crash, restart).
    assert_eq!(runs.len(), 15);
    assert!(runs.iter().all(|r| r["agree"] == true), "{}", run.stdout);
    // The article's pattern breaks with no fault at all, on real Redis.
    let naive = runs
        .iter()
        .find(|r| r["protocol"] == "sync-naive" && r["faults"] == serde_json::json!([]))
        .expect("sync-naive without faults");
    assert!(
        naive["violations"]["no-double-processing"].as_u64() > Some(0),
        "{naive}"
    );
}
