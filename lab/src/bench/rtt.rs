//! The Redis round trip: sequential `PING`s on one connection, the yardstick
//! every latency of the bench is also given against.

use locklab_impl::Conn;

use super::latency::{Latency, Recording};

/// `pings` sequential `PING`s on `conn` (after a few unmeasured ones that
/// warm the connection up); their round-trip times.
pub async fn measure(conn: &Conn, pings: u32) -> Result<Latency, String> {
    let line = |e: &locklab_impl::LockError| crate::client::error_line(e);
    for _ in 0..pings.min(50) {
        conn.ping().await.map_err(|e| line(&e))?;
    }
    let mut r = Recording::new();
    for _ in 0..pings {
        let sent = std::time::Instant::now();
        conn.ping().await.map_err(|e| line(&e))?;
        r.record(sent.elapsed().as_micros() as u64);
    }
    Ok(r.summary())
}
