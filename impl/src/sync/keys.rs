//! The keys of a sync protocol: the key (or Stream) the units pass through,
//! the claim derived from it, and the sink with its dedup set — each
//! checked before anything is sent.

use std::fmt;

use super::error::SyncError;
use crate::config::check_key;

/// The consumer group of a Stream protocol.
pub const GROUP: &str = "workers";

/// The value a worker marks a processed unit with (the article's
/// `已处理`).
pub const MARKER: &str = "processed";

fn checked(key: String) -> Result<String, SyncError> {
    check_key(&key).map_err(|e| SyncError::InvalidKey {
        reason: match e {
            crate::LockError::InvalidKey { reason } => reason,
            other => other.to_string(),
        },
    })?;
    Ok(key)
}

/// The key the units pass through: a string the producer fills, or a
/// Stream. A non-empty Redis key of at most
/// [`MAX_KEY_BYTES`](crate::MAX_KEY_BYTES).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyncKey(String);

impl SyncKey {
    /// Checks and wraps a key.
    pub fn new(key: impl Into<String>) -> Result<Self, SyncError> {
        checked(key.into()).map(SyncKey)
    }

    /// The key as sent to Redis.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The claim of the unit in this key: `<key>:claim`.
    pub fn claim(&self) -> String {
        claim_key(&self.0)
    }
}

/// The claim key of a sync key (the lab observes it by this name).
pub fn claim_key(key: &str) -> String {
    format!("{key}:claim")
}

impl fmt::Display for SyncKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The sink: a list of applied effects, `"<unit> <tag>"` each, and (for a
/// deduplicating sink) `<sink>:seen`, the set of unit ids applied.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SinkKey(String);

impl SinkKey {
    /// Checks and wraps a key.
    pub fn new(key: impl Into<String>) -> Result<Self, SyncError> {
        checked(key.into()).map(SinkKey)
    }

    /// The key as sent to Redis.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The set of unit ids a deduplicating sink has applied.
    pub fn seen(&self) -> String {
        format!("{}:seen", self.0)
    }
}

impl fmt::Display for SinkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A unit of work: `u1`, `u2`, … in the producer's order. Ids are never
/// reused, so an id also names one version of the data — what a claim
/// compares and what a deduplicating sink remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitId(pub u32);

impl UnitId {
    /// Reads `u<n>`.
    pub fn parse(s: &str) -> Option<UnitId> {
        s.strip_prefix('u')?.parse().ok().map(UnitId)
    }
}

impl fmt::Display for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "u{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_huge_keys_are_refused_in_one_line() {
        for bad in [String::new(), "k".repeat(crate::MAX_KEY_BYTES + 1)] {
            let e = SyncKey::new(bad.clone()).unwrap_err();
            assert!(matches!(e, SyncError::InvalidKey { .. }), "{e:?}");
            assert!(!e.to_string().contains('\n'));
            assert!(SinkKey::new(bad).is_err());
        }
        let k = SyncKey::new("mysync").unwrap();
        assert_eq!(k.claim(), "mysync:claim");
        assert_eq!(SinkKey::new("s").unwrap().seen(), "s:seen");
    }

    #[test]
    fn unit_ids_round_trip() {
        assert_eq!(UnitId::parse("u12"), Some(UnitId(12)));
        assert_eq!(UnitId(3).to_string(), "u3");
        for bad in ["", "u", "12", "ux", "processed"] {
            assert_eq!(UnitId::parse(bad), None, "{bad}");
        }
    }
}
