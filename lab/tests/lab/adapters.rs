//! The lock adapters of `adapters/` (Python: redis-py's Lock,
//! python-redis-lock, pottery's Redlock, the protocol page's own minimal
//! adapter; Node: node-redlock over ioredis), each run as real worker
//! processes through the lab's proxy against a real `redis-server`: the
//! conformance script, one exact chaos schedule (a holder SIGSTOPped past its
//! lease — every one of these locks loses mutual exclusion, as the token
//! model says), a short random chaos without faults, and `reproduce` of the
//! token model's counterexamples; pottery's and node-redlock's Redlock on
//! three masters, judged against `redlock` (two exact schedules).
//! `scripts/setup.sh` installs what they need.
//!
//! Verdicts are read from the lab's own output; nothing here asserts how
//! long anything took.

use std::path::{Path, PathBuf};

use crate::support::{locklab, Run};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// The Python of the adapters' venv; fails the test (not skips it) when
/// `scripts/setup.sh` has not been run.
fn python() -> String {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh (it makes the adapters' venv)",
        python.display()
    );
    python.display().to_string()
}

fn node_adapter() -> String {
    let dir = root().join("adapters/node");
    assert!(
        dir.join("node_modules/redlock").exists(),
        "adapters/node/node_modules is missing: run scripts/setup.sh (npm ci)"
    );
    format!("node {}", dir.join("redlock.js").display())
}

fn python_adapter(file: &str) -> String {
    format!(
        "{} {}",
        python(),
        root().join("adapters/python").join(file).display()
    )
}

/// Each adapter, and the tick its leases need (python-redis-lock's expire
/// is whole seconds: 3 ticks of 334 ms).
fn adapters() -> Vec<(&'static str, String, u64)> {
    vec![
        ("redis-py", python_adapter("redis_py_lock.py"), 100),
        (
            "python-redis-lock",
            python_adapter("python_redis_lock.py"),
            334,
        ),
        ("pottery", python_adapter("pottery_redlock.py"), 100),
        ("minimal", python_adapter("minimal.py"), 100),
        ("node-redlock", node_adapter(), 100),
    ]
}

fn check(run: &Run, what: &str) {
    assert_eq!(
        run.code, 0,
        "{what}: exit {}\nstdout:\n{}\nstderr:\n{}",
        run.code, run.stdout, run.stderr
    );
}

#[test]
fn every_adapter_passes_the_conformance_script() {
    for (name, cmd, _) in adapters() {
        let run = locklab(&["worker-check", "--lock-cmd", &cmd]);
        check(&run, name);
        assert!(
            run.stdout.contains("all 19 checks passed"),
            "{name}: {}",
            run.stdout
        );
    }
}

/// A holder is SIGSTOPped past its lease, another client acquires, the
/// holder resumes and writes: both believe they hold the lock, on real
/// Redis, as the token model says.
#[test]
fn every_adapter_loses_mutual_exclusion_to_a_pause_past_its_lease() {
    let schedule = "acquire c1; pause c1; tick; tick; tick; acquire c2; resume c1; write c1; write c2; release c1; release c2";
    for (name, cmd, tick) in adapters() {
        let tick = tick.to_string();
        let run = locklab(&[
            "chaos",
            "--lock-cmd",
            &cmd,
            "--protocol",
            "token",
            "--faults",
            "pause",
            "--clients",
            "2",
            "--tick-ms",
            &tick,
            "--schedule",
            schedule,
        ]);
        check(&run, name);
        let row = run
            .stdout
            .lines()
            .find(|l| l.starts_with("mutual-exclusion"))
            .unwrap_or_else(|| panic!("{name}: no mutual-exclusion row: {}", run.stdout));
        let words: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            words,
            ["mutual-exclusion", "violated", "violated", "yes"],
            "{name}: {}",
            run.stdout
        );
    }
}

