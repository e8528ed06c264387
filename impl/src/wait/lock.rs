//! [`WaitingLock`]: a `naive`, `token` or `fenced` lock with a waiting
//! strategy ([`Wait`]).

use std::sync::Arc;
use std::time::Duration;

use super::fifo::{self, Queue};
use super::notify::{self, Subscription};
use super::options::Wait;
use super::scripts;
use crate::any::AnyLock;
use crate::backoff::MAX_WAIT;
use crate::base::LockBase;
use crate::config::{LockKey, Ttl};
use crate::connection::Conn;
use crate::error::LockError;
use crate::fenced::FENCE_SUFFIX;
use crate::grant::{Attempt, Grant, ReleaseOutcome};
use crate::protocol::Protocol;

/// A `naive`, `token` or `fenced` lock that waits by the strategy it was
/// given (see the [module docs](super)). Clones share the strategy's state
/// (the subscription, the `BLPOP` connections).
///
/// Same shape as the plain locks: [`try_acquire`](Self::try_acquire),
/// [`acquire`](Self::acquire), [`release`](Self::release). The keys, values
/// and leases are the protocol's own; [`Wait::Notify`] adds a channel and
/// [`Wait::Fifo`] a queue (`<key>:q`) and per-waiter keys
/// (`<key>:w:<id>`, `<key>:g:<id>`).
///
/// ```no_run
/// use std::time::Duration;
/// use locklab_impl::{connect, ConnectOptions, LockKey, Protocol, Ttl};
/// use locklab_impl::wait::{Wait, WaitingLock};
///
/// # async fn run() -> Result<(), locklab_impl::LockError> {
/// let conn = connect("redis://127.0.0.1:6379/", &ConnectOptions::default()).await?;
/// let key = LockKey::new("orders")?;
/// let lock = WaitingLock::new(Protocol::named("token").unwrap(), conn, key, Ttl::from_millis(5_000)?, Wait::default())?;
/// let grant = lock.acquire(Duration::from_secs(1)).await?; // queued, handed over in turn
/// lock.release(&grant).await?; // hands it to the oldest live waiter
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct WaitingLock {
    base: LockBase,
    plain: AnyLock,
    wait: Wait,
    counter: String,
    queue: String,
    channel: String,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    subscription: Subscription,
    pool: fifo::Pool,
}

impl Wait {
    /// Whether this strategy can wait for a lock of `protocol`: every
    /// strategy needs a lock that reads the acquire's reply, and the
    /// wake-up and hand-off scripts need a lock whose value is a token
    /// string (not a re-entrant lock's hash). Polling fits every lock.
    pub fn fits(&self, protocol: Protocol) -> Result<(), LockError> {
        let caps = protocol.caps();
        if matches!(self, Wait::Poll(_)) {
            return Ok(());
        }
        if !caps.checks_reply {
            return Err(LockError::InvalidOption {
                reason: format!(
                    "{protocol} never waits (it ignores the acquire's reply); \
                     the {self} strategy needs a lock that reads it"
                ),
            });
        }
        if caps.reentrant() {
            return Err(LockError::InvalidOption {
                reason: format!(
                    "{protocol} keeps a hash, not a token string, so the {self} strategy's \
                     scripts cannot hand it on; use poll"
                ),
            });
        }
        if caps.confirms() && matches!(self, Wait::Fifo(_)) {
            return Err(LockError::InvalidOption {
                reason: format!(
                    "{protocol} counts a grant only once replicas acknowledge it, and the \
                     {self} strategy hands the lock on in a script, with no WAIT; use poll or notify"
                ),
            });
        }
        Ok(())
    }
}

impl WaitingLock {
    /// A lock of `protocol` on `key` with leases of `ttl`, waiting by
    /// `wait`. `naive-unchecked` ignores the reply of its `SET NX`, so it
    /// has nothing to wait for: only [`Wait::Poll`] is accepted for it.
    pub fn new(
        protocol: Protocol,
        conn: Conn,
        key: LockKey,
        ttl: Ttl,
        wait: Wait,
    ) -> Result<Self, LockError> {
        wait.fits(protocol)?;
        let mut plain = AnyLock::new(protocol, conn.clone(), key.clone(), ttl)?;
        let mut base = LockBase::new(protocol, conn, key.clone(), ttl);
        if let Wait::Poll(backoff) = wait {
            plain = plain.with_backoff(backoff);
            base.backoff = backoff;
        }
        Ok(Self {
            counter: key.derived(FENCE_SUFFIX),
            queue: key.derived(fifo::QUEUE_SUFFIX),
            channel: key.derived(notify::CHANNEL_SUFFIX),
            base,
            plain,
            wait,
            shared: Arc::default(),
        })
    }

