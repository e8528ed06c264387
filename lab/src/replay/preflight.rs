//! Before a run on a lock of the user's (`--lock`, `--lock-cmd`): one
//! client started as the run starts its clients, pinged, asked which
//! operations it cannot do and whether it follows a failover
//! ([`Support`]), and let go — so that a client
//! that cannot even start is one line before any schedule is played, and
//! the cells that need an operation it lacks are skipped with a note
//! rather than played into a divergence.

use locklab_impl::{LockKey, ResourceKey, Ttl};

use super::conductor::Stage;
use super::seat::{Seat, SeatSpec};
use super::topology::socket_addr;
use crate::client::{error_line, Support};

/// Starts one client of `lock` as `stage` would, pings it and probes it;
/// its keys are deleted afterwards. `Err`: one line saying why the client
/// cannot be used at all.
pub async fn preflight(stage: &Stage, lock: &str) -> Result<Support, String> {
    let base = format!("{}:preflight", stage.keys.prefix());
    let lock_key = LockKey::new(format!("{base}:lock")).map_err(|e| error_line(&e))?;
    let resource_key = ResourceKey::new(format!("{base}:resource")).map_err(|e| error_line(&e))?;
    let ttl = Ttl::new(stage.tick * 3).map_err(|e| error_line(&e))?;
    let addr = socket_addr(&stage.url).map_err(|e| e.to_string())?;
    let mut seat = Seat::open(
        &stage.clients,
        SeatSpec {
            name: "c1".to_owned(),
            lock,
            lock_urls: std::slice::from_ref(&stage.url),
            lock_addrs: &[addr],
            resource_url: &stage.url,
            lock_key: &lock_key,
            resource_key: &resource_key,
            ttl,
            connect: &stage.connect,
            redlock: None,
        },
    )
    .await?;
    let stays_on_one_server = seat.stays_on_one_server();
    let probed = match seat.client() {
        Some(client) => match client.ping().await {
            Ok(()) => Ok(Support {
                stays_on_one_server,
                ..Support::probe(client).await
            }),
            Err(e) => Err(format!("a ping failed: {e}")),
        },
        None => Err("no client".to_owned()),
    };
    seat.close().await;
    if let Ok(conn) = locklab_impl::connect(&stage.url, &stage.connect).await {
        let _ = stage.keys.delete(&conn, &format!("{base}:*")).await;
    }
    probed
}
