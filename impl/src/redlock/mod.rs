//! Redlock: the token lock on N independent Redis masters, held with a
//! majority within a validity window (the Redis documentation's
//! "Distributed Locks with Redis", <https://redis.io/docs/manual/patterns/distributed-locks/>).
//!
//! An attempt sends `SET key <token> NX PX ttl` (with fencing: the
//! `acquire-fenced` script, which also bumps the master's counter) to every
//! master at once, each request bounded by a per-master timeout, and counts
//! the grants. It holds the lock when a majority granted and the validity
//! `ttl − elapsed − drift` is positive, `elapsed` measured from the first
//! request; otherwise it releases on every master that did not refuse —
//! also those whose reply it never got — and, in [`Redlock::acquire`],
//! tries again after a
//! jittered wait, a release's announcement, or its turn
//! ([`Wait::Fifo`]: the fair quorum lock, `queue.rs`). A master that
//! errors or times out counts as not granted
//! and never aborts the attempt; a failed attempt says, per master, why
//! ([`Refusal`]). [`Redlock::extend`] renews the lease on a majority within
//! the validity; [`QuorumGrant::expired`] tells the holder when its
//! validity is gone.
//!
//! The concurrent attempt is built on the step-by-step one the lab replays
//! ([`Redlock::begin`], [`Redlock::ask`], [`Redlock::conclude`]): both
//! record into a [`Round`] and decide by [`Round::decide`].
//!
//! What Redlock does *not* survive — a master restarted without
//! persistence, a clock that jumps, a holder paused past its validity — is
//! computed by locklab's model and shown on real servers: `docs/redlock.md`.

mod grant;
mod options;
mod queue;
mod refusal;
mod round;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;

pub use grant::QuorumGrant;
pub use options::RedlockOptions;
pub use refusal::Refusal;
pub use round::{Decision, MasterReply, Round};

use crate::backoff::MAX_WAIT;
use crate::config::{LockKey, Ttl};
use crate::connection::Conn;
use crate::error::LockError;
use crate::fenced::FENCE_SUFFIX;
use crate::grant::{Grant, ReleaseOutcome};
use crate::protocol::Protocol;
use crate::scripts;
use crate::token::Token;
use crate::wait::fifo::Pool;
use crate::wait::notify::{self, Subscription, CHANNEL_SUFFIX};
use crate::wait::scripts::{NOTIFY_RELEASE, QUORUM_RELEASE};
use crate::wait::Wait;
use locklab_spec::Family;

/// A Redlock on N masters (see the [module docs](self)). Clones share the
/// connections, the wake-up subscription and the waiters' blocking
/// connections.
#[derive(Debug, Clone)]
pub struct Redlock {
    protocol: Protocol,
    masters: Vec<Conn>,
    key: LockKey,
    counter: String,
    channel: String,
    queue: String,
    ttl: Ttl,
    options: RedlockOptions,
    wait: Wait,
    subscription: Arc<Subscription>,
    /// Per master, the connections waiters in turn block on.
    blocking: Arc<Vec<Pool>>,
}