    /// The waiting strategy.
    pub fn wait(&self) -> Wait {
        self.wait
    }

    /// The lock's key.
    pub fn key(&self) -> &LockKey {
        &self.base.key
    }

    /// The lease each grant gets.
    pub fn ttl(&self) -> Ttl {
        self.base.ttl
    }

    /// The shared connection the lock's commands use.
    pub fn conn(&self) -> &Conn {
        &self.base.conn
    }

    /// The lock's protocol.
    pub fn protocol(&self) -> Protocol {
        self.base.protocol
    }

    /// The channel [`Wait::Notify`] releases publish on: `<key>:released`.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The key of the [`Wait::Fifo`] queue: `<key>:q`.
    pub fn queue_key(&self) -> &str {
        &self.queue
    }

    fn fifo(&self) -> Option<Queue<'_>> {
        match self.wait {
            Wait::Fifo(options) => Some(Queue {
                base: &self.base,
                queue: &self.queue,
                counter: &self.counter,
                options,
            }),
            _ => None,
        }
    }

    /// The lock without its waiting strategy.
    pub fn plain(&self) -> &AnyLock {
        &self.plain
    }

    /// One attempt, without waiting or queueing: the protocol's own
    /// (`SET NX`, or the fenced acquire script), whatever the strategy.
    pub async fn try_acquire(&self) -> Result<Attempt, LockError> {
        self.plain.try_acquire().await
    }

    /// Takes the lock, waiting by the strategy for at most `deadline` (at
    /// most [`MAX_WAIT`]); [`LockError::NotAcquired`] when it is still held
    /// then. Always makes one attempt, even with a zero deadline. Errors of
    /// an attempt are returned at once; a FIFO waiter leaves the queue first
    /// (best effort).
    pub async fn acquire(&self, deadline: Duration) -> Result<Grant, LockError> {
        match self.wait {
            Wait::Poll(_) => self.plain.acquire(deadline).await,
            Wait::Notify(options) => self.acquire_notified(deadline, options.fallback()).await,
            Wait::Fifo(_) => match self.fifo() {
                Some(queue) => {
                    let first = self.plain.try_acquire();
                    queue.acquire(&self.shared.pool, deadline, first).await
                }
                None => unreachable!("a fifo lock has a queue"),
            },
        }
    }

    async fn acquire_notified(
        &self,
        deadline: Duration,
        fallback: Duration,
    ) -> Result<Grant, LockError> {
        if deadline > MAX_WAIT {
            return Err(LockError::InvalidOption {
                reason: format!("acquire deadline {deadline:?} refused; at most {MAX_WAIT:?}"),
            });
        }
        let start = tokio::time::Instant::now();
        loop {
            let mut rx = self
                .shared
                .subscription
                .receiver(&self.base.conn, &self.channel)
                .await;
            if let Some(rx) = rx.as_mut() {
                rx.borrow_and_update();
            }
            if let Attempt::Granted(grant) = self.plain.try_acquire().await? {
                return Ok(grant);
            }
            let remaining = deadline.saturating_sub(start.elapsed());
            if remaining.is_zero() {
                return Err(LockError::NotAcquired {
                    waited: start.elapsed(),
                });
            }
            notify::wake_or_sleep(rx.as_mut(), notify::jittered(fallback).min(remaining)).await;
        }
    }

    /// Releases the grant and says what happened, as the protocol's plain
    /// release does; [`Wait::Notify`] also announces a free lock, and
    /// [`Wait::Fifo`] hands it to the oldest live waiter in the same script.
    pub async fn release(&self, grant: &Grant) -> Result<ReleaseOutcome, LockError> {
        self.base.check(grant)?;
        let blind = !self.base.protocol.caps().unique_token;
        let removed = match self.wait {
            Wait::Poll(_) => return self.plain.release(grant).await,
            Wait::Notify(_) => {
                let token = grant.token().map(|t| t.to_string()).unwrap_or_default();
                let removed: u64 = self
                    .base
                    .conn
                    .invoke(
                        scripts::NOTIFY_RELEASE
                            .key(self.base.key.as_str())
                            .arg(token)
                            .arg(&self.channel),
                    )
                    .await?;
                removed == 1
            }
            Wait::Fifo(_) => match self.fifo() {
                Some(queue) => queue.release(grant.token()).await?,
                None => unreachable!("a fifo lock has a queue"),
            },
        };
        Ok(match (blind, removed) {
            (true, true) => ReleaseOutcome::Deleted,
            (true, false) => ReleaseOutcome::NothingToDelete,
            (false, true) => ReleaseOutcome::Released,
            (false, false) => ReleaseOutcome::NotHeld,
        })
    }
}
