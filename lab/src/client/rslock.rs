//! [`LabClient`](super::LabClient) for the `rslock` crate (0.10, a Redlock
//! client on `redis` 1.8), name `rslock`: one adapter for replays, chaos
//! and the bench, on one master or N. Built with the feature `rslock`.
//!
//! # What rslock does, and how the lab drives it
//!
//! - **Acquire**: `LockManager::lock(key, ttl)` sends `SET key <20 random
//!   bytes> NX PX ttl` to every server (here one: quorum 1), counts the
//!   `OK`s, and computes a validity of `ttl − elapsed − (1 % of ttl + 2 ms)`.
//!   Without a quorum it sends its compare-and-delete unlock to every server
//!   (cleaning up a partial grant) and, by default, tries again up to 3
//!   times after a random sleep of up to 200 ms. For one attempt (a
//!   replay's step) the adapter uses a manager set to `set_retry(1, …)`;
//!   waiting (the bench) loops over a manager with the crate's own retry
//!   (3 tries, a sleep up to the retry delay between them), as its users'
//!   "lock until granted" helpers do, with a deadline added. If an attempt
//!   took longer than the TTL it returns `TtlExceeded` *without* unlocking.
//! - **No distinction between busy and broken**: a `SET` that fails
//!   (connection refused, reset, no reply within the `redis` crate's default
//!   500 ms response timeout, which rslock does not let its user change)
//!   counts as "not granted", just like a key held by another client. Both
//!   come back as `LockError::Unavailable`, which this adapter reports as
//!   [`Outcome::Busy`].
//! - **Release**: `LockManager::unlock` runs compare-and-delete (`GET` = our
//!   value → `DEL`) and returns nothing. The adapter reads the key (`GET`,
//!   over its own connection to the first master) just before unlocking, to tell
//!   [`Outcome::Released`] (it held our value) from
//!   [`Outcome::NotHeld`]. `NotHeld` is certain (the key can never hold
//!   our random value again); `Released` can be wrong only if the lease ran
//!   out between the `GET` and the unlock, and then nothing of anyone's was
//!   removed.
//! - **No fencing token**: writes go to a [`PlainResource`], which accepts
//!   every write.
//!
//! # What the lab sees (tests in `lab/tests/lab/worker.rs`)
//!
//! - **Pause past the lease** (SIGSTOP of the worker): its validity time is
//!   advice to the caller; nothing stops a holder that was paused past it.
//!   Two rslock workers hold the lock at once and both writes are accepted
//!   — the same verdict as `token`. The late release is harmless (not-held:
//!   compare-and-delete spares the new holder's key).
//! - **A reply held past 500 ms** (the proxy's `hold(ToClient)`): rslock's
//!   `SET` times out, so it counts "not granted", sends its unlock and
//!   answers busy. The unlock is an `EVALSHA`; if Redis has the script
//!   cached, the unlock runs and deletes the key rslock's own `SET` had just
//!   set (safe and live). If not, the `NOSCRIPT` reply is held too, the
//!   unlock never runs, and the key stays — held by nobody, rslock included
//!   — until its TTL ends (safe, but the lock is lost for a whole lease).
//!   Late replies released afterwards are not taken for later ones.

use std::time::{Duration, Instant};

use locklab_impl::redis;
use locklab_impl::{connect, Conn, LockKey};
use locklab_model::Outcome;
use rslock::LockManager;

use super::resource::Resource;
use super::spec::{peer_error, ClientSpec, OpenError, Strategy};
use super::{error_line, ClientFuture, Keys, LabClient, OpError};

/// The client's name.
pub const NAME: &str = "rslock";

/// rslock's own default retry delay.
const DEFAULT_RETRY: Duration = Duration::from_millis(200);

/// Every wait gives up after this many calls of the crate's `lock`.
const MAX_CALLS: u64 = 10_000_000;

/// An `rslock::LockManager` on the spec's masters. See the
/// [module docs](self).
pub struct RslockClient {
    /// One attempt per call.
    once: LockManager,
    /// The crate's own retry loop.
    waiting: LockManager,
    /// For the resource's writes and for reading the lock key on release.
    conn: Conn,
    resource_conn: Conn,
    lock_key: LockKey,
    resource: Resource,
    ttl: Duration,
    held: Option<rslock::Lock>,
}

impl std::fmt::Debug for RslockClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RslockClient")
            .field("lock_key", &self.lock_key)
            .field("ttl", &self.ttl)
            .field("holds", &self.held.is_some())
            .finish_non_exhaustive()
    }
}