#[test]
fn every_adapter_keeps_mutual_exclusion_without_faults() {
    for (name, cmd, tick) in adapters() {
        let tick = tick.to_string();
        let run = locklab(&[
            "chaos",
            "--lock-cmd",
            &cmd,
            "--faults",
            "none",
            "--depth",
            "1",
            "--schedules",
            "3",
            "--max-len",
            "12",
            "--tick-ms",
            &tick,
            "--parallel",
            "1",
            "--json",
        ]);
        check(&run, name);
        let json = run.json();
        let cell = &json["runs"][0];
        assert_eq!(cell["agree"], true, "{name}: {cell}");
        assert_eq!(cell["violations"]["mutual-exclusion"], 0, "{name}: {cell}");
    }
}

#[test]
fn every_adapter_reproduces_the_token_counterexamples() {
    for (name, cmd, tick) in adapters() {
        let tick = (tick * 2).to_string();
        let run = locklab(&[
            "reproduce",
            "--lock-cmd",
            &cmd,
            "--tick-ms",
            &tick,
            "--parallel",
            "2",
            "--json",
        ]);
        let json = run.json();
        let replays = json["replays"].as_array().expect("replays");
        assert!(!replays.is_empty(), "{name}: {json}");
        let mut agreed = 0;
        for r in replays {
            // Each schedule was found for the token model; the adapter is
            // judged against it. A late replay (the machine fell behind its
            // ticks) says so and is not judged (`judged: false`); a library that does
            // something else than the model at some step (python-redis-lock
            // reads the key before it sets it, so a delayed reply is its
            // GET's) is a divergence, reported; every other must agree.
            // (The retry schedule is skipped for a library that cannot
            // send a request again, with a note.)
            if r["judged"] == true && r["divergence"].is_null() {
                assert_eq!(r["agree"], true, "{name}: {r}");
                assert_eq!(r["real"], "violated", "{name}: {r}");
                agreed += 1;
            }
        }
        // The pause schedules need no timing beyond the lease: they agree.
        assert!(agreed > 0, "{name}: no replay was judged: {json}");
        // 1: a divergence is a disagreement; 3: a late replay is not
        // judged.
        assert!([0, 1, 3].contains(&run.code), "{name}: {}", run.stderr);
    }
}

/// The adapter at the end of docs/worker-protocol.md is adapters/python/minimal.py,
/// word for word (the tests above run the file).
#[test]
fn the_protocol_pages_adapter_is_the_one_tested() {
    let page = std::fs::read_to_string(root().join("docs/worker-protocol.md")).unwrap();
    let file = std::fs::read_to_string(root().join("adapters/python/minimal.py")).unwrap();
    let block = format!("```python\n{file}```");
    assert!(
        page.contains(&block),
        "docs/worker-protocol.md must end with adapters/python/minimal.py as a ```python block"
    );
}

/// `bench --lock-cmd`: the adapters' rows beside a Rust lock's, in one run,
/// and the no-op adapter's (the worker protocol's own cost).
#[test]
fn bench_measures_adapters_beside_the_rust_locks() {
    let noop = python_adapter("noop.py");
    let redis_py = python_adapter("redis_py_lock.py");
    let node = node_adapter();
    let run = locklab(&[
        "bench",
        "--quick",
        "--peer",
        "none",
        "--protocol",
        "token",
        "--wait",
        "poll",
        "--clients",
        "1,4",
        "--lock-cmd",
        &noop,
        "--lock-cmd",
        &redis_py,
        "--lock-cmd",
        &node,
        "--json",
    ]);
    check(&run, "bench");
    let json = run.json();
    let rows = json["uncontended"].as_array().expect("uncontended rows");
    let names: Vec<&str> = rows.iter().filter_map(|r| r["protocol"].as_str()).collect();
    assert_eq!(
        names,
        ["token", "noop.py", "redis_py_lock.py", "redlock.js"],
        "{json}"
    );
    for row in rows.iter().chain(json["contended"].as_array().unwrap()) {
        assert_eq!(row["mutual_exclusion"], "holds", "{row}");
        assert!(row["grants"].as_u64().unwrap() > 0, "{row}");
    }
}

