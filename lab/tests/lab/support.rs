//! Running the `locklab` binary from tests.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::Duration;

use locklab::server::RedisServer;
use locklab_impl::{connect, Conn, ConnectOptions, Protocol};

/// A bound on anything a test waits for, so that a bug fails the test
/// instead of hanging it. Not an assertion about speed.
pub const HANG_GUARD: Duration = Duration::from_secs(20);

/// A `redis-server` of the test's own.
/// The protocol of this name (tests name the protocol they are about).
pub fn p(name: &str) -> Protocol {
    Protocol::named(name).unwrap_or_else(|e| panic!("{e}"))
}

pub fn server() -> RedisServer {
    RedisServer::start().unwrap_or_else(|e| panic!("start redis-server: {e}"))
}

/// A connection to a test's server.
pub async fn conn(server: &RedisServer) -> Conn {
    conn_to(&server.url()).await
}

/// A connection to a URL (a proxy's, say).
pub async fn conn_to(url: &str) -> Conn {
    connect(url, &ConnectOptions::default())
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

/// Sends each line read from `from` to `to`, on a thread of its own, until
/// either side closes.
pub fn forward_lines(from: impl Read + Send + 'static, to: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if to.send(line).is_err() {
                break;
            }
        }
    });
}

/// The result of one `locklab` run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs `locklab` with these arguments and waits for it.
pub fn locklab(args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_locklab"))
        .args(args)
        .output()
        .expect("run the locklab binary");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Starts `locklab` with these arguments without waiting for it (output
/// discarded).
pub fn locklab_child(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_locklab"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the locklab binary")
}

/// Every live descendant of `pid`, read from `/proc`.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(stat) = proc_stat(child).filter(|p| p.state != 'Z') {
                parent_of.push((child, stat.ppid));
            }
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parent_of.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

/// Runs this test binary again, on the `#[ignore]`d helper test `test`
/// only, with `env` set to `action` (the helper does nothing without it):
/// how a test watches a process that panics, exits or is killed without
/// taking the test itself down. Returns the helper and its output lines
/// (stdout and stderr).
pub fn rerun_on_helper(
    test: &str,
    env: &str,
    action: &str,
) -> (locklab::process::GuardedChild, mpsc::Receiver<String>) {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    cmd.args([
        "--exact",
        test,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(env, action)
    .env("RUST_BACKTRACE", "0")
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = locklab::process::spawn_guarded(cmd).expect("rerun the test binary");
    let (tx, output) = mpsc::channel();
    forward_lines(child.take_stdout().expect("stdout"), tx.clone());
    forward_lines(child.take_stderr().expect("stderr"), tx);
    (child, output)
}

/// A process as `/proc/<pid>/stat` shows it.
#[derive(Clone, Debug)]
pub struct ProcStat {
    /// The command name.
    pub comm: String,
    /// The state letter (`R`, `S`, `T`, `Z`, …).
    pub state: char,
    /// The parent's pid.
    pub ppid: u32,
    /// The process group.
    pub pgrp: u32,
}

/// `/proc/<pid>/stat`, read; `None` if there is no such process.
pub fn proc_stat(pid: u32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let mut rest = stat[close + 1..].split_whitespace();
    Some(ProcStat {
        comm: stat[open + 1..close].to_owned(),
        state: rest.next()?.chars().next()?,
        ppid: rest.next()?.parse().ok()?,
        pgrp: rest.next()?.parse().ok()?,
    })
}

/// True while `pid` runs a command whose name starts with `comm`: not gone,
/// not a zombie (dead, waiting for a parent to reap it — it holds no port
/// and runs no code), and not reused by another command.
pub fn is_live(pid: u32, comm: &str) -> bool {
    proc_stat(pid).is_some_and(|p| p.comm.starts_with(comm) && p.state != 'Z')
}

/// Waits (at most 5 s) until `pid` no longer runs `comm`; otherwise kills
/// it, so the failure leaves nothing behind, and fails the test.
pub fn assert_gone(pid: u32, comm: &str, case: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while is_live(pid, comm) {
        if std::time::Instant::now() >= deadline {
            let stat = proc_stat(pid);
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            panic!("{case}: {comm} {pid} outlived the process that started it: {stat:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A planted lock of `lab/tests/fixtures/planted.py` as a `--lock-cmd`:
/// `token` keeps every promise; `dies`, `fake`, `slow`, `noexpiry` and
/// `flaky` each break one (the file says how).
pub fn planted(mode: &str) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/planted.py");
    format!("python3 {} {mode}", script.display())
}

/// Waits (bounded by [`HANG_GUARD`]) until the lab process `pid` has its
/// signal thread: from then on SIGINT and SIGTERM end it with the exit
/// code the table promises.
pub fn wait_for_signal_thread(pid: u32) {
    let deadline = std::time::Instant::now() + HANG_GUARD;
    loop {
        let named = std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|comm| comm.trim() == "locklab-signals")
            });
        if named {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "locklab (pid {pid}) has no signal thread after {HANG_GUARD:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
