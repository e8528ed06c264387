//! [`LabLock`] for the `rslock` crate (0.10, a Redlock client on `redis`
//! 1.8), protocol name `rslock`. Built with the `locklab` feature `rslock`.
//!
//! # What rslock does, and how the lab drives it
//!
//! - **Acquire**: `LockManager::lock(key, ttl)` sends `SET key <20 random
//!   bytes> NX PX ttl` to every server (here one: quorum 1), counts the
//!   `OK`s, and computes a validity of `ttl − elapsed − (1 % of ttl + 2 ms)`.
//!   Without a quorum it sends its compare-and-delete unlock to every server
//!   (cleaning up a partial grant) and, by default, tries again up to 3
//!   times after a random sleep of up to 200 ms. The lab sets
//!   `set_retry(1, …)`, so one call is *one* attempt, like every other lab
//!   client's `try_acquire`. If the attempt took longer than the TTL it
//!   returns `TtlExceeded` *without* unlocking.
//! - **No distinction between busy and broken**: a `SET` that fails
//!   (connection refused, reset, no reply within the `redis` crate's default
//!   500 ms response timeout, which rslock does not let its user change)
//!   counts as "not granted", just like a key held by another client. Both
//!   come back as `LockError::Unavailable`, which this adapter reports as
//!   [`LabAttempt::Busy`].
//! - **Release**: `LockManager::unlock` runs compare-and-delete (`GET` = our
//!   value → `DEL`) and returns nothing. The adapter reads the key (`GET`,
//!   over its own connection to the same URL) just before unlocking, to tell
//!   [`LabRelease::Released`] (it held our value) from
//!   [`LabRelease::NotHeld`]. `NotHeld` is certain (the key can never hold
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

use std::time::Duration;

use locklab_impl::redis;
use locklab_impl::{connect, Conn, LockKey, PlainResource, ResourceKey, Ttl};
use rslock::LockManager;

use super::lock::{error_line, lab_write, ClientSpec, OpenError};
use super::{LabAttempt, LabFuture, LabLock, LabRelease, LabWrite};

/// The protocol name.
pub const PROTOCOL: &str = "rslock";

/// [`LabLock`] over an `rslock::LockManager` on one Redis server. See the
/// [module docs](self).
pub struct RslockLock {
    manager: LockManager,
    /// For the resource's writes and for reading the lock key on release.
    conn: Conn,
    lock_key: LockKey,
    resource: PlainResource,
    resource_conn: Conn,
    ttl: Duration,
    held: Option<rslock::Lock>,
}

impl std::fmt::Debug for RslockLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RslockLock")
            .field("lock_key", &self.lock_key)
            .field("ttl", &self.ttl)
            .field("holds", &self.held.is_some())
            .finish_non_exhaustive()
    }
}

impl RslockLock {
    /// Opens a client as `spec` says (its protocol must be `rslock`).
    pub(crate) async fn open(
        spec: &ClientSpec,
        lock_key: LockKey,
        resource_key: ResourceKey,
        ttl: Ttl,
    ) -> Result<Self, OpenError> {
        // Our connection first: it checks the URL and that Redis answers
        // (rslock's own connects lazily, on the first lock).
        let conn = connect(&spec.redis, &spec.connect).await?;
        let resource_conn = match &spec.resource_redis {
            Some(url) if *url != spec.redis => connect(url, &spec.connect).await?,
            _ => conn.clone(),
        };
        // `LockManager::new` unwraps `Client::open`; a client we opened
        // cannot panic there.
        let client = redis::Client::open(spec.redis.as_str()).map_err(|e| {
            OpenError::Lock(locklab_impl::LockError::InvalidUrl {
                url: conn.url().to_owned(),
                reason: error_line(&e),
            })
        })?;
        let mut manager = LockManager::from_clients(vec![client]);
        // One attempt per call; the delay is never used with one attempt.
        manager.set_retry(1, Duration::from_millis(1));
        Ok(Self {
            manager,
            resource: PlainResource::new(resource_conn.clone(), resource_key),
            resource_conn,
            conn,
            lock_key,
            ttl: ttl.as_duration(),
            held: None,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl LabLock for RslockLock {
    fn protocol(&self) -> &str {
        PROTOCOL
    }

    fn try_acquire(&mut self) -> LabFuture<'_, LabAttempt> {
        Box::pin(async move {
            match self
                .manager
                .lock(self.lock_key.as_str().as_bytes(), self.ttl)
                .await
            {
                Ok(lock) => {
                    let token = hex(&lock.val);
                    self.held = Some(lock);
                    Ok(LabAttempt::Granted {
                        token: Some(token),
                        fence: None,
                    })
                }
                Err(rslock::LockError::Unavailable) => Ok(LabAttempt::Busy),
                Err(e) => Err(format!("rslock: {}", error_line(&e))),
            }
        })
    }

    fn release(&mut self) -> LabFuture<'_, LabRelease> {
        Box::pin(async move {
            let lock = self
                .held
                .take()
                .ok_or_else(|| "nothing to release: no grant held".to_owned())?;
            let value: Option<Vec<u8>> = self
                .conn
                .query(redis::cmd("GET").arg(self.lock_key.as_str()))
                .await
                .map_err(|e| error_line(&e))?;
            self.manager.unlock(&lock).await;
            Ok(if value.as_deref() == Some(&lock.val[..]) {
                LabRelease::Released
            } else {
                LabRelease::NotHeld
            })
        })
    }

    fn write<'a>(&'a mut self, data: &'a [u8]) -> LabFuture<'a, LabWrite> {
        Box::pin(async move {
            let outcome = self
                .resource
                .write(data)
                .await
                .map_err(|e| error_line(&e))?;
            Ok(lab_write(outcome))
        })
    }

    fn reset<'a>(&'a mut self, lock_key: &'a str, resource_key: &'a str) -> LabFuture<'a, ()> {
        Box::pin(async move {
            self.lock_key = LockKey::new(lock_key).map_err(|e| error_line(&e))?;
            let resource_key = ResourceKey::new(resource_key).map_err(|e| error_line(&e))?;
            self.resource = PlainResource::new(self.resource_conn.clone(), resource_key);
            self.held = None;
            Ok(())
        })
    }

    /// rslock connects lazily, on its first command: a read of the lock
    /// key through rslock itself makes it connect now (so that a reply the
    /// lab holds later is the grant's, not the connection handshake's), and
    /// after a restart makes it notice the broken connection.
    fn ping(&mut self) -> LabFuture<'_, ()> {
        Box::pin(async move {
            let key = self.lock_key.as_str().as_bytes();
            if self.manager.query_redis_for_key_value(key).await.is_ok() {
                return Ok(());
            }
            self.manager
                .query_redis_for_key_value(key)
                .await
                .map(|_| ())
                .map_err(|e| error_line(&e))
        })
    }
}
