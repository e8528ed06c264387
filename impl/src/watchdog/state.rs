//! The shared state of one kept lease: the state machine that decides
//! whether a renewal may start and whether its reply may count, and how
//! release and drop stop renewal.
//!
//! This is the watchdog's concurrency core, kept free of timers, tasks and
//! Redis so that loom can drive it (`impl/tests/loom_watchdog.rs`, with a
//! stand-in store): time comes in as arguments, the store is a
//! [`LeaseStore`], and the primitives are those of the `sync` module.
//! The tokio renewal task and the [`LeaseGuard`](super::LeaseGuard) only
//! call the methods here, in the order the loom models call them. It is
//! public for those models and for anyone keeping a lease on their own
//! store; a holder uses [`LeaseGuard`](super::LeaseGuard).
//!
//! # The state machine
//!
//! One mutex guards: the [`Phase`] (`Held` → `Releasing` → `Released`, or
//! `Held` → `Dropped`), the lost reason (set at most once, only while
//! `Held`), the number of renewals in flight, and the end of the lease as
//! this process believes it.
//!
//! - A renewal must first get a [`RenewPermit`] from
//!   [`begin_renewal`](LeaseState::begin_renewal), which refuses unless the
//!   phase is `Held`, the lease is not lost (by the clock too), and the
//!   maximum hold time is not reached. The permit counts as "in flight"
//!   until it is [finished](RenewPermit::finish) or dropped.
//! - [`release`](LeaseState::release) sets `Releasing` (so no permit is
//!   granted from then on), wakes the renewal task, waits until no permit
//!   is out, and only then sends compare-and-delete. So every renewal this
//!   lease ever sends was answered, or abandoned, *before* the delete was
//!   sent; none is sent after.
//! - [`abandon`](LeaseState::abandon) (the guard's `Drop`) sets `Dropped`:
//!   no permit is granted from then on. It cannot wait, so a renewal
//!   already in flight may still complete: at most one, begun before the
//!   drop, extending the lease by at most one TTL from its send time.
//! - A reply counts only while `Held` and not lost, and only if it arrives
//!   before the believed lease ended: the believed lease is extended to the
//!   renewal's *send* time plus the TTL (Redis ran it no earlier), and a
//!   renewal with no reply extends nothing.

use std::future::Future;
use std::time::{Duration, Instant};

use super::lost::LostReason;
use super::store::{LeaseStore, Renewal};
use super::sync::{lock, Mutex, Notify};
use crate::error::LockError;
use crate::grant::ReleaseOutcome;
use crate::token::Token;

/// Where a kept lease is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Kept: renewals may start (unless the lease is lost).
    Held,
    /// Release has begun: no renewal starts; the release waits for the one
    /// in flight, then deletes.
    Releasing,
    /// Release's compare-and-delete is done (answered or failed).
    Released,
    /// The guard was dropped without release: no renewal starts; the lease
    /// runs out on its own.
    Dropped,
}

/// Why [`begin_renewal`](LeaseState::begin_renewal) refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stop {
    /// Release has begun (or is done).
    Released,
    /// The guard was dropped.
    Dropped,
    /// The lease is lost.
    Lost(LostReason),
    /// The maximum hold time is reached; the lease will run out.
    MaxHoldReached,
}

/// The answer of [`begin_renewal`](LeaseState::begin_renewal).
#[derive(Debug)]
pub enum Begin<'a> {
    /// Send one renewal now, then [finish](RenewPermit::finish) the permit.
    Renew(RenewPermit<'a>),
    /// Renew no more.
    Stop(Stop),
}

/// The shared state of one kept lease; see the [module docs](self).
#[derive(Debug)]
pub struct LeaseState {
    token: Token,
    ttl: Duration,
    granted_at: Instant,
    hold_until: Instant,
    inner: Mutex<Inner>,
    /// Woken on every change a waiter may be waiting for: the lease lost,
    /// a renewal no longer in flight, release begun or done, the guard
    /// dropped.
    changed: Notify,
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    lost: Option<LostReason>,
    /// How many times `lost` was set: 0 or 1, by construction.
    lost_signals: u32,
    /// Renewal permits out (0 or 1 with one renewal task).
    in_flight: u32,
    /// The believed end of the lease: the send time of the last confirmed
    /// renewal (or of the acquire) plus the TTL.
    lease_until: Instant,
    renewals: u64,
    max_hold_reached: bool,
}

