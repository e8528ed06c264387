//! Lab clients as worker processes (`locklab worker`), against a real
//! `redis-server` and the lab's proxy: every protocol acquires, writes and
//! releases through a worker; a second worker finds the lock busy; a
//! SIGSTOPped holder loses its lease while another acquires, and after
//! SIGCONT its release says so (token: not-held; naive: it deletes the other
//! holder's lock — the article's bug, with real processes); a reply held by
//! the proxy arrives only when released; SIGKILL ends a worker; and no
//! worker, proxy or `redis-server` outlives the test process that started
//! them. With `--features rslock`, the same for the `rslock` crate.
//!
//! A lease "running out" is observed on Redis (the key is gone), never
//! assumed from a sleep, and no test asserts how long anything took.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use locklab::client::{known_clients, Keys, LabClient};
use locklab::process::{spawn_guarded, GuardedChild, Signal};
use locklab::proxy::{Direction, Proxy};
use locklab::server::RedisServer;
use locklab::worker::{Request, WorkerError, WorkerHandle, WorkerSpec};
use locklab_impl::redis;
use locklab_impl::Conn;
use locklab_model::{Call, ClientOp, Outcome};

use crate::support::locklab;
use crate::support::{assert_gone, conn_to as conn, is_live, rerun_on_helper, server, HANG_GUARD};

/// A lease short enough to run out during a test.
const SHORT_TTL: Duration = Duration::from_millis(200);
/// A lease that never runs out during a test.
const LONG_TTL: Duration = Duration::from_secs(30);
/// How long a reply gets before the test calls it "not arrived".
const SHORT: Duration = Duration::from_millis(200);

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_locklab"))
}

async fn spawn(name: &str, protocol: &str, url: &str, key: &str, ttl: Duration) -> WorkerHandle {
    let spec = WorkerSpec::new(name, protocol, url, key, format!("{key}:data"), ttl);
    WorkerHandle::spawn(binary(), &spec)
        .await
        .unwrap_or_else(|e| panic!("start worker {name} ({protocol}): {e}"))
}

async fn acquire(w: &mut WorkerHandle) -> Outcome {
    w.perform(Call::now(ClientOp::Acquire), "")
        .await
        .unwrap_or_else(|e| panic!("{} acquire: {e}", w.name()))
}

async fn release(w: &mut WorkerHandle) -> Outcome {
    w.perform(Call::now(ClientOp::Release), "")
        .await
        .unwrap_or_else(|e| panic!("{} release: {e}", w.name()))
}

async fn write(w: &mut WorkerHandle, data: &str) -> Outcome {
    w.perform(Call::now(ClientOp::Write), data)
        .await
        .unwrap_or_else(|e| panic!("{} write: {e}", w.name()))
}

fn keys(lock: &str, resource: &str) -> Keys {
    Keys {
        lock: lock.to_owned(),
        resource: resource.to_owned(),
    }
}

async fn exists(conn: &Conn, key: &str) -> bool {
    let n: u64 = conn.query(redis::cmd("EXISTS").arg(key)).await.unwrap();
    n == 1
}

