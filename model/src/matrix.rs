//! The verdict matrix: protocol × fault budget × property, each scenario
//! checked on its own thread so the rows spread over the machine's cores
//! while each search stays single-threaded (and so deterministic: the same
//! state counts and the same counterexamples on every run).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::check::{check, CheckOptions};
use crate::scenario::{Scenario, MAX_REPLICAS};
use crate::verdict::ScenarioOutcome;
use locklab_spec::fault::Fault;
use locklab_spec::fault::Faults;
use locklab_spec::persistence::Persistence;
use locklab_spec::protocol::Protocol;

/// Progress of a matrix run, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A scenario's checker has visited this many unique states so far.
    States {
        /// Which scenario, by index.
        scenario: usize,
        /// Unique states so far.
        unique: usize,
    },
    /// A scenario is finished.
    Finished {
        /// Which scenario, by index.
        scenario: usize,
    },
}

/// The rows of the default matrix for `protocols`: each protocol in its own
/// shape under no fault and under each fault of its menu alone (under
/// `failover`, once with each number of replicas, 1 to [`MAX_REPLICAS`]:
/// whether the replica promoted had the lock depends on which there were;
/// under `partition` the same, each once more with `min-replicas-to-write
/// 1`, the brake on an old primary cut off from its replicas; under
/// `restart`, for a protocol whose menu has `failover` too, once
/// more on a primary with one replica under each persistence setting: what
/// the replicas resync to is what the primary kept);
/// and, where
/// a protocol that fixes it has another shape (a lock used re-entrantly),
/// the protocol once more in that shape, with no fault — the break the fix
/// is there for.
pub fn default_scenarios(protocols: &[Protocol]) -> Vec<Scenario> {
    let mut out = Vec::new();
    for &protocol in protocols {
        for faults in Faults::default_sets(protocol.faults()) {
            let s = Scenario::new(protocol, faults);
            if faults.budget(Fault::Failover) > 0 {
                out.extend((1..=MAX_REPLICAS).filter_map(|r| s.replicated(u64::from(r)).ok()));
            } else if faults.budget(Fault::Partition) > 0 {
                let replicated = (1..=MAX_REPLICAS).filter_map(|r| s.replicated(u64::from(r)).ok());
                out.extend(
                    replicated
                        .flat_map(|s| [Ok(s), s.min_replicas(1)])
                        .flatten(),
                );
            } else if faults.budget(Fault::Restart) > 0
                && protocol.faults().contains(&Fault::Failover)
            {
                if s.replicas == 0 {
                    out.push(s);
                }
                let replicated = s.replicated(u64::from(s.replicas.max(1))).ok();
                out.extend(
                    replicated
                        .into_iter()
                        .flat_map(|s| Persistence::ALL.map(|p| s.persisting(p))),
                );
            } else {
                out.push(s);
            }
        }
        let own = Scenario::new(protocol, Faults::NONE);
        for fix in protocol.fixed_by() {
            let there = Scenario::new(fix, Faults::NONE).on(protocol);
            if there != own && !out.contains(&there) {
                out.push(there);
            }
        }
    }
    out
}

/// Checks every scenario, `workers` at a time, and returns the outcomes in
/// the order of the scenarios.
pub fn run(
    scenarios: &[Scenario],
    options: &CheckOptions,
    workers: usize,
    progress: &(dyn Fn(Progress) + Sync),
) -> Vec<ScenarioOutcome> {
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<ScenarioOutcome>>> = Mutex::new(vec![None; scenarios.len()]);
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, scenarios.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&scenario) = scenarios.get(i) else {
                    return;
                };
                let report = |unique| {
                    progress(Progress::States {
                        scenario: i,
                        unique,
                    })
                };
                let outcome = check(scenario, options, &report);
                if let Ok(mut outcomes) = outcomes.lock() {
                    outcomes[i] = Some(outcome);
                }
                progress(Progress::Finished { scenario: i });
            });
        }
    });
    outcomes
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}
