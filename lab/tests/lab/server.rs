//! The lab's `redis-server` handle against real servers: start, pause,
//! kill, restart, bad configs, and no server left behind when the process
//! that started it fails, is interrupted or is killed.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{assert_gone, is_live, proc_stat, rerun_on_helper};
use locklab::process::{GuardedChild, Signal};
use locklab::server::{ping, RedisServer, ServerConfig, ServerError};

/// Generous: a PING to a running local server answers in well under this.
const ANSWER: Duration = Duration::from_secs(2);
/// What a paused server gets to answer before we call it unanswered.
const SHORT: Duration = Duration::from_millis(200);

// ---------------------------------------------------------------------------
// A minimal RESP client, so the tests need no client crate.

#[derive(Debug, PartialEq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<String>),
    Array(Vec<Reply>),
}

fn command(port: u16, args: &[&str]) -> io::Result<Reply> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&addr, ANSWER)?;
    stream.set_read_timeout(Some(ANSWER))?;
    stream.set_write_timeout(Some(ANSWER))?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    (&stream).write_all(request.as_bytes())?;
    read_reply(&mut BufReader::new(stream))
}

fn read_reply(r: &mut impl BufRead) -> io::Result<Reply> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let line = line.trim_end();
    let (kind, rest) = line.split_at(1);
    let int = |s: &str| {
        s.parse::<i64>()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    };
    Ok(match kind {
        "+" => Reply::Simple(rest.into()),
        "-" => Reply::Error(rest.into()),
        ":" => Reply::Int(int(rest)?),
        "$" if rest == "-1" => Reply::Bulk(None),
        "$" => {
            let mut body = vec![0; int(rest)? as usize + 2];
            r.read_exact(&mut body)?;
            body.truncate(body.len() - 2);
            Reply::Bulk(Some(String::from_utf8_lossy(&body).into_owned()))
        }
        "*" => Reply::Array(
            (0..int(rest)?)
                .map(|_| read_reply(r))
                .collect::<io::Result<_>>()?,
        ),
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad reply {line:?}"),
            ))
        }
    })
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Some(s.into()))
}

fn config_get(port: u16, name: &str) -> String {
    match command(port, &["CONFIG", "GET", name]).unwrap() {
        Reply::Array(items) => match items.as_slice() {
            [_, Reply::Bulk(Some(v))] => v.clone(),
            other => panic!("CONFIG GET {name}: {other:?}"),
        },
        other => panic!("CONFIG GET {name}: {other:?}"),
    }
}

fn start(config: ServerConfig) -> RedisServer {
    RedisServer::start_with(config).unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------------------
// The handle.

#[test]
fn started_servers_answer_ping_on_different_ports() {
    let servers = RedisServer::start_many(2).unwrap_or_else(|e| panic!("{e}"));
    for s in &servers {
        ping(s.port(), ANSWER).unwrap_or_else(|e| panic!("PING {}: {e}", s.url()));
        assert_eq!(s.url(), format!("redis://127.0.0.1:{}/", s.port()));
        let info = command(s.port(), &["INFO", "server"]).unwrap();
        assert!(
            matches!(&info, Reply::Bulk(Some(text)) if text.contains(&format!("process_id:{}\r", s.pid()))),
            "the server on the port is the handle's process: {info:?}"
        );
        // Persistence is off and the server listens on loopback only.
        assert_eq!(config_get(s.port(), "save"), "");
        assert_eq!(config_get(s.port(), "appendonly"), "no");
        assert_eq!(config_get(s.port(), "bind"), "127.0.0.1");
        assert!(
            s.log_tail(50).contains("Ready to accept connections"),
            "{}",
            s.log_tail(50)
        );
    }
    assert_ne!(servers[0].port(), servers[1].port());
    assert_ne!(servers[0].pid(), servers[1].pid());
}

#[test]
fn a_server_outlives_the_thread_that_started_it() {
    // PR_SET_PDEATHSIG fires when the forking *thread* exits; the lab forks
    // from one long-lived thread, so a server started from a short-lived
    // thread (a test's, a tokio blocking thread's) keeps running.
    let server = thread::spawn(|| RedisServer::start().unwrap_or_else(|e| panic!("{e}")))
        .join()
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    ping(server.port(), ANSWER).unwrap_or_else(|e| panic!("PING after the thread ended: {e}"));
}

#[test]
fn pause_holds_every_answer_until_resume() {
    let server = RedisServer::start().unwrap_or_else(|e| panic!("{e}"));
    ping(server.port(), ANSWER).unwrap();

    server.pause().unwrap();
    let err = ping(server.port(), SHORT).expect_err("a paused server must not answer");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "expected a read timeout, got {err:?}"
    );

    server.resume().unwrap();
    ping(server.port(), ANSWER).unwrap_or_else(|e| panic!("PING after resume: {e}"));
}

