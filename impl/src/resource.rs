//! The protected resource: the storage a lock is there to guard.
//!
//! [`FencedResource`] is the storage side of fencing (Kleppmann, "How to do
//! distributed locking", 2016): every write carries the writer's fencing
//! token, and a Lua script accepts it only if the token is not lower than
//! the highest accepted so far — so a holder that was paused past its lease
//! and writes late is refused, and told so. [`PlainResource`] accepts every
//! write; it is what the unfenced locks protect, and where their failures
//! show as lost or interleaved writes.
//!
//! Keys, derived from the resource's name `R`: the data at `R`, the highest
//! accepted token at `R:highest` (fenced only), and a log of accepted writes
//! at `R:log` — one `"<token>:<data>"` entry per write (`"-:<data>"` for the
//! plain resource), appended in the same script as the write, so it is the
//! exact order in which the resource accepted them. The log exists for
//! audits and for the lab, which reads a run's history from it; it is capped
//! (see [`DEFAULT_LOG_CAP`]) and can be turned off with a cap of 0.

use crate::config::ResourceKey;
use crate::connection::Conn;
use crate::error::LockError;
use crate::scripts;

/// How many log entries a resource keeps by default (the newest).
pub const DEFAULT_LOG_CAP: usize = 10_000;

/// The highest fencing token a [`FencedResource`] accepts: 2⁵³, the last
/// integer Lua's double-precision numbers hold exactly. A counter that
/// `INCR`s once per grant does not get there.
pub const MAX_FENCE: u64 = 1 << 53;

/// What the resource did with a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteOutcome {
    /// The write was stored.
    Accepted,
    /// The write was refused: a write with a higher fencing token had been
    /// accepted, so this writer's lock is stale.
    Refused {
        /// The highest fencing token accepted so far.
        highest: u64,
    },
}

/// One accepted write, as read back from a resource's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedWrite {
    /// The fencing token the write carried (`None` on a plain resource).
    pub fence: Option<u64>,
    /// The data written.
    pub data: Vec<u8>,
}

/// Keys and log settings shared by both resources.
#[derive(Debug, Clone)]
struct Store {
    conn: Conn,
    key: ResourceKey,
    log: String,
    log_cap: usize,
}

impl Store {
    fn new(conn: Conn, key: ResourceKey) -> Self {
        let log = key.derived("log");
        Self {
            conn,
            key,
            log,
            log_cap: DEFAULT_LOG_CAP,
        }
    }

    async fn read(&self) -> Result<Option<Vec<u8>>, LockError> {
        self.conn
            .query(redis::cmd("GET").arg(self.key.as_str()))
            .await
    }

    async fn log(&self) -> Result<Vec<AcceptedWrite>, LockError> {
        let entries: Vec<Vec<u8>> = self
            .conn
            .query(redis::cmd("LRANGE").arg(&self.log).arg(0).arg(-1))
            .await?;
        entries.iter().map(|e| parse_entry(e)).collect()
    }
}

fn parse_entry(entry: &[u8]) -> Result<AcceptedWrite, LockError> {
    let malformed = || {
        LockError::Redis(redis::RedisError::from((
            redis::ErrorKind::Parse,
            "malformed resource log entry",
            String::from_utf8_lossy(entry).into_owned(),
        )))
    };
    let colon = entry
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(malformed)?;
    let (head, data) = (&entry[..colon], &entry[colon + 1..]);
    let fence = match head {
        b"-" => None,
        digits => Some(
            std::str::from_utf8(digits)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(malformed)?,
        ),
    };
    Ok(AcceptedWrite {
        fence,
        data: data.to_vec(),
    })
}

/// A resource that accepts a write only with a fencing token not lower than
/// the highest it has accepted (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct FencedResource {
    store: Store,
    highest: String,
}

impl FencedResource {
    /// The resource named `key`.
    pub fn new(conn: Conn, key: ResourceKey) -> Self {
        let highest = key.derived("highest");
        Self {
            store: Store::new(conn, key),
            highest,
        }
    }

    /// Keeps at most `cap` log entries (the newest); 0 keeps no log.
    pub fn with_log_cap(mut self, cap: usize) -> Self {
        self.store.log_cap = cap;
        self
    }

    /// The resource's name.
    pub fn key(&self) -> &ResourceKey {
        &self.store.key
    }

