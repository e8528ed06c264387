//! The re-entrant lock: a hash `{owner, count, fence, attempt}` behind two
//! Lua scripts, in the shape of Redisson's `RLock`, done safely.
//!
//! - The owner is explicit ([`OwnerId`], given by the caller — a request
//!   id, a job id — never a thread id): the owner's acquire adds a level
//!   and renews the lease, anyone else's is busy; a release takes a level
//!   off and deletes the key at zero, and says what it did
//!   ([`ReleaseOutcome::Released`], [`ReleaseOutcome::StillHeld`],
//!   [`ReleaseOutcome::NotHeld`]).
//! - **Fencing**: the token grows only when the lock goes from free to held;
//!   a re-entry keeps the token it has (Jepsen's `ReentrantFencedMutex`
//!   rule: the resource sees one holder, with one token).
//! - **Attempt ids**: each request carries one, and the script counts a
//!   request sent again (after a lost reply) once — redisson#7367 is a
//!   retried `tryLock` counted twice, leaving the lock held after the
//!   owner's last release.
//! - **Guarded re-entry**: the lock keeps the owner's hold count locally
//!   too; an acquire while it believes it holds is a *re-entry*, which the
//!   script grants only if the owner's hold is still there. When the lease
//!   ran out under the owner, it learns it ([`Attempt::Lost`]) instead of
//!   silently taking a fresh lock at count 1 that its next release would
//!   free while it is still inside.
//!
//! Both protections are switched by the protocol's capabilities
//! (`reentrant` has them; `reentrant-redisson` shows what their absence
//! does).

pub mod hold;

use std::sync::Arc;
use std::time::Instant;

use locklab_spec::Reentry;

use crate::base::{common_lock_methods, LockBase};
use crate::config::{LockKey, Ttl};
use crate::connection::Conn;
use crate::error::LockError;
use crate::fenced::FENCE_SUFFIX;
use crate::grant::{AcquireRequest, Attempt, Grant, ReleaseOutcome};
use crate::protocol::REENTRANT;
use crate::scripts;
use hold::{Holds, Left};

/// The longest owner id accepted, in bytes.
pub const MAX_OWNER_BYTES: usize = 256;

/// Who holds a re-entrant lock: any non-empty id of at most
/// [`MAX_OWNER_BYTES`], unique to the holder (a request, a job, a task).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnerId(String);

