//! The lock clients of `locklab-impl` against real `redis-server` processes
//! the lab starts: each lock's grant, contention and release; the article's
//! unsafe release reproduced with real leases running out; compare-and-delete
//! leaving another's lock alone; fencing; waiting with a deadline; the script
//! cache lost; and a server that is unreachable, paused or restarted.
//!
//! A lease "running out" is observed on Redis (the key is gone), never
//! assumed from a sleep, and no test asserts how long anything took.

use std::time::Duration;

use crate::support::{conn, p, server, HANG_GUARD};
use locklab::server::free_port;
use locklab_impl::redis;
use locklab_impl::{
    connect, AnyLock, Attempt, Conn, ConnectOptions, FencedLock, FencedResource, LockError,
    LockKey, PlainResource, Protocol, ReleaseOutcome, ResourceKey, TokenLock, Ttl, WriteOutcome,
};

/// A lease short enough to run out during a test.
const SHORT: Duration = Duration::from_millis(150);
/// A lease that never runs out during a test.
const LONG: Duration = Duration::from_secs(30);

fn key(name: &str) -> LockKey {
    LockKey::new(name).unwrap()
}

fn ttl(d: Duration) -> Ttl {
    Ttl::new(d).unwrap()
}

fn lock(protocol: Protocol, conn: &Conn, name: &str, lease: Duration) -> AnyLock {
    AnyLock::new(protocol, conn.clone(), key(name), ttl(lease)).unwrap()
}

async fn value(conn: &Conn, key: &str) -> Option<String> {
    conn.query(redis::cmd("GET").arg(key)).await.unwrap()
}

