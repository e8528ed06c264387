//! The JVM and Go adapters (Redisson's three locks in `adapters/java`,
//! go-redsync and bsm/redislock in `adapters/go`), built by
//! `scripts/setup.sh`, as real worker processes: the conformance script,
//! one short chaos run each judged against the model of the protocol the
//! library follows (`token`; `fenced` for `RFencedLock`; `redlock` for
//! redsync on three masters), and one exact schedule on the fenced lock.
//!
//! The suite's cost is kept small: a JVM starts for every client of every
//! schedule, so each chaos run is a handful of schedules.

use std::path::{Path, PathBuf};

use crate::support::{locklab, Run};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// The command of an adapter of `adapters/`; fails the test (not skips
/// it) when `scripts/setup.sh` has not built it.
fn adapter(launcher: &str, built: &str, mode: &str) -> String {
    let root = root();
    assert!(
        root.join(built).exists(),
        "{built} is missing: run scripts/setup.sh (it builds the JVM and Go adapters)"
    );
    format!("{} {mode}", root.join(launcher).display())
}

fn redisson(mode: &str) -> String {
    adapter(
        "adapters/java/redisson",
        "adapters/java/target/locklab-redisson.jar",
        mode,
    )
}

fn go(mode: &str) -> String {
    adapter(
        "adapters/go/bin/locklab-go",
        "adapters/go/bin/locklab-go",
        mode,
    )
}

fn succeeded(run: &Run, what: &str) {
    assert_eq!(
        run.code, 0,
        "{what}: exit {}\nstdout:\n{}\nstderr:\n{}",
        run.code, run.stdout, run.stderr
    );
}

#[test]
fn each_adapter_passes_the_conformance_script() {
    for cmd in [
        redisson("watchdog"),
        redisson("lease"),
        redisson("fenced"),
        go("redsync"),
        go("redislock"),
    ] {
        let run = locklab(&["worker-check", "--lock-cmd", &cmd]);
        succeeded(&run, &cmd);
        assert!(
            run.stdout.contains("all 19 checks passed"),
            "{cmd}: {}",
            run.stdout
        );
    }
}

/// One short chaos run: every cell agrees with the model, and the run
/// judged schedules (a run of late or diverged schedules only would agree
/// by default).
fn chaos_agrees(cmd: &str, protocol: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "chaos",
        "--lock-cmd",
        cmd,
        "--protocol",
        protocol,
        "--depth",
        "1",
        "--schedules",
        "3",
        "--max-len",
        "12",
        "--tick-ms",
        "100",
        "--parallel",
        "1",
        "--json",
    ];
    args.extend_from_slice(extra);
    let run = locklab(&args);
    succeeded(&run, cmd);
    let json = run.json();
    assert_eq!(json["disagreements"], 0, "{cmd}: {json}");
    let cells = json["runs"].as_array().expect("runs");
    assert!(!cells.is_empty(), "{cmd}: no cell: {json}");
    for cell in cells {
        assert_eq!(cell["agree"], true, "{cmd}: {cell}");
    }
    let judged: u64 = cells.iter().filter_map(|c| c["schedules"].as_u64()).sum();
    assert!(judged > 0, "{cmd}: no schedule was judged: {json}");
    json
}

#[test]
fn redissons_locks_agree_with_their_models_under_pause_and_delay() {
    for (mode, protocol) in [
        ("watchdog", "token"),
        ("lease", "token"),
        ("fenced", "fenced"),
    ] {
        chaos_agrees(
            &redisson(mode),
            protocol,
            &["--faults", "pause", "--faults", "delay"],
        );
    }
}

#[test]
fn the_go_locks_agree_with_their_models() {
    chaos_agrees(
        &go("redislock"),
        "token",
        &["--faults", "pause", "--faults", "delay"],
    );
    chaos_agrees(
        &go("redsync"),
        "token",
        &["--faults", "pause", "--faults", "delay"],
    );
    // Three masters: redsync's Redlock, asked a master at a time.
    chaos_agrees(
        &go("redsync"),
        "redlock",
        &["--faults", "none", "--faults", "delay"],
    );
}

/// `RFencedLock`'s token fences a stale holder out: c1 is paused past its
/// lease, c2 acquires and writes; c1 resumes and writes with its older
/// token, and the resource refuses it — mutual exclusion is lost, as the
/// model says, the resource is not.
#[test]
fn redissons_fencing_token_refuses_the_stale_write() {
    let run = locklab(&[
        "chaos",
        "--lock-cmd",
        &redisson("fenced"),
        "--protocol",
        "fenced",
        "--faults",
        "pause",
        "--clients",
        "2",
        "--tick-ms",
        "100",
        "--schedule",
        "acquire c1; pause c1; tick; tick; tick; acquire c2; write c2; resume c1; write c1",
    ]);
    succeeded(&run, "the fenced schedule");
    let verdict = |property: &str| -> Vec<String> {
        run.stdout
            .lines()
            .find(|l| l.starts_with(property))
            .unwrap_or_else(|| panic!("no {property} row: {}", run.stdout))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        verdict("mutual-exclusion"),
        ["mutual-exclusion", "violated", "violated", "yes"],
        "{}",
        run.stdout
    );
    assert_eq!(
        verdict("fenced-resource"),
        ["fenced-resource", "holds", "holds", "yes"],
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("refused"),
        "c1's stale write is refused: {}",
        run.stdout
    );
}

/// Redisson keeps `RFencedLock`'s counter in a key of its own named after
/// the lock's (`redisson_lock_token:{<lock key>}`): the lab's clean-up of a
/// replay's keys takes it too, so that a replay played again on the same
/// keys starts from token 1 — and a key of anyone else stays.
#[tokio::test]
async fn a_replays_clean_up_takes_a_librarys_key_named_after_the_lock() {
    use locklab::replay::KeySpace;

    let server = crate::support::server();
    let conn = crate::support::conn(&server).await;
    let space = KeySpace::new();
    let keys = space.replay(3).unwrap();
    let counter = format!("redisson_lock_token:{{{}}}", keys.lock.as_str());
    let other = "redisson_lock_token:{someone-else:lock}";
    for key in [keys.lock.as_str(), counter.as_str(), other] {
        let _: () = conn.query(redis::cmd("SET").arg(key).arg(1)).await.unwrap();
    }
    let deleted = space.delete(&conn, &keys.pattern).await.unwrap();
    assert_eq!(deleted, 2);
    let left: Vec<String> = conn.query(redis::cmd("KEYS").arg("*")).await.unwrap();
    assert_eq!(left, [other]);
}
