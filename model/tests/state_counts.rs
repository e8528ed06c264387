//! Exact unique state counts for small configurations, pinned as
//! Stateright's own examples pin theirs: a change to the model that changes
//! its state space shows up here first. When a change is intended, update
//! the numbers in the same commit and say why.

use locklab_model::{check, CheckOptions, Faults, Scenario};

/// (protocol, faults, with symmetry, without symmetry) for 3 clients × 1
/// round, lease 3 ticks: the default matrix.
const DEFAULT_MATRIX: [(&str, &str, usize, usize); 20] = [
    ("naive", "none", 22, 80),
    ("naive", "pause", 228, 1153),
    ("naive", "delay", 195, 985),
    ("naive", "crash", 79, 368),
    ("naive", "restart", 156, 799),
    ("naive-unchecked", "none", 175, 861),
    ("naive-unchecked", "pause", 1009, 5364),
    ("naive-unchecked", "delay", 738, 3861),
    ("naive-unchecked", "crash", 469, 2457),
    ("naive-unchecked", "restart", 502, 2595),
    ("token", "none", 22, 80),
    ("token", "pause", 183, 883),
    ("token", "delay", 150, 715),
    ("token", "crash", 79, 368),
    ("token", "restart", 111, 529),
    ("fenced", "none", 22, 80),
    ("fenced", "pause", 157, 759),
    ("fenced", "delay", 124, 591),
    ("fenced", "crash", 79, 368),
    ("fenced", "restart", 124, 562),
];

/// Each client acquiring twice before it writes (3 clients × 1 round,
/// lease 3): the re-entry rows.
const REENTRY: [(&str, &str, usize, usize); 6] = [
    ("naive", "none", 705, 4097),
    ("token", "none", 395, 2237),
    ("reentrant", "none", 40, 152),
    ("reentrant", "pause", 505, 2579),
    ("reentrant", "retry", 79, 303),
    ("reentrant-redisson", "retry", 112, 447),
];

/// The same for 2 clients × 2 rounds.
const TWO_BY_TWO: [(&str, &str, usize, usize); 4] = [
    ("naive", "pause", 511, 1015),
    ("naive-unchecked", "none", 362, 716),
    ("token", "delay", 296, 585),
    ("fenced", "crash", 141, 279),
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
        let s = Scenario::new(protocol.parse().expect("a protocol"), faults);
        assert_eq!(counts(s), (sym, full), "{protocol} under {faults}");
    }
}

#[test]
fn reentry_state_counts() {
    for (protocol, faults, sym, full) in REENTRY {
        let faults: Faults = faults.parse().expect("fault names");
        let s = Scenario::new(protocol.parse().expect("a protocol"), faults)
            .deep(2)
            .expect("depth 2");
        assert_eq!(counts(s), (sym, full), "{protocol} ×2 under {faults}");
    }
}

#[test]
fn two_clients_two_rounds_state_counts() {
    for (protocol, faults, sym, full) in TWO_BY_TWO {
        let faults: Faults = faults.parse().expect("fault names");
        let s = Scenario::new(protocol.parse().expect("a protocol"), faults)
            .sized(2, 2, 3)
            .expect("a valid size");
        assert_eq!(counts(s), (sym, full), "{protocol} under {faults}");
    }
}