    /// Writes `data` with fencing token `fence` (from
    /// [`Grant::fence`](crate::Grant::fence)): accepted iff `fence` is not
    /// lower than the highest accepted so far. At most [`MAX_FENCE`].
    pub async fn write(
        &self,
        fence: u64,
        data: impl AsRef<[u8]>,
    ) -> Result<WriteOutcome, LockError> {
        if fence > MAX_FENCE {
            return Err(LockError::InvalidFence { fence });
        }
        let (accepted, number): (u8, u64) = self
            .store
            .conn
            .invoke(
                scripts::FENCED_WRITE
                    .key(self.store.key.as_str())
                    .key(&self.highest)
                    .key(&self.store.log)
                    .arg(fence)
                    .arg(data.as_ref())
                    .arg(self.store.log_cap),
            )
            .await?;
        tracing::debug!(resource = %self.store.key, fence, accepted, number, "fenced write");
        Ok(if accepted == 1 {
            WriteOutcome::Accepted
        } else {
            WriteOutcome::Refused { highest: number }
        })
    }

    /// The data last accepted, if any.
    pub async fn read(&self) -> Result<Option<Vec<u8>>, LockError> {
        self.store.read().await
    }

    /// The highest fencing token accepted so far, if any.
    pub async fn highest(&self) -> Result<Option<u64>, LockError> {
        self.store
            .conn
            .query(redis::cmd("GET").arg(&self.highest))
            .await
    }

    /// The accepted writes, oldest first (at most the log cap).
    pub async fn log(&self) -> Result<Vec<AcceptedWrite>, LockError> {
        self.store.log().await
    }

    /// Deletes the resource's keys (data, highest token, log).
    pub async fn delete(&self) -> Result<(), LockError> {
        let _: u64 = self
            .store
            .conn
            .query(
                redis::cmd("DEL")
                    .arg(self.store.key.as_str())
                    .arg(&self.highest)
                    .arg(&self.store.log),
            )
            .await?;
        Ok(())
    }
}

/// A resource that accepts every write: what the unfenced locks protect.
#[derive(Debug, Clone)]
pub struct PlainResource {
    store: Store,
}

impl PlainResource {
    /// The resource named `key`.
    pub fn new(conn: Conn, key: ResourceKey) -> Self {
        Self {
            store: Store::new(conn, key),
        }
    }

    /// Keeps at most `cap` log entries (the newest); 0 keeps no log.
    pub fn with_log_cap(mut self, cap: usize) -> Self {
        self.store.log_cap = cap;
        self
    }

    /// The resource's name.
    pub fn key(&self) -> &ResourceKey {
        &self.store.key
    }

    /// Stores `data`; always [`WriteOutcome::Accepted`].
    pub async fn write(&self, data: impl AsRef<[u8]>) -> Result<WriteOutcome, LockError> {
        let _: u8 = self
            .store
            .conn
            .invoke(
                scripts::PLAIN_WRITE
                    .key(self.store.key.as_str())
                    .key(&self.store.log)
                    .arg(data.as_ref())
                    .arg(self.store.log_cap),
            )
            .await?;
        tracing::debug!(resource = %self.store.key, "plain write");
        Ok(WriteOutcome::Accepted)
    }

    /// The data last written, if any.
    pub async fn read(&self) -> Result<Option<Vec<u8>>, LockError> {
        self.store.read().await
    }

    /// The writes, oldest first (at most the log cap).
    pub async fn log(&self) -> Result<Vec<AcceptedWrite>, LockError> {
        self.store.log().await
    }

    /// Deletes the resource's keys (data, log).
    pub async fn delete(&self) -> Result<(), LockError> {
        let _: u64 = self
            .store
            .conn
            .query(
                redis::cmd("DEL")
                    .arg(self.store.key.as_str())
                    .arg(&self.store.log),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_entries_parse() {
        assert_eq!(
            parse_entry(b"12:a:b").unwrap(),
            AcceptedWrite {
                fence: Some(12),
                data: b"a:b".to_vec()
            }
        );
        assert_eq!(
            parse_entry(b"-:").unwrap(),
            AcceptedWrite {
                fence: None,
                data: vec![]
            }
        );
        for bad in [&b"no colon"[..], b"x:1", b":1", b"-1:x"] {
            assert!(parse_entry(bad).is_err(), "{bad:?}");
        }
    }
}
