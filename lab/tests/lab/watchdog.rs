//! Lease renewal (`locklab_impl::watchdog`) against real `redis-server`
//! processes the lab starts: a kept lock outlives many TTLs; release stops
//! renewal for good; a paused server, a deleted key or another client's
//! token fires `lost()`; a kept fenced grant keeps its fencing token; a
//! dropped guard stops renewing and the lease runs out.
//!
//! Every pass condition is observed on Redis (`GET`, `EXISTS`, `PTTL`, and
//! `INFO commandstats` to count the scripts the server ran), never a
//! duration; sleeps only let time pass, and `HANG_GUARD` only turns a bug
//! into a failure instead of a hang.

use std::time::Duration;

use crate::support::{conn, p, server, HANG_GUARD};
use locklab_impl::redis;
use locklab_impl::{
    AnyLock, Attempt, Conn, FencedLock, FencedResource, LeaseGuard, LockError, LockKey, LostReason,
    ReleaseOutcome, ResourceKey, TokenLock, Ttl, WatchdogOptions, WriteOutcome,
};

/// A short lease: renewed every 100 ms, it would run out within a test
/// many times over without the watchdog.
const LEASE: Duration = Duration::from_millis(300);

fn key(name: &str) -> LockKey {
    LockKey::new(name).unwrap()
}

fn lease() -> Ttl {
    Ttl::new(LEASE).unwrap()
}

fn defaults() -> WatchdogOptions {
    WatchdogOptions::default()
}

async fn value(conn: &Conn, key: &str) -> Option<String> {
    conn.query(redis::cmd("GET").arg(key)).await.unwrap()
}

async fn exists(conn: &Conn, key: &str) -> bool {
    let n: u64 = conn.query(redis::cmd("EXISTS").arg(key)).await.unwrap();
    n == 1
}

async fn pttl(conn: &Conn, key: &str) -> i64 {
    conn.query(redis::cmd("PTTL").arg(key)).await.unwrap()
}

/// How many Lua scripts (`EVALSHA` and `EVAL`) the server has run: every
/// renewal, acquire of the fenced lock and release is one.
async fn scripts_run(conn: &Conn) -> u64 {
    let info: String = conn
        .query(redis::cmd("INFO").arg("commandstats"))
        .await
        .unwrap();
    info.lines()
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .filter_map(|l| {
            l.split([':', ','])
                .find_map(|field| field.strip_prefix("calls="))
                .and_then(|n| n.parse::<u64>().ok())
        })
        .sum()
}

async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}

/// Waits until the watchdog has renewed at least `n` times.
async fn renewed<S: locklab_impl::watchdog::LeaseStore>(guard: &LeaseGuard<S>, n: u64) {
    let poll = async {
        while guard.renewals() < n {
            sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, poll)
        .await
        .unwrap_or_else(|_| panic!("fewer than {n} renewals: {guard:?}"));
}

/// Waits until Redis has expired `key`.
async fn until_gone(conn: &Conn, key: &str) {
    let poll = async {
        while exists(conn, key).await {
            sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, poll)
        .await
        .unwrap_or_else(|_| panic!("key {key} never expired"));
}

async fn lost_within_guard<S: locklab_impl::watchdog::LeaseStore>(
    guard: &LeaseGuard<S>,
) -> LostReason {
    tokio::time::timeout(HANG_GUARD, guard.lost())
        .await
        .unwrap_or_else(|_| panic!("lost() never fired: {guard:?}"))
}

#[tokio::test]
async fn a_kept_lock_outlives_many_leases_while_held() {
    let server = server();
    let conn = conn(&server).await;
    let lock = TokenLock::new(conn.clone(), key("kept"), lease());
    let guard = lock
        .acquire_kept(Duration::from_secs(1), &defaults())
        .await
        .unwrap();
    let token = guard.grant().token().unwrap().to_string();

    // Hold for about four leases, looking at the key every third of one.
    for _ in 0..12 {
        sleep(LEASE / 3).await;
        assert_eq!(value(&conn, "kept").await.as_deref(), Some(token.as_str()));
        assert!(pttl(&conn, "kept").await > 0);
        assert!(!guard.is_lost(), "{guard:?}");
    }
    assert!(guard.renewals() >= 1, "{guard:?}");
    let contender = TokenLock::new(conn.clone(), key("kept"), lease());
    assert!(matches!(
        contender.try_acquire().await.unwrap(),
        Attempt::Busy
    ));

    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    assert!(!exists(&conn, "kept").await);
}

#[tokio::test]
async fn after_release_the_key_is_gone_and_no_renewal_runs_again() {
    let server = server();
    let conn = conn(&server).await;
    let lock = TokenLock::new(conn.clone(), key("released"), lease());
    let guard = lock
        .acquire_kept(Duration::from_secs(1), &defaults())
        .await
        .unwrap();
    renewed(&guard, 2).await;
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    let scripts_after_release = scripts_run(&conn).await;

    // Across six renewal periods: gone, and the server runs no script.
    for _ in 0..6 {
        sleep(LEASE / 3).await;
        assert!(!exists(&conn, "released").await);
        assert_eq!(pttl(&conn, "released").await, -2);
    }
    assert_eq!(scripts_run(&conn).await, scripts_after_release);
}

#[tokio::test]
async fn a_server_paused_past_the_lease_fires_lost() {
    let server = server();
    let conn = conn(&server).await;
    let lock = TokenLock::new(conn.clone(), key("paused"), lease());
    let guard = lock
        .acquire_kept(Duration::from_secs(1), &defaults())
        .await
        .unwrap();
    renewed(&guard, 1).await;

    server.pause().unwrap();
    let reason = lost_within_guard(&guard).await;
    // Let Redis's own clock pass the lease too before it runs again (the
    // renewal sent into the pause is still in its socket buffer).
    sleep(LEASE).await;
    server.resume().unwrap();

    assert_eq!(reason, LostReason::Unconfirmed);
    assert!(guard.is_lost());
    assert_eq!(guard.lost_reason(), Some(LostReason::Unconfirmed));
    // Lost here is lost on Redis too: nothing revives the key.
    until_gone(&conn, "paused").await;
    for _ in 0..3 {
        sleep(LEASE / 3).await;
        assert!(!exists(&conn, "paused").await);
    }
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::NotHeld);
}

#[tokio::test]
async fn a_key_deleted_behind_the_holders_back_fires_lost_gone() {
    let server = server();
    let conn = conn(&server).await;
    let lock = TokenLock::new(conn.clone(), key("deleted"), lease());
    let guard = lock
        .acquire_kept(Duration::from_secs(1), &defaults())
        .await
        .unwrap();
    renewed(&guard, 1).await;

    let _: u64 = conn.query(redis::cmd("DEL").arg("deleted")).await.unwrap();
    assert_eq!(lost_within_guard(&guard).await, LostReason::Gone);
    assert!(guard.is_lost());
    // The renewal that found the key gone did not re-create it.
    for _ in 0..3 {
        sleep(LEASE / 3).await;
        assert!(!exists(&conn, "deleted").await);
    }
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::NotHeld);
}

