//! Output that fits a terminal of 120 columns: the `check` matrix (one
//! table per family, abbreviated with a legend, in parts when still too
//! wide), its counterexamples, a small chaos cell, a small bench row and
//! every `--help`.

use crate::support::locklab;

const WIDTH: usize = 120;

fn assert_fits(what: &str, text: &str) {
    let wide: Vec<(usize, &str)> = text
        .lines()
        .map(|l| (l.chars().count(), l))
        .filter(|(n, _)| *n > WIDTH)
        .collect();
    assert!(
        wide.is_empty(),
        "{what}: {} lines wider than {WIDTH} columns, e.g. {:?}",
        wide.len(),
        wide.first()
    );
}

#[test]
fn check_fits_120_columns() {
    let run = locklab(&["check"]);
    assert!(run.stdout.contains("ME mutual-exclusion"), "{}", run.stdout);
    assert_fits("locklab check", &run.stdout);
}

#[test]
fn a_small_chaos_cell_fits_120_columns() {
    let run = locklab(&[
        "chaos",
        "--protocol",
        "reentrant",
        "--faults",
        "pause",
        "--schedules",
        "3",
        "--tick-ms",
        "50",
    ]);
    assert!(
        run.stdout.contains("reentrant"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert_fits("locklab chaos", &run.stdout);
}

#[test]
fn a_small_bench_row_fits_120_columns() {
    let run = locklab(&["bench", "--quick", "--protocol", "token", "--peer", "none"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_fits("locklab bench", &run.stdout);
}

#[test]
fn every_help_fits_120_columns() {
    for sub in [
        None,
        Some("check"),
        Some("reproduce"),
        Some("chaos"),
        Some("explore"),
        Some("bench"),
        Some("report"),
        Some("list"),
        Some("worker-check"),
    ] {
        let args: Vec<&str> = sub.into_iter().chain(["--help"]).collect();
        let run = locklab(&args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_fits(&format!("locklab {}", args.join(" ")), &run.stdout);
    }
}
