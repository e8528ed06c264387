//! The watchdog's tokio side (the renewal task and the guard) against an
//! in-memory store, with tokio's clock paused so that time only moves when
//! everything waits: renewal cadence, the lost signal, release ordering and
//! drop, without Redis and without flaky sleeps. (Real Redis:
//! `lab/tests/lab/watchdog.rs`; every interleaving of the state: the loom
//! tests.)

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::task::now;
use super::*;
use crate::config::{LockKey, Ttl};
use crate::grant::ReleaseOutcome;
use crate::protocol::Protocol;
use crate::token::Token;

const TTL: Duration = Duration::from_millis(300);

/// What the in-memory store saw, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    RenewArrived,
    Renewed(Renewal),
    ReleaseArrived,
    Released(ReleaseOutcome),
}

/// How the store answers renewals.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Prompt,
    After(Duration),
    Never,
}

/// An in-memory lock key for these tests, expiring by tokio's clock.
struct MemStore {
    ttl: Duration,
    inner: Mutex<Mem>,
}

struct Mem {
    key: Option<(Token, Instant)>,
    mode: Mode,
    log: Vec<Op>,
}

impl MemStore {
    fn holding(token: Token) -> Arc<Self> {
        Arc::new(Self {
            ttl: TTL,
            inner: Mutex::new(Mem {
                key: Some((token, now() + TTL)),
                mode: Mode::Prompt,
                log: Vec::new(),
            }),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Mem) -> T) -> T {
        let mut m = self.inner.lock().unwrap();
        if m.key.is_some_and(|(_, until)| now() >= until) {
            m.key = None;
        }
        f(&mut m)
    }

    fn log(&self) -> Vec<Op> {
        self.with(|m| m.log.clone())
    }

    fn renewals_arrived(&self) -> usize {
        self.log()
            .iter()
            .filter(|op| **op == Op::RenewArrived)
            .count()
    }
}

/// The store as the guard owns it (the test keeps the other `Arc`).
struct Shared(Arc<MemStore>);

impl LeaseStore for Shared {
    async fn renew(&self, token: Token) -> Result<Renewal, crate::LockError> {
        let mode = self.0.with(|m| {
            m.log.push(Op::RenewArrived);
            m.mode
        });
        match mode {
            Mode::Prompt => {}
            Mode::After(d) => tokio::time::sleep(d).await,
            Mode::Never => std::future::pending::<()>().await,
        }
        let ttl = self.0.ttl;
        Ok(self.0.with(|m| {
            let r = match &mut m.key {
                Some((t, until)) if *t == token => {
                    *until = now() + ttl;
                    Renewal::Extended
                }
                Some(_) => Renewal::Taken,
                None => Renewal::Gone,
            };
            m.log.push(Op::Renewed(r));
            r
        }))
    }

