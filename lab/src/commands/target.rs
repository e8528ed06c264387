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
    let shown = crate::output::masked(url);
    if url.starts_with("rediss://") {
        bail!("--redis {shown}: TLS (rediss://) is not supported; reach a TLS server through a local tunnel (stunnel, spiped) at a redis:// address");
    }
    crate::sentinel::RedisTarget::parse(url).map_err(|e| anyhow::anyhow!("--redis {e}"))?;
    Ok(url.to_owned())
}

/// RESP's first bytes: every reply of a Redis server (RESP2 or RESP3)
/// starts with one of them.
const RESP_TYPES: &[u8] = b"+-:$*_,#!=(%~>|";

/// How long the look at a server that failed the lab's `PING` may take.
const LOOK: std::time::Duration = std::time::Duration::from_secs(1);

/// When the server at `url` answers a plain `PING` with something that is
/// not RESP (an HTTP server, an SSH banner): the first line of what it
/// said. `None` when it answers as Redis would, says nothing in time, or
/// cannot be reached — the client's own error says more then.
pub async fn not_redis(url: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = crate::replay::topology::socket_addr(url).ok()?;
    let look = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        stream.write_all(b"PING\r\n").await.ok()?;
        let mut buf = [0u8; 80];
        let n = stream.read(&mut buf).await.ok()?;
        let said = buf.get(..n).filter(|b| !b.is_empty())?;
        if RESP_TYPES.contains(&said[0]) {
            return None;
        }
        let text = String::from_utf8_lossy(said);
        Some(text.lines().next().unwrap_or_default().trim().to_owned())
    };
    tokio::time::timeout(LOOK, look).await.ok().flatten()
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

/// The Redis a run plays against: one server, or one per master of a
/// quorum lock.
pub struct Target {
    /// The first server's URL (the protected resource lives there).
    pub url: String,
    /// Every server's URL, the first included.
    pub nodes: Vec<String>,
    /// The servers, when the lab started them (stopped on drop).
    servers: Vec<RedisServer>,
}

impl Target {
    /// The stage replays play on, on this target's servers.
    pub fn stage(
        &self,
        tick: std::time::Duration,
        connect: ConnectOptions,
        clients: crate::replay::Clients,
        lock: Option<String>,
    ) -> crate::replay::Stage {
        crate::replay::Stage {
            url: self.url.clone(),
            nodes: self.nodes.clone(),
            embedded: self.embedded(),
            tick,
            connect,
            keys: crate::replay::KeySpace::new(),
            clients,
            lock,
            sentinels: Default::default(),
        }
    }

    /// Starts a server of the lab's own, or checks that the user's answers
    /// (within the connect timeout), so that an unusable Redis is one line
    /// and exit 2 before any work starts.
    pub fn open(
        user: Option<&str>,
        runtime: &tokio::runtime::Runtime,
        connect: &ConnectOptions,
    ) -> anyhow::Result<Target> {
        let users: Vec<String> = user.map(str::to_owned).into_iter().collect();
        Self::open_nodes(&users, 1, runtime, connect)
    }

    /// `count` servers: the user's (at least `count` URLs, each checked:
    /// one that does not answer is named), or as many of the lab's own.
    pub fn open_nodes(
        users: &[String],
        count: usize,
        runtime: &tokio::runtime::Runtime,
        connect: &ConnectOptions,
    ) -> anyhow::Result<Target> {
        let count = count.max(1);
        let (nodes, servers) = if users.is_empty() {
            let servers = RedisServer::start_many(count).context("starting redis-server")?;
            (servers.iter().map(RedisServer::url).collect(), servers)
        } else {
            if users.len() < count {
                bail!(
                    "--redis given {} time{}, but a lock here runs on {count} masters: give one --redis URL per master",
                    users.len(),
                    if users.len() == 1 { "" } else { "s" }
                );
            }
            (users.to_vec(), Vec::new())
        };
        for url in &nodes {
            let pinged = runtime.block_on(async {
                let conn = crate::client::connect_any(url, connect).await?;
                conn.ping().await
            });
            if let Err(e) = pinged {
                if let Some(answer) = runtime.block_on(not_redis(url)) {
                    bail!(
                        "--redis {}: the server there is not Redis: it answered a PING with {answer:?}",
                        crate::output::masked(url)
                    );
                }
                return Err(anyhow::Error::new(e)).with_context(|| {
                    format!("cannot use Redis at {}", crate::output::masked(url))
                });
            }
        }
        Ok(Target {
            url: nodes[0].clone(),
            nodes,
            servers,
        })
    }

    /// True when the lab started the servers (and so may start more, and
    /// restart them).
    pub fn embedded(&self) -> bool {
        !self.servers.is_empty()
    }

    /// How reports name it: `embedded`, or the user's URL (its password
    /// masked).
    pub fn name(&self) -> String {
        if self.embedded() {
            "embedded".to_owned()
        } else {
            crate::output::masked(&self.url)
        }
    }
}