impl Inner {
    /// Marks the lease lost, once, while held.
    fn lose(&mut self, reason: LostReason) -> bool {
        if self.phase != Phase::Held || self.lost.is_some() {
            return false;
        }
        self.lost = Some(reason);
        self.lost_signals += 1;
        true
    }

    /// Marks the lease lost if, by `now`, the believed lease has ended.
    fn expire_if_due(&mut self, now: Instant) -> bool {
        if now < self.lease_until {
            return false;
        }
        let reason = if self.max_hold_reached {
            LostReason::MaxHoldReached
        } else {
            LostReason::Unconfirmed
        };
        self.lose(reason)
    }
}

impl LeaseState {
    /// The state of a lease on `token`, granted by a request sent at
    /// `granted_at`, for leases of `ttl`, renewed for at most `max_hold`
    /// after `granted_at`.
    pub fn new(token: Token, ttl: Duration, granted_at: Instant, max_hold: Duration) -> Self {
        Self {
            token,
            ttl,
            granted_at,
            hold_until: granted_at + max_hold,
            inner: Mutex::new(Inner {
                phase: Phase::Held,
                lost: None,
                lost_signals: 0,
                in_flight: 0,
                lease_until: granted_at + ttl,
                renewals: 0,
                max_hold_reached: false,
            }),
            changed: Notify::new(),
        }
    }

    /// The lease's token.
    pub fn token(&self) -> Token {
        self.token
    }

    /// The lease length each renewal asks for.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// When the acquiring request was sent.
    pub fn granted_at(&self) -> Instant {
        self.granted_at
    }

    /// Where the lease is in its life.
    pub fn phase(&self) -> Phase {
        lock(&self.inner).phase
    }

    /// The believed end of the lease (pessimistic: counted from send times).
    pub fn lease_until(&self) -> Instant {
        lock(&self.inner).lease_until
    }

    /// How many renewals extended the lease.
    pub fn renewals(&self) -> u64 {
        lock(&self.inner).renewals
    }

    /// How many renewals are in flight (0 or 1).
    pub fn in_flight(&self) -> u32 {
        lock(&self.inner).in_flight
    }

    /// How many times the lost signal fired: 0 or 1. For the loom models.
    pub fn lost_signals(&self) -> u32 {
        lock(&self.inner).lost_signals
    }

    /// Why the lease was lost, if it was (without looking at the clock).
    pub fn lost_reason(&self) -> Option<LostReason> {
        lock(&self.inner).lost
    }

    /// Why the lease was lost, if it was, marking it lost first if by `now`
    /// the believed lease has ended (while held). A holder's `is_lost` and
    /// its `lost()` timer both come through here, so they agree.
    pub fn check_clock(&self, now: Instant) -> Option<LostReason> {
        let (lost, fired) = {
            let mut inner = lock(&self.inner);
            let fired = inner.expire_if_due(now);
            (inner.lost, fired)
        };
        if fired {
            self.changed.notify_waiters();
        }
        lost
    }