impl Redlock {
    /// A Redlock of `protocol` (a quorum protocol: its capabilities say
    /// whether it fences) on `masters`, key `key`, leases of `ttl`.
    pub fn new(
        protocol: Protocol,
        masters: Vec<Conn>,
        key: LockKey,
        ttl: Ttl,
        options: RedlockOptions,
    ) -> Result<Self, LockError> {
        if protocol.family() != Family::Quorum {
            return Err(LockError::UnknownProtocol {
                name: protocol.name().to_owned(),
                known: Protocol::all()
                    .iter()
                    .filter(|p| p.family() == Family::Quorum)
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if masters.is_empty() {
            return Err(LockError::InvalidOption {
                reason: "a Redlock needs at least one master".into(),
            });
        }
        options.check(ttl)?;
        Ok(Redlock {
            protocol,
            counter: key.derived(FENCE_SUFFIX),
            channel: key.derived(CHANNEL_SUFFIX),
            queue: key.derived(queue::QUEUE_SUFFIX),
            blocking: Arc::new(masters.iter().map(|_| Pool::default()).collect()),
            masters,
            key,
            ttl,
            options,
            wait: Wait::Poll(options.backoff()),
            subscription: Arc::default(),
        })
    }

    /// The same lock, waiting in [`acquire`](Self::acquire) by `wait`:
    /// polling with jittered backoff; woken by a release's announcement
    /// (on the first master, with a bounded fallback poll); or in turn,
    /// granted in the order the waiters began to wait ([`Wait::Fifo`]: the
    /// fair quorum lock, see `queue.rs`). Every client of one key should
    /// wait alike: a client that polls ignores the queue.
    pub fn with_wait(mut self, wait: Wait) -> Result<Self, LockError> {
        wait.fits(self.protocol)?;
        self.wait = wait;
        Ok(self)
    }

    /// The protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The lock key (the same on every master).
    pub fn key(&self) -> &LockKey {
        &self.key
    }

    /// The lease each master grants.
    pub fn ttl(&self) -> Ttl {
        self.ttl
    }

    /// The masters' connections.
    pub fn masters(&self) -> &[Conn] {
        &self.masters
    }

    /// The settings.
    pub fn options(&self) -> &RedlockOptions {
        &self.options
    }

    /// How it waits.
    pub fn wait(&self) -> Wait {
        self.wait
    }

    /// The grants an attempt needs: a majority of the masters.
    pub fn majority(&self) -> usize {
        self.masters.len() / 2 + 1
    }

    fn fencing(&self) -> bool {
        self.protocol.caps().fencing
    }

    /// Starts an attempt: a fresh token, no master asked yet.
    pub fn begin(&self) -> Round {
        Round::new(self.masters.len())
    }

    /// One request of `round`'s attempt to master `master`, bounded by the
    /// per-master timeout: what it answered, recorded in the round.
    pub async fn ask(&self, round: &mut Round, master: usize) -> MasterReply {
        round.sending(Instant::now());
        let reply = self.request(master, round.token).await;
        round.record(master, reply.clone());
        reply
    }

    /// A request whose reply is lost on its way back: the master runs it
    /// and the caller (the lab injecting the fault) learns what it said,
    /// but the round counts the master as not granted.
    pub async fn ask_unread(&self, round: &mut Round, master: usize) -> MasterReply {
        round.sending(Instant::now());
        let reply = self.request(master, round.token).await;
        round.record(master, MasterReply::Unread);
        reply
    }

    /// Decides the attempt: a grant with a majority and validity left;
    /// otherwise the token is released on every master that did not
    /// refuse (also where no grant was read) and the refusal says why, per
    /// master.
    pub async fn conclude(&self, round: Round) -> Result<QuorumGrant, Refusal> {
        self.decide(round, None).await
    }

    /// [`conclude`](Self::conclude), for the attempt of `waiter` (a waiter
    /// in turn, which a lost attempt leaves queued and the grant's release
    /// takes out of every queue).
    async fn decide(&self, round: Round, waiter: Option<&str>) -> Result<QuorumGrant, Refusal> {
        let now = Instant::now();
        let ttl = self.ttl.as_duration();
        let drift = self.options.drift(self.ttl);
        let decision = round.decide(self.majority(), ttl, drift, now);
        let started = round.started.unwrap_or(now);
        if let Decision::Hold { validity, fence } = decision {
            let masters = round
                .replies
                .iter()
                .enumerate()
                .filter(|(_, r)| r.as_ref().is_some_and(MasterReply::is_granted))
                .map(|(k, _)| k)
                .collect();
            return Ok(QuorumGrant {
                grant: Grant {
                    protocol: self.protocol,
                    key: self.key.clone(),
                    token: Some(round.token),
                    fence,
                    ttl: self.ttl,
                    granted_at: started,
                    server_granted: true,
                    count: None,
                },
                valid_until: now + validity,
                masters,
                waiter: waiter.map(str::to_owned),
            });
        }
        // A master that refused holds no key of this attempt's fresh
        // token: releasing there would change nothing.
        let holding: Vec<usize> = (0..self.masters.len())
            .filter(|&k| !matches!(round.replies.get(k), Some(Some(MasterReply::Busy))))
            .collect();
        let cleaned = self.release_token(round.token, None, &holding).await;
        tracing::debug!(key = %self.key, ?decision, released = ?cleaned.ok(), "redlock attempt lost");
        Err(Refusal {
            masters: self
                .masters
                .iter()
                .map(|c| c.url().to_owned())
                .zip(round.replies)
                .collect(),
            needed: self.majority(),
            elapsed: now.saturating_duration_since(started),
            ttl,
            drift,
            decision,
        })
    }

    /// One attempt: every master asked at once, then the decision.
    pub async fn try_acquire(&self) -> Result<QuorumGrant, Refusal> {
        let mut round = self.begin();
        round.sending(Instant::now());
        let token = round.token;
        let replies = join_all((0..self.masters.len()).map(|k| self.request(k, token))).await;
        for (k, reply) in replies.into_iter().enumerate() {
            round.record(k, reply);
        }
        self.conclude(round).await
    }

    /// Takes the lock, trying again after a jittered wait (or a release's
    /// announcement, with [`Wait::Notify`]) for at most `deadline`; at the
    /// deadline, [`LockError::NoQuorum`] with the last attempt's refusal.
    /// Always makes one attempt.
    pub async fn acquire(&self, deadline: Duration) -> Result<QuorumGrant, LockError> {
        if let Wait::Fifo(options) = self.wait {
            return self.acquire_in_turn(options, deadline).await;
        }
        if deadline > MAX_WAIT {
            return Err(LockError::InvalidOption {
                reason: format!("acquire deadline {deadline:?} refused; at most {MAX_WAIT:?}"),
            });
        }
        let start = tokio::time::Instant::now();
        let mut lost: u32 = 0;
        loop {
            let mut rx = match self.wait {
                Wait::Notify(_) => {
                    self.subscription
                        .receiver(&self.masters[0], &self.channel)
                        .await
                }
                _ => None,
            };
            if let Some(rx) = rx.as_mut() {
                rx.borrow_and_update();
            }
            let refusal = match self.try_acquire().await {
                Ok(grant) => return Ok(grant),
                Err(refusal) => refusal,
            };
            let remaining = deadline.saturating_sub(start.elapsed());
            if remaining.is_zero() {
                return Err(LockError::NoQuorum {
                    waited: start.elapsed(),
                    last: Box::new(refusal),
                });
            }
            let pause = match self.wait {
                Wait::Notify(options) => notify::jittered(options.fallback()),
                _ => self.options.backoff().delay(lost),
            };
            notify::wake_or_sleep(rx.as_mut(), pause.min(remaining)).await;
            lost = lost.saturating_add(1);
        }
    }

    /// Extends the lease on every master that still holds the grant's
    /// token (compare-and-`PEXPIRE`), while the grant is still valid. With
    /// a majority extended and validity left, the grant is valid for a
    /// lease from this call, less the time it took and the drift; otherwise
    /// it is not extended (and may be lost: stop acting under it).
    pub async fn extend(&self, grant: &mut QuorumGrant) -> Result<(), Refusal> {
        let mut round = Round {
            token: grant.grant.token.unwrap_or_else(Token::random),
            started: Some(Instant::now()),
            replies: vec![None; self.masters.len()],
        };
        let ttl = self.ttl.as_duration();
        let drift = self.options.drift(self.ttl);
        if grant.is_valid() {
            let token = round.token;
            let replies = join_all((0..self.masters.len()).map(|k| self.renew(k, token))).await;
            for (k, reply) in replies.into_iter().enumerate() {
                round.record(k, reply);
            }
        }
        let now = Instant::now();
        match round.decide(self.majority(), ttl, drift, now) {
            Decision::Hold { validity, .. } if grant.is_valid() => {
                grant.valid_until = now + validity;
                Ok(())
            }
            decision => Err(Refusal {
                masters: self
                    .masters
                    .iter()
                    .map(|c| c.url().to_owned())
                    .zip(round.replies)
                    .collect(),
                needed: self.majority(),
                elapsed: now.saturating_duration_since(round.started.unwrap_or(now)),
                ttl,
                drift,
                decision,
            }),
        }
    }

    /// Releases a grant on every master (compare-and-delete), also those
    /// that did not grant: [`ReleaseOutcome::Released`] when some master
    /// still held its token, [`ReleaseOutcome::NotHeld`] when none did. A
    /// master that fails is skipped; only when every one fails is it an
    /// error.
    pub async fn release(&self, grant: &QuorumGrant) -> Result<ReleaseOutcome, LockError> {
        let token = grant.grant.token.ok_or_else(|| LockError::WrongGrant {
            reason: "a Redlock grant without a token".into(),
        })?;
        if grant.grant.key != self.key || grant.grant.protocol != self.protocol {
            return Err(LockError::WrongGrant {
                reason: format!(
                    "a {} grant of key {:?} handed to the {} Redlock of key {:?}",
                    grant.grant.protocol,
                    grant.grant.key.as_str(),
                    self.protocol,
                    self.key.as_str()
                ),
            });
        }
        let every: Vec<usize> = (0..self.masters.len()).collect();
        let removed = self
            .release_token(token, grant.waiter.as_deref(), &every)
            .await?;
        Ok(if removed > 0 {
            ReleaseOutcome::Released
        } else {
            ReleaseOutcome::NotHeld
        })
    }

    /// Compare-and-delete of `token` on the masters `on` at once
    /// (announcing the free lock with [`Wait::Notify`]; with [`Wait::Fifo`]
    /// waking the next waiter, and taking `waiter` out of those queues):
    /// how many removed it; an error only when no master answered.
    async fn release_token(
        &self,
        token: Token,
        waiter: Option<&str>,
        on: &[usize],
    ) -> Result<usize, LockError> {
        let results = join_all(on.iter().map(|&k| async move {
            let conn = &self.masters[k];
            let call = async {
                match self.wait {
                    Wait::Notify(_) => {
                        conn.invoke::<u64>(
                            NOTIFY_RELEASE
                                .key(self.key.as_str())
                                .arg(token)
                                .arg(&self.channel),
                        )
                        .await
                    }
                    Wait::Fifo(_) => {
                        let alive = waiter.map(|id| self.key.derived(&format!("w:{id}")));
                        conn.invoke::<u64>(
                            QUORUM_RELEASE
                                .key(self.key.as_str())
                                .key(&self.queue)
                                .key(alive.as_deref().unwrap_or(self.key.as_str()))
                                .arg(token)
                                .arg(waiter.unwrap_or_default()),
                        )
                        .await
                    }
                    Wait::Poll(_) => {
                        conn.invoke::<u64>(
                            scripts::COMPARE_AND_DELETE
                                .key(self.key.as_str())
                                .arg(token),
                        )
                        .await
                    }
                }
            };
            self.bounded(call).await
        }))
        .await;
        let mut removed = 0;
        let mut first_error = None;
        let mut answered = false;
        for result in results {
            match result {
                Ok(n) => {
                    answered = true;
                    removed += usize::from(n == 1);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match (answered, first_error) {
            (false, Some(e)) => Err(e),
            _ => Ok(removed),
        }
    }

    /// A command to one master, bounded by the per-master timeout.
    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, LockError>>,
    ) -> Result<T, LockError> {
        let timeout = self.options.master_timeout();
        match tokio::time::timeout(timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(LockError::Timeout { timeout }),
        }
    }

    /// The acquire request to master `k`.
    async fn request(&self, k: usize, token: Token) -> MasterReply {
        let conn = &self.masters[k];
        let ttl_ms = self.ttl.as_millis();
        let key = self.key.as_str();
        let reply = if self.fencing() {
            self.bounded(
                conn.invoke::<Option<u64>>(
                    scripts::ACQUIRE_FENCED
                        .key(key)
                        .key(&self.counter)
                        .arg(token)
                        .arg(ttl_ms),
                ),
            )
            .await
            .map(|fence| fence.map(Some))
        } else {
            self.bounded(
                conn.query::<Option<String>>(
                    redis::cmd("SET")
                        .arg(key)
                        .arg(token)
                        .arg("NX")
                        .arg("PX")
                        .arg(ttl_ms),
                ),
            )
            .await
            .map(|set| set.map(|_| None))
        };
        tracing::debug!(%key, master = %conn.url(), %token, ?reply, "redlock request");
        match reply {
            Ok(Some(fence)) => MasterReply::Granted { fence },
            Ok(None) => MasterReply::Busy,
            Err(e) => MasterReply::Failed(Arc::new(e)),
        }
    }

    /// The renewal of `token` on master `k`: granted when it extended.
    async fn renew(&self, k: usize, token: Token) -> MasterReply {
        let conn = &self.masters[k];
        let extended = self
            .bounded(
                conn.invoke::<i64>(
                    scripts::RENEW
                        .key(self.key.as_str())
                        .arg(token)
                        .arg(self.ttl.as_millis()),
                ),
            )
            .await;
        match extended {
            Ok(1) => MasterReply::Granted { fence: None },
            Ok(_) => MasterReply::Busy,
            Err(e) => MasterReply::Failed(Arc::new(e)),
        }
    }
}
