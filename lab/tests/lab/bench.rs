//! `locklab bench` and the waiting strategies of `locklab-impl` against real
//! `redis-server` processes: a `--quick` run whose report is complete and
//! kept mutual exclusion; the FIFO hand-off surviving a waiter that dies
//! (queued, or handed the lock) or gives up; notify and FIFO keeping mutual
//! exclusion under contention; bad input.
//!
//! No test asserts how long anything took: waits are bounded only by hang
//! guards, generous multiples of the lease, that turn a bug into a failure
//! instead of a hang.

use std::time::Duration;

use locklab::server::RedisServer;
use locklab_impl::redis;
use locklab_impl::wait::{FifoOptions, NotifyOptions};
use locklab_impl::{Attempt, Conn, LockError, LockKey, ReleaseOutcome, Ttl, Wait, WaitingLock};

use crate::support::locklab;
use crate::support::{conn, p, server, HANG_GUARD};

/// Waiters poll every 20 ms and count as dead after `waiter_lease`.
fn fifo_with(waiter_lease: Duration) -> Wait {
    Wait::Fifo(FifoOptions::new(Duration::from_millis(20), waiter_lease).unwrap())
}

fn fifo() -> Wait {
    fifo_with(Duration::from_millis(200))
}

async fn fifo_lock_with(
    server: &RedisServer,
    name: &str,
    lease: Duration,
    wait: Wait,
) -> WaitingLock {
    let key = LockKey::new(name).unwrap();
    WaitingLock::new(
        p("token"),
        conn(server).await,
        key,
        Ttl::new(lease).unwrap(),
        wait,
    )
    .unwrap()
}

async fn fifo_lock(server: &RedisServer, name: &str, lease: Duration) -> WaitingLock {
    fifo_lock_with(server, name, lease, fifo()).await
}

async fn queue(conn: &Conn, lock: &WaitingLock) -> Vec<String> {
    conn.query(redis::cmd("LRANGE").arg(lock.queue_key()).arg(0).arg(-1))
        .await
        .unwrap()
}

/// Waits (bounded) until `check` holds on Redis.
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let poll = async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, poll)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within the hang guard"));
}

