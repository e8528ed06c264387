//! Running the `locklab` binary from tests.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::Duration;

use locklab::server::RedisServer;
use locklab_impl::{connect, Conn, ConnectOptions};

/// A bound on anything a test waits for, so that a bug fails the test
/// instead of hanging it. Not an assertion about speed.
pub const HANG_GUARD: Duration = Duration::from_secs(20);

/// A `redis-server` of the test's own.
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
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
                continue;
            };
            // The command name is in parentheses and may hold spaces.
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            let mut fields = after.split_whitespace();
            let state = fields.next();
            let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
            if let (Some(ppid), Some(state)) = (ppid, state) {
                if state != "Z" {
                    parent_of.push((child, ppid));
                }
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
