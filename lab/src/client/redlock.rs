//! [`LabClient`](super::LabClient) for the `redlock` crate (2.0, blocking,
//! Redlock on `redis` 0.23 with a new TCP connection per command), name
//! `redlock-rs` (the protocol it follows is `redlock`). Built with the
//! feature `redlock`; every call runs on tokio's blocking pool.
//!
//! Its unlock says nothing of what it did: a grant released within its
//! validity time is counted as released, later as not held (a bench lease
//! of seconds does not run out in a fault-free run, so this is exact there).

use std::sync::Arc;
use std::time::{Duration, Instant};

use locklab_impl::connect;
use locklab_model::Outcome;

use super::resource::Resource;
use super::spec::{peer_error, ClientSpec, OpenError, Strategy};
use super::{ClientFuture, Keys, LabClient, OpError};

/// The client's name (`redlock` is the protocol).
pub const NAME: &str = super::spec::REDLOCK_RS;

/// Every wait gives up after this many calls of the crate's `lock`.
const MAX_CALLS: u64 = 10_000_000;

/// A `redlock::RedLock` on the spec's masters.
pub struct RedlockClient {
    once: Arc<redlock::RedLock>,
    waiting: Arc<redlock::RedLock>,
    key: Vec<u8>,
    ttl_ms: usize,
    resource: Resource,
    resource_conn: locklab_impl::Conn,
    held: Option<(Vec<u8>, usize, Instant)>,
}

fn manager(urls: &[String], tries: u32, retry: Duration) -> Result<redlock::RedLock, OpenError> {
    let clients = urls
        .iter()
        .map(|u| redlock_redis::Client::open(u.as_str()).map_err(|e| peer_error(NAME, &e)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut manager = redlock::RedLock::with_clients(clients);
    // redlock draws its sleep from 0..delay in ms (an empty range panics).
    manager.set_retry(tries, retry.as_millis().clamp(1, 60_000) as u32);
    Ok(manager)
}

fn blocking_error(e: impl std::fmt::Display) -> OpError {
    OpError::indefinite(format!("redlock: {e}"))
}

impl RedlockClient {
    /// Opens a client as `spec` says.
    pub(crate) async fn open(spec: &ClientSpec) -> Result<Self, OpenError> {
        let resource_conn = connect(spec.resource_url(), &spec.connect).await?;
        let retry = match spec.strategy {
            Strategy::Retry(retry) => retry,
            _ => Duration::from_millis(200),
        };
        Ok(Self {
            once: Arc::new(manager(&spec.redis, 1, Duration::from_millis(1))?),
            waiting: Arc::new(manager(&spec.redis, 3, retry)?),
            key: spec.keys.lock.as_bytes().to_vec(),
            ttl_ms: spec.ttl.as_millis() as usize,
            resource: Resource::plain(&resource_conn, &spec.keys.resource)?,
            resource_conn,
            held: None,
        })
    }

    async fn attempt(
        &mut self,
        manager: Arc<redlock::RedLock>,
    ) -> Result<Option<Outcome>, OpError> {
        let (key, ttl) = (self.key.clone(), self.ttl_ms);
        let sent = Instant::now();
        let got = tokio::task::spawn_blocking(move || {
            manager
                .lock(&key, ttl)
                .map(|l| l.map(|l| (l.val.clone(), l.validity_time)))
        })
        .await
        .map_err(blocking_error)?
        .map_err(blocking_error)?;
        Ok(got.map(|(val, validity)| {
            let token = val.iter().map(|b| format!("{b:02x}")).collect();
            self.held = Some((val, validity, sent));
            Outcome::Granted {
                token: Some(token),
                fence: None,
                count: None,
            }
        }))
    }

    async fn try_release(&mut self) -> Result<Outcome, OpError> {
        let (val, validity, granted) = self
            .held
            .take()
            .ok_or_else(|| OpError::definite("nothing to release: no grant held"))?;
        let (manager, key) = (self.once.clone(), self.key.clone());
        tokio::task::spawn_blocking(move || {
            let lock = redlock::Lock {
                resource: key,
                val,
                validity_time: validity,
                lock_manager: &manager,
            };
            manager.unlock(&lock);
        })
        .await
        .map_err(blocking_error)?;
        Ok(
            if granted.elapsed() < Duration::from_millis(validity as u64) {
                Outcome::Released
            } else {
                Outcome::NotHeld
            },
        )
    }
}

impl LabClient for RedlockClient {
    fn protocol(&self) -> &str {
        NAME
    }

    fn acquire(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(async move {
            Ok(self
                .attempt(self.once.clone())
                .await?
                .unwrap_or(Outcome::Busy))
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
                if let Some(granted) = self.attempt(self.waiting.clone()).await? {
                    return Ok(granted);
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
            self.key = keys.lock.as_bytes().to_vec();
            self.resource = Resource::plain(&self.resource_conn, &keys.resource)
                .map_err(|e| OpError::of(&e))?;
            self.held = None;
            Ok(())
        })
    }
}
