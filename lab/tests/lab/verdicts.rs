//! A verdict is earned or it says so: locks planted to break one promise
//! each (`lab/tests/fixtures/planted.py`) are named for what they did — a
//! worker that died, a grant Redis never saw, a reply past its tick — and
//! never pass as `✓`, `holds` or `agree`; input that cannot be honoured is
//! refused in one line.

use serde_json::Value;

use crate::support::{locklab, planted, Run};

/// Tiny chaos cells: one fault-free cell of `token`, schedules of at
/// most `max_len` steps.
fn chaos_on(lock: &str, schedules: &str, max_len: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "chaos",
        "--lock-cmd",
        lock,
        "--faults",
        "none",
        "--schedules",
        schedules,
        "--max-len",
        max_len,
    ];
    args.extend_from_slice(extra);
    locklab(&args)
}

/// No row of the planted lock's tables, nor any line about it, shows a
/// green mark or word (the legends explain them, and are left out).
fn no_false_green(run: &Run) {
    for line in run.stdout.lines().filter(|l| l.contains("planted.py")) {
        for green in ["✓", " yes ", "holds ("] {
            assert!(
                !line.contains(green),
                "{green:?} in {line:?} of:\n{}",
                run.stdout
            );
        }
    }
}

fn the_cell(json: &Value) -> &Value {
    let runs = json["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "{json}");
    &runs[0]
}

#[test]
fn chaos_names_a_worker_that_dies_and_judges_nothing() {
    let run = chaos_on(&planted("dies"), "2", "4", &[]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    no_false_green(&run);
    assert!(run.stdout.contains("NOT JUDGED"), "{}", run.stdout);
    assert!(
        run.stdout.contains("0 of 2 schedules judged"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("died on `acquire`"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("planted: exiting on the first acquire, as a crashing library would"),
        "the worker's stderr: {}",
        run.stdout
    );

    let json = chaos_on(&planted("dies"), "2", "4", &["--json"]).json();
    let cell = the_cell(&json);
    assert_eq!(cell["verdict"], "not judged", "{cell}");
    assert_eq!(cell["schedules"], 0);
    assert_eq!(cell["died"], 2);
    assert_eq!(cell["late"], 0);
    assert_eq!(cell["agree"], false);
    let death = &cell["died_examples"][0];
    assert_eq!(
        death["step"], 1,
        "it dies on the schedule's first acquire: {death}"
    );
    assert_eq!(death["op"], "acquire");
    assert!(death["stderr_tail"]
        .as_str()
        .is_some_and(|t| t.contains("planted: exiting")));
}

#[test]
fn chaos_calls_a_grant_redis_never_saw_a_disagreement() {
    let run = chaos_on(&planted("fake"), "2", "4", &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    no_false_green(&run);
    // The disagreement's line wraps at 120 columns: read it unwrapped.
    let said = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        said.contains("diverged at step 1 (acquire c")
            && said.contains(
                "the lock answered granted, but Redis has no lock key where the model says it is there"
            ),
        "{}",
        run.stdout
    );
    let json = chaos_on(&planted("fake"), "2", "4", &["--json"]).json();
    let cell = the_cell(&json);
    assert_eq!(cell["verdict"], "disagree");
    assert_eq!(cell["diverged"], 2);
    assert_eq!(cell["late"], 0, "a divergence is no lateness: {cell}");
    assert_eq!(
        cell["schedules"], 2,
        "a diverged schedule is judged: {cell}"
    );
}

#[test]
fn chaos_calls_a_reply_past_its_tick_late_and_says_by_how_much() {
    // Each acquire answers 0.5 s after Redis granted it: later than a tick
    // of 20 ms even slowed down four times.
    let run = chaos_on(&planted("slow"), "1", "2", &["--tick-ms", "20"]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    no_false_green(&run);
    assert!(run.stdout.contains("NOT JUDGED"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("late (a step took longer than its tick")
            && run.stdout.contains("step 1 (acquire c")
            && run.stdout.contains(" ms past its tick (1 tick = 80 ms)"),
        "which step overran, by how much, at the slowest tick: {}",
        run.stdout
    );
    assert!(!run.stdout.contains("worker died"), "{}", run.stdout);
}

#[test]
fn one_schedule_and_reproduce_give_the_same_codes_as_chaos() {
    for (mode, code) in [("fake", 1), ("dies", 3)] {
        let lock = planted(mode);
        let one = locklab(&[
            "chaos",
            "--lock-cmd",
            &lock,
            "--protocol",
            "token",
            "--faults",
            "none",
            "--schedule",
            "acquire c1; tick; write c1; release c1",
        ]);
        assert_eq!(
            one.code, code,
            "{mode}, --schedule:\n{}\n{}",
            one.stdout, one.stderr
        );
        let replayed = locklab(&["reproduce", "--lock-cmd", &lock, "--protocol", "token"]);
        assert_eq!(
            replayed.code, code,
            "{mode}, reproduce:\n{}\n{}",
            replayed.stdout, replayed.stderr
        );
        for run in [&one, &replayed] {
            no_false_green(run);
        }
    }
    let dead = locklab(&["reproduce", "--lock-cmd", &planted("dies"), "--json"]).json();
    let rows = dead["replays"].as_array().expect("replays");
    assert!(!rows.is_empty());
    assert!(rows
        .iter()
        .all(|r| r["real"] == "not judged" && r["agree"] == false));
    assert_eq!(dead["not_judged"], rows.len());
}

#[test]
fn a_lock_that_cannot_play_the_protocol_is_refused_before_any_schedule() {
    let run = locklab(&[
        "chaos",
        "--lock",
        "rslock",
        "--protocol",
        "sync-cas",
        "--faults",
        "none",
    ]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("--lock rslock cannot play sync-cas")
            && run.stderr.contains("sync-cas needs `read`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_claim_no_checked_protocol_can_have_is_refused_naming_those_that_can() {
    let run = locklab(&[
        "check",
        "--claim",
        "no-double-processing",
        "--protocol",
        "naive",
    ]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("applies to none of the protocols checked (naive)")
            && run.stderr.contains("sync-naive, sync-cas"),
        "{}",
        run.stderr
    );
    let unknown = locklab(&["check", "--claim", "mutual-exclusio", "--protocol", "naive"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("did you mean `mutual-exclusion`?"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn worker_check_refuses_a_lock_whose_key_never_expires() {
    let run = locklab(&["worker-check", "--lock-cmd", &planted("noexpiry")]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the first: release after the lease ran out: the lock set no expiry on its key (PTTL -1"),
        "{}",
        run.stderr
    );
}

#[test]
fn bench_measures_what_it_is_asked_or_refuses() {
    let redlock = locklab(&["bench", "--protocol", "redlock", "--quick"]);
    assert_eq!(redlock.code, 2, "{}\n{}", redlock.stdout, redlock.stderr);
    assert!(
        redlock.stderr.contains(
            "--protocol redlock: it runs on 3 or more masters, and --masters is 1: add --masters 3"
        ),
        "{}",
        redlock.stderr
    );
    let peer = locklab(&["bench", "--peer", "redlock", "--quick"]);
    assert_eq!(peer.code, 2);
    assert!(
        peer.stderr.contains("did you mean `redlock-rs`?"),
        "{}",
        peer.stderr
    );
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").expect("a file");
    let svg = locklab(&["bench", "--quick", "--svg", &file.display().to_string()]);
    assert_eq!(svg.code, 2, "{}\n{}", svg.stdout, svg.stderr);
    assert!(
        svg.stdout.is_empty(),
        "refused before any run: {}",
        svg.stdout
    );
    assert!(svg.stderr.contains("--svg"), "{}", svg.stderr);
}

#[test]
fn a_server_that_is_not_redis_is_called_that() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 64];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let url = format!("redis://127.0.0.1:{port}/");
    let run = locklab(&[
        "chaos",
        "--redis",
        &url,
        "--protocol",
        "token",
        "--faults",
        "none",
        "--schedules",
        "1",
    ]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.stderr.trim(),
        format!(
            "locklab: --redis {url}: the server there is not Redis: it answered a PING with \"HTTP/1.1 400 Bad Request\""
        )
    );
}

#[test]
fn typos_get_the_nearest_name_and_missing_arguments_are_named() {
    let typo = locklab(&["check", "--protocol", "tokn"]);
    assert_eq!(typo.code, 2);
    assert!(
        typo.stderr
            .contains("unknown protocol `tokn` (did you mean `token`?)"),
        "{}",
        typo.stderr
    );
    let flag = locklab(&["chaos", "--protocl", "token"]);
    assert_eq!(flag.code, 2);
    assert!(
        flag.stderr
            .contains("a similar argument exists: '--protocol'"),
        "{}",
        flag.stderr
    );
    let missing = locklab(&["worker-check"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("--lock-cmd <CMD>"),
        "{}",
        missing.stderr
    );
    let fault = locklab(&["check", "--faults", "pauze"]);
    assert!(
        fault.stderr.contains("(did you mean `pause`?)"),
        "{}",
        fault.stderr
    );
}

#[test]
fn every_family_table_states_its_own_scope_and_empty_cells_say_why() {
    let args = [
        "check",
        "--protocol",
        "token",
        "--protocol",
        "sync-cas",
        "--protocol",
        "redlock",
        "--faults",
        "none",
        "--clients",
        "2",
    ];
    let run = locklab(&args);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for scope in [
        "token — 2 clients, 1 round, lease 3 ticks\n",
        "sync-cas — 2 clients, 1 round, lease 2 ticks, 2 units\n",
        "redlock — 2 clients, 1 round, lease 3 ticks, 3 masters\n",
    ] {
        assert!(run.stdout.contains(scope), "{scope:?} in:\n{}", run.stdout);
    }
    let rows = run.stdout.lines().filter(|l| {
        ["token ", "sync-cas ", "redlock "]
            .iter()
            .any(|p| l.starts_with(p))
    });
    for row in rows {
        assert!(!row.contains(" · "), "no ambiguous `·` cell: {row}");
    }
    let redlock_row = run
        .stdout
        .lines()
        .find(|l| l.starts_with("redlock ") && l.contains(" none "))
        .expect("redlock's row");
    assert!(redlock_row.contains("not modelled"), "{redlock_row}");
    assert!(
        run.stdout.contains("docs/model.md"),
        "where the docs say why"
    );

    let json = locklab(&[&args[..], &["--json"]].concat()).json();
    let word = |protocol: &str, property: &str| {
        json["verdicts"]
            .as_array()
            .expect("verdicts")
            .iter()
            .find(|v| v["protocol"] == protocol && v["property"] == property)
            .map(|v| v["verdict"].clone())
            .expect("the cell")
    };
    assert_eq!(word("redlock", "no-foreign-release"), "not modelled");
    let claimed = locklab(&[
        "check",
        "--protocol",
        "redlock",
        "--faults",
        "none",
        "--claim",
        "no-foreign-release",
    ]);
    assert_eq!(
        claimed.code, 3,
        "a claim nothing checks is not judged: {}",
        claimed.stdout
    );
    assert!(
        claimed.stdout.contains("NOT JUDGED: the lab's model does not check these claimed cells: redlock/none/no-foreign-release"),
        "{}",
        claimed.stdout
    );
    assert!(
        !claimed.stdout.contains("every claim holds"),
        "{}",
        claimed.stdout
    );
    assert_eq!(word("token", "no-double-processing"), "n/a");
    assert_eq!(word("token", "no-foreign-release"), "holds");
}

#[test]
fn a_shrunk_break_is_as_short_as_the_models_and_its_replay_plays_it_again() {
    let run = locklab(&[
        "chaos",
        "--protocol",
        "naive",
        "--faults",
        "pause",
        "--clients",
        "2",
        "--rounds",
        "1",
        "--schedules",
        "30",
        "--tick-ms",
        "40",
        "--in-process",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let json = run.json();
    let cell = the_cell(&json);
    let shrunk = &cell["shrunk"]["mutual-exclusion"];
    let (len, model_len) = (shrunk["len"].as_u64(), shrunk["model_len"].as_u64());
    assert!(
        len.is_some() && len <= model_len,
        "no longer than the model's shortest: {shrunk}"
    );
    let replay = shrunk["replay"].as_str().expect("a replay command");
    for flag in [
        "--tick-ms 40",
        "--in-process",
        "--clients 2 --rounds 1",
        "--faults pause",
    ] {
        assert!(replay.contains(flag), "{flag:?} in {replay}");
    }
    let words = shlex::split(replay).expect("a command line");
    assert_eq!(words[0], "locklab");
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let again = locklab(&args);
    assert_eq!(
        again.code, 0,
        "{replay}:\n{}\n{}",
        again.stdout, again.stderr
    );
    let verdicts: Vec<&str> = again
        .stdout
        .lines()
        .find(|l| l.starts_with("mutual-exclusion"))
        .expect("the property's row")
        .split_whitespace()
        .collect();
    assert_eq!(
        verdicts,
        ["mutual-exclusion", "violated", "violated", "yes"]
    );
}
