//! [`Resource`]: the protected resource of an in-process lock client,
//! fenced when the protocol fences — one type for every lock family, so
//! that a write is judged the same way whichever lock made it.

use locklab_impl::{
    Conn, FencedResource, LockError, PlainResource, Protocol, ResourceKey, WriteOutcome,
};
use locklab_model::Outcome;

use super::OpError;

/// Fenced (a write carries the grant's token) or plain.
#[derive(Debug)]
pub enum Resource {
    /// Accepts a write only with a token not lower than any it accepted.
    Fenced(FencedResource),
    /// Accepts every write.
    Plain(PlainResource),
}

impl Resource {
    /// The resource `protocol`'s writes go to, at `key` on `conn`.
    pub fn of(protocol: Protocol, conn: &Conn, key: &str) -> Result<Resource, LockError> {
        let key = ResourceKey::new(key)?;
        Ok(if protocol.caps().fencing {
            Resource::Fenced(FencedResource::new(conn.clone(), key))
        } else {
            Resource::Plain(PlainResource::new(conn.clone(), key))
        })
    }

    /// A plain resource at `key` on `conn` (a peer lock issues no token).
    pub fn plain(conn: &Conn, key: &str) -> Result<Resource, LockError> {
        Ok(Resource::Plain(PlainResource::new(
            conn.clone(),
            ResourceKey::new(key)?,
        )))
    }

    /// The token a write carries with `fence` the latest grant's (`None`:
    /// none held), or `None` for a plain resource.
    pub fn token(&self, fence: Option<u64>) -> Option<u64> {
        match self {
            Resource::Fenced(_) => Some(fence.unwrap_or(0)),
            Resource::Plain(_) => None,
        }
    }

    /// Writes `data` under the latest grant's `fence`.
    pub async fn write(&self, fence: Option<u64>, data: &str) -> Result<Outcome, OpError> {
        let written = match self {
            Resource::Fenced(r) => r.write(fence.unwrap_or(0), data.as_bytes()).await,
            Resource::Plain(r) => r.write(data.as_bytes()).await,
        };
        Ok(match written.map_err(|e| OpError::of(&e))? {
            WriteOutcome::Accepted => Outcome::Accepted,
            WriteOutcome::Refused { highest } => Outcome::Refused { highest },
        })
    }
}