/// Waits until Redis has expired `key`: the lease has run out on the
/// server, whatever the clients believe.
async fn until_gone(conn: &Conn, key: &str) {
    let poll = async {
        loop {
            let n: u64 = conn.query(redis::cmd("EXISTS").arg(key)).await.unwrap();
            if n == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, poll)
        .await
        .unwrap_or_else(|_| panic!("key {key} never expired"));
}

fn granted(attempt: Attempt) -> locklab_impl::Grant {
    match attempt {
        Attempt::Granted(g) => g,
        other => panic!("expected a grant, got {other:?}"),
    }
}

#[tokio::test]
async fn each_lock_acquires_is_busy_for_a_contender_and_releases() {
    let server = server();
    let conn = conn(&server).await;
    for protocol in [p("naive"), p("token"), p("fenced")] {
        let name = format!("basic:{protocol}");
        let a = lock(protocol, &conn, &name, LONG);
        let b = lock(protocol, &conn, &name, LONG);
        assert_eq!(a.protocol_name(), protocol.name());

        let grant = granted(a.try_acquire().await.unwrap());
        assert!(grant.server_granted());
        assert_eq!(grant.protocol(), protocol);
        assert!(
            matches!(b.try_acquire().await.unwrap(), Attempt::Busy),
            "{protocol}"
        );
        match protocol {
            _ if protocol.name() == "naive" => {
                assert_eq!(grant.token(), None);
                assert_eq!(value(&conn, &name).await.as_deref(), Some("1"));
            }
            _ => {
                let token = grant.token().expect("a token");
                assert_eq!(value(&conn, &name).await, Some(token.to_string()));
            }
        }
        assert_eq!(grant.fence().is_some(), protocol == p("fenced"));

        let released = a.release(&grant).await.unwrap();
        let expected = if protocol == p("naive") {
            ReleaseOutcome::Deleted
        } else {
            ReleaseOutcome::Released
        };
        assert_eq!(released, expected, "{protocol}");
        assert_eq!(value(&conn, &name).await, None);

        // Free again: the contender gets it now.
        let grant_b = granted(b.try_acquire().await.unwrap());
        b.release(&grant_b).await.unwrap();
        // Releasing twice says so.
        let again = b.release(&grant_b).await.unwrap();
        assert!(
            matches!(
                again,
                ReleaseOutcome::NotHeld | ReleaseOutcome::NothingToDelete
            ),
            "{protocol}: {again:?}"
        );
    }
}

#[tokio::test]
async fn naive_unchecked_lets_every_contender_hold_with_no_fault() {
    let server = server();
    let conn = conn(&server).await;
    let contenders: Vec<AnyLock> = (0..3)
        .map(|_| {
            AnyLock::from_name("naive-unchecked", conn.clone(), key("unchecked"), ttl(LONG))
                .unwrap()
        })
        .collect();
    let mut grants = Vec::new();
    for c in &contenders {
        // The bug: every attempt is "granted"...
        grants.push(granted(c.try_acquire().await.unwrap()));
    }
    // ...but Redis set the key for the first one only.
    let truth: Vec<bool> = grants.iter().map(|g| g.server_granted()).collect();
    assert_eq!(truth, [true, false, false]);
    // And the second's release removes the first's lock.
    assert_eq!(
        contenders[1].release(&grants[1]).await.unwrap(),
        ReleaseOutcome::Deleted
    );
    assert_eq!(value(&conn, "unchecked").await, None);
}

#[tokio::test]
async fn naive_del_after_expiry_removes_the_next_holders_lock() {
    let server = server();
    let conn = conn(&server).await;
    let name = "article";
    // c1's lease is short; c2's cannot run out during the test, so the key
    // vanishing after c1's DEL can only be c1's doing.
    let c1 = lock(p("naive"), &conn, name, SHORT);
    let c2 = lock(p("naive"), &conn, name, LONG);
    let c3 = lock(p("naive"), &conn, name, LONG);

    let g1 = granted(c1.try_acquire().await.unwrap());
    until_gone(&conn, name).await; // c1 "paused" past its lease
    let g2 = granted(c2.try_acquire().await.unwrap());
    assert!(matches!(c3.try_acquire().await.unwrap(), Attempt::Busy));

    // c1 wakes up and releases: DEL removes c2's key.
    assert_eq!(c1.release(&g1).await.unwrap(), ReleaseOutcome::Deleted);
    assert_eq!(value(&conn, name).await, None, "c2's lock is gone");

    // So c3 gets in beside c2, who still holds its grant.
    let g3 = granted(c3.try_acquire().await.unwrap());
    assert!(!g2.remaining().is_zero(), "c2 still believes it holds");
    assert!(g3.server_granted());
}

#[tokio::test]
async fn token_and_fenced_release_after_expiry_leave_the_new_holders_lock() {
    let server = server();
    let conn = conn(&server).await;
    for protocol in [p("token"), p("fenced")] {
        let name = format!("cad:{protocol}");
        let c1 = lock(protocol, &conn, &name, SHORT);
        let c2 = lock(protocol, &conn, &name, LONG);

        let g1 = granted(c1.try_acquire().await.unwrap());
        until_gone(&conn, &name).await;
        let g2 = granted(c2.try_acquire().await.unwrap());

        assert_eq!(c1.release(&g1).await.unwrap(), ReleaseOutcome::NotHeld);
        assert_eq!(
            value(&conn, &name).await,
            Some(g2.token().unwrap().to_string()),
            "{protocol}: c2's lock is untouched"
        );
        // A lease that ran out with nobody after: also NotHeld.
        assert_eq!(c2.release(&g2).await.unwrap(), ReleaseOutcome::Released);
        assert_eq!(c1.release(&g1).await.unwrap(), ReleaseOutcome::NotHeld);
    }
}

#[tokio::test]
async fn fencing_tokens_strictly_increase_across_grants() {
    let server = server();
    let conn = conn(&server).await;
    let a = FencedLock::new(conn.clone(), key("fences"), ttl(LONG));
    let b = FencedLock::new(conn.clone(), key("fences"), ttl(LONG));
    let short = FencedLock::new(conn.clone(), key("fences"), ttl(SHORT));
    let mut fences = Vec::new();
    for i in 0..10 {
        let (holder, other) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let g = granted(holder.try_acquire().await.unwrap());
        // A busy attempt issues no token.
        assert!(matches!(other.try_acquire().await.unwrap(), Attempt::Busy));
        fences.push(g.fence().unwrap());
        holder.release(&g).await.unwrap();
    }
    // A grant after a lease ran out, too.
    let g = granted(short.try_acquire().await.unwrap());
    until_gone(&conn, "fences").await;
    fences.push(g.fence().unwrap());
    fences.push(granted(a.try_acquire().await.unwrap()).fence().unwrap());

    assert!(fences.windows(2).all(|w| w[0] < w[1]), "{fences:?}");
    assert_eq!(fences, (1..=12).collect::<Vec<u64>>());
    let counter: u64 = conn
        .query(redis::cmd("GET").arg(a.counter_key()))
        .await
        .unwrap();
    assert_eq!(counter, 12);
}

#[tokio::test]
async fn the_fenced_resource_refuses_a_lower_token_and_accepts_equal_or_higher() {
    let server = server();
    let conn = conn(&server).await;
    let r = FencedResource::new(conn.clone(), ResourceKey::new("res").unwrap());
    assert_eq!(r.highest().await.unwrap(), None);
    assert_eq!(r.write(5, "five").await.unwrap(), WriteOutcome::Accepted);
    assert_eq!(
        r.write(3, "three").await.unwrap(),
        WriteOutcome::Refused { highest: 5 }
    );
    assert_eq!(
        r.write(5, "five again").await.unwrap(),
        WriteOutcome::Accepted
    );
    assert_eq!(r.write(7, "seven").await.unwrap(), WriteOutcome::Accepted);
    assert_eq!(
        r.write(6, "six").await.unwrap(),
        WriteOutcome::Refused { highest: 7 }
    );
    assert_eq!(r.read().await.unwrap().as_deref(), Some(&b"seven"[..]));
    assert_eq!(r.highest().await.unwrap(), Some(7));
    let log: Vec<(Option<u64>, Vec<u8>)> = r
        .log()
        .await
        .unwrap()
        .into_iter()
        .map(|w| (w.fence, w.data))
        .collect();
    assert_eq!(
        log,
        [
            (Some(5), b"five".to_vec()),
            (Some(5), b"five again".to_vec()),
            (Some(7), b"seven".to_vec()),
        ]
    );
    assert!(matches!(
        r.write(u64::MAX, "x").await,
        Err(LockError::InvalidFence { .. })
    ));

    r.delete().await.unwrap();
    assert_eq!(r.read().await.unwrap(), None);
    assert!(r.log().await.unwrap().is_empty());

    // The plain resource takes everything, in order.
    let p = PlainResource::new(conn.clone(), ResourceKey::new("plain").unwrap());
    for data in ["a", "b:c"] {
        assert_eq!(p.write(data).await.unwrap(), WriteOutcome::Accepted);
    }
    let log = p.log().await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!((log[1].fence, log[1].data.as_slice()), (None, &b"b:c"[..]));
}

#[tokio::test]
async fn a_stale_fenced_holder_is_refused_by_the_resource() {
    let server = server();
    let conn = conn(&server).await;
    let c1 = FencedLock::new(conn.clone(), key("stale"), ttl(SHORT));
    let c2 = FencedLock::new(conn.clone(), key("stale"), ttl(LONG));
    let resource = FencedResource::new(conn.clone(), ResourceKey::new("stale:data").unwrap());

    let g1 = granted(c1.try_acquire().await.unwrap());
    until_gone(&conn, "stale").await; // c1 paused past its lease
    let g2 = granted(c2.try_acquire().await.unwrap());
    assert_eq!(
        resource.write(g2.fence().unwrap(), "c2").await.unwrap(),
        WriteOutcome::Accepted
    );
    // c1 still believes it holds, and writes: refused.
    assert_eq!(
        resource.write(g1.fence().unwrap(), "c1").await.unwrap(),
        WriteOutcome::Refused {
            highest: g2.fence().unwrap()
        }
    );
    assert_eq!(resource.read().await.unwrap().as_deref(), Some(&b"c2"[..]));
}

#[tokio::test]
async fn acquire_waits_until_the_deadline_or_the_release() {
    let server = server();
    let conn = conn(&server).await;
    for protocol in Protocol::all().iter().copied() {
        if protocol == p("naive-unchecked") {
            continue; // never waits: every attempt "succeeds"
        }
        if protocol.caps().confirms() || protocol.family() != locklab_model::Family::Lease {
            continue; // a replica: failover.rs; N masters: redlock.rs; not a lock
        }
        let name = format!("wait:{protocol}");
        let holder = lock(protocol, &conn, &name, LONG);
        let waiter = lock(protocol, &conn, &name, LONG);
        let g = holder.acquire(Duration::ZERO).await.unwrap();

        let err = waiter
            .acquire(Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(
            matches!(err, LockError::NotAcquired { .. }),
            "{protocol}: {err:?}"
        );
        assert!(!err.is_retryable());

        // Released while the waiter waits: it gets the lock.
        let release = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            holder.release(&g).await.unwrap()
        };
        let (released, waited) = tokio::time::timeout(HANG_GUARD, async {
            tokio::join!(release, waiter.acquire(Duration::from_secs(10)))
        })
        .await
        .expect("acquire returned");
        assert!(released.removed_a_key());
        let g2 = waited.unwrap_or_else(|e| panic!("{protocol}: {e}"));
        assert!(g2.server_granted());
        waiter.release(&g2).await.unwrap();
    }
}

#[tokio::test]
async fn scripts_still_run_after_the_script_cache_is_flushed() {
    let server = server();
    let conn = conn(&server).await;
    let token_lock = TokenLock::new(conn.clone(), key("flush:token"), ttl(LONG));
    let fenced = FencedLock::new(conn.clone(), key("flush:fenced"), ttl(LONG));
    let resource = FencedResource::new(conn.clone(), ResourceKey::new("flush:res").unwrap());
    let plain = PlainResource::new(conn.clone(), ResourceKey::new("flush:plain").unwrap());

    let shas = [
        locklab_impl::scripts::COMPARE_AND_DELETE.get_hash(),
        locklab_impl::scripts::ACQUIRE_FENCED.get_hash(),
        locklab_impl::scripts::FENCED_WRITE.get_hash(),
        locklab_impl::scripts::PLAIN_WRITE.get_hash(),
    ];
    let cached = || async {
        let exists: Vec<u8> = conn
            .query(redis::cmd("SCRIPT").arg("EXISTS").arg(&shas[..]))
            .await
            .unwrap();
        exists
    };

    for round in 0..2 {
        let _: String = conn.query(redis::cmd("SCRIPT").arg("FLUSH")).await.unwrap();
        assert_eq!(cached().await, [0, 0, 0, 0], "round {round}: flushed");

        let g = granted(token_lock.try_acquire().await.unwrap());
        assert_eq!(
            token_lock.release(&g).await.unwrap(),
            ReleaseOutcome::Released
        );
        let g = granted(fenced.try_acquire().await.unwrap());
        assert_eq!(g.fence(), Some(round + 1));
        assert_eq!(
            resource.write(g.fence().unwrap(), "x").await.unwrap(),
            WriteOutcome::Accepted
        );
        assert_eq!(fenced.release(&g).await.unwrap(), ReleaseOutcome::Released);
        plain.write("y").await.unwrap();

        assert_eq!(cached().await, [1, 1, 1, 1], "round {round}: reloaded");
    }
}

#[tokio::test]
async fn an_unreachable_server_fails_to_connect_with_a_retryable_error() {
    // A port nobody listens on: free a moment ago, and we never bind it.
    let port = free_port().unwrap();
    let url = format!("redis://:secret@127.0.0.1:{port}/");
    let opts = ConnectOptions::new()
        .with_connect_timeout(Duration::from_millis(500))
        .unwrap();
    let err = tokio::time::timeout(HANG_GUARD, connect(&url, &opts))
        .await
        .expect("connect returned")
        .unwrap_err();
    assert!(matches!(err, LockError::Connect { .. }), "{err:?}");
    assert!(err.is_retryable());
    let msg = err.to_string();
    assert!(msg.contains(&port.to_string()), "{msg}");
    assert!(!msg.contains("secret") && !msg.contains('\n'), "{msg}");
}

#[tokio::test]
async fn a_paused_server_times_out_a_command_within_the_response_timeout() {
    let server = server();
    let opts = ConnectOptions::new()
        .with_response_timeout(Duration::from_millis(300))
        .unwrap()
        .with_connect_timeout(Duration::from_millis(300))
        .unwrap();
    let conn = connect(&server.url(), &opts).await.unwrap();
    let lock = TokenLock::new(conn.clone(), key("paused"), ttl(LONG));

    server.pause().unwrap();
    let result = tokio::time::timeout(HANG_GUARD, lock.try_acquire())
        .await
        .expect("the response timeout ends the command");
    // Still paused: the next command's reconnect is bounded too (the kernel
    // accepts the connection, the stopped server never answers its setup).
    let second = tokio::time::timeout(HANG_GUARD, conn.ping())
        .await
        .expect("the connect timeout ends the reconnect")
        .unwrap_err();
    server.resume().unwrap();
    assert!(second.is_retryable(), "{second:?}");

    let err = result.unwrap_err();
    assert!(
        matches!(err, LockError::Timeout { timeout } if timeout == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(err.is_retryable());

    // The handle works again once the server runs (on a new connection:
    // the timed-out one was retired)...
    conn.ping().await.unwrap();
    // ...and the SET that timed out did run when the server resumed: after a
    // Timeout the lock may be held, by nobody who knows it (as documented).
    let n: u64 = conn
        .query(redis::cmd("EXISTS").arg("paused"))
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_restarted_server_is_reconnected_on_a_later_command() {
    let mut server = server();
    let conn = conn(&server).await;
    let lock = FencedLock::new(conn.clone(), key("restart"), ttl(LONG));
    let before = granted(lock.try_acquire().await.unwrap());
    assert_eq!(before.fence(), Some(1));

    server.restart().unwrap();

    // The command on the broken connection fails, retryably; a later one
    // reconnects. Bounded: a couple of tries, not a loop.
    let mut after = None;
    for _ in 0..3 {
        match lock.try_acquire().await {
            Ok(attempt) => {
                after = Some(granted(attempt));
                break;
            }
            Err(e) => assert!(e.is_retryable(), "{e:?}"),
        }
    }
    let after = after.expect("reconnected within 3 tries");
    // The restart forgot the lock and the counter: tokens start again.
    assert_eq!(after.fence(), Some(1));
    assert_eq!(
        lock.release(&before).await.unwrap(),
        ReleaseOutcome::NotHeld
    );
}

#[tokio::test]
async fn a_grant_is_only_released_by_the_lock_that_issued_it() {
    let server = server();
    let conn = conn(&server).await;
    let token_lock = TokenLock::new(conn.clone(), key("mine"), ttl(LONG));
    let fenced = FencedLock::new(conn.clone(), key("mine"), ttl(LONG));
    let other_key = TokenLock::new(conn.clone(), key("theirs"), ttl(LONG));
    let g = granted(token_lock.try_acquire().await.unwrap());
    for err in [
        fenced.release(&g).await.unwrap_err(),
        other_key.release(&g).await.unwrap_err(),
    ] {
        assert!(matches!(err, LockError::WrongGrant { .. }), "{err:?}");
        assert!(!err.is_retryable());
    }
    assert_eq!(
        token_lock.release(&g).await.unwrap(),
        ReleaseOutcome::Released
    );
}

/// A lease declaration that fences and waits for a replica: no lock type
/// does both, so no lock is made of it (the nearest, the token lock with
/// `WAIT`, would issue no fence and the resource would take fence 0).
static FENCED_AND_WAITING: locklab_spec::Declaration = locklab_spec::Declaration {
    name: "fenced-wait",
    caps: locklab_spec::Capabilities {
        wait_replicas: 1,
        ..locklab_spec::Capabilities::FENCED
    },
    ..locklab_spec::protocols::token_wait::DECLARATION
};

#[tokio::test]
async fn a_capability_mix_no_lock_type_implements_is_refused() {
    let server = server();
    let conn = conn(&server).await;
    let protocol = Protocol::of(&FENCED_AND_WAITING);
    let err = AnyLock::new(protocol, conn, key("mix"), ttl(LONG)).unwrap_err();
    assert!(
        matches!(&err, LockError::NoLockType { protocol, .. } if protocol == "fenced-wait"),
        "{err}"
    );
}
