//! The run session: an interrupted run stops every server it started and
//! removes every temporary directory it made, however deep (the report's
//! commands are child processes); the next run sweeps what a killed run
//! left, and only that.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::support::{assert_gone, descendants, proc_stat, wait_for_signal_thread};

/// How long a run may take to start its first server (a model phase
/// first, on a loaded machine).
const FIRST_SERVER: Duration = Duration::from_secs(300);
/// How long an interrupted run may take to clean up and end.
const TO_END: Duration = Duration::from_secs(60);

fn lab_dirs(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .expect("read the temp dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("locklab-"))
        .collect()
}

fn start(args: &[&str], tmp: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_locklab"))
        .args(args)
        .env("TMPDIR", tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start locklab")
}

/// Waits (bounded) until some process under `pid` is a `redis-server`
/// with a directory in `tmp`; returns the servers then.
fn wait_for_servers(pid: u32, tmp: &Path) -> Vec<u32> {
    let deadline = Instant::now() + FIRST_SERVER;
    loop {
        let servers: Vec<u32> = descendants(pid)
            .into_iter()
            .filter(|p| proc_stat(*p).is_some_and(|s| s.comm.starts_with("redis-server")))
            .collect();
        if !servers.is_empty()
            && lab_dirs(tmp)
                .iter()
                .any(|d| d.starts_with("locklab-redis-"))
        {
            return servers;
        }
        assert!(
            Instant::now() < deadline,
            "locklab (pid {pid}) started no redis-server within {FIRST_SERVER:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (bounded) for `child` to end; its exit code and stderr.
fn ended(mut child: Child) -> (Option<i32>, String) {
    let deadline = Instant::now() + TO_END;
    while child.try_wait().expect("wait for locklab").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("locklab did not end within {TO_END:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("the lab ends");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sigterm_leaves_nothing(args: &[&str]) {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let lab = start(args, tmp.path());
    let pid = lab.id();
    wait_for_signal_thread(pid);
    let servers = wait_for_servers(pid, tmp.path());
    kill(Pid::from_raw(pid as i32), Signal::SIGTERM).expect("SIGTERM the lab");
    let (code, stderr) = ended(lab);
    assert_eq!(code, Some(143), "locklab {}: {stderr}", args.join(" "));
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    assert_eq!(lab_dirs(tmp.path()), Vec::<String>::new(), "{stderr}");
    for server in servers {
        assert_gone(server, "redis-server", &format!("SIGTERM of {args:?}"));
    }
}

#[test]
fn sigterm_of_reproduce_stops_its_servers_and_removes_their_dirs() {
    sigterm_leaves_nothing(&["reproduce", "--parallel", "1"]);
}

#[test]
fn sigterm_of_report_reaches_the_commands_it_runs() {
    let out = tempfile::tempdir().expect("a temp dir");
    let page = out.path().join("report.html");
    sigterm_leaves_nothing(&[
        "report",
        "--out",
        page.to_str().expect("a UTF-8 path"),
        "--protocol",
        "naive",
    ]);
    assert!(!page.exists(), "an interrupted report writes no page");
}

#[test]
fn a_run_sweeps_the_dirs_of_dead_runs_only() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let mut gone = Command::new("true").spawn().expect("run true");
    gone.wait().expect("reap true");
    let dead = tmp
        .path()
        .join(format!("locklab-redis-{}-AbCdEf", gone.id()));
    let live = tmp
        .path()
        .join(format!("locklab-redis-{}-GhIjKl", std::process::id()));
    let foreign = tmp.path().join("locklab-redis-MnOpQr");
    for dir in [&dead, &live, &foreign] {
        std::fs::create_dir_all(dir.join("data")).expect("make a dir");
    }
    let lab = start(&["list"], tmp.path());
    let (code, stderr) = ended(lab);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!dead.exists(), "a dead run's dir is swept");
    assert!(live.exists(), "a live run's dir is kept");
    assert!(foreign.exists(), "a dir that names no owner is kept");
}
