//! Why a replay could not be played: always the environment (a server, a
//! Sentinel set, the set-up), never a verdict on the lock.

use locklab_impl::LockError;
use locklab_model::Call;

/// A replay that could not be played: the environment, never a verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// Redis was unusable.
    #[error("redis: {0}")]
    Redis(#[from] LockError),
    /// Redis refused a client's command for a reason of its own (out of
    /// memory, scripting disabled, a read-only replica, NOAUTH, …).
    #[error("Redis refused {client}'s {op}: {message}")]
    Refused {
        /// The client.
        client: String,
        /// The operation.
        op: Call,
        /// What Redis said.
        message: String,
    },
    /// The lab could not set the replay up.
    #[error("replay set-up: {0}")]
    Setup(String),
    /// The schedule restarts Redis, and the server is not the lab's.
    #[error(
        "the schedule restarts a Redis node, keeps one down or jumps its clock, which the lab does only to servers it started (drop --redis)"
    )]
    CannotRestart,
    /// A server the lab needed could not be started or restarted.
    #[error("redis-server: {0}")]
    Server(#[from] crate::server::ServerError),
    /// The scenario has replicas, which the lab plays only on its own
    /// Sentinel set (replication held, failovers forced).
    #[error(
        "the scenario has replicas: its replication and failovers are played only on the lab's own Sentinel set (drop --redis)"
    )]
    NeedsOwnSentinel,
    /// The lab's Sentinel set failed, or did not agree in time.
    #[error("{0}")]
    Sentinel(#[from] crate::sentinel::SentinelError),
}

impl ReplayError {
    /// Whether the error is the environment's (the server, the machine),
    /// so that nothing measured on it can stand as a verdict.
    pub fn is_environment(&self) -> bool {
        !matches!(
            self,
            ReplayError::CannotRestart | ReplayError::NeedsOwnSentinel
        )
    }

    /// The last lines of the logs involved (the Sentinels'), to print
    /// below the error's line.
    pub fn log_tail(&self) -> Option<&str> {
        match self {
            ReplayError::Sentinel(e) => e.log_tail(),
            _ => None,
        }
    }
}
