//! The last pass of shrinking: delete runs of steps while the model still
//! breaks the property on what is left.
//!
//! proptest shrinks a schedule through its value tree, which only ever
//! simplifies the schedule it generated along the ways the generator
//! allows; how close it lands to the shortest counterexample depends on
//! where the random schedule started. Deleting contiguous runs of steps —
//! every length from half the schedule down to one step, in the spirit of
//! Zeller's delta debugging — takes out a whole acquire–write–release that
//! never mattered, which no single-step deletion can (each alone leaves a
//! schedule the model does not allow). Every candidate is judged by the
//! model alone (`path::follow`, then the verdict), so the pass costs
//! microseconds per candidate and does not depend on the machine; the
//! result is confirmed on Redis afterwards like any shrunk schedule.

use locklab_model::path::follow;
use locklab_model::{PropertyName, Scenario, Step, Verdict};

/// Candidates tried at most: far more than a schedule of a few dozen
/// steps needs, so the pass always ends.
const MAX_CANDIDATES: usize = 20_000;

/// The shortest schedule reachable from `steps` by deleting runs of steps,
/// each deletion leaving a path the model allows on which `property` still
/// breaks; cut at its first breaking step. `steps` itself is returned when
/// no deletion keeps the break.
pub fn minimise(scenario: Scenario, steps: &[Step], property: PropertyName) -> Vec<Step> {
    let mut best = steps.to_vec();
    let mut tried = 0;
    let mut run = (best.len() / 2).max(1);
    loop {
        let mut deleted = false;
        let mut at = 0;
        while at + run <= best.len() && tried < MAX_CANDIDATES {
            tried += 1;
            let candidate: Vec<Step> = best[..at]
                .iter()
                .chain(&best[at + run..])
                .copied()
                .collect();
            match breaks_at(scenario, &candidate, property) {
                Some(end) => {
                    best = candidate[..end].to_vec();
                    deleted = true;
                }
                None => at += 1,
            }
        }
        if tried >= MAX_CANDIDATES || (!deleted && run == 1) {
            return best;
        }
        if !deleted {
            run -= 1;
        }
        run = run.min(best.len() / 2).max(1);
    }
}

/// Where the model first breaks `property` on `steps`, if the model allows
/// every step and the property breaks.
fn breaks_at(scenario: Scenario, steps: &[Step], property: PropertyName) -> Option<usize> {
    let script = follow(scenario, steps).ok()?;
    (script.verdict(property) == Verdict::Violated).then(|| {
        script
            .first_break
            .get(&property)
            .copied()
            .unwrap_or(steps.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use locklab_model::step::parse_schedule;
    use locklab_model::{Fault, Faults, Protocol};

    /// As chaos plays it: three clients, two rounds each.
    fn naive_under_pause() -> Scenario {
        Scenario {
            rounds: 2,
            ..Scenario::new(
                Protocol::named("naive").expect("naive"),
                Faults::one(Fault::Pause),
            )
        }
    }

    #[test]
    fn a_long_foreign_release_loses_every_round_that_never_mattered() {
        // An 18-step schedule proptest once stopped at (its shortest
        // neighbours all broke the path).
        let long = parse_schedule(
            "acquire c2; write c2; release c2; acquire c2; tick; write c2; tick; pause c2; tick; \
             acquire c3; write c3; resume c2; release c3; acquire c3; write c3; release c3; \
             acquire c1; release c2",
        )
        .expect("a schedule");
        let short = minimise(naive_under_pause(), &long, PropertyName::NoForeignRelease);
        let script = follow(naive_under_pause(), &short).expect("a path the model allows");
        assert_eq!(
            script.verdict(PropertyName::NoForeignRelease),
            Verdict::Violated
        );
        // Nine steps: as short as the model's own shortest counterexample.
        assert_eq!(
            locklab_model::step::format_schedule(&short),
            "acquire c2; tick; write c2; tick; pause c2; tick; acquire c3; resume c2; release c2"
        );
    }

    #[test]
    fn a_schedule_that_breaks_nothing_comes_back_as_it_was() {
        let fine = parse_schedule("acquire c1; write c1; release c1").expect("a schedule");
        assert_eq!(
            minimise(naive_under_pause(), &fine, PropertyName::NoForeignRelease),
            fine
        );
    }
}
