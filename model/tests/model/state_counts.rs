//! Exact unique state counts for small configurations, pinned as
//! Stateright's own examples pin theirs: a change to the model that changes
//! its state space shows up here first. When a change is intended, update
//! the numbers in the same commit and say why.
//!
//! (`fenced` under `restart` went from 124/562 to 116/531 when
//! `fenced-resource` came to order writes by token, then grant: the ghost
//! keeps the grant of the latest write in that order, not the highest grant
//! written, and states that differed only there are one.)

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
    ("fenced", "restart", 116, 531),
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

/// The sync family's default matrix: 2 workers, 2 units, leases of 2
/// ticks.
const SYNC_MATRIX: [(&str, &str, usize, usize); 25] = [
    ("sync-naive", "none", 76, 121),
    ("sync-naive", "pause", 208, 356),
    ("sync-naive", "delay", 179, 298),
    ("sync-naive", "crash", 150, 269),
    ("sync-naive", "restart", 209, 339),
    ("sync-cas", "none", 44, 77),
    ("sync-cas", "pause", 277, 523),
    ("sync-cas", "delay", 209, 388),
    ("sync-cas", "crash", 121, 231),
    ("sync-cas", "restart", 137, 247),
    ("sync-cas-dedup", "none", 44, 77),
    ("sync-cas-dedup", "pause", 250, 480),
    ("sync-cas-dedup", "delay", 182, 345),
    ("sync-cas-dedup", "crash", 102, 193),
    ("sync-cas-dedup", "restart", 137, 247),
    ("sync-stream", "none", 34, 62),
    ("sync-stream", "pause", 241, 469),
    ("sync-stream", "delay", 189, 365),
    ("sync-stream", "crash", 136, 266),
    ("sync-stream", "restart", 75, 135),
    ("sync-stream-dedup", "none", 34, 62),
    ("sync-stream-dedup", "pause", 233, 457),
    ("sync-stream-dedup", "delay", 181, 353),
    ("sync-stream-dedup", "crash", 120, 234),
    ("sync-stream-dedup", "restart", 75, 135),
];

/// The same for 3 workers and 3 units.
const SYNC_THREE_BY_THREE: [(&str, &str, usize, usize); 4] = [
    ("sync-naive", "none", 960, 1517),
    ("sync-cas", "pause", 1531, 7437),
    ("sync-stream", "crash", 770, 4210),
    ("sync-stream-dedup", "delay", 1008, 5488),
];

/// The quorum family's default matrix: 2 clients on 3 masters, lease 3
/// ticks.
const QUORUM_MATRIX: [(&str, &str, usize, usize); 14] = [
    ("redlock", "none", 3056, 30507),
    ("redlock", "pause", 7276, 69349),
    ("redlock", "delay", 11548, 122672),
    ("redlock", "crash", 5969, 57551),
    ("redlock", "restart", 10097, 104281),
    ("redlock", "delayed-restart", 16856, 181310),
    ("redlock", "clock-jump", 9014, 92659),
    ("redlock-fenced", "none", 3865, 37905),
    ("redlock-fenced", "pause", 10693, 99648),
    ("redlock-fenced", "delay", 15816, 167973),
    ("redlock-fenced", "crash", 10351, 98885),
    ("redlock-fenced", "restart", 14889, 156168),
    ("redlock-fenced", "delayed-restart", 24431, 263491),
    ("redlock-fenced", "clock-jump", 11565, 117978),
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

#[test]
fn sync_matrix_state_counts() {
    for (protocol, faults, sym, full) in SYNC_MATRIX {
        let faults: Faults = faults.parse().expect("fault names");
        let s = Scenario::new(protocol.parse().expect("a protocol"), faults);
        assert_eq!(counts(s), (sym, full), "{protocol} under {faults}");
    }
}

#[test]
fn sync_three_workers_three_units_state_counts() {
    for (protocol, faults, sym, full) in SYNC_THREE_BY_THREE {
        let faults: Faults = faults.parse().expect("fault names");
        let s = Scenario::new(protocol.parse().expect("a protocol"), faults)
            .sized(3, 1, 2)
            .and_then(|s| s.with_units(3))
            .expect("a valid size");
        assert_eq!(counts(s), (sym, full), "{protocol} under {faults}");
    }
}

#[test]
fn quorum_matrix_state_counts() {
    for (protocol, faults, sym, full) in QUORUM_MATRIX {
        let faults: Faults = faults.parse().expect("fault names");
        let s = Scenario::new(protocol.parse().expect("a protocol"), faults);
        assert_eq!(counts(s), (sym, full), "{protocol} under {faults}");
    }
}

/// The renewing locks' default matrix: 3 clients × 1 round, lease 3
/// ticks, a renewal every tick.
const RENEWAL_MATRIX: [(&str, &str, usize, usize); 21] = [
    ("renew", "none", 31, 111),
    ("renew", "pause", 267, 1231),
    ("renew", "stall", 267, 1231),
    ("renew", "delay", 248, 1135),
    ("renew", "crash", 124, 564),
    ("renew", "restart", 321, 1517),
    ("renew", "failover", 642, 3090),
    ("renew-unchecked", "none", 31, 111),
    ("renew-unchecked", "pause", 418, 2011),
    ("renew-unchecked", "stall", 418, 2011),
    ("renew-unchecked", "delay", 501, 2439),
    ("renew-unchecked", "crash", 124, 564),
    ("renew-unchecked", "restart", 472, 2297),
    ("renew-unchecked", "failover", 817, 4002),
    ("renew-reacquire", "none", 31, 111),
    ("renew-reacquire", "pause", 347, 1547),
    ("renew-reacquire", "stall", 347, 1547),
    ("renew-reacquire", "delay", 315, 1402),
    ("renew-reacquire", "crash", 124, 564),
    ("renew-reacquire", "restart", 429, 1937),
    ("renew-reacquire", "failover", 754, 3518),
];

#[test]
fn renewal_matrix_state_counts() {
    for (protocol, faults, sym, full) in RENEWAL_MATRIX {
        let faults: Faults = faults.parse().expect("fault names");
        let s = Scenario::new(protocol.parse().expect("a protocol"), faults);
        assert_eq!(counts(s), (sym, full), "{protocol} under {faults}");
    }
}