    /// A future completed by the next change of this state (see the
    /// `changed` field). Create it *before* checking the condition you wait
    /// for, then await it: a change in between is not missed.
    pub fn changed(&self) -> impl Future<Output = ()> + Send + '_ {
        self.changed.notified()
    }

    /// Asks to send one renewal at `now`; see [`Begin`]. The permit's send
    /// time is `now`: send right away.
    pub fn begin_renewal(&self, now: Instant) -> Begin<'_> {
        let (begin, fired) = {
            let mut inner = lock(&self.inner);
            let fired = inner.expire_if_due(now);
            let stop = match inner.phase {
                Phase::Releasing | Phase::Released => Some(Stop::Released),
                Phase::Dropped => Some(Stop::Dropped),
                Phase::Held => match inner.lost {
                    Some(reason) => Some(Stop::Lost(reason)),
                    None if now >= self.hold_until => {
                        inner.max_hold_reached = true;
                        Some(Stop::MaxHoldReached)
                    }
                    None => None,
                },
            };
            let begin = match stop {
                Some(stop) => Begin::Stop(stop),
                None => {
                    inner.in_flight += 1;
                    Begin::Renew(RenewPermit {
                        state: self,
                        sent: now,
                        finished: false,
                    })
                }
            };
            (begin, fired)
        };
        if fired {
            self.changed.notify_waiters();
        }
        begin
    }

    /// Waits until the lease is lost and says why. Only the signal: it does
    /// not look at the clock (the guard's `lost()` adds a timer at
    /// [`lease_until`](Self::lease_until)). Never completes if the lease is
    /// released or dropped without being lost.
    pub async fn wait_lost(&self) -> LostReason {
        loop {
            let changed = self.changed();
            if let Some(reason) = self.lost_reason() {
                return reason;
            }
            changed.await;
        }
    }

    /// Stops renewal, waits for the renewal in flight (if any) to finish,
    /// then deletes the key if it holds our token — in that order, so that
    /// no renewal is sent after the delete (see the [module docs](self)).
    ///
    /// The wait is bounded by the renewal's own bound (the response
    /// timeout, or the end of the believed lease). Dropping this future
    /// part-way leaves renewal stopped; the lease then runs out.
    pub async fn release<S: LeaseStore>(&self, store: &S) -> Result<ReleaseOutcome, LockError> {
        lock(&self.inner).phase = Phase::Releasing;
        self.changed.notify_waiters();
        loop {
            let changed = self.changed();
            if lock(&self.inner).in_flight == 0 {
                break;
            }
            changed.await;
        }
        let outcome = store.release(self.token).await;
        lock(&self.inner).phase = Phase::Released;
        self.changed.notify_waiters();
        outcome
    }

    /// The guard was dropped: no renewal starts from now on (one already in
    /// flight may still complete). Does nothing once release has begun.
    pub fn abandon(&self) {
        {
            let mut inner = lock(&self.inner);
            if inner.phase != Phase::Held {
                return;
            }
            inner.phase = Phase::Dropped;
        }
        self.changed.notify_waiters();
    }
}

/// Leave to send one renewal; in flight until finished or dropped.
#[derive(Debug)]
pub struct RenewPermit<'a> {
    state: &'a LeaseState,
    sent: Instant,
    finished: bool,
}

impl RenewPermit<'_> {
    /// When the renewal was (to be) sent.
    pub fn sent(&self) -> Instant {
        self.sent
    }

    /// Records the renewal's reply, received at `now` (`None`: no reply, or
    /// an error), and returns why the lease is lost, if it is.
    ///
    /// `Extended` extends the believed lease to `sent + ttl`, but only while
    /// held and not lost, and only if the reply came before the believed
    /// lease ended (a late confirmation does not un-lose a lease the clock
    /// already gave up). `Gone` and `Taken` mark the lease lost.
    pub fn finish(mut self, now: Instant, reply: Option<Renewal>) -> Option<LostReason> {
        self.finished = true;
        let lost = {
            let mut inner = lock(&self.state.inner);
            inner.in_flight -= 1;
            inner.expire_if_due(now);
            if inner.phase == Phase::Held && inner.lost.is_none() {
                match reply {
                    Some(Renewal::Extended) => {
                        let until = self.sent + self.state.ttl;
                        if until > inner.lease_until {
                            inner.lease_until = until;
                        }
                        inner.renewals += 1;
                    }
                    Some(Renewal::Gone) => {
                        inner.lose(LostReason::Gone);
                    }
                    Some(Renewal::Taken) => {
                        inner.lose(LostReason::Taken);
                    }
                    None => {}
                }
            }
            inner.lost
        };
        // Always: a release may be waiting for no renewal in flight, and a
        // holder for the lost signal.
        self.state.changed.notify_waiters();
        lost
    }
}

impl Drop for RenewPermit<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        lock(&self.state.inner).in_flight -= 1;
        self.state.changed.notify_waiters();
    }
}

