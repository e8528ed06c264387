//! Checking that a key holds what a protocol stores there, before it
//! writes anything: a user's hash where the protocol expects a string is
//! refused, and left as it was.

use super::error::SyncError;
use crate::connection::Conn;

/// Fails with [`SyncError::WrongType`] unless `key` is absent or holds a
/// `wants` (`string`, `stream`, `list`, `set`).
pub async fn expect(conn: &Conn, key: &str, wants: &'static str) -> Result<(), SyncError> {
    let found: String = conn.query(redis::cmd("TYPE").arg(key)).await?;
    if found == "none" || found == wants {
        Ok(())
    } else {
        Err(SyncError::WrongType {
            key: key.to_owned(),
            found,
            wants,
        })
    }
}
