//! The FIFO hand-off: the queue's scripts and the waiter's loop.
//!
//! Keys of a lock `K`: the lock `K` itself; the queue `K:q` (waiter ids,
//! oldest first); per waiter `K:w:<id>` (liveness, `<ttl>:<value>`, expiring
//! after the waiter lease) and `K:g:<id>` (its wake list: a hand-off pushes
//! the fencing token there, or 0); the fence counter `K:fence`.
//!
//! A waiter: tries the protocol's own `SET NX` first (one round trip, no
//! script: uncontended, a FIFO lock costs what the plain lock does), and
//! when busy runs `fifo_acquire` (granted, or queued), then alternates a
//! `BLPOP K:g:<id>` of at most [`FifoOptions::poll`] on a connection of its
//! own with another `fifo_acquire`, which refreshes its liveness and hands
//! on a lock found free (a holder's lease ran out). At the deadline it runs
//! `fifo_leave`. A grant is dated, for [`Grant::remaining`], by the send of
//! the waiter's last command that saw no grant: the hand-off happened after
//! that, so the estimate stays pessimistic (by at most one poll).
//!
//! The plain `SET NX` ignores the queue. That is fair enough: a release
//! hands the lock over in the same script, so the lock is free while live
//! waiters are queued only after a holder's lease ran out (until the next
//! waiter's poll); only then can a newcomer get in ahead of the queue.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;

use super::options::FifoOptions;
use super::scripts;
use crate::backoff::MAX_WAIT;
use crate::base::LockBase;
use crate::connection::Conn;
use crate::error::LockError;
use crate::grant::{Attempt, Grant};
use crate::token::Token;

/// The suffix of the queue's key: `<key>:q`.
pub(crate) const QUEUE_SUFFIX: &str = "q";

/// Connections of a lock's own for `BLPOP`, one per concurrent waiter,
/// kept for the next wait.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    idle: Mutex<Vec<MultiplexedConnection>>,
}

/// At most this many idle connections are kept per lock.
const MAX_IDLE: usize = 4;

impl Pool {
    /// An idle connection to `conn`'s server, or a new one whose replies
    /// may take `poll` longer than `conn`'s.
    pub(crate) async fn take(
        &self,
        conn: &Conn,
        poll: Duration,
    ) -> Result<MultiplexedConnection, LockError> {
        if let Some(con) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(con);
        }
        let opts = conn.options();
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(opts.connect_timeout()))
            .set_response_timeout(Some(poll + opts.response_timeout()));
        conn.client()
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| LockError::from_connect(e, conn.url(), opts.connect_timeout()))
    }

    /// Keeps `con` for the next wait.
    pub(crate) fn give_back(&self, con: MultiplexedConnection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(con);
            }
        }
    }
}

/// What the scripts need besides the lock's base.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Queue<'a> {
    pub(crate) base: &'a LockBase,
    pub(crate) queue: &'a str,
    pub(crate) counter: &'a str,
    pub(crate) options: FifoOptions,
}

/// One waiter: its id and the value the lock holds for it.
struct Waiter {
    id: String,
    token: Option<Token>,
    wake: String,
    alive: String,
}

impl Waiter {
    fn new(base: &LockBase) -> Self {
        let token = Token::random();
        let id = token.to_string();
        Self {
            wake: base.key.derived(&format!("g:{id}")),
            alive: base.key.derived(&format!("w:{id}")),
            token: base.protocol.caps().unique_token.then_some(token),
            id,
        }
    }

    /// What the lock key holds for this waiter: its token, or `1` (naive).
    fn value(&self) -> String {
        self.token.map_or_else(|| "1".to_owned(), |t| t.to_string())
    }
}

