//! The sink: where a processed unit's effect lands. A plain sink applies
//! every effect (`RPUSH`); a deduplicating one applies each unit id once
//! (`dedup_apply.lua`: `SADD` of the id and the `RPUSH`, atomically). Its
//! content is what the lab reads at the end of a run, as evidence of its
//! own of what was applied.

use super::error::SyncError;
use super::keys::{SinkKey, UnitId};
use crate::connection::Conn;
use crate::scripts;

/// One applied effect, as the sink stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    /// The unit.
    pub unit: UnitId,
    /// The tag its worker gave it.
    pub tag: String,
}

/// The most effects [`content`] reads back (a bench's sink is trimmed to
/// nothing it would read past this).
pub const MAX_READ: usize = 1_000_000;

/// Applies `unit`'s effect; returns whether the sink applied it (a
/// deduplicating sink refuses a unit it applied before).
pub async fn apply(
    conn: &Conn,
    sink: &SinkKey,
    dedup: bool,
    unit: UnitId,
    tag: &str,
) -> Result<bool, SyncError> {
    let effect = if tag.is_empty() {
        unit.to_string()
    } else {
        format!("{unit} {tag}")
    };
    if dedup {
        let applied: i64 = conn
            .invoke(
                scripts::DEDUP_APPLY
                    .key(sink.as_str())
                    .key(sink.seen())
                    .arg(unit.to_string())
                    .arg(effect),
            )
            .await?;
        Ok(applied == 1)
    } else {
        let _: i64 = conn
            .query(redis::cmd("RPUSH").arg(sink.as_str()).arg(effect))
            .await?;
        Ok(true)
    }
}

/// Every effect the sink applied, in order.
pub async fn content(conn: &Conn, sink: &SinkKey) -> Result<Vec<Effect>, SyncError> {
    let entries: Vec<String> = conn
        .query(
            redis::cmd("LRANGE")
                .arg(sink.as_str())
                .arg(0)
                .arg(MAX_READ as i64 - 1),
        )
        .await?;
    entries
        .into_iter()
        .map(|entry| {
            let (unit, tag) = entry.split_once(' ').unwrap_or((entry.as_str(), ""));
            let unit = UnitId::parse(unit).ok_or_else(|| SyncError::UnexpectedReply {
                command: "LRANGE sink",
                reply: entry.clone(),
            })?;
            Ok(Effect {
                unit,
                tag: tag.to_owned(),
            })
        })
        .collect()
}
