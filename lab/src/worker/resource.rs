//! [`LabResource`]: the protected resource, written by the lab on a
//! worker's behalf with the fencing token the worker reports.
//!
//! # Why the lab writes, not the worker
//!
//! The resource is not what is judged: the lock is. If every adapter wrote
//! to the resource itself, each would need its own copy of the resource's
//! Lua script, keys and log format, and the history would record what the
//! adapter *says* the resource answered — a broken adapter could grade its
//! own homework. So a worker answers `write` with the token its lock gave
//! it (`{"ok":"write-with","fence":3}`, or no `fence` when the lock issues
//! none), and the lab makes the write at once, through the same
//! [`FencedResource`] and [`PlainResource`] the in-process clients use: one
//! implementation, and an outcome the lab observed. Nothing is lost in
//! timing: the conductor plays one step at a time, so no pause or crash can
//! fall between the worker's answer and the write; and the resource is
//! reached directly, never through the proxy, in both designs (it is
//! another system; message faults are on the lock's traffic).

use locklab_impl::{
    Conn, ConnectOptions, FencedResource, PlainResource, ResourceKey, WriteOutcome,
};
use locklab_model::Outcome;

use crate::client::OpError;

/// The resource a worker writes to, through the lab.
#[derive(Clone, Debug)]
pub struct LabResource {
    conn: Conn,
    key: ResourceKey,
}

impl LabResource {
    /// Connects to the resource's Redis.
    pub async fn open(url: &str, key: &str, options: &ConnectOptions) -> Result<Self, OpError> {
        let key = ResourceKey::new(key).map_err(|e| OpError::of(&e))?;
        // A Sentinel service's URL names its primary, followed.
        let conn = crate::client::connect_any(url, options)
            .await
            .map_err(|e| OpError::of(&e))?;
        Ok(Self { conn, key })
    }

    /// The resource with another key (after a `reset`).
    pub fn with_key(&self, key: &str) -> Result<Self, OpError> {
        Ok(Self {
            conn: self.conn.clone(),
            key: ResourceKey::new(key).map_err(|e| OpError::of(&e))?,
        })
    }

    /// Writes `data` with `fence` (fenced: accepted iff not lower than the
    /// highest accepted) or, without one, plainly (always accepted).
    pub async fn write(&self, fence: Option<u64>, data: &[u8]) -> Result<Outcome, OpError> {
        let written = match fence {
            Some(fence) => {
                FencedResource::new(self.conn.clone(), self.key.clone())
                    .write(fence, data)
                    .await
            }
            None => {
                PlainResource::new(self.conn.clone(), self.key.clone())
                    .write(data)
                    .await
            }
        };
        Ok(match written.map_err(|e| OpError::of(&e))? {
            WriteOutcome::Accepted => Outcome::Accepted,
            WriteOutcome::Refused { highest } => Outcome::Refused { highest },
        })
    }
}