impl OwnerId {
    /// Checks an owner id.
    pub fn new(id: impl Into<String>) -> Result<Self, LockError> {
        let id = id.into();
        if id.is_empty() {
            return Err(LockError::InvalidOwner {
                reason: "the owner id is empty; give a non-empty id unique to the holder".into(),
            });
        }
        if id.len() > MAX_OWNER_BYTES {
            return Err(LockError::InvalidOwner {
                reason: format!(
                    "the owner id is {} bytes; at most {MAX_OWNER_BYTES} are accepted",
                    id.len()
                ),
            });
        }
        Ok(OwnerId(id))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The re-entrant lock of one owner (see the [module docs](self)). Clones
/// share the owner's local hold count.
#[derive(Debug, Clone)]
pub struct ReentrantLock {
    base: LockBase,
    counter: String,
    owner: OwnerId,
    hold: Arc<Holds>,
}

common_lock_methods!(ReentrantLock);

/// What an acquire reply says.
enum Reply {
    Granted { fence: u64, count: u32 },
    Busy,
    Lost,
}

impl ReentrantLock {
    /// A re-entrant lock on `key` with leases of `ttl`, held by `owner`.
    pub fn new(conn: Conn, key: LockKey, ttl: Ttl, owner: OwnerId) -> Self {
        let counter = key.derived(FENCE_SUFFIX);
        Self {
            base: LockBase::new(REENTRANT, conn, key, ttl),
            counter,
            owner,
            hold: Arc::new(Holds::new()),
        }
    }

    /// The owner.
    pub fn owner(&self) -> &OwnerId {
        &self.owner
    }

    /// The levels this owner believes it holds.
    pub fn depth(&self) -> u32 {
        self.hold.depth()
    }

    fn reentry(&self) -> (bool, bool) {
        match self.base.protocol.caps().reentry {
            Reentry::Counted {
                idempotent,
                guarded,
            } => (idempotent, guarded),
            Reentry::None => (true, true),
        }
    }

    /// One run of the acquire script with `request` (the same request sent
    /// twice carries the same attempt id).
    pub async fn try_acquire_as(&self, request: &AcquireRequest) -> Result<Attempt, LockError> {
        let (sent, reply) = self.run_acquire(request, self.hold.reentering()).await?;
        Ok(match reply {
            Reply::Granted { fence, count } => {
                let mut grant = self.base.grant(sent, None, Some(fence), true);
                grant.count = Some(count);
                self.hold.granted();
                Attempt::Granted(grant)
            }
            Reply::Busy => Attempt::Busy,
            Reply::Lost => {
                self.hold.lost();
                Attempt::Lost
            }
        })
    }

    /// Runs the acquire script with `request` as a reply lost on its way
    /// back would: what Redis answered is returned, but nothing of it
    /// reaches this lock's state. (For fault injection: what a client's
    /// retry then sends is the same request again.)
    pub async fn run_unread(&self, request: &AcquireRequest) -> Result<Attempt, LockError> {
        let (sent, reply) = self.run_acquire(request, self.hold.reentering()).await?;
        Ok(match reply {
            Reply::Granted { fence, count } => {
                let mut grant = self.base.grant(sent, None, Some(fence), true);
                grant.count = Some(count);
                Attempt::Granted(grant)
            }
            Reply::Busy => Attempt::Busy,
            Reply::Lost => Attempt::Lost,
        })
    }

    async fn run_acquire(
        &self,
        request: &AcquireRequest,
        believes: bool,
    ) -> Result<(Instant, Reply), LockError> {
        let (idempotent, guarded) = self.reentry();
        let attempt = if idempotent {
            request.token.to_string()
        } else {
            String::new()
        };
        let sent = Instant::now();
        let reply: Vec<redis::Value> = self
            .base
            .conn
            .invoke(
                scripts::REENTRANT_ACQUIRE
                    .key(self.base.key.as_str())
                    .key(&self.counter)
                    .arg(self.owner.as_str())
                    .arg(attempt)
                    .arg(self.base.ttl.as_millis())
                    .arg(if believes { "1" } else { "0" })
                    .arg(if guarded { "1" } else { "0" }),
            )
            .await?;
        tracing::debug!(key = %self.base.key, owner = self.owner.as_str(), believes, "reentrant acquire");
        Ok((sent, parse_acquire(&reply)?))
    }

    /// Gives one level back: [`ReleaseOutcome::StillHeld`] with the count
    /// left, [`ReleaseOutcome::Released`] when it was the last, or
    /// [`ReleaseOutcome::NotHeld`] (the lease ran out, or the grant's
    /// tenure ended; nothing touched). With guarded re-entry the release
    /// names the grant's fencing token, so it only gives back a level of
    /// the hold that grant belongs to.
    pub async fn release(&self, grant: &Grant) -> Result<ReleaseOutcome, LockError> {
        self.base.check(grant)?;
        let (_, guarded) = self.reentry();
        let fence = match (guarded, grant.fence) {
            (true, Some(f)) => f.to_string(),
            _ => String::new(),
        };
        let left: i64 = self
            .base
            .conn
            .invoke(
                scripts::REENTRANT_RELEASE
                    .key(self.base.key.as_str())
                    .arg(self.owner.as_str())
                    .arg(fence),
            )
            .await?;
        let (outcome, left) = match u32::try_from(left) {
            Ok(0) => (ReleaseOutcome::Released, Left::Released),
            Ok(count) => (ReleaseOutcome::StillHeld { count }, Left::StillHeld),
            Err(_) => (ReleaseOutcome::NotHeld, Left::NotHeld),
        };
        self.hold.released(left);
        Ok(outcome)
    }
}

fn parse_acquire(reply: &[redis::Value]) -> Result<Reply, LockError> {
    use redis::Value;
    let word = |v: &Value| match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    let int = |v: &Value| match v {
        Value::Int(n) => u64::try_from(*n).ok(),
        _ => None,
    };
    let bad = || {
        LockError::Redis(redis::RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "reentrant-acquire replied with an unexpected shape",
        )))
    };
    match reply {
        [w, fence, count] if word(w).as_deref() == Some("granted") => Ok(Reply::Granted {
            fence: int(fence).ok_or_else(bad)?,
            count: int(count)
                .and_then(|c| u32::try_from(c).ok())
                .ok_or_else(bad)?,
        }),
        [w] if word(w).as_deref() == Some("busy") => Ok(Reply::Busy),
        [w] if word(w).as_deref() == Some("lost") => Ok(Reply::Lost),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_ids_are_checked() {
        assert!(OwnerId::new("job-42").is_ok());
        let empty = OwnerId::new("").unwrap_err().to_string();
        assert!(empty.contains("empty"), "{empty}");
        let huge = OwnerId::new("x".repeat(MAX_OWNER_BYTES + 1))
            .unwrap_err()
            .to_string();
        assert!(huge.contains("at most 256"), "{huge}");
    }
}
