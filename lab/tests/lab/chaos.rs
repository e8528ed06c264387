//! `locklab chaos`: random schedules on real Redis agree with the model on
//! every protocol × fault, breaks shrink to about the model's shortest
//! counterexample, and nothing the lab started outlives it.

use std::time::{Duration, Instant};

use locklab_model::{check, CheckOptions, Fault, Faults, PropertyName, Scenario};
use serde_json::Value;

use crate::support::{assert_gone, descendants, locklab, locklab_child, p, proc_stat};

/// Schedules per cell in CI (the `#[ignore]`d test runs 2000).
const CI_SCHEDULES: &str = "200";

fn assert_agrees(json: &Value) {
    let runs = json["runs"].as_array().expect("runs");
    for r in runs {
        for field in ["protocol", "faults", "schedules", "violations", "agree"] {
            assert!(r.get(field).is_some(), "{field} missing in {r}");
        }
        assert_eq!(
            r["agree"],
            true,
            "{}",
            serde_json::to_string_pretty(r).unwrap_or_default()
        );
    }
    assert_eq!(json["disagreements"], 0);
}

/// The single-instance locks whose clients run in worker processes (the
/// quorum locks, on three masters each, have their own chaos tests in
/// `redlock.rs`; the renewing locks, whose renewals the lab times in
/// process, theirs below).
fn in_workers(p: &locklab_model::Protocol) -> bool {
    p.family() == locklab_model::Family::Lease && !p.caps().renews()
}

/// `--protocol` for each of them.
fn lease_protocols() -> Vec<String> {
    locklab_model::Protocol::all()
        .iter()
        .filter(|p| in_workers(p))
        .flat_map(|p| ["--protocol".to_owned(), p.name().to_owned()])
        .collect()
}

fn with_lease_protocols<'a>(args: &[&'a str], protocols: &'a [String]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(protocols.iter().map(String::as_str));
    all
}

#[test]
fn chaos_agrees_with_the_model_on_every_protocol_and_fault() {
    // The cells on the lab's Sentinel set are `failover.rs`'s.
    let protocols = lease_protocols();
    let run = locklab(&with_lease_protocols(
        &[
            "chaos",
            "--json",
            "--schedules",
            CI_SCHEDULES,
            "--sentinel-schedules",
            "0",
        ],
        &protocols,
    ));
    assert_eq!(
        run.code, 0,
        "stderr: {}\nstdout: {}",
        run.stderr, run.stdout
    );
    let json = run.json();
    assert_agrees(&json);
    let runs = json["runs"].as_array().expect("runs");
    let lease: Vec<locklab_model::Protocol> = locklab_model::Protocol::all()
        .iter()
        .copied()
        .filter(in_workers)
        .collect();
    assert_eq!(
        runs.len(),
        locklab_model::matrix::default_scenarios(&lease)
            .iter()
            .filter(|s| s.replicas == 0)
            .count(),
        "every row of the default matrix on a single server"
    );
    // Where the model says a property holds, not one history broke it.
    let token_pause = runs
        .iter()
        .find(|r| r["protocol"] == "token" && r["faults"] == serde_json::json!(["pause"]))
        .expect("token under pause");
    assert_eq!(token_pause["violations"]["no-foreign-release"], 0);
    assert!(token_pause["violations"]["mutual-exclusion"].as_u64() > Some(0));
}