impl Queue<'_> {
    fn fenced(&self) -> &'static str {
        if self.base.protocol.caps().fencing {
            "1"
        } else {
            "0"
        }
    }

    /// One run of `fifo_acquire`: the fencing token (0 unfenced) when the
    /// waiter holds the lock.
    async fn run_acquire(&self, w: &Waiter) -> Result<Option<u64>, LockError> {
        let reply: Vec<u64> = self
            .base
            .conn
            .invoke(
                scripts::FIFO_ACQUIRE
                    .key(self.base.key.as_str())
                    .key(self.queue)
                    .key(self.counter)
                    .key(&w.wake)
                    .key(&w.alive)
                    .arg(&w.id)
                    .arg(w.value())
                    .arg(self.base.ttl.as_millis())
                    .arg(self.options.waiter_lease().as_millis() as u64)
                    .arg(self.fenced()),
            )
            .await?;
        Ok(match reply.as_slice() {
            [1, fence] => Some(*fence),
            _ => None,
        })
    }

    fn grant(&self, w: &Waiter, sent: Instant, fence: u64) -> Grant {
        let fence = self.base.protocol.caps().fencing.then_some(fence);
        self.base.grant(sent, w.token, fence, true)
    }

    /// `fifo_release` with the grant's token (`''` for naive): whether a key
    /// was removed.
    pub(crate) async fn release(&self, token: Option<Token>) -> Result<bool, LockError> {
        let token = token.map(|t| t.to_string()).unwrap_or_default();
        let reply: Vec<u64> = self
            .base
            .conn
            .invoke(
                scripts::FIFO_RELEASE
                    .key(self.base.key.as_str())
                    .key(self.queue)
                    .key(self.counter)
                    .arg(token)
                    .arg(self.fenced()),
            )
            .await?;
        tracing::debug!(key = %self.base.key, ?reply, "fifo release");
        Ok(reply.first() == Some(&1))
    }

    async fn leave(&self, w: &Waiter) -> Result<bool, LockError> {
        let passed_on: u64 = self
            .base
            .conn
            .invoke(
                scripts::FIFO_LEAVE
                    .key(self.base.key.as_str())
                    .key(self.queue)
                    .key(self.counter)
                    .key(&w.wake)
                    .key(&w.alive)
                    .arg(&w.id)
                    .arg(w.value())
                    .arg(self.fenced()),
            )
            .await?;
        Ok(passed_on == 1)
    }

    /// Tries `first` (the protocol's own one-round-trip attempt), then
    /// queues and waits for a hand-off, at most `deadline`.
    pub(crate) async fn acquire<F>(
        &self,
        pool: &Pool,
        deadline: Duration,
        first: F,
    ) -> Result<Grant, LockError>
    where
        F: std::future::Future<Output = Result<Attempt, LockError>>,
    {
        if deadline > MAX_WAIT {
            return Err(LockError::InvalidOption {
                reason: format!("acquire deadline {deadline:?} refused; at most {MAX_WAIT:?}"),
            });
        }
        let start = tokio::time::Instant::now();
        if let Attempt::Granted(grant) = first.await? {
            return Ok(grant);
        }
        let w = Waiter::new(self.base);
        let mut seen_free = Instant::now();
        if let Some(fence) = self.run_acquire(&w).await? {
            return Ok(self.grant(&w, seen_free, fence));
        }
        let outcome = self.wait(pool, &w, start, deadline, &mut seen_free).await;
        match outcome {
            Ok(Some(fence)) => Ok(self.grant(&w, seen_free, fence)),
            Ok(None) => {
                let passed_on = self.leave(&w).await?;
                let waited = start.elapsed();
                tracing::debug!(?waited, passed_on, "fifo waiter gave up");
                Err(LockError::NotAcquired { waited })
            }
            Err(e) => {
                // Best effort: leave the queue (else the liveness key runs out).
                let _ = self.leave(&w).await;
                Err(e)
            }
        }
    }

    /// Alternates `BLPOP` and polls until a grant (its fence) or the
    /// deadline (`None`). `seen_free` is moved to the send of every command
    /// that saw no grant.
    async fn wait(
        &self,
        pool: &Pool,
        w: &Waiter,
        start: tokio::time::Instant,
        deadline: Duration,
        seen_free: &mut Instant,
    ) -> Result<Option<u64>, LockError> {
        let poll = self.options.poll();
        let mut con = None;
        loop {
            let remaining = deadline.saturating_sub(start.elapsed());
            if remaining.is_zero() {
                break;
            }
            let block = poll.min(remaining).max(Duration::from_millis(1));
            if con.is_none() {
                con = pool.take(&self.base.conn, poll).await.ok();
            }
            let sent = Instant::now();
            match con.as_mut() {
                Some(c) => match blpop(c, &w.wake, block).await {
                    Ok(Some(fence)) => {
                        if let Some(c) = con.take() {
                            pool.give_back(c);
                        }
                        return Ok(Some(fence));
                    }
                    Ok(None) => *seen_free = sent,
                    Err(error) => {
                        tracing::debug!(%error, "BLPOP failed; polling instead");
                        con = None;
                        tokio::time::sleep(block.min(deadline.saturating_sub(start.elapsed())))
                            .await;
                    }
                },
                None => tokio::time::sleep(block).await,
            }
            let sent = Instant::now();
            if let Some(fence) = self.run_acquire(w).await? {
                if let Some(c) = con.take() {
                    pool.give_back(c);
                }
                return Ok(Some(fence));
            }
            *seen_free = sent;
        }
        if let Some(c) = con.take() {
            pool.give_back(c);
        }
        Ok(None)
    }
}

/// `BLPOP wake <block>`: the value pushed by a hand-off (its fence) or a
/// wake-up, or `None` when the block ran out.
pub(crate) async fn blpop(
    con: &mut MultiplexedConnection,
    wake: &str,
    block: Duration,
) -> redis::RedisResult<Option<u64>> {
    // Redis reads 0 as "forever": never send less than a millisecond.
    let secs = format!("{:.3}", block.as_secs_f64().max(0.001));
    let reply: Option<(String, u64)> = redis::cmd("BLPOP")
        .arg(wake)
        .arg(secs)
        .query_async(con)
        .await?;
    Ok(reply.map(|(_, fence)| fence))
}
