//! The model checks a chaos run needs, made while it plays: the scenarios
//! it will play, and only those, are checked in table order on threads of
//! their own and handed to the cells as each is done, so the first
//! schedule plays after one check instead of all of them.
//!
//! The threads are not joined: a run that is interrupted or fails stops
//! waiting for them, and each ends after the check in hand (within its
//! budget), its result dropped.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;

use locklab_model::{Scenario, ScenarioOutcome};

use crate::commands::check::{self, CheckPlan};

/// One checked scenario: its index in the list given, and its outcome.
pub type Checked = (usize, ScenarioOutcome);

/// Starts checking `scenarios` on `workers` threads (at least one); each
/// outcome arrives on the receiver as soon as it is ready, and `done` is
/// told how many are. A scenario whose check panicked never arrives; once
/// `stop` is set, no new check starts.
pub fn checked(
    plan: &CheckPlan,
    scenarios: &[Scenario],
    workers: usize,
    stop: &Arc<AtomicBool>,
    done: impl Fn(usize) + Send + Sync + 'static,
) -> std::io::Result<(Receiver<Checked>, Arc<AtomicUsize>)> {
    let (tx, rx) = mpsc::channel();
    let count = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(done);
    let plan = Arc::new(plan.clone());
    let scenarios: Arc<[Scenario]> = scenarios.into();
    let next = Arc::new(AtomicUsize::new(0));
    for _ in 0..workers.clamp(1, scenarios.len().max(1)) {
        let (count, done) = (Arc::clone(&count), Arc::clone(&done));
        let (tx, plan, scenarios, next, stop) = (
            tx.clone(),
            Arc::clone(&plan),
            Arc::clone(&scenarios),
            Arc::clone(&next),
            Arc::clone(stop),
        );
        std::thread::Builder::new()
            .name("chaos-model".into())
            .spawn(move || loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&scenario) = scenarios.get(i) else {
                    return;
                };
                let outcome = check::outcome_of(&plan, scenario);
                done(count.fetch_add(1, Ordering::Relaxed) + 1);
                if tx.send((i, outcome)).is_err() {
                    return;
                }
            })?;
    }
    Ok((rx, count))
}