#[test]
fn chaos_agrees_with_the_model_on_the_renewing_locks_in_process() {
    let renewing: Vec<String> = locklab_model::Protocol::all()
        .iter()
        .filter(|p| p.caps().renews())
        .flat_map(|p| ["--protocol".to_owned(), p.name().to_owned()])
        .collect();
    let run = locklab(&with_lease_protocols(
        &[
            "chaos",
            "--json",
            "--in-process",
            "--schedules",
            "40",
            "--sentinel-schedules",
            "0",
        ],
        &renewing,
    ));
    assert_eq!(
        run.code, 0,
        "stderr: {}\nstdout: {}",
        run.stderr, run.stdout
    );
    let json = run.json();
    assert_agrees(&json);
    let cell = |protocol: &str, fault: &str| {
        json["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .find(|r| r["protocol"] == protocol && r["faults"] == serde_json::json!([fault]))
            .cloned()
            .unwrap_or_else(|| panic!("{protocol} under {fault}"))
    };
    // Where the model says renew keeps a property, no history broke it.
    for fault in ["pause", "stall", "delay"] {
        let renew = cell("renew", fault);
        assert_eq!(renew["violations"]["loss-told"], 0, "renew under {fault}");
        assert_eq!(renew["violations"]["no-foreign-extension"], 0);
    }
}

#[test]
fn every_fault_at_once_agrees_with_the_model() {
    // Faults in one budget meet in ways single faults do not: a reply in
    // flight across a Redis restart, a paused worker across one.
    let faults: Faults = "pause,delay,crash,restart".parse().expect("faults");
    let protocols: Vec<String> = locklab_model::Protocol::all()
        .iter()
        .filter(|p| in_workers(p))
        .filter(|p| Scenario::new(**p, faults).check_faults().is_ok())
        .flat_map(|p| ["--protocol".to_owned(), p.name().to_owned()])
        .collect();
    let run = locklab(&with_lease_protocols(
        &[
            "chaos",
            "--json",
            "--faults",
            "pause,delay,crash,restart",
            "--schedules",
            "100",
        ],
        &protocols,
    ));
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let json = run.json();
    assert_agrees(&json);
    assert_eq!(
        json["runs"].as_array().map(Vec::len),
        Some(protocols.len() / 2)
    );
}

#[test]
#[ignore = "a long chaos run: 2000 schedules per cell"]
fn long_chaos_agrees_with_the_model() {
    let run = locklab(&["chaos", "--json", "--schedules", "2000"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_agrees(&run.json());
}

#[test]
fn the_articles_bug_shrinks_to_about_the_models_shortest_counterexample() {
    let run = locklab(&[
        "chaos",
        "--json",
        "--protocol",
        "naive",
        "--faults",
        "pause",
        "--schedules",
        "60",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let json = run.json();
    let cell = &json["runs"][0];
    let model = check(
        Scenario::new(p("naive"), Faults::one(Fault::Pause)),
        &CheckOptions::default(),
        &|_| {},
    );
    for property in [
        PropertyName::MutualExclusion,
        PropertyName::NoForeignRelease,
    ] {
        let shortest = model
            .verdict(property)
            .and_then(|v| v.counterexample.as_ref())
            .map(Vec::len)
            .expect("the model's counterexample");
        let shrunk = &cell["shrunk"][property.name()];
        let len = shrunk["len"].as_u64().expect("a shrunk schedule") as usize;
        assert!(
            len <= shortest + 3,
            "{property}: shrunk to {len} steps, the model's shortest is {shortest}: {shrunk}"
        );
        // Real Redis confirmed it, and it ends at its first breaking step.
        assert_eq!(shrunk["confirmed"], "violated", "{shrunk}");
        let schedule = shrunk["schedule"].as_str().expect("schedule text");
        let steps = locklab_model::step::parse_schedule(schedule).expect("a schedule");
        let walked = locklab_model::path::script(
            Scenario::new(p("naive"), Faults::one(Fault::Pause))
                .sized(3, 2, 3)
                .expect("chaos's size"),
            &steps,
        );
        assert_eq!(
            walked.first_break.get(&property),
            Some(&steps.len()),
            "{schedule}"
        );
        // The shrunk schedule replays on its own, and still breaks.
        let replay = locklab(&[
            "chaos",
            "--protocol",
            "naive",
            "--faults",
            "pause",
            "--schedule",
            schedule,
        ]);
        assert_eq!(replay.code, 0, "{}", replay.stderr);
        let line = replay
            .stdout
            .lines()
            .find(|l| l.starts_with(property.name()))
            .expect("a row for the property");
        assert!(line.contains("violated  violated"), "{}", replay.stdout);
    }
}

#[test]
fn bad_chaos_input_is_one_line_and_exit_2() {
    for args in [
        vec!["chaos", "--schedules", "0"],
        vec!["chaos", "--tick-ms", "1"],
        vec![
            "chaos",
            "--protocol",
            "naive",
            "--faults",
            "pause",
            "--schedule",
            "fly c1",
        ],
        vec!["chaos", "--schedule", "acquire c1"],
        vec![
            "chaos",
            "--protocol",
            "token",
            "--faults",
            "none",
            "--schedule",
            "acquire c1; acquire c2",
        ],
        vec!["chaos", "--redis", "nope://x"],
    ] {
        let run = locklab(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(
            run.stderr.trim().lines().count(),
            1,
            "{args:?}: {}",
            run.stderr
        );
    }
}

fn interrupted_run_leaves_nothing(signal: nix::sys::signal::Signal) {
    let mut lab = locklab_child(&["chaos", "--schedules", "100000", "--protocol", "token"]);
    let lab_pid = lab.id();
    // Wait (bounded) until the lab has started its redis-server(s).
    let deadline = Instant::now() + Duration::from_secs(20);
    let children = loop {
        let children = descendants(lab_pid);
        if !children.is_empty() || Instant::now() > deadline {
            break children;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!children.is_empty(), "the lab started no process");
    std::thread::sleep(Duration::from_millis(300));
    let children: Vec<(u32, String)> = descendants(lab_pid)
        .into_iter()
        .filter_map(|pid| proc_stat(pid).map(|p| (pid, p.comm)))
        .collect();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(lab_pid as i32), signal)
        .expect("signal the lab");
    let _ = lab.wait();
    for (pid, comm) in children {
        assert_gone(pid, &comm, &format!("after {signal:?} of the lab"));
    }
}

#[test]
fn ctrl_c_leaves_no_process_behind() {
    interrupted_run_leaves_nothing(nix::sys::signal::Signal::SIGINT);
}

#[test]
fn sigkill_leaves_no_process_behind() {
    interrupted_run_leaves_nothing(nix::sys::signal::Signal::SIGKILL);
}

#[test]
fn a_scenario_not_played_is_not_model_checked() {
    // On a server of the user's, a cell that restarts a node is skipped:
    // chaos checks the model of the cells it plays, and only those.
    let server = crate::support::server();
    let url = server.url();
    let run = locklab(&[
        "chaos",
        "--json",
        "--protocol",
        "token",
        "--faults",
        "none",
        "--faults",
        "restart",
        "--faults",
        "pause",
        "--schedules",
        "5",
        "--redis",
        &url,
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let json = run.json();
    let faults: Vec<&Value> = json["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| &r["faults"])
        .collect();
    // The cells in the order asked for, whichever model check came first.
    assert_eq!(
        faults,
        [&serde_json::json!([]), &serde_json::json!(["pause"])],
        "{json}"
    );
    assert_eq!(json["scenarios_checked"], 2, "{json}");
    let skipped = json["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 1, "{json}");
    assert!(
        skipped[0].as_str().is_some_and(|s| s.contains("restart")),
        "{json}"
    );
}

#[test]
fn check_sized_cells_are_judged_against_the_checks_own_verdicts() {
    let scope = ["--protocol", "token", "--faults", "pause"];
    let check = locklab(&[&["check", "--json"][..], &scope[..]].concat());
    assert_eq!(check.code, 0, "{}", check.stderr);
    let check = check.json();
    let rows = check["verdicts"].as_array().expect("verdicts");
    let run = locklab(
        &[
            &["chaos", "--json", "--check-sized", "--schedules", "40"][..],
            &scope[..],
        ]
        .concat(),
    );
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let json = run.json();
    assert_agrees(&json);
    let cell = &json["runs"][0];
    let mut compared = 0;
    for row in rows {
        for size in ["clients", "rounds", "ttl"] {
            assert_eq!(cell[size], row[size], "{size}: {cell}\n{row}");
        }
        let p = row["property"].as_str().expect("a property");
        if let Some(judged) = cell["model"].get(p) {
            assert_eq!(judged, &row["verdict"], "{p}");
            compared += 1;
        }
    }
    assert!(compared > 0, "{cell}");
    // A size of its own is not the check's.
    let both = locklab(&[&["chaos", "--check-sized", "--rounds", "2"][..], &scope[..]].concat());
    assert_eq!(both.code, 2, "{}", both.stderr);
}
