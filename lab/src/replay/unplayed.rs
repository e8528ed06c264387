//! What the model checks and the lab does not play on real Redis yet, said
//! before a run (a cell or a replay skipped with the reason) rather than
//! found by a replay that fails halfway: a partition (the Sentinel set's
//! links do not all go through proxies the lab can cut), an `fsync` (Redis
//! fsyncs on its own clock), and a restart of a primary with replicas.

use locklab_model::{Fault, NodeFault, Scenario, Step};

/// Why the lab plays no schedule of `scenario`, if it plays none.
pub fn unplayed_scenario(scenario: &Scenario) -> Option<&'static str> {
    if scenario.faults.budget(Fault::Partition) > 0 {
        return Some(PARTITION);
    }
    if scenario.replicas > 0 && scenario.faults.budget(Fault::Restart) > 0 {
        return Some(RESTART);
    }
    None
}

/// Why the lab does not play `steps` in `scenario`, if it does not.
pub fn unplayed_steps(scenario: &Scenario, steps: &[Step]) -> Option<&'static str> {
    steps.iter().find_map(|step| match step {
        Step::Partition { .. }
        | Step::Heal
        | Step::Node {
            fault: NodeFault::NoReplicas,
            ..
        } => Some(PARTITION),
        Step::Fsync => Some(FSYNC),
        Step::Node {
            fault: NodeFault::Restart,
            ..
        } if scenario.replicas > 0 => Some(RESTART),
        _ => None,
    })
}

const PARTITION: &str =
    "the lab does not cut a Sentinel set's links yet: a partition is checked in the model only";
const FSYNC: &str =
    "the lab does not play `fsync`: Redis fsyncs on its own clock, and a killed process loses nothing the kernel was handed";
const RESTART: &str =
    "the lab does not restart a Sentinel set's primary yet: a restart with replicas is checked in the model only";

#[cfg(test)]
mod tests {
    use super::*;
    use locklab_model::step::parse_schedule;
    use locklab_model::Protocol;

    fn scenario(faults: &str, replicas: u64) -> Scenario {
        Scenario::new(
            Protocol::named("token").expect("token"),
            faults.parse().unwrap(),
        )
        .replicated(replicas)
        .unwrap()
    }

    #[test]
    fn partitions_and_restarts_with_replicas_are_not_played_and_say_why() {
        assert_eq!(
            unplayed_scenario(&scenario("partition", 1)),
            Some(PARTITION)
        );
        assert_eq!(unplayed_scenario(&scenario("restart", 1)), Some(RESTART));
        assert_eq!(unplayed_scenario(&scenario("restart", 0)), None);
        assert_eq!(unplayed_scenario(&scenario("failover", 1)), None);
        let s = scenario("partition", 1);
        let steps = parse_schedule("acquire c1; partition n1; failover n2").unwrap();
        assert_eq!(unplayed_steps(&s, &steps), Some(PARTITION));
        let s = scenario("restart", 1);
        assert_eq!(
            unplayed_steps(&s, &parse_schedule("acquire c1; restart").unwrap()),
            Some(RESTART)
        );
        assert_eq!(
            unplayed_steps(
                &scenario("restart", 0),
                &parse_schedule("acquire c1; restart").unwrap()
            ),
            None
        );
        assert_eq!(
            unplayed_steps(&s, &parse_schedule("acquire c1; fsync").unwrap()),
            Some(FSYNC)
        );
    }
}
