//! The lab's Sentinel set against real `redis-server`s and
//! `redis-sentinel`s: it starts ready; replication reaches every replica; a
//! lagging replica misses writes until it catches up; a failover to it,
//! forced or after the primary's death, promotes it without them (a lock
//! lost); clients that resolve the primary through Sentinel follow; and no
//! process outlives the set, also when the process holding it is killed.
//!
//! "Absent" is asserted on state the lab made certain (a held stream, a
//! `WAIT` no replica acknowledged, a full resync), never on how long
//! something took.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support::{assert_gone, rerun_on_helper, HANG_GUARD};
use locklab::process::Signal;
use locklab::sentinel::{
    FailoverKind, MinReplicas, RedisTarget, SentinelError, SentinelOptions, SentinelSet,
    SentinelUrl,
};
use locklab_impl::redis;

/// Bounds a set's start and each failover; generous, for a loaded machine.
const SET_GUARD: Duration = Duration::from_secs(90);

async fn start(replicas: usize) -> SentinelSet {
    let options = SentinelOptions {
        replicas,
        ready_timeout: SET_GUARD,
        failover_deadline: SET_GUARD,
        ..SentinelOptions::default()
    };
    SentinelSet::start(&options).await.unwrap_or_else(|e| {
        panic!(
            "start a Sentinel set: {e}\n{}",
            e.log_tail().unwrap_or_default()
        )
    })
}

/// Runs one command on a fresh connection (Sentinel closes the clients of
/// every node it reconfigures, so a test keeps none open across a failover).
async fn cmd<T: redis::FromRedisValue>(addr: SocketAddr, cmd: &redis::Cmd) -> T {
    let client = redis::Client::open(format!("redis://{addr}/")).unwrap();
    let run = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        cmd.query_async(&mut conn).await
    };
    tokio::time::timeout(HANG_GUARD, run)
        .await
        .unwrap_or_else(|_| panic!("{addr}: no answer"))
        .unwrap_or_else(|e| panic!("{addr}: {e}"))
}

async fn get(addr: SocketAddr, key: &str) -> Option<String> {
    cmd(addr, redis::cmd("GET").arg(key)).await
}

async fn put(addr: SocketAddr, key: &str, value: &str) {
    let _: () = cmd(addr, redis::cmd("SET").arg(key).arg(value)).await;
}

/// Writes `key` on the primary, then `WAIT`s up to `timeout` for `replicas`
/// to acknowledge it: how many did. `WAIT` returns as soon as they have.
async fn acked(
    primary: SocketAddr,
    (key, value): (&str, &str),
    replicas: i64,
    timeout: Duration,
) -> i64 {
    let client = redis::Client::open(format!("redis://{primary}/")).unwrap();
    let run = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .query_async(&mut conn)
            .await?;
        redis::cmd("WAIT")
            .arg(replicas)
            .arg(timeout.as_millis() as u64)
            .query_async::<i64>(&mut conn)
            .await
    };
    tokio::time::timeout(timeout + HANG_GUARD, run)
        .await
        .expect("WAIT answers")
        .unwrap()
}

/// A write that `replicas` replicas acknowledge (the wait bounds only a
/// stalled machine).
async fn write_acked(primary: SocketAddr, kv: (&str, &str), replicas: i64) -> i64 {
    acked(primary, kv, replicas, HANG_GUARD).await
}

/// A write no replica can acknowledge (every one lags): `WAIT 1` counts 0
/// however long it waits, so it waits briefly.
async fn write_unacked(primary: SocketAddr, kv: (&str, &str)) -> i64 {
    acked(primary, kv, 1, Duration::from_millis(300)).await
}

