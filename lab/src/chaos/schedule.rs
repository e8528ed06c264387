//! Random schedules as data: proptest strategies over the model's own step
//! vocabulary. The model is the reference state machine
//! (`proptest-state-machine`), reached through a [`Walker`] so that any
//! model family serves: the reference state is the path so far, every
//! generated schedule is a path the model allows, fault budgets included,
//! and shrinking deletes steps only where the rest stays a valid path.

use std::sync::Arc;

use locklab_model::path::Walker;
use locklab_model::Step;
use proptest::prelude::*;
use proptest::strategy::Union;
use proptest_state_machine::strategy::Sequential;

/// A generated schedule: the reference state (the path), the steps (`None`
/// once nothing is left to do), and proptest's counter of steps the run
/// used.
pub type Generated = (
    Vec<Step>,
    Vec<Option<Step>>,
    Option<Arc<std::sync::atomic::AtomicUsize>>,
);

/// The strategy behind the schedules of one scenario.
pub type ScheduleStrategy =
    Sequential<Vec<Step>, Option<Step>, BoxedStrategy<Vec<Step>>, BoxedStrategy<Option<Step>>>;

/// Schedules of up to `max_len` steps through the walker's model.
pub fn strategy(walker: Arc<dyn Walker>, max_len: usize) -> ScheduleStrategy {
    let pre = Arc::clone(&walker);
    let options = walker;
    Sequential::new(
        (1..=max_len.max(1)).into(),
        || Just(Vec::new()).boxed(),
        move |path: &Vec<Step>, step: &Option<Step>| match step {
            None => true,
            Some(step) => pre.enabled(path).is_some_and(|e| e.contains(step)),
        },
        move |path: &Vec<Step>| {
            let steps = options.enabled(path).unwrap_or_default();
            if steps.is_empty() {
                Just(None).boxed()
            } else {
                Union::new_weighted(
                    steps
                        .into_iter()
                        .map(|s| (weight(s), Just(Some(s)).boxed()))
                        .collect(),
                )
                .boxed()
            }
        },
        |mut path: Vec<Step>, step: &Option<Step>| {
            if let Some(step) = step {
                path.push(*step);
            }
            path
        },
    )
}

/// Time passing is what turns a fault into a break (a lease runs out under
/// a paused holder, under a delayed reply), so a tick is drawn three times
/// as often as any one client's step.
fn weight(step: Step) -> u32 {
    match step {
        Step::Tick => 3,
        _ => 1,
    }
}

/// The steps of a generated schedule.
pub fn steps(generated: &Generated) -> Vec<Step> {
    generated.1.iter().flatten().copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use locklab_model::path::{follow, walker};
    use locklab_model::{Fault, Faults, Scenario};
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn every_schedule_is_a_path_the_model_allows() {
        let scenario = Scenario::new("naive".parse().unwrap(), Faults::one(Fault::Pause))
            .sized(3, 2, 3)
            .unwrap();
        let strategy = strategy(walker(scenario), 30);
        let mut runner = TestRunner::deterministic();
        for _ in 0..200 {
            let tree = strategy.new_tree(&mut runner).unwrap();
            let steps = steps(&tree.current());
            assert!(follow(scenario, &steps).is_ok(), "{steps:?}");
            assert!(steps.iter().filter(|s| s.kind() == "pause").count() <= 1);
        }
    }
}
