//! The key-based protocols (`sync-naive`, `sync-cas`): one string key holds
//! the current unit, or the `processed` marker, or nothing.

use super::error::SyncError;
use super::keys::{SyncKey, UnitId, MARKER};
use crate::config::Ttl;
use crate::connection::Conn;
use crate::scripts;

fn unit_of(value: Option<String>, command: &'static str) -> Result<Option<UnitId>, SyncError> {
    match value {
        None => Ok(None),
        Some(v) if v == MARKER => Ok(None),
        Some(v) => UnitId::parse(&v)
            .map(Some)
            .ok_or(SyncError::UnexpectedReply { command, reply: v }),
    }
}

/// Writes `unit` where there is room (the key absent or marked); whether
/// it was written.
pub async fn produce(conn: &Conn, key: &SyncKey, unit: UnitId) -> Result<bool, SyncError> {
    let written: i64 = conn
        .invoke(
            scripts::SYNC_PRODUCE
                .key(key.as_str())
                .arg(unit.to_string())
                .arg(MARKER),
        )
        .await?;
    Ok(written == 1)
}

/// `GET key`: the unit it holds, if any (the article's read; an absent key
/// is nothing to do, not a failure).
pub async fn get(conn: &Conn, key: &SyncKey) -> Result<Option<UnitId>, SyncError> {
    let value: Option<String> = conn.query(redis::cmd("GET").arg(key.as_str())).await?;
    unit_of(value, "GET")
}

/// `MGET key key:claim`: the unit it holds if nobody claims it.
pub async fn get_unclaimed(conn: &Conn, key: &SyncKey) -> Result<Option<UnitId>, SyncError> {
    let (value, claim): (Option<String>, Option<String>) = conn
        .query(redis::cmd("MGET").arg(key.as_str()).arg(key.claim()))
        .await?;
    if claim.is_some() {
        return Ok(None);
    }
    unit_of(value, "MGET")
}

/// Claims `unit` for `owner` by compare-and-set; whether it was granted.
pub async fn claim(
    conn: &Conn,
    key: &SyncKey,
    unit: UnitId,
    owner: &str,
    ttl: Ttl,
) -> Result<bool, SyncError> {
    let claimed: i64 = conn
        .invoke(
            scripts::SYNC_CLAIM
                .key(key.as_str())
                .key(key.claim())
                .arg(unit.to_string())
                .arg(owner)
                .arg(ttl.as_millis()),
        )
        .await?;
    Ok(claimed == 1)
}

/// The article's mark: `SET key processed PX ttl`, whatever the key holds.
pub async fn mark_blind(conn: &Conn, key: &SyncKey, ttl: Ttl) -> Result<(), SyncError> {
    let _: () = conn
        .query(
            redis::cmd("SET")
                .arg(key.as_str())
                .arg(MARKER)
                .arg("PX")
                .arg(ttl.as_millis()),
        )
        .await?;
    Ok(())
}

/// Marks a claimed `unit` processed by compare-and-set; whether it did.
pub async fn mark_claimed(
    conn: &Conn,
    key: &SyncKey,
    unit: UnitId,
    owner: &str,
    ttl: Ttl,
) -> Result<bool, SyncError> {
    let marked: i64 = conn
        .invoke(
            scripts::SYNC_MARK
                .key(key.as_str())
                .key(key.claim())
                .arg(unit.to_string())
                .arg(owner)
                .arg(ttl.as_millis())
                .arg(MARKER),
        )
        .await?;
    Ok(marked == 1)
}