#[test]
fn kill_refuses_connections_and_restart_comes_back_empty_on_the_same_port() {
    let mut server = RedisServer::start().unwrap_or_else(|e| panic!("{e}"));
    let port = server.port();
    let first_pid = server.pid();
    assert_eq!(
        command(port, &["SET", "locklab:k", "v"]).unwrap(),
        Reply::Simple("OK".into())
    );
    assert_eq!(command(port, &["GET", "locklab:k"]).unwrap(), bulk("v"));

    server.kill().unwrap();
    assert!(!server.is_running());
    let err = ping(port, ANSWER).expect_err("a killed server must not answer");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
    server.kill().expect("kill is idempotent");
    let err = server.pause().expect_err("pausing a killed server");
    assert!(matches!(err, ServerError::NotRunning { .. }), "{err:?}");

    server.restart().unwrap_or_else(|e| panic!("{e}"));
    assert!(server.is_running());
    assert_eq!(server.port(), port, "restart keeps the port");
    assert_ne!(server.pid(), first_pid, "restart starts a new process");
    ping(port, ANSWER).unwrap();
    assert_eq!(
        command(port, &["GET", "locklab:k"]).unwrap(),
        Reply::Bulk(None),
        "a restarted server is empty"
    );

    // Restarting a running (even paused) server works too.
    assert_eq!(
        command(port, &["SET", "locklab:k", "v2"]).unwrap(),
        Reply::Simple("OK".into())
    );
    server.pause().unwrap();
    server.restart().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(server.port(), port);
    assert_eq!(
        command(port, &["GET", "locklab:k"]).unwrap(),
        Reply::Bulk(None)
    );
}

#[test]
fn appendonly_restart_still_starts_empty() {
    let mut server = start(ServerConfig::new().appendonly(true));
    let port = server.port();
    assert_eq!(config_get(port, "appendonly"), "yes");
    command(port, &["SET", "locklab:k", "v"]).unwrap();
    server.restart().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        command(port, &["GET", "locklab:k"]).unwrap(),
        Reply::Bulk(None)
    );
}