fn manager(urls: &[String], tries: u32, retry: Duration) -> Result<LockManager, OpenError> {
    let clients = urls
        .iter()
        .map(|u| redis::Client::open(u.as_str()).map_err(|e| peer_error(NAME, &e)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut manager = LockManager::from_clients(clients);
    // rslock draws its sleep from 0..delay in ms: at least 1 ms.
    manager.set_retry(tries, retry.max(Duration::from_millis(1)));
    Ok(manager)
}

impl RslockClient {
    /// Opens a client as `spec` says.
    pub(crate) async fn open(spec: &ClientSpec) -> Result<Self, OpenError> {
        // Our connection first: it checks the URL and that Redis answers
        // (rslock's own connects lazily, on the first lock).
        let first = spec.redis.first().map(String::as_str).unwrap_or_default();
        let conn = connect(first, &spec.connect).await?;
        let resource_conn = if spec.resource_url() == first {
            conn.clone()
        } else {
            connect(spec.resource_url(), &spec.connect).await?
        };
        let retry = match spec.strategy {
            Strategy::Retry(retry) => retry,
            _ => DEFAULT_RETRY,
        };
        Ok(Self {
            once: manager(&spec.redis, 1, Duration::from_millis(1))?,
            waiting: manager(&spec.redis, 3, retry)?,
            resource: Resource::plain(&resource_conn, &spec.keys.resource)?,
            resource_conn,
            conn,
            lock_key: LockKey::new(spec.keys.lock.as_str())?,
            ttl: spec.ttl,
            held: None,
        })
    }

    fn granted(&mut self, lock: rslock::Lock) -> Outcome {
        let token = lock.val.iter().map(|b| format!("{b:02x}")).collect();
        self.held = Some(lock);
        Outcome::Granted {
            token: Some(token),
            fence: None,
            count: None,
        }
    }

    async fn try_release(&mut self) -> Result<Outcome, OpError> {
        let lock = self
            .held
            .take()
            .ok_or_else(|| OpError::definite("nothing to release: no grant held"))?;
        let value: Option<Vec<u8>> = self
            .conn
            .query(redis::cmd("GET").arg(self.lock_key.as_str()))
            .await
            .map_err(|e| OpError::of(&e))?;
        self.once.unlock(&lock).await;
        Ok(if value.as_deref() == Some(&lock.val[..]) {
            Outcome::Released
        } else {
            Outcome::NotHeld
        })
    }
}

impl LabClient for RslockClient {
    fn protocol(&self) -> &str {
        NAME
    }

    fn acquire(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(async move {
            let key = self.lock_key.as_str().as_bytes();
            match self.once.lock(key, self.ttl).await {
                Ok(lock) => Ok(self.granted(lock)),
                Err(rslock::LockError::Unavailable) => Ok(Outcome::Busy),
                Err(e) => Err(OpError::indefinite(format!("rslock: {}", error_line(&e)))),
            }
        })
    }

    fn release(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(self.try_release())
    }

    fn write<'a>(&'a mut self, data: &'a str) -> ClientFuture<'a, Outcome> {
        Box::pin(self.resource.write(None, data))
    }

    fn acquire_within(&mut self, deadline: Duration) -> ClientFuture<'_, Outcome> {
        Box::pin(async move {
            let start = Instant::now();
            for _ in 0..MAX_CALLS {
                match self
                    .waiting
                    .lock(self.lock_key.as_str().as_bytes(), self.ttl)
                    .await
                {
                    Ok(lock) => return Ok(self.granted(lock)),
                    Err(rslock::LockError::Unavailable) => {}
                    Err(e) => return Err(OpError::indefinite(format!("rslock: {e}"))),
                }
                if start.elapsed() >= deadline {
                    break;
                }
            }
            Ok(Outcome::Busy)
        })
    }

    fn reset<'a>(&'a mut self, keys: &'a Keys) -> ClientFuture<'a, ()> {
        Box::pin(async move {
            self.lock_key = LockKey::new(keys.lock.as_str()).map_err(|e| OpError::of(&e))?;
            self.resource = Resource::plain(&self.resource_conn, &keys.resource)
                .map_err(|e| OpError::of(&e))?;
            self.held = None;
            Ok(())
        })
    }

    /// rslock connects lazily, on its first command: a read of the lock
    /// key through rslock itself makes it connect now (so that a reply the
    /// lab holds later is the grant's, not the connection handshake's), and
    /// after a restart makes it notice the broken connection.
    fn ping(&mut self) -> ClientFuture<'_, ()> {
        Box::pin(async move {
            let key = self.lock_key.as_str().as_bytes();
            for manager in [&self.once, &self.waiting] {
                if manager.query_redis_for_key_value(key).await.is_err() {
                    manager
                        .query_redis_for_key_value(key)
                        .await
                        .map_err(|e| OpError::indefinite(error_line(&e)))?;
                }
            }
            Ok(())
        })
    }
}
