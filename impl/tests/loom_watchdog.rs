//! loom models of the watchdog's concurrency core,
//! [`LeaseState`](locklab_impl::watchdog::LeaseState): every interleaving
//! (up to a preemption bound) of the threads that renew, release, drop and
//! wait for the lost signal, against [`LoomFakeStore`], an in-memory
//! stand-in for the Redis key.
//!
//! The threads call the state exactly as the tokio side does: the renewal
//! task's step is `begin_renewal` → `store.renew` → `finish` (or dropping
//! the permit, when a renewal times out), release is `LeaseState::release`
//! (the guard's `release` calls nothing else), and drop is `abandon`. loom
//! has no timers, so time is passed in as fixed instants.
//!
//! Only built with `--cfg locklab_loom`:
//!
//! ```text
//! RUSTFLAGS="--cfg locklab_loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p locklab-impl --release --test loom_watchdog -- --nocapture
//! ```
//!
//! Each model prints how many interleavings it explored, and asserts a
//! floor on it so that a model that stopped exploring (say, one thread
//! finishing before the others start in every run) fails. The preemption
//! bound can be raised with `LOOM_MAX_PREEMPTIONS`.

#![cfg(locklab_loom)]

mod loom_fake_store;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;

use locklab_impl::watchdog::state::{Begin, Phase};
use locklab_impl::watchdog::{LeaseState, LeaseStore, LostReason, Renewal};
use locklab_impl::{ReleaseOutcome, Token};
use loom_fake_store::{Event, LoomFakeStore};

const TTL: Duration = Duration::from_millis(300);
const HOLD: Duration = Duration::from_secs(60);

fn ours() -> Token {
    Token::parse("0000000000000000000000000000000a").unwrap()
}

fn theirs() -> Token {
    Token::parse("0000000000000000000000000000000b").unwrap()
}

/// Runs `model` in every interleaving loom explores with at most `bound`
/// preemptions each (`None`: no bound, every interleaving), unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise; returns how many interleavings
/// that was, and prints it (also when the model fails: then the count is
/// how many interleavings it took loom to find the failure).
fn explore(name: &str, bound: Option<usize>, model: impl Fn() + Sync + Send + 'static) -> usize {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = bound;
    }
    let report = Report {
        name: name.to_owned(),
        bound: builder.preemption_bound,
        count: std::sync::Arc::new(AtomicUsize::new(0)),
        started: std::time::Instant::now(),
    };
    let counter = std::sync::Arc::clone(&report.count);
    builder.check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        model();
    });
    report.count.load(Ordering::Relaxed)
}

/// Prints a model's interleaving count when it ends, passed or failed.
struct Report {
    name: String,
    bound: Option<usize>,
    count: std::sync::Arc<AtomicUsize>,
    started: std::time::Instant,
}

impl Drop for Report {
    fn drop(&mut self) {
        let n = self.count.load(Ordering::Relaxed);
        let what = if std::thread::panicking() {
            "failed at interleaving"
        } else {
            "interleavings explored:"
        };
        println!(
            "loom {}: {what} {n} (preemption bound {:?}) in {:.1?}",
            self.name,
            self.bound,
            self.started.elapsed()
        );
    }
}

/// One step of the renewal task: ask for a permit at `at`, renew, record
/// the reply. `false` once the state refuses.
fn renew_once(lease: &LeaseState, store: &LoomFakeStore, at: Instant) -> bool {
    match lease.begin_renewal(at) {
        Begin::Renew(permit) => {
            let reply = block_on(store.renew(lease.token())).ok();
            permit.finish(at, reply);
            true
        }
        Begin::Stop(_) => false,
    }
}

