//! Exact unique state counts for small configurations, pinned as
//! Stateright's own examples pin theirs: a change to the model that changes
//! its state space shows up here first. When a change is intended, update
//! the numbers in the same commit and say why.

use locklab_model::{check, CheckOptions, Faults, Protocol, Scenario};

/// (protocol, faults, with symmetry, without symmetry) for 3 clients × 1
/// round, lease 3 ticks: the default matrix.
const DEFAULT_MATRIX: [(Protocol, &str, usize, usize); 20] = [
    (Protocol::Naive, "none", 22, 80),
    (Protocol::Naive, "pause", 228, 1153),
    (Protocol::Naive, "delay", 195, 985),
    (Protocol::Naive, "crash", 79, 368),
    (Protocol::Naive, "restart", 156, 799),
    (Protocol::NaiveUnchecked, "none", 175, 861),
    (Protocol::NaiveUnchecked, "pause", 1009, 5364),
    (Protocol::NaiveUnchecked, "delay", 738, 3861),
    (Protocol::NaiveUnchecked, "crash", 469, 2457),
    (Protocol::NaiveUnchecked, "restart", 502, 2595),
    (Protocol::Token, "none", 22, 80),
    (Protocol::Token, "pause", 183, 883),
    (Protocol::Token, "delay", 150, 715),
    (Protocol::Token, "crash", 79, 368),
    (Protocol::Token, "restart", 111, 529),
    (Protocol::Fenced, "none", 22, 80),
    (Protocol::Fenced, "pause", 157, 759),
    (Protocol::Fenced, "delay", 124, 591),
    (Protocol::Fenced, "crash", 79, 368),
    (Protocol::Fenced, "restart", 124, 562),
];

/// The same for 2 clients × 2 rounds.
const TWO_BY_TWO: [(Protocol, &str, usize, usize); 4] = [
    (Protocol::Naive, "pause", 511, 1015),
    (Protocol::NaiveUnchecked, "none", 362, 716),
    (Protocol::Token, "delay", 296, 585),
    (Protocol::Fenced, "crash", 141, 279),
];

fn counts(scenario: Scenario) -> (usize, usize) {
    let options = CheckOptions {
        compare_symmetry: true,
        ..CheckOptions::default()
    };
    let o = check(scenario, &options, &|_| {});
    assert!(o.complete);
    (
        o.unique_states,
        o.unique_states_without_symmetry.expect("measured"),
    )
}

#[test]
fn default_matrix_state_counts() {
    for (protocol, faults, sym, full) in DEFAULT_MATRIX {
        let faults: Faults = faults.parse().expect("fault names");
        let s = Scenario::new(protocol, faults);
        assert_eq!(counts(s), (sym, full), "{protocol} under {faults}");
    }
}

#[test]
fn two_clients_two_rounds_state_counts() {
    for (protocol, faults, sym, full) in TWO_BY_TWO {
        let faults: Faults = faults.parse().expect("fault names");
        let s = Scenario::new(protocol, faults)
            .sized(2, 2, 3)
            .expect("a valid size");
        assert_eq!(counts(s), (sym, full), "{protocol} under {faults}");
    }
}