#[tokio::test]
async fn another_clients_token_fires_lost_taken_and_is_left_alone() {
    let server = server();
    let conn = conn(&server).await;
    let lock = TokenLock::new(conn.clone(), key("taken"), lease());
    let guard = lock
        .acquire_kept(Duration::from_secs(1), &defaults())
        .await
        .unwrap();
    renewed(&guard, 1).await;

    // As if our lease ran out and another client acquired, with a long
    // lease of its own.
    let _: () = conn
        .query(
            redis::cmd("SET")
                .arg("taken")
                .arg("another-client")
                .arg("PX")
                .arg(60_000),
        )
        .await
        .unwrap();
    assert_eq!(lost_within_guard(&guard).await, LostReason::Taken);
    let pttl_then = pttl(&conn, "taken").await;
    sleep(LEASE).await;
    // No renewal of ours touched their key (its TTL only went down)...
    assert_eq!(
        value(&conn, "taken").await.as_deref(),
        Some("another-client")
    );
    assert!(pttl(&conn, "taken").await < pttl_then);
    // ...and our release leaves it alone.
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::NotHeld);
    assert_eq!(
        value(&conn, "taken").await.as_deref(),
        Some("another-client")
    );
}

#[tokio::test]
async fn a_kept_fenced_grant_keeps_its_fencing_token() {
    let server = server();
    let conn = conn(&server).await;
    let lock = FencedLock::new(conn.clone(), key("fenced"), lease());
    let resource = FencedResource::new(conn.clone(), ResourceKey::new("fenced:data").unwrap());
    let guard = lock
        .acquire_kept(Duration::from_secs(1), &defaults())
        .await
        .unwrap();
    let fence = guard.fence().expect("a fenced grant");
    let token = guard.grant().token().unwrap().to_string();
    assert_eq!(
        value(&conn, lock.counter_key()).await,
        Some(fence.to_string())
    );

    for _ in 0..12 {
        sleep(LEASE / 3).await;
        assert_eq!(
            value(&conn, "fenced").await.as_deref(),
            Some(token.as_str())
        );
        // Renewal never touches the counter: no new fencing token.
        assert_eq!(
            value(&conn, lock.counter_key()).await,
            Some(fence.to_string())
        );
    }
    assert!(guard.renewals() >= 1, "{guard:?}");
    assert_eq!(guard.fence(), Some(fence));
    // Still the holder, many leases later: the resource accepts its token.
    assert_eq!(
        resource.write(fence, "after many leases").await.unwrap(),
        WriteOutcome::Accepted
    );
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
}

#[tokio::test]
async fn dropping_the_guard_stops_renewal_and_the_lease_runs_out() {
    let server = server();
    let conn = conn(&server).await;
    let lock = TokenLock::new(conn.clone(), key("dropped"), lease());
    let guard = lock
        .acquire_kept(Duration::from_secs(1), &defaults())
        .await
        .unwrap();
    renewed(&guard, 2).await;
    drop(guard);

    // No release was sent: the key expires on Redis by itself...
    until_gone(&conn, "dropped").await;
    // ...and no script runs any more.
    let scripts_then = scripts_run(&conn).await;
    for _ in 0..4 {
        sleep(LEASE / 3).await;
        assert!(!exists(&conn, "dropped").await);
    }
    assert_eq!(scripts_run(&conn).await, scripts_then);
}

#[tokio::test]
async fn a_naive_lock_cannot_be_kept_and_nothing_is_sent() {
    let server = server();
    let conn = conn(&server).await;
    let lock = AnyLock::new(p("naive"), conn.clone(), key("naive"), lease()).unwrap();
    let err = lock
        .acquire_kept(Duration::from_secs(1), &defaults())
        .await
        .unwrap_err();
    assert!(matches!(err, LockError::WrongGrant { .. }), "{err:?}");
    assert!(!exists(&conn, "naive").await);
}