/// The renewal task racing release: after release's compare-and-delete, no
/// renewal reaches the store at all (so none can extend or re-create the
/// key), the release finds the key ours, and the key is gone at the end.
/// The renewal thread may also run entirely after the release (the shape
/// of Redisson #7272: a renewal armed after the unlock); it renews nothing.
#[test]
fn renewal_racing_release_never_takes_effect_after_the_delete() {
    let n = explore("renewal_racing_release", None, || {
        let t0 = Instant::now();
        let store = Arc::new(LoomFakeStore::holding(ours()));
        let lease = Arc::new(LeaseState::new(ours(), TTL, t0, HOLD));

        let renewer = {
            let (lease, store) = (Arc::clone(&lease), Arc::clone(&store));
            thread::spawn(move || {
                let mut at = t0;
                for _ in 0..2 {
                    at += TTL / 3;
                    if !renew_once(&lease, &store, at) {
                        break;
                    }
                }
            })
        };
        let outcome = block_on(lease.release(&*store)).unwrap();
        renewer.join().unwrap();

        assert_eq!(outcome, ReleaseOutcome::Released);
        let log = store.log();
        let deleted = log
            .iter()
            .position(|e| *e == Event::Release(ReleaseOutcome::Released))
            .expect("the release deleted the key");
        assert!(
            log[deleted + 1..].is_empty(),
            "a renewal reached the store after the delete: {log:?}"
        );
        assert_eq!(store.key(), None);
        assert_eq!(lease.phase(), Phase::Released);
        assert_eq!(lease.in_flight(), 0);
    });
    assert!(n >= 10, "only {n} interleavings");
}

/// On the wire: a renewal the client abandoned (it timed out, so its
/// permit was dropped and release did not wait for it) is delivered to the
/// store by a "network" thread at any point, also after the delete. Because
/// the store's renewal compares the token and never creates the key (as
/// `renew.lua`), it changes nothing after the delete: the key is never
/// re-created and nothing is extended after it.
#[test]
fn a_renewal_delivered_after_the_delete_changes_nothing() {
    let n = explore("late_delivery", None, || {
        late_delivery(LoomFakeStore::holding)
    });
    assert!(n >= 10, "only {n} interleavings");
}

/// The same model with a renewal that re-creates a missing key (a `SET`
/// where `renew.lua` has none): loom finds the interleaving where the late
/// renewal re-creates the released lock — the #7272 outcome — so the safety
/// in the test above is the script's compare, not luck.
#[test]
#[should_panic(expected = "after the delete")]
fn a_renewal_that_could_create_the_key_would_revive_a_released_lock() {
    explore("late_delivery_recreating", None, || {
        late_delivery(LoomFakeStore::recreating)
    });
}

fn late_delivery(make: fn(Token) -> LoomFakeStore) {
    let t0 = Instant::now();
    let store = Arc::new(make(ours()));
    let lease = Arc::new(LeaseState::new(ours(), TTL, t0, HOLD));

    let renewer = {
        let (lease, store) = (Arc::clone(&lease), Arc::clone(&store));
        thread::spawn(move || {
            let at = t0 + TTL / 3;
            if let Begin::Renew(permit) = lease.begin_renewal(at) {
                let token = lease.token();
                let network = thread::spawn(move || block_on(store.renew(token)).unwrap());
                // No reply in time: the renewal is abandoned, in flight.
                permit.finish(at + TTL / 3, None);
                network.join().unwrap();
            }
        })
    };
    let outcome = block_on(lease.release(&*store)).unwrap();
    renewer.join().unwrap();

    assert_eq!(outcome, ReleaseOutcome::Released);
    let log = store.log();
    let deleted = log
        .iter()
        .position(|e| *e == Event::Release(ReleaseOutcome::Released))
        .unwrap();
    for e in &log[deleted + 1..] {
        assert!(
            matches!(e, Event::Renew(Renewal::Gone)),
            "a renewal took effect after the delete ({e:?}): {log:?}"
        );
    }
    assert_eq!(
        store.key(),
        None,
        "the released key was re-created: {log:?}"
    );
}