/// Starts a waiter that queues behind the holder, waits until it is queued,
/// then kills it (its task is aborted: it never leaves the queue, never
/// polls again, never reads a hand-off). Returns its waiter id.
async fn queued_then_killed(
    server: &RedisServer,
    name: &str,
    lease: Duration,
    waiter_lease: Duration,
) -> String {
    let doomed = fifo_lock_with(server, name, lease, fifo_with(waiter_lease)).await;
    let probe = conn(server).await;
    let before = queue(&probe, &doomed).await.len();
    let waiting = {
        let doomed = doomed.clone();
        tokio::spawn(async move { doomed.acquire(HANG_GUARD).await })
    };
    until("the doomed waiter queues", || async {
        queue(&probe, &doomed).await.len() > before
    })
    .await;
    waiting.abort();
    let _ = waiting.await;
    queue(&probe, &doomed).await.pop().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_grants_in_arrival_order() {
    let s = server();
    let lease = Duration::from_secs(30);
    let holder = fifo_lock(&s, "order", lease).await;
    let first = holder.acquire(HANG_GUARD).await.unwrap();
    let probe = conn(&s).await;
    let mut waiters = Vec::new();
    for i in 0..4 {
        let lock = fifo_lock(&s, "order", lease).await;
        let before = queue(&probe, &holder).await.len();
        waiters.push(tokio::spawn(async move {
            let g = lock.acquire(HANG_GUARD).await.unwrap();
            lock.release(&g).await.unwrap();
            i
        }));
        until("the waiter queues", || async {
            queue(&probe, &holder).await.len() > before
        })
        .await;
    }
    assert_eq!(
        holder.release(&first).await.unwrap(),
        ReleaseOutcome::Released
    );
    let mut order = Vec::new();
    for w in waiters {
        order.push(w.await.unwrap());
    }
    // Each releases at once, handing on to the next in line.
    assert_eq!(order, [0, 1, 2, 3]);
    assert!(queue(&probe, &holder).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_that_dies_in_the_queue_is_skipped_once_its_liveness_runs_out() {
    let s = server();
    let lease = Duration::from_secs(30);
    let holder = fifo_lock(&s, "skip", lease).await;
    let grant = holder.acquire(HANG_GUARD).await.unwrap();
    let dead = queued_then_killed(&s, "skip", lease, Duration::from_millis(200)).await;
    let probe = conn(&s).await;
    let alive = format!("skip:w:{dead}");
    until("the dead waiter's liveness runs out", || async {
        let n: u64 = probe.query(redis::cmd("EXISTS").arg(&alive)).await.unwrap();
        n == 0
    })
    .await;
    let next = fifo_lock(&s, "skip", lease).await;
    let waiting = {
        let next = next.clone();
        tokio::spawn(async move { next.acquire(HANG_GUARD).await })
    };
    until("the live waiter queues", || async {
        queue(&probe, &holder).await.len() == 2
    })
    .await;
    holder.release(&grant).await.unwrap();
    let got = waiting.await.unwrap().unwrap();
    // Handed over by the release itself, past the dead entry: the lock
    // holds the live waiter's token, with the full lease.
    let value: Option<String> = probe.query(redis::cmd("GET").arg("skip")).await.unwrap();
    assert_eq!(value, got.token().map(|t| t.to_string()));
    assert!(queue(&probe, &holder).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_handed_the_lock_as_it_dies_costs_the_next_one_lease() {
    let s = server();
    let lease = Duration::from_millis(500);
    let holder = fifo_lock(&s, "dead-heir", lease).await;
    let grant = holder.acquire(HANG_GUARD).await.unwrap();
    // Its liveness outlasts the test's steps however slow the machine, so
    // the release surely finds it alive.
    let dead = queued_then_killed(&s, "dead-heir", lease, HANG_GUARD).await;
    let probe = conn(&s).await;
    let next = fifo_lock(&s, "dead-heir", lease).await;
    let waiting = {
        let next = next.clone();
        tokio::spawn(async move { next.acquire(HANG_GUARD).await })
    };
    until("the live waiter queues", || async {
        queue(&probe, &holder).await.len() == 2
    })
    .await;
    // The release hands the lock to the dead waiter (its liveness is still
    // fresh): nobody will release it; its lease has to run out.
    holder.release(&grant).await.unwrap();
    let value: Option<String> = probe
        .query(redis::cmd("GET").arg("dead-heir"))
        .await
        .unwrap();
    assert_eq!(
        value.as_deref(),
        Some(dead.as_str()),
        "handed to the dead waiter"
    );
    let got = waiting.await.unwrap().unwrap();
    let value: Option<String> = probe
        .query(redis::cmd("GET").arg("dead-heir"))
        .await
        .unwrap();
    assert_eq!(value, got.token().map(|t| t.to_string()));
    next.release(&got).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_that_gives_up_leaves_the_queue() {
    let s = server();
    let lease = Duration::from_secs(30);
    let holder = fifo_lock(&s, "give-up", lease).await;
    let grant = holder.acquire(HANG_GUARD).await.unwrap();
    let quitter = fifo_lock(&s, "give-up", lease).await;
    let e = quitter
        .acquire(Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(matches!(e, LockError::NotAcquired { .. }), "{e:?}");
    let probe = conn(&s).await;
    assert!(queue(&probe, &holder).await.is_empty());
    let keys: Vec<String> = probe
        .query(redis::cmd("KEYS").arg("give-up:*"))
        .await
        .unwrap();
    assert!(keys.is_empty(), "nothing left behind: {keys:?}");
    assert_eq!(
        holder.release(&grant).await.unwrap(),
        ReleaseOutcome::Released
    );
    assert!(matches!(
        holder.try_acquire().await.unwrap(),
        Attempt::Granted(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_and_fifo_wake_a_waiter_on_release_and_fence_in_order() {
    let s = server();
    let lease = Duration::from_secs(30);
    for wait in [
        Wait::Notify(NotifyOptions::new(Duration::from_secs(5)).unwrap()),
        fifo(),
    ] {
        let name = format!("wake-{wait}");
        let open = |c: Conn| {
            WaitingLock::new(
                p("fenced"),
                c,
                LockKey::new(name.as_str()).unwrap(),
                Ttl::new(lease).unwrap(),
                wait,
            )
            .unwrap()
        };
        let holder = open(conn(&s).await);
        let waiter = open(conn(&s).await);
        let g1 = holder.acquire(HANG_GUARD).await.unwrap();
        let waiting = tokio::spawn(async move { waiter.acquire(HANG_GUARD).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        holder.release(&g1).await.unwrap();
        let g2 = waiting.await.unwrap().unwrap();
        assert!(g2.fence() > g1.fence(), "{wait}: {g1:?} then {g2:?}");
    }
}

#[test]
fn a_quick_run_reports_every_row_and_keeps_mutual_exclusion() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("plots");
    let run = locklab(&[
        "bench",
        "--quick",
        "--duration-secs",
        "0.2",
        "--clients",
        "1,8,64",
        "--json",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(
        run.code, 0,
        "stderr: {}\nstdout: {}",
        run.stderr, run.stdout
    );
    let report = run.json();
    let rtt = report["rtt_us"].as_f64().unwrap();
    assert!(rtt > 0.0);
    let uncontended = report["uncontended"].as_array().unwrap();
    let contended = report["contended"].as_array().unwrap();
    let mut peers = 0;
    for p in ["rslock", "redlock-rs"] {
        if cfg!(feature = "rslock") && p == "rslock"
            || cfg!(feature = "redlock") && p == "redlock-rs"
        {
            assert!(
                uncontended.iter().any(|r| r["protocol"] == p),
                "{p} missing"
            );
            peers += if p == "rslock" { 2 } else { 1 };
        }
    }
    // naive, token, fenced by poll, notify, fifo; reentrant by poll.
    assert_eq!(uncontended.len(), 10 + peers, "{uncontended:?}");
    assert_eq!(contended.len(), 3 * (10 + peers));
    for protocol in ["naive", "token", "fenced"] {
        for wait in ["poll", "notify", "fifo"] {
            for clients in [1, 8, 64] {
                assert!(
                    contended.iter().any(|r| r["protocol"] == protocol
                        && r["wait"] == wait
                        && r["clients"] == clients),
                    "{protocol}/{wait} at {clients} clients missing"
                );
            }
        }
    }
    for row in uncontended {
        for field in ["acquire_p50_us", "release_p50_us", "acquire_p50_rtt"] {
            assert!(row[field].as_f64().unwrap() > 0.0, "{field}: {row}");
        }
    }
    for row in uncontended.iter().chain(contended) {
        for field in [
            "protocol",
            "clients",
            "masters",
            "grants_per_s",
            "fairness_max_over_min",
            "starved",
            "handoff_p50_us",
            "handoff_p99_us",
            "overlaps",
        ] {
            assert!(row.get(field).is_some(), "{field} missing: {row}");
        }
        assert!(row["grants"].as_u64().unwrap() > 0, "{row}");
        assert_eq!(row["overlaps"], 0, "{row}");
        assert_eq!(row["mutual_exclusion"], "holds", "{row}");
    }
    for row in contended.iter().filter(|r| r["wait"] == "fifo") {
        // A FIFO queue serves every client.
        assert_eq!(row["starved"], 0, "{row}");
    }
    assert_eq!(report["broken"].as_array().unwrap().len(), 0);
    for plot in ["latency.svg", "handoff.svg", "grants.svg"] {
        let text = std::fs::read_to_string(svg.join(plot)).unwrap();
        assert!(
            text.starts_with("<svg") && text.contains("token/fifo"),
            "{plot}"
        );
    }
}

/// Redlock waiting in turn on three masters: every client served, mutual
/// exclusion kept (the history checker reads the run).
#[test]
fn redlock_in_turn_serves_every_client_and_keeps_mutual_exclusion() {
    let run = locklab(&[
        "bench",
        "--protocol",
        "redlock",
        "--wait",
        "fifo",
        "--masters",
        "3",
        "--clients",
        "8",
        "--peer",
        "none",
        "--quick",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let rows: Vec<&serde_json::Value> = ["uncontended", "contended"]
        .iter()
        .flat_map(|t| report[*t].as_array().into_iter().flatten())
        .collect();
    assert!(!rows.is_empty(), "{report}");
    for row in rows {
        assert_eq!(
            (row["protocol"].as_str(), row["wait"].as_str()),
            (Some("redlock"), Some("fifo"))
        );
        assert_eq!(row["masters"], 3, "{row}");
        assert!(row["grants"].as_u64() > Some(0), "{row}");
        assert_eq!(row["starved"], 0, "{row}");
        assert_eq!(row["overlaps"], 0, "{row}");
        assert_eq!(row["mutual_exclusion"], "holds", "{row}");
    }
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let unused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let unreachable = format!("redis://127.0.0.1:{unused}/");
    for args in [
        &["bench", "--clients", "0"][..],
        &["bench", "--clients", "100000"],
        &["bench", "--clients", "eight"],
        &["bench", "--protocol", "paxos"],
        &["bench", "--peer", "zookeeper"],
        &["bench", "--wait", "spin"],
        &[
            "bench",
            "--masters",
            "3",
            "--peer",
            "none",
            "--protocol",
            "token",
        ],
        &["bench", "--redis", unreachable.as_str(), "--quick"],
    ] {
        let run = locklab(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(
            run.stderr.trim().lines().count(),
            1,
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    let run = locklab(&["bench", "--peer", "redlock-rs", "--quick"]);
    if !cfg!(feature = "redlock") {
        assert_eq!(run.code, 2);
        assert!(run.stderr.contains("--features redlock"), "{}", run.stderr);
    }
}