#[cfg(all(test, not(locklab_loom)))]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_millis(300);

    fn state(t0: Instant) -> LeaseState {
        LeaseState::new(Token::random(), TTL, t0, Duration::from_secs(10))
    }

    fn permit(begin: Begin<'_>) -> RenewPermit<'_> {
        match begin {
            Begin::Renew(p) => p,
            Begin::Stop(s) => panic!("expected a permit, got {s:?}"),
        }
    }

    #[test]
    fn a_confirmed_renewal_extends_from_its_send_time() {
        let t0 = Instant::now();
        let s = state(t0);
        assert_eq!(s.lease_until(), t0 + TTL);
        let sent = t0 + Duration::from_millis(100);
        let p = permit(s.begin_renewal(sent));
        assert_eq!(s.in_flight(), 1);
        // Answered much later: still counted from the send time.
        assert_eq!(
            p.finish(t0 + Duration::from_millis(250), Some(Renewal::Extended)),
            None
        );
        assert_eq!(s.lease_until(), sent + TTL);
        assert_eq!((s.in_flight(), s.renewals()), (0, 1));
    }

    #[test]
    fn an_unanswered_renewal_extends_nothing_and_the_clock_loses_the_lease() {
        let t0 = Instant::now();
        let s = state(t0);
        let p = permit(s.begin_renewal(t0 + Duration::from_millis(100)));
        drop(p); // timed out: no reply
        assert_eq!(s.in_flight(), 0);
        assert_eq!(s.lease_until(), t0 + TTL);
        assert_eq!(s.check_clock(t0 + TTL - Duration::from_millis(1)), None);
        assert_eq!(s.check_clock(t0 + TTL), Some(LostReason::Unconfirmed));
        assert!(matches!(
            s.begin_renewal(t0 + TTL),
            Begin::Stop(Stop::Lost(LostReason::Unconfirmed))
        ));
        assert_eq!(s.lost_signals(), 1);
    }

    #[test]
    fn a_confirmation_after_the_believed_lease_ended_comes_too_late() {
        let t0 = Instant::now();
        let s = state(t0);
        let p = permit(s.begin_renewal(t0 + Duration::from_millis(100)));
        let lost = p.finish(t0 + TTL, Some(Renewal::Extended));
        assert_eq!(lost, Some(LostReason::Unconfirmed));
        assert_eq!(s.renewals(), 0);
    }

    #[test]
    fn another_token_loses_the_lease_once() {
        let t0 = Instant::now();
        let s = state(t0);
        let p = permit(s.begin_renewal(t0));
        assert_eq!(p.finish(t0, Some(Renewal::Taken)), Some(LostReason::Taken));
        assert_eq!(s.check_clock(t0 + TTL), Some(LostReason::Taken));
        assert_eq!(s.lost_signals(), 1);
        assert!(matches!(
            s.begin_renewal(t0),
            Begin::Stop(Stop::Lost(LostReason::Taken))
        ));
    }

    #[test]
    fn renewal_stops_at_the_maximum_hold_time() {
        let t0 = Instant::now();
        let s = LeaseState::new(Token::random(), TTL, t0, Duration::from_millis(500));
        let p = permit(s.begin_renewal(t0 + Duration::from_millis(250)));
        p.finish(t0 + Duration::from_millis(251), Some(Renewal::Extended));
        let end = t0 + Duration::from_millis(500);
        assert!(matches!(
            s.begin_renewal(end),
            Begin::Stop(Stop::MaxHoldReached)
        ));
        assert_eq!(
            s.check_clock(s.lease_until()),
            Some(LostReason::MaxHoldReached)
        );
    }

    #[test]
    fn after_drop_no_renewal_starts_and_a_late_reply_changes_nothing() {
        let t0 = Instant::now();
        let s = state(t0);
        let p = permit(s.begin_renewal(t0));
        s.abandon();
        assert_eq!(s.phase(), Phase::Dropped);
        assert!(matches!(s.begin_renewal(t0), Begin::Stop(Stop::Dropped)));
        assert_eq!(p.finish(t0, Some(Renewal::Gone)), None);
        assert_eq!(s.lost_signals(), 0);
        assert_eq!(s.check_clock(t0 + TTL * 2), None);
    }
}