/// Dropping the guard while the renewal task runs (3 renewals if never
/// stopped). The claim: after `abandon` returns, no renewal *begins*; at
/// most one that began before may still reach the store. Checked as: at
/// most one renewal reaches the store after the "dropped" mark (logged just
/// after `abandon` returns), nothing is released (drop never deletes), and
/// the state ends `Dropped` with nothing in flight. Also checked: some
/// interleaving does deliver one renewal after the drop, so the "at most
/// one" is real and documented, not hypothetical.
#[test]
fn dropping_the_guard_while_a_renewal_is_in_flight() {
    static ONE_LANDED_AFTER_DROP: AtomicBool = AtomicBool::new(false);
    let n = explore("drop_during_renewal", None, || {
        let t0 = Instant::now();
        let store = Arc::new(LoomFakeStore::holding(ours()));
        let lease = Arc::new(LeaseState::new(ours(), TTL, t0, HOLD));

        let renewer = {
            let (lease, store) = (Arc::clone(&lease), Arc::clone(&store));
            thread::spawn(move || {
                let mut at = t0;
                for _ in 0..3 {
                    at += TTL / 3;
                    if !renew_once(&lease, &store, at) {
                        break;
                    }
                }
            })
        };
        lease.abandon();
        store.mark("dropped");
        renewer.join().unwrap();

        let log = store.log();
        let dropped = log
            .iter()
            .position(|e| *e == Event::Mark("dropped"))
            .unwrap();
        let after = log[dropped + 1..]
            .iter()
            .filter(|e| matches!(e, Event::Renew(_)))
            .count();
        assert!(after <= 1, "{after} renewals after the drop: {log:?}");
        if after == 1 {
            ONE_LANDED_AFTER_DROP.store(true, Ordering::Relaxed);
        }
        assert!(
            !log.iter().any(|e| matches!(e, Event::Release(_))),
            "drop released: {log:?}"
        );
        assert_eq!(lease.phase(), Phase::Dropped);
        assert_eq!(lease.in_flight(), 0);
        assert!(matches!(lease.begin_renewal(t0 + TTL / 3), Begin::Stop(_)));
    });
    assert!(n >= 10, "only {n} interleavings");
    assert!(
        ONE_LANDED_AFTER_DROP.load(Ordering::Relaxed),
        "no interleaving had a renewal in flight at the drop"
    );
}

/// The lost signal: the key holds another client's token, and two things
/// race to declare the lease lost — a renewal that finds the other token
/// (`Taken`) and a clock check at the believed end of the lease
/// (`Unconfirmed`, as `is_lost()` or the `lost()` timer would) — while a
/// holder waits on the signal. In every interleaving: the signal fires
/// exactly once, the waiter (parked before or after) wakes with the reason
/// that fired (loom would report a waiter never woken as a deadlock), and
/// the state's `is_lost` view agrees and never changes its mind. Both
/// reasons occur across the interleavings.
#[test]
fn the_lost_signal_fires_once_and_wakes_the_waiter() {
    static SAW_TAKEN: AtomicBool = AtomicBool::new(false);
    static SAW_UNCONFIRMED: AtomicBool = AtomicBool::new(false);
    let n = explore("lost_signal", None, || {
        let t0 = Instant::now();
        let store = Arc::new(LoomFakeStore::holding(ours()));
        store.take_by_another(theirs());
        let lease = Arc::new(LeaseState::new(ours(), TTL, t0, HOLD));

        let waiter = {
            let lease = Arc::clone(&lease);
            thread::spawn(move || block_on(lease.wait_lost()))
        };
        let renewer = {
            let (lease, store) = (Arc::clone(&lease), Arc::clone(&store));
            thread::spawn(move || {
                renew_once(&lease, &store, t0 + TTL / 3);
            })
        };
        // The clock: the believed lease (never extended) ends at t0 + TTL.
        let by_clock = lease.check_clock(t0 + TTL);

        let woke_with = waiter.join().unwrap();
        renewer.join().unwrap();

        assert_eq!(lease.lost_signals(), 1);
        assert_eq!(lease.lost_reason(), Some(woke_with));
        assert_eq!(by_clock, Some(woke_with), "the clock check disagrees");
        // is_lost() at any later time: same answer.
        assert_eq!(lease.check_clock(t0 + TTL * 10), Some(woke_with));
        assert_eq!(lease.lost_signals(), 1);
        match woke_with {
            LostReason::Taken => SAW_TAKEN.store(true, Ordering::Relaxed),
            LostReason::Unconfirmed => SAW_UNCONFIRMED.store(true, Ordering::Relaxed),
            other => panic!("unexpected reason {other:?}"),
        }
        // The other client's lock is never touched.
        assert_eq!(store.key(), Some(theirs()));
    });
    assert!(n >= 10, "only {n} interleavings");
    assert!(SAW_TAKEN.load(Ordering::Relaxed) && SAW_UNCONFIRMED.load(Ordering::Relaxed));
}