#[test]
fn a_replica_follows_its_master() {
    let master = RedisServer::start().unwrap_or_else(|e| panic!("{e}"));
    let replica = start(ServerConfig::new().replica_of("127.0.0.1", master.port()));
    command(master.port(), &["SET", "locklab:r", "1"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if command(replica.port(), &["GET", "locklab:r"]).unwrap() == bulk("1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replica never got the key; its log:\n{}",
            replica.log_tail(20)
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_bad_config_fails_with_redis_complaint_and_log_tail() {
    let err = RedisServer::start_with(ServerConfig::new().arg("--no-such-directive").arg("x"))
        .expect_err("redis-server must refuse an unknown directive");
    let msg = err.to_string();
    let first_line = msg.lines().next().unwrap();
    assert!(matches!(err, ServerError::Exited { .. }), "{err:?}");
    assert!(first_line.contains("exited before it was ready"), "{msg}");
    assert!(
        first_line.contains("Bad directive"),
        "the first line says why: {msg}"
    );
    let tail = err.log_tail().expect("the error carries the log tail");
    assert!(tail.contains("FATAL CONFIG FILE ERROR"), "{tail}");
    assert!(tail.contains("no-such-directive"), "{tail}");
    assert!(
        msg.contains(tail.trim()),
        "the message includes the tail: {msg}"
    );
}

#[test]
fn a_server_that_never_answers_fails_at_the_deadline_and_is_killed() {
    use std::os::unix::fs::PermissionsExt;
    // A stand-in "redis-server" that says something and never listens.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("redis-server");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"fake redis pid $$\"\nexec sleep 60\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let err = RedisServer::start_with(
        ServerConfig::new()
            .binary(&fake)
            .ready_timeout(Duration::from_millis(300)),
    )
    .expect_err("nothing answers PING");
    assert!(matches!(err, ServerError::NotReady { .. }), "{err:?}");
    assert!(
        err.to_string()
            .lines()
            .next()
            .unwrap()
            .contains("did not answer PING"),
        "{err}"
    );
    let tail = err.log_tail().expect("the error carries the log tail");
    let pid: u32 = tail
        .lines()
        .find_map(|l| l.strip_prefix("fake redis pid "))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("the fake's output is in the tail: {tail}"));
    assert!(
        std::fs::metadata(format!("/proc/{pid}")).is_err(),
        "the unready process was killed and reaped"
    );
}

#[test]
fn a_missing_binary_says_to_run_setup() {
    let err = RedisServer::start_with(ServerConfig::new().binary("/nonexistent/redis-server"))
        .expect_err("no such binary");
    assert!(err.is_binary_not_found(), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("bash scripts/setup.sh"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
}

#[test]
fn a_fixed_port_in_use_fails_after_bounded_retries() {
    let taken = RedisServer::start().unwrap_or_else(|e| panic!("{e}"));
    let err = RedisServer::start_with(ServerConfig::new().port(taken.port()))
        .expect_err("the port is taken");
    assert!(
        matches!(err, ServerError::PortInUse { port, .. } if port == taken.port()),
        "{err:?}"
    );
    assert!(
        err.log_tail().unwrap().contains("Address already in use"),
        "{err}"
    );
    // The server that holds the port is untouched.
    ping(taken.port(), ANSWER).unwrap();
}

// ---------------------------------------------------------------------------
// No server outlives the process that started it.

/// Set to `panic`, `exit` or `wait` to make `orphan_helper` do something.
const HELPER_ENV: &str = "LOCKLAB_SERVER_TEST_HELPER";

/// Not a test of its own: the orphan tests below run it in a child process
/// (this same test binary). It starts a server, prints `PID=<pid>`, waits
/// for a line on stdin, then fails (`panic`), exits without running any
/// destructor (`exit`), or sleeps until it is killed (`wait`).
#[test]
#[ignore = "a helper for the orphan tests, run by them in a child process"]
fn orphan_helper() {
    let Ok(action) = std::env::var(HELPER_ENV) else {
        return;
    };
    let server = RedisServer::start().unwrap_or_else(|e| panic!("{e}"));
    println!("DIR={}", server.dir().display());
    println!("PID={}", server.pid());
    io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = io::stdin().read_line(&mut line);
    match action.as_str() {
        "panic" => panic!("the helper fails on purpose, holding a server"),
        "exit" => {
            std::mem::forget(server);
            std::process::exit(0);
        }
        _ => thread::sleep(Duration::from_secs(60)),
    }
}

/// A helper process holding a server.
struct Helper {
    child: GuardedChild,
    redis_pid: u32,
    /// The server's temporary directory: a helper that dies without running
    /// destructors leaves it behind, so the test removes it.
    redis_dir: Option<std::path::PathBuf>,
    output: mpsc::Receiver<String>,
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill_and_wait();
        if let Some(dir) = &self.redis_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn start_helper(action: &str) -> Helper {
    let (child, output) = rerun_on_helper("server::orphan_helper", HELPER_ENV, action);
    let mut seen = Vec::new();
    let mut redis_dir = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    let redis_pid = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match output.recv_timeout(left) {
            Ok(line) => {
                // libtest's "test … ..." may precede them on the same line.
                if let Some((_, dir)) = line.split_once("DIR=") {
                    redis_dir = Some(dir.into());
                }
                if let Some((_, pid)) = line.split_once("PID=") {
                    break pid.trim().parse().unwrap();
                }
                seen.push(line);
            }
            Err(e) => panic!(
                "the helper printed no PID ({e}); its output:\n{}",
                seen.join("\n")
            ),
        }
    };
    assert!(
        is_live(redis_pid, "redis-server"),
        "pid {redis_pid} should be a live redis-server"
    );
    Helper {
        child,
        redis_pid,
        redis_dir,
        output,
    }
}

impl Helper {
    fn go(&mut self) {
        let mut stdin = self.child.take_stdin().unwrap();
        stdin.write_all(b"go\n").unwrap();
    }

    /// Waits (bounded) for the helper to exit and returns its exit code.
    fn exit_code(&mut self) -> Option<i32> {
        let status = self
            .child
            .wait_timeout(Duration::from_secs(30))
            .unwrap()
            .expect("the helper exits");
        // Drain what it printed, for failure messages.
        while self.output.try_recv().is_ok() {}
        status.code()
    }
}

#[test]
fn no_server_outlives_a_failing_test() {
    let mut helper = start_helper("panic");
    helper.go();
    assert_eq!(helper.exit_code(), Some(101), "the helper test fails");
    assert_gone(helper.redis_pid, "redis-server", "panic");
}

#[test]
fn no_server_outlives_an_exit_without_destructors() {
    let mut helper = start_helper("exit");
    helper.go();
    assert_eq!(helper.exit_code(), Some(0));
    assert_gone(helper.redis_pid, "redis-server", "exit without Drop");
}

#[test]
fn no_server_outlives_a_sigkilled_lab() {
    let mut helper = start_helper("wait");
    helper.child.signal(Signal::SIGKILL).unwrap();
    assert_eq!(helper.exit_code(), None, "killed by a signal");
    assert_gone(helper.redis_pid, "redis-server", "SIGKILL");
}

#[test]
fn no_server_outlives_ctrl_c() {
    let mut helper = start_helper("wait");
    // The server has its own process group, so a terminal's Ctrl-C (SIGINT
    // to the lab's group) reaches only the lab.
    let pgrp = proc_stat(helper.redis_pid).unwrap().pgrp;
    assert_eq!(pgrp, helper.redis_pid, "redis-server leads its own group");
    helper.child.signal_group(Signal::SIGINT).unwrap();
    assert_eq!(helper.exit_code(), None, "killed by SIGINT");
    assert_gone(helper.redis_pid, "redis-server", "Ctrl-C");
}