/// Waits until `key` is (or is not) on Redis.
async fn until_exists(conn: &Conn, key: &str, present: bool) {
    let poll = async {
        while exists(conn, key).await != present {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, poll)
        .await
        .unwrap_or_else(|_| panic!("{key} never became present={present} on Redis"));
}

async fn resource_log(conn: &Conn, key: &str) -> Vec<String> {
    conn.query(
        redis::cmd("LRANGE")
            .arg(format!("{key}:data:log"))
            .arg(0)
            .arg(-1),
    )
    .await
    .unwrap()
}

fn granted(a: &Outcome) -> bool {
    matches!(a, Outcome::Granted { .. })
}

// ---------------------------------------------------------------------------
// Every protocol through workers.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_acquires_writes_and_releases_through_a_worker() {
    let server = server();
    let direct = conn(&server.url()).await;
    for protocol in &known_clients() {
        if locklab_impl::Protocol::named(protocol)
            .is_ok_and(|p| p.caps().confirms() || p.family() != locklab_model::Family::Lease)
        {
            // A replica: failover.rs; N masters: redlock.rs; not a lock:
            // the sync tests.
            continue;
        }
        let key = format!("locklab:w:{protocol}");
        let mut a = spawn("c1", protocol, &server.url(), &key, LONG_TTL).await;
        let mut b = spawn("c2", protocol, &server.url(), &key, LONG_TTL).await;
        assert_eq!(a.protocol_name(), *protocol);
        assert_eq!(LabClient::protocol(&a), *protocol);

        let first = acquire(&mut a).await;
        // What a grant carries follows from what the protocol declares (a
        // peer library: a token, no fence).
        let caps = locklab_impl::Protocol::named(protocol)
            .map(|p| p.caps())
            .unwrap_or(locklab_model::Capabilities::TOKEN);
        let (has_token, has_fence) = (caps.unique_token, caps.fencing);
        match &first {
            Outcome::Granted { token, fence, .. } => assert!(
                token.is_some() == has_token && fence.is_some() == has_fence,
                "{protocol}: {first:?}"
            ),
            _ => panic!("{protocol}: the first acquire gave {first:?}"),
        }
        assert!(exists(&direct, &key).await, "{protocol}: the key is set");

        let second = acquire(&mut b).await;
        let expected = if !caps.checks_reply {
            Outcome::Believed
        } else {
            Outcome::Busy
        };
        assert_eq!(second, expected, "{protocol}: a second worker");

        assert_eq!(write(&mut a, "a1").await, Outcome::Accepted, "{protocol}");
        let log = resource_log(&direct, &key).await;
        assert!(
            log.last().is_some_and(|e| e.ends_with(":a1")),
            "{protocol}: {log:?}"
        );

        let released = release(&mut a).await;
        let expected = match caps.release {
            locklab_model::declaration::Release::Del => Outcome::Deleted,
            locklab_model::declaration::Release::CompareAndDelete => Outcome::Released,
        };
        assert_eq!(released, expected, "{protocol}");
        assert!(!exists(&direct, &key).await, "{protocol}: the key is gone");
        let err = a
            .perform(Call::now(ClientOp::Release), "")
            .await
            .expect_err("nothing left to release");
        assert!(err.message.contains("no grant"), "{err}");

        assert!(granted(&acquire(&mut b).await), "{protocol}: b gets it now");
        assert!(release(&mut b).await.removed_a_key(), "{protocol}");

        // Reset: fresh keys, no grant.
        let key2 = format!("{key}:2");
        a.reset(&keys(&key2, &format!("{key2}:data")))
            .await
            .unwrap();
        assert!(granted(&acquire(&mut a).await), "{protocol}");
        assert!(exists(&direct, &key2).await, "{protocol}: the new key");
        assert!(release(&mut a).await.removed_a_key(), "{protocol}");

        assert!(a.quit().await.unwrap().success(), "{protocol}");
        assert!(b.quit().await.unwrap().success(), "{protocol}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_line_protocol_answers_bad_lines_and_ends_with_stdin() {
    let server = server();
    let mut w = spawn("c1", "token", &server.url(), "locklab:wire", LONG_TTL).await;
    // Two requests in flight: replies come back in order.
    w.send(&Request::Acquire).await.unwrap();
    w.send(&Request::Write { data: "x".into() }).await.unwrap();
    assert_eq!(w.pending(), 2);
    let err = w
        .perform(Call::now(ClientOp::Acquire), "")
        .await
        .expect_err("replies are pending");
    assert!(err.message.contains("pending"), "{err}");
    assert!(granted(
        &w.recv()
            .await
            .unwrap()
            .into_outcome(ClientOp::Acquire)
            .unwrap()
    ));
    // A write sent raw is answered with the token to write with: the lab
    // writes (a plain write for token).
    assert_eq!(w.recv().await.unwrap().into_write_with(), Ok(None));
    let err = w.recv_timeout(SHORT).await.unwrap_err();
    assert!(matches!(err, WorkerError::NothingPending { .. }), "{err}");
    assert!(w.quit().await.unwrap().success());

    // Straight to the binary: the start-up message, then a bad line gets
    // an `err` line and the worker goes on; closing stdin ends it with 0.
    let spec = WorkerSpec::new(
        "c9",
        "token",
        server.url(),
        "locklab:raw",
        "locklab:raw:d",
        LONG_TTL,
    );
    let mut cmd = Command::new(binary());
    cmd.args(spec.args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = spawn_guarded(cmd).unwrap();
    let mut stdin = child.take_stdin().unwrap();
    let input = format!(
        "{}\nnot json\n{{\"op\":\"acquire\"}}\n{{\"op\":\"write\",\"data\":\"x\"}}\n",
        spec.start().to_line()
    );
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let mut stdout = String::new();
    child
        .take_stdout()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait_timeout(HANG_GUARD).unwrap();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[0].starts_with(r#"{"ready":"token","version":2,"pid":"#),
        "{stdout}"
    );
    assert!(lines[1].starts_with(r#"{"err":"bad request"#), "{stdout}");
    assert!(
        lines[2].starts_with(r#"{"ok":"granted","token":""#),
        "{stdout}"
    );
    assert_eq!(lines[3], r#"{"ok":"write-with"}"#, "the lab writes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_refuses_a_start_up_message_of_another_version() {
    let server = server();
    let spec = WorkerSpec::new("c1", "token", server.url(), "k", "r", LONG_TTL);
    let mut newer = spec.start();
    newer.version = locklab::worker::PROTOCOL_VERSION + 1;
    let command = locklab::worker::LockCommand::locklab(binary(), "token");
    let err = WorkerHandle::start_with(&command, &spec, &newer)
        .await
        .expect_err("another version");
    assert!(matches!(err, WorkerError::Refused { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("version 3") && msg.contains("speaks 1 to 2") && !msg.contains('\n'),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_protocol_is_one_line_and_exit_2() {
    let server = server();
    let spec = WorkerSpec::new("c1", "nope", server.url(), "k", "r", LONG_TTL);
    let err = WorkerHandle::spawn(binary(), &spec)
        .await
        .expect_err("no such protocol");
    match &err {
        WorkerError::Exited { status, .. } => {
            assert_eq!(status.and_then(|s| s.code()), Some(2), "{err}")
        }
        other => panic!("expected Exited, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("unknown lock \"nope\""), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    assert!(err.stderr_tail().unwrap().contains("token"), "{err:?}");

    let args: Vec<String> = spec
        .args()
        .into_iter()
        .map(|a| a.into_string().unwrap())
        .collect();
    let run = locklab(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);

    // And the subcommand is hidden from --help.
    let help = locklab(&["--help"]);
    assert!(
        !help
            .stdout
            .lines()
            .any(|l| l.trim_start().starts_with("worker ")),
        "{}",
        help.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_cannot_reach_redis_fails_with_its_reason() {
    let port = locklab::server::free_port().unwrap();
    let mut spec = WorkerSpec::new(
        "c1",
        "token",
        format!("redis://127.0.0.1:{port}/"),
        "k",
        "r",
        LONG_TTL,
    );
    spec.connect_timeout = Duration::from_millis(300);
    let err = WorkerHandle::spawn(binary(), &spec)
        .await
        .expect_err("nothing listens there");
    // It says why on stdout, then exits.
    assert!(matches!(err, WorkerError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains("could not connect"), "{err}");
}

// ---------------------------------------------------------------------------
// Real faults: SIGSTOP, SIGKILL, and the proxy.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_worker_does_nothing_until_resumed() {
    let server = server();
    let direct = conn(&server.url()).await;
    let key = "locklab:paused";
    let mut w = spawn("c1", "token", &server.url(), key, LONG_TTL).await;
    w.pause().await.unwrap();
    assert!(w.is_paused());
    w.send(&Request::Acquire).await.unwrap();
    let err = w.recv_timeout(SHORT).await.unwrap_err();
    assert!(matches!(err, WorkerError::NoReply { .. }), "{err}");
    assert!(
        !exists(&direct, key).await,
        "a stopped process sent nothing"
    );

    w.resume().await.unwrap();
    assert!(!w.is_paused());
    assert!(granted(
        &w.recv()
            .await
            .unwrap()
            .into_outcome(ClientOp::Acquire)
            .unwrap()
    ));
    assert!(exists(&direct, key).await);
}

/// A holder is SIGSTOPped past its lease; another worker acquires; the
/// holder resumes and releases. Returns what the late release did, whether
/// the key was there afterwards, and the two workers.
async fn pause_past_the_lease(
    server: &RedisServer,
    protocol: &str,
    key: &str,
) -> (Outcome, bool, WorkerHandle, WorkerHandle) {
    let direct = conn(&server.url()).await;
    let mut a = spawn("c1", protocol, &server.url(), key, SHORT_TTL).await;
    let mut b = spawn("c2", protocol, &server.url(), key, LONG_TTL).await;
    assert!(granted(&acquire(&mut a).await), "{protocol}: a holds");
    a.pause().await.unwrap();
    until_exists(&direct, key, false).await; // a's lease ran out, on Redis
    let b_grant = acquire(&mut b).await;
    assert!(granted(&b_grant), "{protocol}: b acquires: {b_grant:?}");
    a.resume().await.unwrap();
    let late = release(&mut a).await;
    let present = exists(&direct, key).await;
    (late, present, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigstopped_token_holder_loses_its_lease_and_its_release_says_not_held() {
    let server = server();
    let (late, present, _a, _b) =
        pause_past_the_lease(&server, "token", "locklab:stop:token").await;
    assert_eq!(late, Outcome::NotHeld);
    assert!(present, "b's lock is untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigstopped_naive_holder_deletes_the_next_holders_lock() {
    // The article's unsafe release, with real processes.
    let server = server();
    let key = "locklab:stop:naive";
    let (late, present, _a, mut b) = pause_past_the_lease(&server, "naive", key).await;
    assert_eq!(late, Outcome::Deleted, "a's DEL removed a key: b's");
    assert!(!present, "b's lock is gone while b believes it holds");
    // So a third client gets in beside b.
    let mut c = spawn("c3", "naive", &server.url(), key, LONG_TTL).await;
    assert!(granted(&acquire(&mut c).await), "c gets in beside b");
    assert_eq!(write(&mut b, "b").await, Outcome::Accepted);
    assert_eq!(write(&mut c, "c").await, Outcome::Accepted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigstopped_fenced_holder_is_refused_by_the_resource() {
    let server = server();
    let key = "locklab:stop:fenced";
    let direct = conn(&server.url()).await;
    let mut a = spawn("c1", "fenced", &server.url(), key, SHORT_TTL).await;
    let mut b = spawn("c2", "fenced", &server.url(), key, LONG_TTL).await;
    let Outcome::Granted {
        fence: Some(fa), ..
    } = acquire(&mut a).await
    else {
        panic!("a holds with a fencing token")
    };
    a.pause().await.unwrap();
    until_exists(&direct, key, false).await;
    let Outcome::Granted {
        fence: Some(fb), ..
    } = acquire(&mut b).await
    else {
        panic!("b holds with a fencing token")
    };
    assert!(fb > fa, "{fb} > {fa}");
    assert_eq!(write(&mut b, "b").await, Outcome::Accepted);
    a.resume().await.unwrap();
    assert_eq!(
        write(&mut a, "a, late").await,
        Outcome::Refused { highest: fb }
    );
    assert_eq!(release(&mut a).await, Outcome::NotHeld);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_reply_reaches_the_worker_only_when_released() {
    let server = server();
    let direct = conn(&server.url()).await;
    let proxy = Proxy::start(server.addr()).await.unwrap();
    for protocol in ["token", "naive"] {
        let key = format!("locklab:held:{protocol}");
        let mut w = spawn("c1", protocol, &proxy.url(), &key, LONG_TTL).await;
        proxy.hold(Direction::ToClient);
        w.send(&Request::Acquire).await.unwrap();
        until_exists(&direct, &key, true).await; // Redis ran the SET NX
        assert!(
            proxy
                .wait_held(Direction::ToClient, "+OK\r\n".len(), HANG_GUARD)
                .await,
            "{protocol}: the reply is in the proxy"
        );
        let err = w.recv_timeout(SHORT).await.unwrap_err();
        assert!(
            matches!(err, WorkerError::NoReply { .. }),
            "{protocol}: {err}"
        );

        proxy.release(Direction::ToClient);
        let reply = w.recv().await.unwrap();
        assert!(
            granted(&reply.clone().into_outcome(ClientOp::Acquire).unwrap()),
            "{protocol}: {reply:?}"
        );
        assert!(release(&mut w).await.removed_a_key(), "{protocol}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_fails_the_workers_request_and_repair_heals_it() {
    let server = server();
    let proxy = Proxy::start(server.addr()).await.unwrap();
    let key = "locklab:part";
    let mut w = spawn("c1", "token", &proxy.url(), key, LONG_TTL).await;
    proxy.partition();
    let err = w
        .perform(Call::now(ClientOp::Acquire), "")
        .await
        .expect_err("no way to Redis");
    assert!(!err.message.is_empty());
    proxy.repair();
    assert!(granted(&acquire(&mut w).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_worker_is_gone() {
    let server = server();
    let mut w = spawn("c1", "token", &server.url(), "locklab:kill", LONG_TTL).await;
    let pid = w.pid();
    assert!(is_live(pid, "locklab"));
    w.pause().await.unwrap(); // SIGKILL ends a stopped process too
    w.send(&Request::Acquire).await.unwrap();
    let status = w.kill().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    assert!(!w.is_running());
    assert!(!is_live(pid, "locklab"), "pid {pid} is reaped");
    let err = w.request(&Request::Acquire).await.unwrap_err();
    assert!(matches!(err, WorkerError::Exited { .. }), "{err}");
    assert!(w.kill().is_ok(), "kill is idempotent");
}

// ---------------------------------------------------------------------------
// rslock.

#[cfg(feature = "rslock")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rslock_under_a_pause_two_workers_hold_at_once() {
    let server = server();
    let key = "locklab:stop:rslock";
    let direct = conn(&server.url()).await;
    let mut a = spawn("c1", "rslock", &server.url(), key, SHORT_TTL).await;
    let mut b = spawn("c2", "rslock", &server.url(), key, LONG_TTL).await;
    assert!(granted(&acquire(&mut a).await));
    assert_eq!(acquire(&mut b).await, Outcome::Busy);
    a.pause().await.unwrap();
    until_exists(&direct, key, false).await;
    assert!(granted(&acquire(&mut b).await), "b acquires");
    // a still believes it holds: nothing in rslock tells it otherwise.
    a.resume().await.unwrap();
    assert_eq!(write(&mut b, "b").await, Outcome::Accepted);
    assert_eq!(
        write(&mut a, "a, late").await,
        Outcome::Accepted,
        "no fencing: the stale holder's write is taken"
    );
    let log = resource_log(&direct, key).await;
    assert_eq!(log, ["-:b", "-:a, late"]);
    assert_eq!(release(&mut a).await, Outcome::NotHeld);
    assert!(
        exists(&direct, key).await,
        "compare-and-delete spared b's lock"
    );
    assert_eq!(release(&mut b).await, Outcome::Released);
}

/// rslock's connection has the redis crate's fixed 500 ms response timeout,
/// so a reply the proxy holds for longer counts as "not granted": rslock
/// then sends its unlock (compare-and-delete with its own value) and
/// reports the lock unavailable. Whether that unlock runs depends on
/// Redis's script cache, because rslock calls it by `EVALSHA` and loads the
/// script only after a `NOSCRIPT` reply — which is held too. Returns the
/// worker's reply, whether the key stayed, and what the next acquire (after
/// the hold ends) got.
#[cfg(feature = "rslock")]
async fn rslock_with_a_held_reply(
    server: &RedisServer,
    proxy: &Proxy,
    key: &str,
    script_cached: bool,
) -> (Outcome, bool, Outcome) {
    let direct = conn(&server.url()).await;
    let mut w = spawn("c1", "rslock", &proxy.url(), key, LONG_TTL).await;
    // Connect rslock (lazily, on its first lock) and load its unlock script.
    assert!(granted(&acquire(&mut w).await));
    assert_eq!(release(&mut w).await, Outcome::Released);
    if !script_cached {
        let _: () = direct
            .query(redis::cmd("SCRIPT").arg("FLUSH"))
            .await
            .unwrap();
    }
    proxy.hold(Direction::ToClient);
    w.send(&Request::Acquire).await.unwrap();
    until_exists(&direct, key, true).await; // Redis ran rslock's SET NX
                                            // rslock answers without the held reply.
    let reply = w
        .recv()
        .await
        .unwrap()
        .into_outcome(ClientOp::Acquire)
        .unwrap();
    let stayed = exists(&direct, key).await;
    proxy.release(Direction::ToClient);
    let next = acquire(&mut w).await;
    (reply, stayed, next)
}

#[cfg(feature = "rslock")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rslock_gives_up_on_a_held_reply_and_its_unlock_cleans_up() {
    let server = server();
    let proxy = Proxy::start(server.addr()).await.unwrap();
    let (reply, stayed, next) =
        rslock_with_a_held_reply(&server, &proxy, "locklab:held:rslock:warm", true).await;
    assert_eq!(reply, Outcome::Busy);
    assert!(!stayed, "its unlock removed the key its own SET had set");
    // The late replies, once released, are not taken for later ones.
    assert!(granted(&next), "{next:?}");
}

#[cfg(feature = "rslock")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rslock_gives_up_on_a_held_reply_and_leaves_a_phantom_lock_without_its_script() {
    let server = server();
    let proxy = Proxy::start(server.addr()).await.unwrap();
    let key = "locklab:held:rslock:cold";
    let (reply, stayed, next) = rslock_with_a_held_reply(&server, &proxy, key, false).await;
    assert_eq!(reply, Outcome::Busy);
    assert!(
        stayed,
        "the unlock never ran: the key is held, by no one, until its TTL"
    );
    assert_eq!(next, Outcome::Busy, "not even rslock itself gets in");
}

// ---------------------------------------------------------------------------
// No worker, proxy or server outlives the process that started them.

/// Set to `panic` or `wait` to make `orphan_helper` do something.
const HELPER_ENV: &str = "LOCKLAB_WORKER_TEST_HELPER";

/// Not a test of its own: the orphan tests below run it in a child process
/// (this same test binary). It starts a server, a proxy and a worker that
/// talks through the proxy, prints their pids and the proxy's port, waits
/// for a line on stdin, then fails (`panic`) or sleeps until it is killed
/// (`wait`).
#[test]
#[ignore = "a helper for the orphan tests, run by them in a child process"]
fn orphan_helper() {
    let Ok(action) = std::env::var(HELPER_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = server();
    let (proxy, worker) = runtime.block_on(async {
        let proxy = Proxy::start(server.addr()).await.unwrap();
        let mut worker = spawn("c1", "token", &proxy.url(), "locklab:orphan", LONG_TTL).await;
        assert!(granted(&acquire(&mut worker).await));
        (proxy, worker)
    });
    println!("DIR={}", server.dir().display());
    println!(
        "PIDS={} {} {}",
        server.pid(),
        worker.pid(),
        proxy.addr().port()
    );
    io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = io::stdin().read_line(&mut line);
    match action.as_str() {
        "panic" => panic!("the helper fails on purpose, holding a worker"),
        _ => thread::sleep(Duration::from_secs(60)),
    }
}

struct Helper {
    child: GuardedChild,
    redis_pid: u32,
    worker_pid: u32,
    proxy_port: u16,
    redis_dir: Option<std::path::PathBuf>,
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
    let (child, output) = rerun_on_helper("worker::orphan_helper", HELPER_ENV, action);
    let mut seen = Vec::new();
    let mut redis_dir = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (redis_pid, worker_pid, proxy_port) = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match output.recv_timeout(left) {
            Ok(line) => {
                if let Some((_, dir)) = line.split_once("DIR=") {
                    redis_dir = Some(dir.into());
                }
                if let Some((_, pids)) = line.split_once("PIDS=") {
                    let n: Vec<u32> = pids
                        .split_whitespace()
                        .map(|p| p.parse().unwrap())
                        .collect();
                    break (n[0], n[1], n[2] as u16);
                }
                seen.push(line);
            }
            Err(e) => panic!(
                "the helper printed no PIDS ({e}); its output:\n{}",
                seen.join("\n")
            ),
        }
    };
    assert!(
        is_live(redis_pid, "redis-server"),
        "pid {redis_pid} is a live redis-server"
    );
    assert!(
        is_live(worker_pid, "locklab"),
        "pid {worker_pid} is a live worker"
    );
    assert!(
        proxy_listens(proxy_port),
        "the proxy listens on {proxy_port}"
    );
    Helper {
        child,
        redis_pid,
        worker_pid,
        proxy_port,
        redis_dir,
    }
}

impl Helper {
    fn go(&mut self) {
        let mut stdin = self.child.take_stdin().unwrap();
        stdin.write_all(b"go\n").unwrap();
    }

    fn exit_code(&mut self) -> Option<i32> {
        self.child
            .wait_timeout(Duration::from_secs(30))
            .unwrap()
            .expect("the helper exits")
            .code()
    }

    /// Nothing the helper started is left: the server and the worker are
    /// gone (or zombies awaiting their reaper), the proxy's port is closed.
    fn assert_nothing_left(&self, case: &str) {
        assert_gone(self.redis_pid, "redis-server", case);
        assert_gone(self.worker_pid, "locklab", case);
        assert!(
            !proxy_listens(self.proxy_port),
            "{case}: the proxy's port {} still accepts connections",
            self.proxy_port
        );
    }
}

fn proxy_listens(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

#[test]
fn no_worker_proxy_or_server_outlives_a_failing_test() {
    let mut helper = start_helper("panic");
    helper.go();
    assert_eq!(helper.exit_code(), Some(101), "the helper test fails");
    helper.assert_nothing_left("panic");
}

#[test]
fn no_worker_proxy_or_server_outlives_a_sigkilled_lab() {
    let mut helper = start_helper("wait");
    helper.child.signal(Signal::SIGKILL).unwrap();
    assert_eq!(helper.exit_code(), None, "killed by a signal");
    helper.assert_nothing_left("SIGKILL");
}

#[test]
fn no_worker_proxy_or_server_outlives_ctrl_c() {
    let mut helper = start_helper("wait");
    helper.child.signal_group(Signal::SIGINT).unwrap();
    assert_eq!(helper.exit_code(), None, "killed by SIGINT");
    helper.assert_nothing_left("Ctrl-C");
}
