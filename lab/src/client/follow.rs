//! A connection for either form of `--redis`: a `redis://` URL as it is,
//! or a `redis+sentinel://` URL — the service's current primary, found
//! through the Sentinels before every new connection and on
//! [`Conn::follow`], as a production Sentinel client does, so that a
//! client follows a failover.

use std::sync::Arc;

use locklab_impl::{connect, connect_located, Conn, ConnectOptions, Locate, LockError};

use crate::sentinel::{RedisTarget, SentinelUrl};

/// Connects to the Redis `url` names (see the [module docs](self)).
pub async fn connect_any(url: &str, opts: &ConnectOptions) -> Result<Conn, LockError> {
    match RedisTarget::parse(url) {
        Ok(RedisTarget::Sentinel(sentinel)) => connect_primary(&sentinel, opts).await,
        // A plain URL, or one neither form reads: `connect` says what is
        // wrong with it.
        _ => connect(url, opts).await,
    }
}

/// Connects to the Sentinel service's current primary, and follows it.
pub async fn connect_primary(
    sentinel: &SentinelUrl,
    opts: &ConnectOptions,
) -> Result<Conn, LockError> {
    let resolver = sentinel.resolver().map_err(|e| LockError::InvalidUrl {
        url: sentinel.to_string(),
        reason: e.to_string(),
    })?;
    let resolver = Arc::new(resolver);
    let locate: Locate = Arc::new(move || {
        let resolver = Arc::clone(&resolver);
        Box::pin(async move { resolver.primary_url().await.map_err(|e| e.to_string()) })
    });
    connect_located(&sentinel.to_string(), locate, opts).await
}
