//! The Sentinel sets of a stage: each takes seconds to start, so the
//! replays of one run borrow them in turn, at most [`MAX_SETS`] at once.

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ReplayError;
use crate::sentinel::{SentinelOptions, SentinelSet};

/// The most Sentinel sets a stage runs at once: six processes each, on a
/// machine that may have two cores.
pub const MAX_SETS: usize = 2;

/// The Sentinel sets of a stage, lent to one replay at a time.
#[derive(Clone)]
pub struct SentinelPool {
    idle: Arc<Mutex<Vec<SentinelSet>>>,
    permits: Arc<Semaphore>,
}

impl Default for SentinelPool {
    fn default() -> Self {
        SentinelPool {
            idle: Arc::default(),
            permits: Arc::new(Semaphore::new(MAX_SETS)),
        }
    }
}

impl std::fmt::Debug for SentinelPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let idle = self.idle.lock().map_or(0, |i| i.len());
        f.debug_struct("SentinelPool")
            .field("idle", &idle)
            .finish_non_exhaustive()
    }
}

impl SentinelPool {
    /// A set with these options, ready for a replay: every replica caught
    /// up and its stream held. Waits while [`MAX_SETS`] are lent.
    pub(super) async fn take(
        &self,
        options: &SentinelOptions,
    ) -> Result<(SentinelSet, OwnedSemaphorePermit), ReplayError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| ReplayError::Setup(e.to_string()))?;
        let idle = self.idle.lock().ok().and_then(|mut idle| {
            let at = idle.iter().position(|s| {
                s.options().replicas == options.replicas
                    && s.options().min_replicas_to_write == options.min_replicas_to_write
            })?;
            Some(idle.swap_remove(at))
        });
        let set = match idle {
            Some(set) => set,
            None => SentinelSet::start(options).await?,
        };
        for replica in set.replicas() {
            set.catch_up(replica).await?;
            set.lag(replica)?;
        }
        Ok((set, permit))
    }

    /// Takes a set back for the next replay.
    pub(super) fn give_back(&self, set: SentinelSet) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(set);
        }
    }

    /// Stops every idle set (their processes and directories go).
    pub fn clear(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}