    async fn release(&self, token: Token) -> Result<ReleaseOutcome, crate::LockError> {
        Ok(self.0.with(|m| {
            m.log.push(Op::ReleaseArrived);
            let r = if m.key.is_some_and(|(t, _)| t == token) {
                m.key = None;
                ReleaseOutcome::Released
            } else {
                ReleaseOutcome::NotHeld
            };
            m.log.push(Op::Released(r));
            r
        }))
    }
}

fn grant(token: Token) -> Grant {
    Grant {
        protocol: Protocol::named("token").unwrap(),
        key: LockKey::new("kept").unwrap(),
        token: Some(token),
        fence: None,
        ttl: Ttl::new(TTL).unwrap(),
        granted_at: now(),
        server_granted: true,
        count: None,
    }
}

fn kept(options: &WatchdogOptions) -> (LeaseGuard<Shared>, Arc<MemStore>, Token) {
    let token = Token::random();
    let store = MemStore::holding(token);
    let guard = LeaseGuard::start(Shared(Arc::clone(&store)), grant(token), options).unwrap();
    (guard, store, token)
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[tokio::test(start_paused = true)]
async fn a_healthy_lease_is_renewed_every_third_of_the_ttl_and_outlives_it() {
    let (guard, store, token) = kept(&WatchdogOptions::default());
    assert_eq!(guard.interval(), Duration::from_millis(100));
    sleep_ms(1_000).await;
    assert!(!guard.is_lost());
    assert!(guard.renewals() >= 9, "{}", guard.renewals());
    assert_eq!(store.with(|m| m.key.map(|(t, _)| t)), Some(token));
    assert!(guard.lease_until() > now());
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
}

#[tokio::test(start_paused = true)]
async fn another_token_fires_lost_once_and_renewal_stops() {
    let (guard, store, _) = kept(&WatchdogOptions::default());
    sleep_ms(150).await;
    store.with(|m| m.key = Some((Token::random(), now() + TTL)));
    let reason = tokio::time::timeout(TTL, guard.lost()).await.unwrap();
    assert_eq!(reason, LostReason::Taken);
    assert!(guard.is_lost());
    assert_eq!(guard.lost_reason(), Some(LostReason::Taken));
    // Awaiting again returns at once, with the same reason.
    assert_eq!(guard.lost().await, LostReason::Taken);
    let arrived = store.renewals_arrived();
    sleep_ms(1_000).await;
    assert_eq!(store.renewals_arrived(), arrived, "renewed after loss");
    // The other client's lock is left alone.
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::NotHeld);
}

#[tokio::test(start_paused = true)]
async fn a_deleted_key_is_gone() {
    let (guard, store, _) = kept(&WatchdogOptions::default());
    store.with(|m| m.key = None);
    assert_eq!(guard.lost().await, LostReason::Gone);
    assert!(store.log().contains(&Op::Renewed(Renewal::Gone)));
}

#[tokio::test(start_paused = true)]
async fn unanswered_renewals_extend_nothing_and_the_lease_is_lost_at_its_believed_end() {
    let (guard, store, _) = kept(&WatchdogOptions::default());
    let granted_at = guard.grant().granted_at();
    store.with(|m| m.mode = Mode::Never);
    let reason = guard.lost().await;
    assert_eq!(reason, LostReason::Unconfirmed);
    // Lost exactly when the acquire's lease ended: the renewal sent at
    // ttl/3 got no reply, so it extended nothing.
    assert_eq!(guard.lease_until(), granted_at + TTL);
    assert_eq!(now(), granted_at + TTL);
    assert_eq!(store.renewals_arrived(), 1);
}

#[tokio::test(start_paused = true)]
async fn release_waits_for_the_renewal_in_flight_and_nothing_renews_after_it() {
    let (guard, store, _) = kept(&WatchdogOptions::default());
    store.with(|m| m.mode = Mode::After(Duration::from_millis(50)));
    sleep_ms(110).await; // the first renewal (sent at 100 ms) is in flight
    assert_eq!(store.log(), vec![Op::RenewArrived]);
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    sleep_ms(1_000).await;
    assert_eq!(
        store.log(),
        vec![
            Op::RenewArrived,
            Op::Renewed(Renewal::Extended),
            Op::ReleaseArrived,
            Op::Released(ReleaseOutcome::Released),
        ]
    );
    assert_eq!(store.with(|m| m.key), None);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_guard_stops_renewal_and_the_lease_runs_out() {
    let (guard, store, _) = kept(&WatchdogOptions::default());
    sleep_ms(250).await;
    let arrived = store.renewals_arrived();
    assert!(arrived >= 2, "{arrived}");
    drop(guard);
    sleep_ms(1_000).await;
    assert_eq!(store.renewals_arrived(), arrived, "renewed after drop");
    assert_eq!(store.with(|m| m.key), None, "the lease should have run out");
    assert!(!store.log().contains(&Op::ReleaseArrived), "drop released");
}

#[tokio::test(start_paused = true)]
async fn a_renewal_in_flight_at_drop_may_still_land_but_none_starts_after() {
    let (guard, store, _) = kept(&WatchdogOptions::default());
    store.with(|m| m.mode = Mode::After(Duration::from_millis(50)));
    sleep_ms(110).await;
    drop(guard);
    sleep_ms(1_000).await;
    assert_eq!(
        store.log(),
        vec![Op::RenewArrived, Op::Renewed(Renewal::Extended)]
    );
}

#[tokio::test(start_paused = true)]
async fn renewal_stops_at_the_maximum_hold_time() {
    let options = WatchdogOptions::default()
        .with_max_hold(Duration::from_millis(500))
        .unwrap();
    let (guard, store, _) = kept(&options);
    let granted_at = guard.grant().granted_at();
    assert_eq!(guard.lost().await, LostReason::MaxHoldReached);
    assert!(now() >= granted_at + Duration::from_millis(500));
    assert!(now() <= granted_at + Duration::from_millis(500) + TTL);
    let arrived = store.renewals_arrived();
    sleep_ms(1_000).await;
    assert_eq!(store.renewals_arrived(), arrived);
}

#[tokio::test(start_paused = true)]
async fn a_task_first_run_after_release_renews_nothing() {
    // The #7272 shape: the guard is released before the renewal task has
    // run at all (a current-thread runtime runs it only at our next await).
    let (guard, store, _) = kept(&WatchdogOptions::default());
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    sleep_ms(1_000).await;
    assert_eq!(store.renewals_arrived(), 0);
}

#[tokio::test]
async fn a_grant_without_a_token_cannot_be_kept() {
    let mut g = grant(Token::random());
    g.token = None;
    g.protocol = Protocol::named("naive").unwrap();
    let store = Shared(MemStore::holding(Token::random()));
    let e = LeaseGuard::start(store, g, &WatchdogOptions::default()).unwrap_err();
    assert!(matches!(e, crate::LockError::WrongGrant { .. }), "{e:?}");
    assert!(e.to_string().contains("naive"), "{e}");
}

#[test]
fn a_watchdog_needs_a_tokio_runtime() {
    let g = grant_outside_runtime(Token::random());
    let store = Shared(Arc::new(MemStore {
        ttl: TTL,
        inner: Mutex::new(Mem {
            key: None,
            mode: Mode::Prompt,
            log: Vec::new(),
        }),
    }));
    let e = LeaseGuard::start(store, g, &WatchdogOptions::default()).unwrap_err();
    assert!(e.to_string().contains("tokio runtime"), "{e}");
}

fn grant_outside_runtime(token: Token) -> Grant {
    Grant {
        protocol: Protocol::named("token").unwrap(),
        key: LockKey::new("kept").unwrap(),
        token: Some(token),
        fence: None,
        ttl: Ttl::new(TTL).unwrap(),
        granted_at: Instant::now(),
        server_granted: true,
        count: None,
    }
}

#[test]
fn guards_and_their_futures_can_move_between_tasks() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: T) {}
    send_sync::<LeaseGuard>();
    send_sync::<LeaseState>();
    // Type-checked, never run: the futures a holder spawns or selects on.
    let _ = |g: &LeaseGuard| send(g.lost());
    let _ = |g: LeaseGuard| send(g.release());
}
