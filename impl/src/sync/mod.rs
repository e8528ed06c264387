//! Units of work handed from a producer to workers through Redis, each
//! unit's effect applied to a sink — the article's "distributed sync" and
//! its fixes, as a service would run them.
//!
//! One [`SyncWorker`] type runs every sync protocol, chosen from its
//! declaration's [`SyncCaps`](locklab_spec::SyncCaps) (never its name):
//!
//! - **read** (`sync-naive`): `GET key`, process, `SET key processed PX
//!   ttl` — the article's pattern as intended. Two workers that read before
//!   either marks both process the unit, and a mark overwrites a unit
//!   written since: it is here to be shown failing.
//! - **versioned claim** (`sync-cas`): `MGET key key:claim`, then a
//!   compare-and-set claim (`sync_claim.lua`: the key must still hold the
//!   unit read — unit ids are never reused, so it is its own version — and
//!   nobody may claim it; the claim is `key:claim PX ttl`), process, and a
//!   compare-and-set mark (`sync_mark.lua`). A lost claim is retried a
//!   bounded number of times with jittered backoff. Why not `WATCH`: its
//!   state belongs to the connection, and these workers share multiplexed
//!   connections ([`Conn`](crate::Conn)); a `WATCH` on one would be undone
//!   or judged by another worker's `EXEC`.
//! - **consumer group** (`sync-stream`): `XADD`, `XREADGROUP … >`,
//!   `XAUTOCLAIM` after the claim idle time, `XACK`.
//!
//! A deduplicating sink (`*-dedup`) applies each unit id once
//! (`dedup_apply.lua`).
//!
//! Keys are checked before anything is sent ([`SyncKey`], [`SinkKey`]:
//! non-empty, at most [`MAX_KEY_BYTES`](crate::MAX_KEY_BYTES)), and a key
//! holding another type than the protocol stores there is refused and left
//! untouched ([`SyncError::WrongType`]).

mod error;
mod keys;
mod sink;
mod slot;
mod stream;
mod types;
mod worker;

pub use error::SyncError;
pub use keys::{claim_key, SinkKey, SyncKey, UnitId, GROUP, MARKER};
pub use sink::Effect;
pub use worker::{
    caps_of, check_types, Applied, Inspection, Marked, Produced, SyncWorker, Taken, Work,
    MAX_ATTEMPTS,
};
