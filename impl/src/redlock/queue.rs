//! The fair quorum lock — [`Wait::Fifo`](crate::Wait::Fifo) for a Redlock:
//! waiters take the lock in the order they began to wait, on N independent
//! masters.
//!
//! A single Redis hands the lock on in its release script
//! (`wait::fifo`). N masters cannot: each would have to pick the same
//! waiter, and a key set on a waiter's behalf is a grant it did not ask
//! for at that moment, which its validity could not be counted from. So
//! the masters do not hand on; they refuse out of turn. Every master keeps
//! a queue of waiters ordered by *ticket* — the moment the waiter began to
//! wait, on its own clock, sent alike to every master — and grants a free
//! key only to the oldest live waiter (`quorum_acquire.lua`). With the
//! same waiters queued everywhere, every master picks the same one, and it
//! wins a majority in one attempt. A release wakes only that waiter (a
//! push to a list of its own, which it `BLPOP`s on one master), so a grant
//! costs a release, a wake-up and one attempt, whatever the number of
//! waiters — where polling waiters race (the releaser usually wins again)
//! and notified ones all rush every master at every release.
//!
//! **Safety is Redlock's.** A master grants exactly where `SET NX` would —
//! its key absent — and the attempt is decided by the same
//! [`Round::decide`](super::Round::decide): a majority, validity counted
//! from the attempt's first request. The queue only adds refusals. The
//! model (`locklab_model::quorum`) has no refusal of a free key, and need
//! not for safety: mutual exclusion and the fencing property rest on each
//! master holding one key at a time and on the decision, not on which
//! requests a free master grants; an attempt refused out of turn is, to
//! its client, one that lost. Its liveness is argued here, not checked.
//!
//! **Liveness, faults.** A waiter refreshes its liveness key on every
//! master at each attempt, at least every [`FifoOptions::poll`]; one silent
//! for the waiter lease is skipped ([`FifoOptions::waiter_lease`]), and
//! one that gives up leaves every queue. A lease that runs out, or a
//! wake-up lost with its master, is noticed by the next attempt of any
//! waiter, which wakes the head. Waiters whose tickets reach the masters
//! in different orders (each may be oldest somewhere for a moment) can
//! split the masters; the loser releases at once and keeps its place, and
//! once every queue holds both, every master agrees. Waiters on hosts
//! whose clocks disagree are reordered by the difference: fairness, not
//! safety, depends on clocks.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;

use super::{MasterReply, QuorumGrant, Redlock, Refusal};
use crate::backoff::MAX_WAIT;
use crate::error::LockError;
use crate::token::Token;
use crate::wait::fifo::blpop;
use crate::wait::scripts::{QUORUM_ACQUIRE, QUORUM_LEAVE};
use crate::wait::FifoOptions;

/// The suffix of the queue's key, `<key>:q`, on every master.
pub(super) const QUEUE_SUFFIX: &str = "q";

/// One waiter of one `acquire`: its id, its ticket, and its keys.
pub(super) struct Waiter {
    pub(super) id: String,
    ticket: u64,
    pub(super) alive: String,
    wake: String,
}

impl Waiter {
    fn new(lock: &Redlock) -> Self {
        let id = Token::random().to_string();
        let ticket = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        Waiter {
            alive: lock.key.derived(&format!("w:{id}")),
            wake: lock.key.derived(&format!("g:{id}")),
            id,
            ticket,
        }
    }
}