/// Polls until `key` holds `value` on `addr`.
async fn until_value(addr: SocketAddr, key: &str, value: &str) {
    let deadline = Instant::now() + HANG_GUARD;
    while get(addr, key).await.as_deref() != Some(value) {
        assert!(
            Instant::now() < deadline,
            "{key} never became {value:?} on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn role(addr: SocketAddr) -> String {
    let info: String = cmd(addr, redis::cmd("INFO").arg("replication")).await;
    info.lines()
        .find_map(|l| l.strip_prefix("role:"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

async fn resolved(set: &SentinelSet) -> SocketAddr {
    let (host, port) = set.resolver().primary().await.unwrap();
    SocketAddr::new(host.parse().unwrap(), port)
}

fn addr(set: &SentinelSet, node: usize) -> SocketAddr {
    set.node(node).unwrap().addr()
}

#[tokio::test]
async fn a_set_with_one_replica_starts_ready_and_clients_find_its_primary() {
    let set = start(1).await;
    assert_eq!(set.primary(), 0);
    assert_eq!(set.replicas(), [1]);
    assert_eq!(set.sentinel_addrs().len(), 3);
    assert_eq!(set.agreed_primary().await.unwrap(), addr(&set, 0));
    assert_eq!(role(addr(&set, 0)).await, "master");
    assert_eq!(role(addr(&set, 1)).await, "slave");

    put(addr(&set, 0), "locklab:k", "1").await;
    until_value(addr(&set, 1), "locklab:k", "1").await;

    // Through the redis crate's Sentinel client, and through the URL form.
    assert_eq!(resolved(&set).await, addr(&set, 0));
    let url: SentinelUrl = set.url().parse().unwrap();
    assert_eq!(url.service(), "locklab");
    assert_eq!(url.hosts().len(), 3);
    assert_eq!(
        url.primary_url().await.unwrap(),
        format!("redis://{}/0", addr(&set, 0))
    );
    let target = RedisTarget::parse(&set.url()).unwrap();
    assert_eq!(
        target.primary_url().await.unwrap(),
        format!("redis://{}/0", addr(&set, 0))
    );
}

#[tokio::test]
async fn a_set_with_two_replicas_starts_ready_and_replicates_to_both() {
    let set = start(2).await;
    assert_eq!(set.replicas(), [1, 2]);
    put(addr(&set, 0), "locklab:k", "2").await;
    for replica in [1, 2] {
        until_value(addr(&set, replica), "locklab:k", "2").await;
    }
    assert_eq!(write_acked(addr(&set, 0), ("locklab:k", "3"), 2).await, 2);
}

#[tokio::test]
async fn a_lagging_replica_misses_writes_until_it_catches_up() {
    let set = start(1).await;
    let (primary, replica) = (addr(&set, 0), addr(&set, 1));
    put(primary, "locklab:before", "1").await;
    until_value(replica, "locklab:before", "1").await;

    set.lag(1).unwrap();
    assert!(set.is_lagging(1));
    assert_eq!(
        write_unacked(primary, ("locklab:lock", "token")).await,
        0,
        "no replica acknowledges a write made while its stream is held"
    );
    assert_eq!(get(replica, "locklab:lock").await, None);
    let info: String = cmd(replica, redis::cmd("INFO").arg("replication")).await;
    assert!(
        info.contains("master_link_status:up"),
        "its link is still up: {info}"
    );

    set.catch_up(1).await.unwrap();
    assert!(!set.is_lagging(1));
    assert_eq!(get(replica, "locklab:lock").await.as_deref(), Some("token"));

    // Nodes the set cannot lag.
    for (node, says) in [(0, "first primary"), (7, "nodes 0 to 1")] {
        let err = set.lag(node).unwrap_err();
        assert!(matches!(err, SentinelError::BadNode { .. }), "{err:?}");
        assert!(err.to_string().contains(says), "{err}");
    }
}

#[tokio::test]
async fn a_forced_failover_to_a_lagging_replica_loses_the_lock() {
    let mut set = start(2).await;
    let (old, lagging, other) = (addr(&set, 0), addr(&set, 1), addr(&set, 2));
    set.lag(1).unwrap();
    assert_eq!(
        write_acked(old, ("locklab:lock", "c1"), 1).await,
        1,
        "the replica that does not lag acknowledges the grant"
    );
    assert_eq!(get(lagging, "locklab:lock").await, None);
    assert_eq!(get(other, "locklab:lock").await.as_deref(), Some("c1"));

    let report = set
        .failover_to(1)
        .await
        .unwrap_or_else(|e| panic!("failover: {e}\n{}", e.log_tail().unwrap_or_default()));
    assert_eq!(report.kind, FailoverKind::Forced);
    assert_eq!((report.old_primary, report.new_primary), (0, 1));
    assert_eq!(report.new_primary_addr, lagging);
    assert!(report.settled_after >= report.agreed_after);
    assert_eq!(set.primary(), 1);
    assert_eq!(set.agreed_primary().await.unwrap(), lagging);
    assert_eq!(resolved(&set).await, lagging);

    assert_eq!(
        get(lagging, "locklab:lock").await,
        None,
        "the new primary never had the lock"
    );
    // The old primary was demoted, and both it and the other replica
    // resynced from the new primary: the grant is gone everywhere.
    assert_eq!(role(old).await, "slave");
    assert_eq!(get(old, "locklab:lock").await, None);
    assert_eq!(get(other, "locklab:lock").await, None);
    // Writes on the new primary reach both.
    put(lagging, "locklab:after", "1").await;
    until_value(old, "locklab:after", "1").await;
    until_value(other, "locklab:after", "1").await;

    let err = set.lag(2).unwrap_err();
    assert!(err.to_string().contains("after a failover"), "{err}");
    let err = set.failover_to(1).await.unwrap_err();
    assert!(err.to_string().contains("primary already"), "{err}");
}

#[tokio::test]
async fn a_primary_killed_fails_over_to_its_lagging_replica_without_the_lock() {
    let mut set = start(1).await;
    let (old, replica) = (addr(&set, 0), addr(&set, 1));
    set.lag(1).unwrap();
    assert_eq!(write_unacked(old, ("locklab:lock", "c1")).await, 0);

    let report = set
        .kill_primary(None)
        .await
        .unwrap_or_else(|e| panic!("failover: {e}\n{}", e.log_tail().unwrap_or_default()));
    assert_eq!(report.kind, FailoverKind::PrimaryKilled);
    assert_eq!(report.new_primary, 1);
    assert!(
        report.dropped_stream_bytes > 0,
        "the held stream is dropped"
    );
    assert_eq!(resolved(&set).await, replica);
    assert_eq!(role(replica).await, "master");
    assert_eq!(get(replica, "locklab:lock").await, None);
    assert!(!set.node_mut(0).unwrap().is_running());
}

#[tokio::test]
async fn a_primary_killed_with_two_replicas_fails_over_to_the_one_that_has_more() {
    let mut set = start(2).await;
    set.lag(1).unwrap();
    assert_eq!(
        write_acked(addr(&set, 0), ("locklab:lock", "c1"), 1).await,
        1
    );

    // Equal priorities: Sentinel prefers the higher replication offset
    // (the set waits until every Sentinel has read both).
    let report = set
        .kill_primary(None)
        .await
        .unwrap_or_else(|e| panic!("failover: {e}\n{}", e.log_tail().unwrap_or_default()));
    assert_eq!(report.new_primary, 2);
    assert_eq!(
        get(addr(&set, 2), "locklab:lock").await.as_deref(),
        Some("c1")
    );
    // The lagging replica now follows the new primary and gets it.
    until_value(addr(&set, 1), "locklab:lock", "c1").await;
}

#[tokio::test]
async fn a_primary_killed_with_two_replicas_can_fail_over_to_the_one_that_did_not_ack() {
    let mut set = start(2).await;
    set.lag(1).unwrap();
    assert_eq!(
        write_acked(addr(&set, 0), ("locklab:lock", "c1"), 1).await,
        1
    );

    let report = set
        .kill_primary(Some(1))
        .await
        .unwrap_or_else(|e| panic!("failover: {e}\n{}", e.log_tail().unwrap_or_default()));
    assert_eq!(report.new_primary, 1);
    assert_eq!(resolved(&set).await, addr(&set, 1));
    assert_eq!(get(addr(&set, 1), "locklab:lock").await, None);
    // The replica that acknowledged the grant resynced from the new
    // primary, and lost it too.
    assert_eq!(role(addr(&set, 2)).await, "slave");
    assert_eq!(get(addr(&set, 2), "locklab:lock").await, None);
}

#[tokio::test]
async fn a_set_fails_over_twice() {
    let mut set = start(1).await;
    let first = set
        .failover_to(1)
        .await
        .unwrap_or_else(|e| panic!("failover: {e}\n{}", e.log_tail().unwrap_or_default()));
    assert_eq!(first.new_primary, 1);
    put(addr(&set, 1), "locklab:k", "1").await;
    until_value(addr(&set, 0), "locklab:k", "1").await;

    // Node 0 is a replica again, replicating directly from node 1.
    assert_eq!(set.replicas(), [0]);
    let second = set
        .kill_primary(None)
        .await
        .unwrap_or_else(|e| panic!("failover: {e}\n{}", e.log_tail().unwrap_or_default()));
    assert_eq!((second.old_primary, second.new_primary), (1, 0));
    assert_eq!(resolved(&set).await, addr(&set, 0));
    assert_eq!(get(addr(&set, 0), "locklab:k").await.as_deref(), Some("1"));
}

#[tokio::test]
async fn a_set_that_cannot_fail_over_is_an_error_with_the_sentinel_logs() {
    let mut set = SentinelSet::start(&SentinelOptions {
        failover_deadline: Duration::from_secs(5),
        ..SentinelOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    set.node_mut(1).unwrap().kill().unwrap();
    let err = set
        .kill_primary(None)
        .await
        .expect_err("no replica is left to promote");
    assert!(matches!(err, SentinelError::NotAgreed { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert!(msg.contains("agree on a new primary"), "{msg}");
    let tail = err.log_tail().expect("the Sentinels' logs");
    assert_eq!(tail.matches("--- redis-sentinel").count(), 3, "{tail}");
}

#[tokio::test]
async fn min_replicas_to_write_counts_a_lagging_replica_but_not_a_dead_one() {
    let max_lag = Duration::from_secs(3);
    let mut set = SentinelSet::start(&SentinelOptions {
        min_replicas_to_write: Some(MinReplicas {
            replicas: 1,
            max_lag,
        }),
        ready_timeout: SET_GUARD,
        ..SentinelOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let primary = addr(&set, 0);
    set.lag(1).unwrap();
    // Longer than max-lag: the lagging replica still acknowledges (the
    // offset it has) every second, so the primary counts it.
    tokio::time::sleep(max_lag + Duration::from_secs(1)).await;
    assert_eq!(write_unacked(primary, ("locklab:lock", "c1")).await, 0);
    assert_eq!(get(addr(&set, 1), "locklab:lock").await, None);

    // A dead replica stops acknowledging: writes are refused once max-lag
    // has passed.
    set.node_mut(1).unwrap().kill().unwrap();
    let client = redis::Client::open(format!("redis://{primary}/")).unwrap();
    let deadline = Instant::now() + HANG_GUARD;
    let refusal = loop {
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let reply: redis::RedisResult<()> = redis::cmd("SET")
            .arg("locklab:lock")
            .arg("c2")
            .query_async(&mut conn)
            .await;
        if let Err(e) = reply {
            break e;
        }
        assert!(Instant::now() < deadline, "writes were never refused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(refusal.to_string().contains("NOREPLICAS"), "{refusal}");
}

// ---------------------------------------------------------------------------
// No process outlives the set.

/// Every live `redis-server` or `redis-sentinel` whose working directory is
/// inside one of `dirs`.
fn redis_processes_in(dirs: &[PathBuf]) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            crate::support::is_live(pid, "redis-server")
                || crate::support::is_live(pid, "redis-sentinel")
        })
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .is_ok_and(|cwd| dirs.iter().any(|d| cwd.starts_with(d)))
        })
        .collect()
}

/// The set's processes: `(pid, command name)`, and their directories.
fn processes(set: &SentinelSet) -> (Vec<(u32, &'static str)>, Vec<PathBuf>) {
    let mut pids = Vec::new();
    let mut dirs = Vec::new();
    for node in 0..set.node_count() {
        let node = set.node(node).unwrap();
        pids.push((node.pid(), "redis-server"));
        dirs.push(node.dir().to_path_buf());
    }
    for sentinel in set.sentinels() {
        pids.push((sentinel.pid(), "redis-sentinel"));
        dirs.push(sentinel.dir().to_path_buf());
    }
    (pids, dirs)
}

#[tokio::test]
async fn dropping_the_set_leaves_no_process() {
    let set = start(2).await;
    let (pids, dirs) = processes(&set);
    assert_eq!(pids.len(), 6);
    assert_eq!(redis_processes_in(&dirs).len(), 6, "{pids:?}");
    drop(set);
    for (pid, comm) in pids {
        assert_gone(pid, comm, "drop");
    }
    assert_eq!(redis_processes_in(&dirs), Vec::<u32>::new());
    assert!(dirs.iter().all(|d| !d.exists()), "directories deleted");
}

/// Set to `wait` to make `sentinel_orphan_helper` do something.
const HELPER_ENV: &str = "LOCKLAB_SENTINEL_TEST_HELPER";

/// Not a test of its own: `no_process_outlives_a_sigkilled_lab` runs it in
/// a child process (this test binary). It starts a set, prints its pids and
/// directories, and sleeps until it is killed.
#[tokio::test]
#[ignore = "a helper for the orphan test, run by it in a child process"]
async fn sentinel_orphan_helper() {
    if std::env::var(HELPER_ENV).is_err() {
        return;
    }
    let set = start(2).await;
    let (pids, dirs) = processes(&set);
    for (pid, comm) in pids {
        println!("PROC={pid} {comm}");
    }
    for dir in dirs {
        println!("DIR={}", dir.display());
    }
    println!("READY");
    std::io::stdout().flush().unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;
}

#[test]
fn no_process_outlives_a_sigkilled_lab() {
    let (mut child, output) =
        rerun_on_helper("sentinel::sentinel_orphan_helper", HELPER_ENV, "wait");
    let mut pids = Vec::new();
    let mut dirs = Vec::new();
    let mut seen = Vec::new();
    let deadline = Instant::now() + SET_GUARD;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = output
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("the helper never got ready ({e}):\n{}", seen.join("\n")));
        if let Some((_, p)) = line.split_once("PROC=") {
            let (pid, comm) = p.trim().split_once(' ').unwrap();
            let comm = if comm == "redis-server" {
                "redis-server"
            } else {
                "redis-sentinel"
            };
            pids.push((pid.parse::<u32>().unwrap(), comm));
        } else if let Some((_, d)) = line.split_once("DIR=") {
            dirs.push(PathBuf::from(d.trim()));
        } else if line.contains("READY") {
            break;
        }
        seen.push(line);
    }
    assert_eq!(pids.len(), 6, "{seen:?}");
    assert_eq!(redis_processes_in(&dirs).len(), 6);

    child.signal(Signal::SIGKILL).unwrap();
    let status = child.wait_timeout(Duration::from_secs(30)).unwrap();
    assert!(
        status.is_some_and(|s| s.code().is_none()),
        "killed by a signal"
    );
    for (pid, comm) in pids {
        assert_gone(pid, comm, "SIGKILL");
    }
    assert_eq!(redis_processes_in(&dirs), Vec::<u32>::new());
    for dir in dirs {
        // Nobody ran the destructors that delete them.
        let _ = std::fs::remove_dir_all(dir);
    }
}

// ---------------------------------------------------------------------------
// Measurements for docs/failover.md (not a test: no timing is asserted).

/// Ten failovers of each kind on fresh sets, each to a lagging replica that
/// lacks a lock: prints each report and the median and max times to
/// agreement. `cargo test -p locklab --release --test lab
/// sentinel::measure_failovers -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement, run by hand for docs/failover.md"]
async fn measure_failovers() {
    let runs: usize = std::env::var("LOCKLAB_FAILOVER_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    for kind in [FailoverKind::PrimaryKilled, FailoverKind::Forced] {
        let mut agreed = Vec::new();
        let mut settled = Vec::new();
        for run in 0..runs {
            let mut set = start(1).await;
            set.lag(1).unwrap();
            assert_eq!(
                write_unacked(addr(&set, 0), ("locklab:lock", "c1")).await,
                0
            );
            let report = match kind {
                FailoverKind::PrimaryKilled => set.kill_primary(None).await,
                FailoverKind::Forced => set.failover_to(1).await,
            }
            .unwrap_or_else(|e| panic!("{e}\n{}", e.log_tail().unwrap_or_default()));
            assert_eq!(get(addr(&set, 1), "locklab:lock").await, None);
            println!(
                "{kind:?} run {run}: agreed after {:?}, settled after {:?}, {} stream bytes dropped",
                report.agreed_after, report.settled_after, report.dropped_stream_bytes
            );
            if std::env::var_os("LOCKLAB_FAILOVER_LOGS").is_some() {
                println!("{}", set.sentinel_log_tails());
            }
            agreed.push(report.agreed_after);
            settled.push(report.settled_after);
        }
        for (what, mut times) in [("agreed", agreed), ("settled", settled)] {
            times.sort();
            println!(
                "{kind:?} {what}: median {:?}, max {:?} over {runs}",
                times[times.len() / 2],
                times[times.len() - 1]
            );
        }
    }
}
