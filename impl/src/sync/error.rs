//! The sync workers' one error type.

use crate::error::LockError;

/// Everything that can go wrong for a sync worker or producer.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A key was refused before anything was sent (empty, or longer than
    /// [`MAX_KEY_BYTES`](crate::MAX_KEY_BYTES)).
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// What is wrong and what is accepted.
        reason: String,
    },

    /// A key already holds a value of another type: the worker would
    /// corrupt it (or fail on every command), so it refuses to start and
    /// leaves the key untouched.
    #[error("`{key}` holds a {found}; this protocol needs a {wants} there (or no key): it is left untouched — give another key")]
    WrongType {
        /// The key.
        key: String,
        /// The type Redis reports (`hash`, `stream`, …).
        found: String,
        /// The type the protocol stores there.
        wants: &'static str,
    },

    /// A protocol that is not of the sync family.
    #[error("{protocol} is not a sync protocol")]
    NotSync {
        /// Its name.
        protocol: &'static str,
    },

    /// An operation the protocol does not have (a claim of `sync-naive`,
    /// an ack of a key-based protocol).
    #[error("{protocol} has no `{op}`")]
    Unsupported {
        /// The operation.
        op: &'static str,
        /// How the protocol takes units.
        protocol: &'static str,
    },

    /// An operation that needs a unit in hand (process, mark) without one.
    #[error("nothing to {op}: no unit in hand")]
    NothingInHand {
        /// The operation.
        op: &'static str,
    },

    /// Redis answered with something this worker never writes (a unit id
    /// that is not `u<n>`, an entry without one).
    #[error("unexpected reply to {command}: {reply}")]
    UnexpectedReply {
        /// The command.
        command: &'static str,
        /// What came back.
        reply: String,
    },

    /// The connection, the server, or a command failed (see
    /// [`LockError`]: retryable or final).
    #[error(transparent)]
    Redis(#[from] LockError),
}

impl SyncError {
    /// Whether the same operation may succeed later (a connection or
    /// availability problem).
    pub fn is_retryable(&self) -> bool {
        matches!(self, SyncError::Redis(e) if e.is_retryable())
    }

    /// Whether the operation surely did not reach Redis (refused before
    /// anything was sent).
    pub fn is_definite(&self) -> bool {
        matches!(
            self,
            SyncError::InvalidKey { .. }
                | SyncError::WrongType { .. }
                | SyncError::NotSync { .. }
                | SyncError::Unsupported { .. }
                | SyncError::NothingInHand { .. }
        ) || matches!(
            self,
            SyncError::Redis(LockError::Connect { .. } | LockError::InvalidUrl { .. })
        )
    }
}

impl From<redis::RedisError> for SyncError {
    fn from(e: redis::RedisError) -> Self {
        SyncError::Redis(LockError::Redis(e))
    }
}