impl Redlock {
    /// [`Redlock::acquire`] in turn: attempts until one wins, between
    /// attempts waiting for a wake-up or [`FifoOptions::poll`]; at the
    /// deadline, leaves every queue.
    pub(super) async fn acquire_in_turn(
        &self,
        options: FifoOptions,
        deadline: Duration,
    ) -> Result<QuorumGrant, LockError> {
        if deadline > MAX_WAIT {
            return Err(LockError::InvalidOption {
                reason: format!("acquire deadline {deadline:?} refused; at most {MAX_WAIT:?}"),
            });
        }
        let start = tokio::time::Instant::now();
        let waiter = Waiter::new(self);
        loop {
            let refusal = match self.attempt_in_turn(&waiter, options).await {
                Ok(grant) => return Ok(grant),
                Err(refusal) => refusal,
            };
            let remaining = deadline.saturating_sub(start.elapsed());
            if remaining.is_zero() {
                self.leave(&waiter).await;
                return Err(LockError::NoQuorum {
                    waited: start.elapsed(),
                    last: Box::new(refusal),
                });
            }
            // Listen where the last attempt was heard: a master that is up.
            let listen = refusal
                .masters
                .iter()
                .position(|(_, r)| {
                    matches!(r, Some(MasterReply::Busy | MasterReply::Granted { .. }))
                })
                .unwrap_or(0);
            self.wake_or_poll(listen, &waiter, options.poll().min(remaining))
                .await;
        }
    }

    /// One attempt, every master asked at once in turn, then the decision.
    async fn attempt_in_turn(
        &self,
        waiter: &Waiter,
        options: FifoOptions,
    ) -> Result<QuorumGrant, Refusal> {
        let mut round = self.begin();
        round.sending(Instant::now());
        let token = round.token;
        let replies = join_all(
            (0..self.masters.len()).map(|k| self.request_in_turn(k, token, waiter, options)),
        )
        .await;
        for (k, reply) in replies.into_iter().enumerate() {
            round.record(k, reply);
        }
        self.decide(round, Some(&waiter.id)).await
    }

    /// The request in turn to master `k`: granted, or refused and queued.
    async fn request_in_turn(
        &self,
        k: usize,
        token: Token,
        waiter: &Waiter,
        options: FifoOptions,
    ) -> MasterReply {
        let conn = &self.masters[k];
        let reply = self
            .bounded(
                conn.invoke::<Vec<u64>>(
                    QUORUM_ACQUIRE
                        .key(self.key.as_str())
                        .key(&self.queue)
                        .key(&self.counter)
                        .key(&waiter.alive)
                        .key(&waiter.wake)
                        .arg(&waiter.id)
                        .arg(token)
                        .arg(self.ttl.as_millis())
                        .arg(waiter.ticket)
                        .arg(options.waiter_lease().as_millis() as u64)
                        .arg(if self.fencing() { "1" } else { "0" }),
                ),
            )
            .await;
        tracing::debug!(key = %self.key, master = %conn.url(), %token, ?reply, "redlock request in turn");
        match reply {
            Ok(granted) => match granted.as_slice() {
                [1, fence] => MasterReply::Granted {
                    fence: self.fencing().then_some(*fence),
                },
                _ => MasterReply::Busy,
            },
            Err(e) => MasterReply::Failed(std::sync::Arc::new(e)),
        }
    }

    /// Blocks on master `k` until this waiter is woken or `block` passes
    /// (a master that fails: the rest of `block` is slept out).
    async fn wake_or_poll(&self, k: usize, waiter: &Waiter, block: Duration) {
        let slept = tokio::time::Instant::now();
        let pool = &self.blocking[k];
        if let Ok(mut con) = pool.take(&self.masters[k], block).await {
            match blpop(&mut con, &waiter.wake, block).await {
                Ok(_) => {
                    pool.give_back(con);
                    return;
                }
                Err(error) => tracing::debug!(%error, "BLPOP failed; polling instead"),
            }
        }
        tokio::time::sleep(block.saturating_sub(slept.elapsed())).await;
    }

    /// Leaves the queue on every master (best effort: a master that does
    /// not answer drops the waiter once its liveness key runs out).
    async fn leave(&self, waiter: &Waiter) {
        join_all(self.masters.iter().map(|conn| async move {
            let mut leave = QUORUM_LEAVE.key(self.key.as_str());
            leave
                .key(&self.queue)
                .key(&waiter.alive)
                .key(&waiter.wake)
                .arg(&waiter.id);
            self.bounded(conn.invoke::<u64>(&leave)).await
        }))
        .await;
    }
}
