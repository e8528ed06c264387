//! Finding the current primary through Sentinel as production clients do,
//! with the `redis` crate's Sentinel client: ask the Sentinels in turn for
//! the service (`SENTINEL MASTERS`), skip one that flags its primary down,
//! and confirm with `ROLE` on the node named that it is a primary. A client
//! that re-resolves after an error follows a failover.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use redis::{ConnectionAddr, IntoConnectionInfo};
use tokio::sync::Mutex;

/// The longest one resolution may take: each Sentinel and the named node
/// get the `redis` crate's own connect and response timeouts; this bounds
/// the whole.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the primary could not be found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The addresses or credentials do not make a Sentinel client.
    #[error("cannot ask Sentinels {sentinels}: {detail}")]
    Setup {
        /// The Sentinels.
        sentinels: String,
        /// What the `redis` crate said.
        detail: String,
    },
    /// No Sentinel named a reachable primary for the service.
    #[error("Sentinels {sentinels} name no usable primary for {service}: {detail}")]
    NoPrimary {
        /// The Sentinels asked.
        sentinels: String,
        /// The service name.
        service: String,
        /// The last error met.
        detail: String,
    },
    /// The Sentinels (or the node they named) did not answer in time.
    #[error("Sentinels {sentinels} did not name a primary for {service} within {waited:?}")]
    Timeout {
        /// The Sentinels asked.
        sentinels: String,
        /// The service name.
        service: String,
        /// How long the lab waited.
        waited: Duration,
    },
}

/// Resolves a Sentinel service to its current primary.
///
/// ```no_run
/// # async fn demo() -> Result<(), locklab::sentinel::ResolveError> {
/// use locklab::sentinel::PrimaryResolver;
///
/// let resolver = PrimaryResolver::new(&["127.0.0.1:26379".parse().unwrap()], "mymaster")?;
/// let url = resolver.primary_url().await?; // redis://10.0.0.5:6379/0
/// # Ok(())
/// # }
/// ```
pub struct PrimaryResolver {
    sentinel: Mutex<Sentinel>,
    service: String,
    /// How the primary is connected to (credentials, database).
    node: SentinelNodeConnectionInfo,
    /// `user:password@`, as written (percent-encoded), for the URL.
    userinfo: Option<String>,
    db: i64,
    /// For messages: `host:port,host:port`.
    sentinels: String,
}

impl fmt::Debug for PrimaryResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrimaryResolver")
            .field("sentinels", &self.sentinels)
            .field("service", &self.service)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl PrimaryResolver {
    /// A resolver over Sentinels at these addresses, for `service`, that
    /// connects to the primary without credentials, database 0.
    pub fn new(sentinels: &[SocketAddr], service: &str) -> Result<Self, ResolveError> {
        let hosts: Vec<(String, u16)> = sentinels
            .iter()
            .map(|a| (a.ip().to_string(), a.port()))
            .collect();
        Self::with_auth(&hosts, service, None, 0)
    }

    /// A resolver over Sentinels at `hosts` (names or IPs, with ports) for
    /// `service`; the primary is connected to with `userinfo` (`user:pass`
    /// or `:pass`, percent-encoded as in a URL) and database `db`. The
    /// Sentinels themselves are asked without credentials.
    pub fn with_auth(
        hosts: &[(String, u16)],
        service: &str,
        userinfo: Option<&str>,
        db: i64,
    ) -> Result<Self, ResolveError> {
        let sentinels = hosts
            .iter()
            .map(|(h, p)| host_port(h, *p))
            .collect::<Vec<_>>()
            .join(",");
        let setup = |detail: String| ResolveError::Setup {
            sentinels: sentinels.clone(),
            detail,
        };
        let urls: Vec<String> = hosts
            .iter()
            .map(|(h, p)| format!("redis://{}/", host_port(h, *p)))
            .collect();
        let sentinel = Sentinel::build(urls).map_err(|e| setup(e.to_string()))?;
        // The node's credentials and database, parsed (and percent-decoded)
        // by the redis crate itself.
        let node_url = format!("redis://{}127.0.0.1/{db}", at(userinfo));
        let node_info = node_url
            .as_str()
            .into_connection_info()
            .map_err(|e| setup(format!("credentials or database: {e}")))?;
        Ok(Self {
            sentinel: Mutex::new(sentinel),
            service: service.to_string(),
            node: SentinelNodeConnectionInfo::default()
                .set_redis_connection_info(node_info.redis_settings().clone()),
            userinfo: userinfo.map(str::to_string),
            db,
            sentinels,
        })
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The current primary's host and port, as the Sentinels name it (and
    /// it confirms).
    pub async fn primary(&self) -> Result<(String, u16), ResolveError> {
        let lookup = async {
            let mut sentinel = self.sentinel.lock().await;
            sentinel
                .async_master_for(&self.service, Some(&self.node))
                .await
        };
        let client = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
            .await
            .map_err(|_| ResolveError::Timeout {
                sentinels: self.sentinels.clone(),
                service: self.service.clone(),
                waited: RESOLVE_TIMEOUT,
            })?
            .map_err(|e| ResolveError::NoPrimary {
                sentinels: self.sentinels.clone(),
                service: self.service.clone(),
                detail: e.to_string(),
            })?;
        match client.get_connection_info().addr() {
            ConnectionAddr::Tcp(host, port) => Ok((host.clone(), *port)),
            other => Err(ResolveError::NoPrimary {
                sentinels: self.sentinels.clone(),
                service: self.service.clone(),
                detail: format!("named a primary the lab cannot reach: {other}"),
            }),
        }
    }

    /// The current primary as a `redis://` URL, with the resolver's
    /// credentials and database.
    pub async fn primary_url(&self) -> Result<String, ResolveError> {
        let (host, port) = self.primary().await?;
        Ok(format!(
            "redis://{}{}/{}",
            at(self.userinfo.as_deref()),
            host_port(&host, port),
            self.db
        ))
    }
}

/// `host:port`, with an IPv6 host in brackets.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn at(userinfo: Option<&str>) -> String {
    userinfo.map(|u| format!("{u}@")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ports() {
        assert_eq!(host_port("10.0.0.1", 1), "10.0.0.1:1");
        assert_eq!(host_port("::1", 2), "[::1]:2");
        assert_eq!(host_port("[::1]", 2), "[::1]:2");
        assert_eq!(host_port("redis.example", 3), "redis.example:3");
    }

    #[test]
    fn a_resolver_needs_a_sentinel() {
        let err = PrimaryResolver::new(&[], "s").unwrap_err();
        assert!(matches!(err, ResolveError::Setup { .. }), "{err:?}");
        assert!(!err.to_string().contains('\n'), "{err}");
    }
}
