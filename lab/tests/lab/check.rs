//! `locklab check`: the verdict matrix, its JSON, its exit codes.

use serde_json::Value;

use crate::support::locklab;

fn row<'a>(json: &'a Value, protocol: &str, faults: &[&str], property: &str) -> &'a Value {
    json["verdicts"]
        .as_array()
        .expect("a verdicts array")
        .iter()
        .find(|r| {
            r["protocol"] == protocol
                && r["property"] == property
                && r["faults"]
                    .as_array()
                    .expect("faults array")
                    .iter()
                    .map(|f| f.as_str().unwrap_or_default())
                    .eq(faults.iter().copied())
        })
        .unwrap_or_else(|| panic!("no row {protocol} {faults:?} {property}"))
}

#[test]
fn default_matrix_agrees_with_the_claims_and_exits_0() {
    let run = locklab(&["check", "--json"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let json = run.json();
    let rows = json["verdicts"].as_array().expect("verdicts");
    let scenarios = locklab_model::matrix::default_scenarios(locklab_model::Protocol::all());
    assert_eq!(
        rows.len(),
        scenarios.len() * locklab_model::PropertyName::ALL.len(),
        "scenarios × properties"
    );
    for r in rows {
        for field in [
            "protocol",
            "faults",
            "property",
            "verdict",
            "claimed",
            "unique_states",
            "secs",
            "counterexample",
        ] {
            assert!(r.get(field).is_some(), "row lacks {field}: {r}");
        }
        let word = r["verdict"].as_str().expect("verdict word");
        assert!(["holds", "violated", "unknown", "n/a", "not modelled"].contains(&word));
        if word == "violated" && r["kind"] != "sometimes" {
            assert!(r["counterexample"].is_array(), "{r}");
        } else {
            assert!(r["counterexample"].is_null(), "{r}");
        }
    }
    let nfr = row(&json, "naive", &["pause"], "no-foreign-release");
    assert_eq!(nfr["verdict"], "violated");
    assert_eq!(nfr["claimed"], false);
    let steps = nfr["counterexample"].as_array().expect("steps");
    let last = steps.last().expect("a last step");
    assert_eq!(last["step"]["kind"], "release");
    assert_eq!(last["command"], "DEL lock");
    assert_eq!(
        row(&json, "token", &[], "mutual-exclusion")["verdict"],
        "holds"
    );
    assert_eq!(
        row(&json, "fenced", &["delay"], "fenced-resource")["verdict"],
        "holds"
    );
}

#[test]
fn the_table_tells_the_counterexample_in_words() {
    let run = locklab(&["check", "--protocol", "naive", "--faults", "pause"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(
        run.stdout
            .contains("the lease of c1 runs out: `lock` is gone"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("c1 releases: its DEL removes c2's lock  [DEL lock → 1]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("c3 acquires the lock — c2 and c3 both believe they hold the lock"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_broken_claim_exits_1_and_names_the_cell() {
    // A design review claims that the token lock survives a pause.
    let args = [
        "check",
        "--protocol",
        "token",
        "--faults",
        "pause",
        "--claim",
        "mutual-exclusion",
    ];
    let run = locklab(&[&args[..], &["--json"]].concat());
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    assert_eq!(
        run.json()["summary"]["broken"],
        serde_json::json!(["token/pause/mutual-exclusion"])
    );
    let table = locklab(&args);
    assert_eq!(table.code, 1);
    assert!(table.stdout.contains("VIOLATED ✗"), "{}", table.stdout);
    assert!(
        table
            .stdout
            .contains("CLAIMS BROKEN: token/pause/mutual-exclusion"),
        "{}",
        table.stdout
    );
}

#[test]
fn more_faults_than_the_default_still_agree() {
    let run = locklab(&[
        "check",
        "--protocol",
        "token",
        "--faults",
        "pause=2,crash",
        "--json",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let json = run.json();
    assert_eq!(json["summary"]["broken"], serde_json::json!([]));
    let nfr = row(
        &json,
        "token",
        &["pause", "pause", "crash"],
        "no-foreign-release",
    );
    assert_eq!(nfr["verdict"], "holds");
    assert_eq!(nfr["claimed"], true);
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    for args in [
        vec!["check", "--protocol", "redlok"],
        vec!["check", "--faults", "gc"],
        vec!["check", "--faults", "pause=9"],
        vec!["check", "--clients", "0"],
        vec!["check", "--clients", "50"],
        vec!["check", "--rounds", "0"],
        vec!["check", "--ttl", "0"],
        vec!["check", "--ttl", "-1"],
        vec!["check", "--max-states", "0"],
        vec!["check", "--claim", "liveness"],
        vec!["check", "--bogus"],
    ] {
        let run = locklab(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(
            run.stderr.trim().lines().count(),
            1,
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.starts_with("locklab: "),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
}
