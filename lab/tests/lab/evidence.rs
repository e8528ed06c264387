//! Evidence you can trust: a server that refuses the lab's commands is an
//! environment failure (exit 2, in the server's own words), never a
//! verdict; a budget that ran out is not "holds"; a user's server keeps
//! exactly its own keys; an interrupted chaos run says what it ran and
//! leaves nothing behind; secrets are not printed.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use locklab::server::{RedisServer, ServerConfig};
use locklab_impl::{redis, ConnectOptions};

use crate::support::{descendants, locklab};

/// A server of the test's own, with `args` on its command line.
fn server_with(args: &[&str]) -> RedisServer {
    RedisServer::start_with(ServerConfig::new().args(args.iter().copied()))
        .unwrap_or_else(|e| panic!("redis-server {args:?}: {e}"))
}

fn query<T: redis::FromRedisValue>(url: &str, cmd: &redis::Cmd) -> T {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let conn = locklab_impl::connect(url, &ConnectOptions::default())
            .await
            .expect("connect");
        conn.query(cmd).await.expect("query")
    })
}

/// Exit 2 and one line that carries `says`.
fn refused(args: &[&str], says: &str) {
    let run = locklab(args);
    assert_eq!(
        run.code, 2,
        "{args:?}\nstdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let line = run.stderr.trim();
    assert_eq!(line.lines().count(), 1, "{args:?}: {line}");
    assert!(line.contains(says), "{args:?}: {line}");
}

#[test]
fn a_server_out_of_memory_is_an_environment_failure_in_its_own_words() {
    let server = server_with(&["--maxmemory-policy", "noeviction"]);
    let url = server.url();
    // Any write now exceeds the limit.
    let _: () = query(
        &url,
        redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg("1"),
    );
    refused(&["bench", "--quick", "--redis", &url], "OOM");
    refused(
        &[
            "chaos",
            "--redis",
            &url,
            "--protocol",
            "token",
            "--faults",
            "none",
            "--schedules",
            "3",
        ],
        "OOM",
    );
    refused(
        &["reproduce", "--redis", &url, "--protocol", "fenced"],
        "OOM",
    );
}

#[test]
fn scripting_renamed_away_and_a_read_only_replica_are_refused_in_one_line() {
    let no_scripts = server_with(&[
        "--rename-command",
        "EVAL",
        "",
        "--rename-command",
        "EVALSHA",
        "",
        "--rename-command",
        "SCRIPT",
        "",
    ]);
    refused(
        &[
            "reproduce",
            "--redis",
            &no_scripts.url(),
            "--protocol",
            "token",
        ],
        "unknown command",
    );
    let primary = server_with(&[]);
    let port = primary.port().to_string();
    let replica = server_with(&["--replicaof", "127.0.0.1", &port]);
    refused(
        &[
            "reproduce",
            "--redis",
            &replica.url(),
            "--protocol",
            "naive",
        ],
        "read only replica",
    );
}

#[test]
fn tls_urls_and_wrong_passwords_are_one_line_and_the_password_is_not_shown() {
    refused(&["reproduce", "--redis", "rediss://127.0.0.1:1/"], "TLS");
    refused(&["chaos", "--redis", "rediss://127.0.0.1:1/"], "TLS");
    refused(&["bench", "--redis", "rediss://127.0.0.1:1/"], "TLS");
    let server = server_with(&[]);
    let _: () = query(
        &server.url(),
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("requirepass")
            .arg("right"),
    );
    let url = format!("redis://default:wrong@127.0.0.1:{}/", server.port());
    let run = locklab(&["reproduce", "--redis", &url, "--protocol", "naive"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!run.stderr.contains("wrong"), "{}", run.stderr);
    assert!(run.stderr.contains("***"), "{}", run.stderr);
}

#[test]
fn the_bench_on_a_users_server_leaves_every_key_as_it_was() {
    let server = server_with(&[]);
    let url = server.url();
    for i in 0..20 {
        let _: () = query(&url, redis::cmd("SET").arg(format!("user:{i}")).arg(i));
    }
    let run = locklab(&[
        "bench",
        "--quick",
        "--duration-secs",
        "0.1",
        "--redis",
        &url,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let size: u64 = query(&url, &redis::cmd("DBSIZE"));
    assert_eq!(size, 20, "the bench left keys of its own");
    let value: Option<String> = query(&url, redis::cmd("GET").arg("user:7"));
    assert_eq!(value.as_deref(), Some("7"));
}

#[test]
fn chaos_on_a_users_server_says_what_it_skipped_and_refuses_to_run_nothing() {
    let server = server_with(&[]);
    let url = server.url();
    refused(
        &[
            "chaos",
            "--redis",
            &url,
            "--protocol",
            "token",
            "--faults",
            "restart",
        ],
        "no cell left",
    );
    let run = locklab(&[
        "chaos",
        "--redis",
        &url,
        "--protocol",
        "token",
        "--faults",
        "none",
        "--faults",
        "restart",
        "--schedules",
        "5",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["runs"].as_array().map(Vec::len), Some(1));
    let skipped = json["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0]
        .as_str()
        .is_some_and(|s| s.contains("restarts a Redis node")));
}

#[test]
fn a_budget_that_runs_out_proves_nothing_and_says_so() {
    let run = locklab(&["check", "--protocol", "token", "--max-states", "200"]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("NOT PROVEN"), "{}", run.stdout);
    assert!(!run.stdout.contains("every claim holds"), "{}", run.stdout);
    // The time budget stops the search itself (a search of this size runs
    // for most of a minute unbounded); what it had not settled is unknown.
    let run = locklab(&[
        "check",
        "--protocol",
        "token",
        "--faults",
        "none",
        "--clients",
        "8",
        "--rounds",
        "4",
        "--ttl",
        "8",
        "--no-symmetry",
        "--timeout-secs",
        "1",
        "--json",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let json = run.json();
    let rows = json["verdicts"].as_array().expect("rows");
    assert!(rows.iter().all(|r| r["complete"] == false));
    let me = rows
        .iter()
        .find(|r| r["property"] == "mutual-exclusion")
        .expect("mutual exclusion");
    assert_eq!(me["verdict"], "unknown");
    // A witness is not a claim.
    let witness = rows
        .iter()
        .find(|r| r["property"] == "everyone-finishes")
        .expect("a witness");
    assert_eq!(witness["claimed"], false);
}

/// The time budget on a quorum lock: the verdict search finds a break
/// before it stops, and the counterexample searches stop too. Each search
/// used to panic (exit 101, a Stateright backtrace) rebuilding a path from
/// a model the deadline had halted.
#[test]
fn a_time_budget_that_runs_out_on_seven_masters_is_unknown_not_a_panic() {
    for protocol in ["redlock", "redlock-fenced"] {
        // Tens of millions of states: far more than a second checks.
        let run = locklab(&[
            "check",
            "--protocol",
            protocol,
            "--nodes",
            "7",
            "--clients",
            "3",
            "--faults",
            "pause",
            "--timeout-secs",
            "1",
            "--json",
        ]);
        assert_eq!(run.code, 3, "{protocol}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        let json = run.json();
        let rows = json["verdicts"].as_array().expect("rows");
        assert!(rows.iter().all(|r| r["complete"] == false));
        assert!(rows.iter().all(|r| r["unique_states"].as_u64() > Some(0)));
        for row in rows.iter().filter(|r| r["kind"] != "sometimes") {
            let word = row["verdict"].as_str().expect("a verdict word");
            assert!(
                ["unknown", "violated", "n/a", "not modelled"].contains(&word),
                "{protocol} {}: {word}",
                row["property"]
            );
            if word == "violated" {
                assert!(row["counterexample"]
                    .as_array()
                    .is_some_and(|c| !c.is_empty()));
            }
        }
    }
}

#[test]
fn an_interrupted_chaos_run_prints_what_it_ran_and_removes_its_servers_dirs() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let mut lab = Command::new(env!("CARGO_BIN_EXE_locklab"))
        .args(["chaos", "--schedules", "100000", "--protocol", "token"])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start locklab");
    let pid = lab.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    while descendants(pid).len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!descendants(pid).is_empty(), "the lab started nothing");
    std::thread::sleep(Duration::from_millis(500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT the lab");
    let mut stderr = lab.stderr.take().expect("stderr");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut stdout = String::new();
    lab.stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    let status = lab.wait().expect("the lab ends");
    let stderr = errors.join().unwrap_or_default();
    assert_eq!(status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stdout.contains("PARTIAL (interrupted)"), "{stdout}");
    let left: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("read the temp dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("locklab-redis-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
