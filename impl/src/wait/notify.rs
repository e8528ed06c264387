//! The pub/sub subscription of one lock, shared by all its waiters: one
//! connection of its own subscribed to `<key>:released`, read by a task that
//! bumps a [`watch`] counter on every message.

use std::time::Duration;

use futures_util::StreamExt;
use rand::Rng;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

use crate::connection::Conn;
use crate::error::LockError;

/// The suffix of the channel a release publishes on: `<key>:released`.
pub(crate) const CHANNEL_SUFFIX: &str = "released";

/// The live subscription, opened on first use and again after it broke.
#[derive(Debug, Default)]
pub(crate) struct Subscription {
    current: Mutex<Option<Live>>,
}

#[derive(Debug)]
struct Live {
    rx: watch::Receiver<u64>,
    task: AbortOnDrop,
}

/// Ends the reading task (and closes its connection) with the lock.
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Subscription {
    /// A receiver that changes on every release announced after this call
    /// returns: the subscription is confirmed by then. `None` when no
    /// subscription could be made; the caller then polls.
    pub(crate) async fn receiver(
        &self,
        conn: &Conn,
        channel: &str,
    ) -> Option<watch::Receiver<u64>> {
        let mut current = self.current.lock().await;
        if let Some(live) = current.as_ref() {
            if !live.task.0.is_finished() {
                return Some(live.rx.clone());
            }
        }
        *current = None;
        match open(conn, channel).await {
            Ok(live) => {
                let rx = live.rx.clone();
                *current = Some(live);
                Some(rx)
            }
            Err(error) => {
                tracing::debug!(%error, channel, "no subscription; polling on the fallback");
                None
            }
        }
    }
}

async fn open(conn: &Conn, channel: &str) -> Result<Live, LockError> {
    let opts = conn.options();
    let timed_out = || redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
    let mut pubsub = tokio::time::timeout(opts.connect_timeout(), conn.client().get_async_pubsub())
        .await
        .map_err(|_| timed_out())
        .and_then(|r| r)
        .map_err(|e| LockError::from_connect(e, conn.url(), opts.connect_timeout()))?;
    tokio::time::timeout(opts.response_timeout(), pubsub.subscribe(channel))
        .await
        .map_err(|_| timed_out())
        .and_then(|r| r)
        .map_err(|e| LockError::from_command(e, conn.url(), opts.response_timeout()))?;
    let (tx, rx) = watch::channel(0u64);
    let task = tokio::spawn(async move {
        let mut messages = pubsub.on_message();
        while messages.next().await.is_some() {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    });
    Ok(Live {
        rx,
        task: AbortOnDrop(task),
    })
}

/// Waits for the next announcement or `wait`, whichever comes first; with
/// no (or a broken) subscription, just `wait`.
pub(crate) async fn wake_or_sleep(rx: Option<&mut watch::Receiver<u64>>, wait: Duration) {
    let slept = tokio::time::Instant::now();
    if let Some(rx) = rx {
        if let Ok(Ok(())) = tokio::time::timeout(wait, rx.changed()).await {
            return;
        }
    }
    // Timed out, or the subscription broke: sleep out the rest.
    tokio::time::sleep(wait.saturating_sub(slept.elapsed())).await;
}

/// A fallback wait, uniform in `[fallback / 2, fallback]`.
pub(crate) fn jittered(fallback: Duration) -> Duration {
    let hi = fallback.as_nanos() as u64;
    Duration::from_nanos(rand::rng().random_range(hi / 2..=hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallbacks_are_jittered_within_half_to_all() {
        let f = Duration::from_millis(50);
        let seen: std::collections::HashSet<Duration> = (0..200).map(|_| jittered(f)).collect();
        assert!(seen.len() > 100);
        assert!(seen.iter().all(|d| *d >= f / 2 && *d <= f));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wake_up_ends_the_wait_and_a_broken_subscription_sleeps_it_out() {
        let (tx, mut rx) = watch::channel(0u64);
        let start = tokio::time::Instant::now();
        tx.send_modify(|n| *n += 1);
        wake_or_sleep(Some(&mut rx), Duration::from_secs(5)).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        drop(tx);
        wake_or_sleep(Some(&mut rx), Duration::from_millis(30)).await;
        assert_eq!(start.elapsed(), Duration::from_millis(30));
        wake_or_sleep(None, Duration::from_millis(20)).await;
        assert_eq!(start.elapsed(), Duration::from_millis(50));
    }
}
