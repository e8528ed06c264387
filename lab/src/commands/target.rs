//! What `reproduce`, `chaos` (and any command that plays against real Redis)
//! share: the Redis they run against — one the lab starts, or the user's —
//! checked before any work starts, and the checks of the flags they share.

use std::ops::RangeInclusive;

use anyhow::{bail, Context};
use locklab_impl::ConnectOptions;

use crate::server::RedisServer;

/// Checks that `url` is a Redis URL or a Sentinel service's
/// (`redis+sentinel://host:port[,host:port...]/service[/db]`), without
/// connecting, for `--redis`.
pub fn redis_url(url: &str) -> anyhow::Result<String> {
    crate::sentinel::RedisTarget::parse(url).map_err(|e| anyhow::anyhow!("--redis {e}"))?;
    Ok(url.to_owned())
}

/// Checks a numeric flag against its range.
pub fn in_range<T>(flag: &str, value: T, range: RangeInclusive<T>, why: &str) -> anyhow::Result<T>
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    if range.contains(&value) {
        Ok(value)
    } else {
        bail!(
            "{flag} {value}: give {} to {}{why}",
            range.start(),
            range.end()
        )
    }
}

/// The Redis a run plays against.
pub struct Target {
    /// Its URL.
    pub url: String,
    /// The server, when the lab started it (stopped on drop).
    server: Option<RedisServer>,
}

impl Target {
    /// Starts a server of the lab's own, or checks that the user's answers
    /// (within the connect timeout), so that an unusable Redis is one line
    /// and exit 2 before any work starts.
    pub fn open(
        user: Option<&str>,
        runtime: &tokio::runtime::Runtime,
        connect: &ConnectOptions,
    ) -> anyhow::Result<Target> {
        let (url, server) = match user {
            Some(url) => (url.to_owned(), None),
            None => {
                let server = RedisServer::start().context("starting redis-server")?;
                (server.url(), Some(server))
            }
        };
        runtime
            .block_on(async {
                let conn = crate::client::connect_any(&url, connect).await?;
                conn.ping().await
            })
            .with_context(|| format!("cannot use Redis at {url}"))?;
        Ok(Target { url, server })
    }

    /// True when the lab started the server (and so may start more, and
    /// restart them).
    pub fn embedded(&self) -> bool {
        self.server.is_some()
    }

    /// How reports name it: `embedded`, or the user's URL.
    pub fn name(&self) -> &str {
        if self.embedded() {
            "embedded"
        } else {
            &self.url
        }
    }
}
