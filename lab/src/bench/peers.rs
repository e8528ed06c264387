//! The peer crates as [`BenchLock`]s, each waiting its own way: a loop over
//! the crate's own `lock` call (which tries `retry count` times with a
//! random sleep below the retry delay between tries) until a grant or the
//! deadline — what the crates' own "acquire until granted" helpers do, with
//! a deadline added.
//!
//! Neither crate's unlock says what it did. A grant released within its
//! validity time is counted as released; later, as not held (a bench lease
//! of seconds does not run out in a fault-free run, so this is exact there).

use std::time::{Duration, Instant};

use super::client::{Acquired, BenchLock};
use super::variant::Peer;
use crate::worker::{LabFuture, LabRelease};

/// Every acquire gives up after this many calls of the crate's `lock`.
const MAX_CALLS: u64 = 10_000_000;

/// Opens a client of `peer` on `urls` (quorum N/2+1).
pub(super) async fn open(
    peer: Peer,
    retry: Duration,
    urls: &[String],
    key: &str,
    ttl: Duration,
) -> Result<Box<dyn BenchLock>, String> {
    match peer {
        Peer::Rslock => open_rslock(retry, urls, key, ttl).await,
        Peer::Redlock => open_redlock(retry, urls, key, ttl).await,
    }
}

fn held_outcome(granted: Instant, validity: Duration) -> LabRelease {
    if granted.elapsed() < validity {
        LabRelease::Released
    } else {
        LabRelease::NotHeld
    }
}

#[cfg(feature = "rslock")]
mod rslock_bench {
    use super::*;
    use locklab_impl::redis;
    use rslock::LockManager;

    pub(super) struct RslockBench {
        pub(super) manager: LockManager,
        pub(super) key: Vec<u8>,
        pub(super) ttl: Duration,
        pub(super) held: Option<(rslock::Lock, Instant)>,
    }

    pub(super) fn manager(retry: Duration, urls: &[String]) -> Result<LockManager, String> {
        let clients = urls
            .iter()
            .map(|u| redis::Client::open(u.as_str()).map_err(|e| format!("rslock: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut manager = LockManager::from_clients(clients);
        // rslock draws its sleep from 0..delay in ms: at least 1 ms.
        manager.set_retry(3, retry.max(Duration::from_millis(1)));
        Ok(manager)
    }

    impl BenchLock for RslockBench {
        fn acquire(&mut self, deadline: Duration) -> LabFuture<'_, Acquired> {
            Box::pin(async move {
                let start = Instant::now();
                for _ in 0..MAX_CALLS {
                    let sent = Instant::now();
                    match self.manager.lock(self.key.as_slice(), self.ttl).await {
                        Ok(lock) => {
                            let token = lock.val.iter().map(|b| format!("{b:02x}")).collect();
                            self.held = Some((lock, sent));
                            return Ok(Acquired::Granted {
                                token: Some(token),
                                fence: None,
                            });
                        }
                        Err(rslock::LockError::Unavailable) => {}
                        Err(e) => return Err(format!("rslock: {e}")),
                    }
                    if start.elapsed() >= deadline {
                        break;
                    }
                }
                Ok(Acquired::TimedOut)
            })
        }

        fn release(&mut self) -> LabFuture<'_, LabRelease> {
            Box::pin(async move {
                let (lock, granted) = self
                    .held
                    .take()
                    .ok_or_else(|| "nothing to release: no grant held".to_owned())?;
                let validity = Duration::from_millis(lock.validity_time as u64);
                self.manager.unlock(&lock).await;
                Ok(held_outcome(granted, validity))
            })
        }
    }
}

#[cfg(feature = "rslock")]
async fn open_rslock(
    retry: Duration,
    urls: &[String],
    key: &str,
    ttl: Duration,
) -> Result<Box<dyn BenchLock>, String> {
    let manager = rslock_bench::manager(retry, urls)?;
    Ok(Box::new(rslock_bench::RslockBench {
        manager,
        key: key.as_bytes().to_vec(),
        ttl,
        held: None,
    }))
}

#[cfg(not(feature = "rslock"))]
async fn open_rslock(
    _: Duration,
    _: &[String],
    _: &str,
    _: Duration,
) -> Result<Box<dyn BenchLock>, String> {
    Err("peer rslock is not in this build; rebuild with `--features rslock`".into())
}

#[cfg(feature = "redlock")]
mod redlock_bench {
    use std::sync::Arc;

    use super::*;

    /// redlock is blocking: each call runs on tokio's blocking pool.
    pub(super) struct RedlockBench {
        pub(super) manager: Arc<redlock::RedLock>,
        pub(super) key: Vec<u8>,
        pub(super) ttl_ms: usize,
        pub(super) held: Option<(Vec<u8>, usize, Instant)>,
    }

    impl BenchLock for RedlockBench {
        fn acquire(&mut self, deadline: Duration) -> LabFuture<'_, Acquired> {
            Box::pin(async move {
                let start = Instant::now();
                for _ in 0..MAX_CALLS {
                    let (manager, key, ttl) = (self.manager.clone(), self.key.clone(), self.ttl_ms);
                    let sent = Instant::now();
                    let got = tokio::task::spawn_blocking(move || {
                        manager
                            .lock(&key, ttl)
                            .map(|l| l.map(|l| (l.val.clone(), l.validity_time)))
                    })
                    .await
                    .map_err(|e| format!("redlock: {e}"))?
                    .map_err(|e| format!("redlock: {e}"))?;
                    if let Some((val, validity)) = got {
                        let token = val.iter().map(|b| format!("{b:02x}")).collect();
                        self.held = Some((val, validity, sent));
                        return Ok(Acquired::Granted {
                            token: Some(token),
                            fence: None,
                        });
                    }
                    if start.elapsed() >= deadline {
                        break;
                    }
                }
                Ok(Acquired::TimedOut)
            })
        }

        fn release(&mut self) -> LabFuture<'_, LabRelease> {
            Box::pin(async move {
                let (val, validity, granted) = self
                    .held
                    .take()
                    .ok_or_else(|| "nothing to release: no grant held".to_owned())?;
                let (manager, key) = (self.manager.clone(), self.key.clone());
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
                .map_err(|e| format!("redlock: {e}"))?;
                Ok(held_outcome(
                    granted,
                    Duration::from_millis(validity as u64),
                ))
            })
        }
    }
}

#[cfg(feature = "redlock")]
async fn open_redlock(
    retry: Duration,
    urls: &[String],
    key: &str,
    ttl: Duration,
) -> Result<Box<dyn BenchLock>, String> {
    let clients = urls
        .iter()
        .map(|u| redlock_redis::Client::open(u.as_str()).map_err(|e| format!("redlock: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut manager = redlock::RedLock::with_clients(clients);
    // redlock draws its sleep from 0..delay in ms (an empty range panics).
    manager.set_retry(3, retry.as_millis().clamp(1, 60_000) as u32);
    Ok(Box::new(redlock_bench::RedlockBench {
        manager: std::sync::Arc::new(manager),
        key: key.as_bytes().to_vec(),
        ttl_ms: ttl.as_millis() as usize,
        held: None,
    }))
}

#[cfg(not(feature = "redlock"))]
async fn open_redlock(
    _: Duration,
    _: &[String],
    _: &str,
    _: Duration,
) -> Result<Box<dyn BenchLock>, String> {
    Err("peer redlock is not in this build; rebuild with `--features redlock`".into())
}