/// The verdict rows (`property model real agree`) of a `--schedule` run,
/// and its timeline's `conclude` lines of `client`, as words.
fn rows_and_concludes(run: &Run, client: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let words = |l: &str| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let rows = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("mutual-exclusion") || l.starts_with("fenced-resource"))
        .map(words)
        .collect();
    let concludes = run
        .stdout
        .lines()
        .filter(|l| {
            let w = words(l);
            w.iter().any(|x| x == client) && w.iter().any(|x| x == "conclude")
        })
        .map(str::to_owned)
        .collect();
    (rows, concludes)
}

fn redlock_schedule(cmd: &str, fault: &str, schedule: &str) -> Run {
    locklab(&[
        "chaos",
        "--lock-cmd",
        cmd,
        "--protocol",
        "redlock",
        "--faults",
        fault,
        "--clients",
        "2",
        "--nodes",
        "3",
        "--tick-ms",
        "500",
        "--schedule",
        schedule,
    ])
}

/// pottery's and node-redlock's Redlock on three masters, judged against
/// `redlock`, driven a master at a time through their adapters' gates.
/// Both play the model's pause counterexample as the model says (a holder
/// paused past its lease; another takes a majority). In a round whose
/// replies come back after the lease ran out (no fault) the model lets
/// c1's attempt expire: pottery, which checks the validity, does too;
/// node-redlock v5, which does not, holds the lock with c2 — mutual
/// exclusion broken where the model keeps it, a disagreement (exit 1).
#[test]
fn the_redlock_libraries_on_three_masters() {
    let pause = "ask c1 n1; ask c1 n2; ask c1 n3; conclude c1; pause c1; tick; tick; tick; ask c2 n1; ask c2 n2; ask c2 n3; conclude c2";
    let slow = "ask c1 n1; ask c1 n2; ask c1 n3; tick; tick; tick; ask c2 n1; ask c2 n2; ask c2 n3; conclude c2; conclude c1; write c2";
    let pottery = python_adapter("pottery_redlock.py");
    let node = node_adapter();
    for (name, cmd) in [("pottery", &pottery), ("node-redlock", &node)] {
        let run = redlock_schedule(cmd, "pause", pause);
        check(&run, name);
        let (rows, _) = rows_and_concludes(&run, "c1");
        assert_eq!(
            rows[0],
            ["mutual-exclusion", "violated", "violated", "yes"],
            "{name}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("lock key present on n3"),
            "{name}: the lock should be on three masters: {}",
            run.stdout
        );
    }

    let run = redlock_schedule(&pottery, "none", slow);
    check(&run, "pottery");
    let (rows, concludes) = rows_and_concludes(&run, "c1");
    assert_eq!(
        rows[0],
        ["mutual-exclusion", "holds", "holds", "yes"],
        "pottery: {}",
        run.stdout
    );
    assert!(
        concludes.len() == 1 && concludes[0].contains("no validity left"),
        "pottery: c1's attempt should expire: {}",
        run.stdout
    );

    let run = redlock_schedule(&node, "none", slow);
    assert_eq!(run.code, 1, "node-redlock: {}\n{}", run.stdout, run.stderr);
    let (rows, concludes) = rows_and_concludes(&run, "c1");
    assert_eq!(
        rows[0],
        ["mutual-exclusion", "holds", "violated", "NO"],
        "node-redlock: {}",
        run.stdout
    );
    assert!(
        concludes.len() == 1
            && concludes[0].contains("granted")
            && concludes[0].contains("mutual-exclusion"),
        "node-redlock: c1 should hold the lock with c2: {}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("step 11 (conclude c1): the model says a majority, but no validity left, Redis said granted"),
        "node-redlock: {}",
        run.stdout
    );
}
