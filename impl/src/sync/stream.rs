//! The Stream protocols (`sync-stream`, `sync-stream-dedup`): units are
//! entries `unit u<n>` of a Stream read through one consumer group.
//!
//! A restart without persistence takes the group with the Stream, and the
//! next `XADD` makes a Stream without one; every group command that finds
//! none (`NOGROUP`) creates it at id `0` — so that entries added since are
//! still delivered — and is sent once more.

use std::time::Duration;

use redis::streams::{
    StreamAutoClaimReply, StreamId, StreamInfoGroupsReply, StreamPendingCountReply,
    StreamRangeReply, StreamReadReply,
};

use super::error::SyncError;
use super::keys::{SyncKey, UnitId, GROUP};
use crate::config::Ttl;
use crate::connection::Conn;
use crate::error::LockError;

/// The most entries [`waiting`] reads.
const MAX_SCAN: usize = 100_000;

/// A unit taken from the Stream: its id there, for `XACK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The unit.
    pub unit: UnitId,
    /// Its entry id.
    pub id: String,
}

fn is_nogroup(e: &SyncError) -> bool {
    matches!(e, SyncError::Redis(LockError::Redis(r)) if r.code() == Some("NOGROUP"))
}

fn delivered(entry: &StreamId, command: &'static str) -> Result<Delivered, SyncError> {
    let unit = entry
        .get::<String>("unit")
        .and_then(|u| UnitId::parse(&u))
        .ok_or_else(|| SyncError::UnexpectedReply {
            command,
            reply: format!("entry {} without a unit", entry.id),
        })?;
    Ok(Delivered {
        unit,
        id: entry.id.clone(),
    })
}

/// Creates the consumer group (and the Stream) unless it exists.
pub async fn ensure_group(conn: &Conn, key: &SyncKey) -> Result<(), SyncError> {
    let created: Result<(), LockError> = conn
        .query(
            redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(key.as_str())
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM"),
        )
        .await;
    match created {
        Ok(()) => Ok(()),
        Err(LockError::Redis(e)) if e.code() == Some("BUSYGROUP") => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `XADD key * unit <unit>`.
pub async fn produce(conn: &Conn, key: &SyncKey, unit: UnitId) -> Result<(), SyncError> {
    let _id: String = conn
        .query(
            redis::cmd("XADD")
                .arg(key.as_str())
                .arg("*")
                .arg("unit")
                .arg(unit.to_string()),
        )
        .await?;
    Ok(())
}

/// Appends `units` in one round trip (`sync_produce_many.lua`).
pub async fn produce_many(conn: &Conn, key: &SyncKey, units: &[UnitId]) -> Result<(), SyncError> {
    let mut invocation = crate::scripts::SYNC_PRODUCE_MANY.key(key.as_str());
    for u in units {
        invocation.arg(u.to_string());
    }
    let _appended: i64 = conn.invoke(&invocation).await?;
    Ok(())
}

/// `XREADGROUP GROUP workers <consumer> COUNT 1 [BLOCK ms] STREAMS key >`:
/// the next unit no consumer was handed, now pending for this one.
pub async fn read(
    conn: &Conn,
    key: &SyncKey,
    consumer: &str,
    block: Option<Duration>,
) -> Result<Option<Delivered>, SyncError> {
    let cmd = || {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(1);
        if let Some(block) = block {
            cmd.arg("BLOCK").arg(block.as_millis().max(1) as u64);
        }
        cmd.arg("STREAMS").arg(key.as_str()).arg(">");
        cmd
    };
    let reply: Result<Option<StreamReadReply>, SyncError> =
        conn.query(&cmd()).await.map_err(SyncError::from);
    let reply = match reply {
        Err(e) if is_nogroup(&e) => {
            ensure_group(conn, key).await?;
            conn.query(&cmd()).await?
        }
        other => other?,
    };
    reply
        .and_then(|r| r.keys.into_iter().next())
        .and_then(|k| k.ids.into_iter().next())
        .map(|entry| delivered(&entry, "XREADGROUP"))
        .transpose()
}

/// `XAUTOCLAIM key workers <consumer> <idle> 0-0 COUNT 1`: a unit pending
/// (for anyone) longer than `idle`, now this consumer's.
pub async fn autoclaim(
    conn: &Conn,
    key: &SyncKey,
    consumer: &str,
    idle: Ttl,
) -> Result<Option<Delivered>, SyncError> {
    let reply: Result<StreamAutoClaimReply, SyncError> = conn
        .query(
            redis::cmd("XAUTOCLAIM")
                .arg(key.as_str())
                .arg(GROUP)
                .arg(consumer)
                .arg(idle.as_millis())
                .arg("0-0")
                .arg("COUNT")
                .arg(1),
        )
        .await
        .map_err(SyncError::from);
    match reply {
        Err(e) if is_nogroup(&e) => {
            ensure_group(conn, key).await?;
            Ok(None)
        }
        Err(e) => Err(e),
        Ok(reply) => reply
            .claimed
            .first()
            .map(|entry| delivered(entry, "XAUTOCLAIM"))
            .transpose(),
    }
}

/// `XACK key workers <id>`: whether the entry was pending (for anyone:
/// `XACK` does not ask whose).
pub async fn ack(conn: &Conn, key: &SyncKey, id: &str) -> Result<bool, SyncError> {
    let acked: Result<i64, SyncError> = conn
        .query(redis::cmd("XACK").arg(key.as_str()).arg(GROUP).arg(id))
        .await
        .map_err(SyncError::from);
    match acked {
        Err(e) if is_nogroup(&e) => Ok(false),
        other => Ok(other? == 1),
    }
}

/// A Stream id, `<ms>-<seq>`, as numbers to compare.
fn order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// The units the Stream still holds for a worker to take: pending for some
/// consumer, or not delivered yet.
pub async fn waiting(conn: &Conn, key: &SyncKey) -> Result<Vec<UnitId>, SyncError> {
    let entries: StreamRangeReply = conn
        .query(
            redis::cmd("XRANGE")
                .arg(key.as_str())
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(MAX_SCAN),
        )
        .await?;
    if entries.ids.is_empty() {
        return Ok(Vec::new());
    }
    let groups: StreamInfoGroupsReply = conn
        .query(redis::cmd("XINFO").arg("GROUPS").arg(key.as_str()))
        .await?;
    let Some(group) = groups.groups.into_iter().find(|g| g.name == GROUP) else {
        // No group yet: every entry is still to be delivered.
        return entries
            .ids
            .iter()
            .map(|e| delivered(e, "XRANGE").map(|d| d.unit))
            .collect();
    };
    let pending: StreamPendingCountReply = conn
        .query(
            redis::cmd("XPENDING")
                .arg(key.as_str())
                .arg(GROUP)
                .arg("-")
                .arg("+")
                .arg(MAX_SCAN),
        )
        .await?;
    let last = order(&group.last_delivered_id);
    let mut units = Vec::new();
    for entry in &entries.ids {
        let is_pending = pending.ids.iter().any(|p| p.id == entry.id);
        if is_pending || order(&entry.id) > last {
            units.push(delivered(entry, "XRANGE")?.unit);
        }
    }
    Ok(units)
}
