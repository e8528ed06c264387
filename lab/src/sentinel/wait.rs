//! Polling for a state of the set, under a deadline: the one loop every wait
//! of the set uses, so that none can run forever and each failure says what
//! was last seen missing.

use std::time::Duration;

use tokio::time::Instant;

/// A bounded polling loop: `again(why)` sleeps one interval, or gives up
/// once the deadline has passed, with `why` as the last thing missing.
pub(crate) struct Wait {
    started: Instant,
    deadline: Instant,
    interval: Duration,
}

/// A wait that ran out: how long it waited, and what was still missing.
pub(crate) struct Expired {
    pub(crate) waited: Duration,
    pub(crate) last: String,
}

impl Wait {
    pub(crate) fn new(timeout: Duration, interval: Duration) -> Self {
        let started = Instant::now();
        Self {
            started,
            deadline: started + timeout,
            interval,
        }
    }

    /// Time since the wait began.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The state is not reached, because of `why`: wait one interval (cut
    /// short by the deadline), or fail if the deadline has passed.
    pub(crate) async fn again(&self, why: String) -> Result<(), Expired> {
        let now = Instant::now();
        if now >= self.deadline {
            return Err(Expired {
                waited: self.elapsed(),
                last: why,
            });
        }
        tokio::time::sleep(self.interval.min(self.deadline - now)).await;
        Ok(())
    }

    /// Runs one probe under what is left of the deadline (at least a
    /// moment, so that the last probe can still succeed).
    pub(crate) async fn probe<T>(
        &self,
        probe: impl std::future::Future<Output = Result<T, String>>,
    ) -> Result<T, String> {
        let left = self
            .deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(100));
        tokio::time::timeout(left, probe)
            .await
            .unwrap_or_else(|_| Err("no answer before the deadline".into()))
    }
}
