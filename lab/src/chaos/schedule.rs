//! Random schedules as data: proptest strategies over the model's own step
//! vocabulary. The model is the reference state machine
//! (`proptest-state-machine`): every generated schedule is a path the model
//! allows, fault budgets included, and shrinking deletes steps only where
//! the rest stays a valid path.

use std::sync::Arc;

use locklab_model::{LockModel, Step, World};
use proptest::prelude::*;
use proptest::strategy::Union;
use proptest_state_machine::strategy::Sequential;
use stateright::Model;

/// A generated schedule: the model's initial state, the steps (`None` once
/// nothing is left to do), and proptest's counter of steps the run used.
pub type Generated = (
    World,
    Vec<Option<Step>>,
    Option<Arc<std::sync::atomic::AtomicUsize>>,
);

/// The strategy behind the schedules of one scenario.
pub type ScheduleStrategy =
    Sequential<World, Option<Step>, BoxedStrategy<World>, BoxedStrategy<Option<Step>>>;

/// Schedules of up to `max_len` steps through `model`.
pub fn strategy(model: Arc<LockModel>, max_len: usize) -> ScheduleStrategy {
    let init = Arc::clone(&model);
    let pre = Arc::clone(&model);
    let options = Arc::clone(&model);
    let next = model;
    Sequential::new(
        (1..=max_len.max(1)).into(),
        move || Just(init.initial()).boxed(),
        move |w: &World, step: &Option<Step>| match step {
            None => true,
            Some(step) => enabled(&pre, w).contains(step),
        },
        move |w: &World| {
            let steps = enabled(&options, w);
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
        move |w: World, step: &Option<Step>| match step {
            Some(step) => next.next_state(&w, *step).unwrap_or(w),
            None => w,
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

fn enabled(model: &LockModel, w: &World) -> Vec<Step> {
    let mut steps = Vec::new();
    model.actions(w, &mut steps);
    steps
}

/// The steps of a generated schedule.
pub fn steps(generated: &Generated) -> Vec<Step> {
    generated.1.iter().flatten().copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use locklab_model::{Fault, Faults, Protocol, Scenario};
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn every_schedule_is_a_path_the_model_allows() {
        let model = Arc::new(LockModel::new(
            Scenario::new(Protocol::Naive, Faults::one(Fault::Pause))
                .sized(3, 2, 3)
                .unwrap(),
        ));
        let strategy = strategy(Arc::clone(&model), 30);
        let mut runner = TestRunner::deterministic();
        for _ in 0..200 {
            let tree = strategy.new_tree(&mut runner).unwrap();
            let steps = steps(&tree.current());
            assert!(model.follow(&steps).is_ok(), "{steps:?}");
            assert!(
                steps
                    .iter()
                    .filter(|s| matches!(s, Step::Pause { .. }))
                    .count()
                    <= 1
            );
        }
    }
}
