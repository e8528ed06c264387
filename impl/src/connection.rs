//! The connection to Redis that every lock and resource shares.
//!
//! One multiplexed connection carries the commands of any number of locks
//! (cloning a [`Conn`] is cheap and shares it), with both timeouts of
//! [`ConnectOptions`] applied so that no call can hang.
//!
//! When the connection breaks (the server was restarted, the socket was
//! reset), the failing command returns [`LockError::ConnectionLost`] and the
//! *next* command opens a new connection. A command that timed out
//! ([`LockError::Timeout`]) retires its connection the same way: a connection
//! with an unanswered request is in an unknown state, and if that reply were
//! ever lost rather than late (a broken middlebox), every later reply on it
//! would be handed to the wrong command — for a lock, a wrong "released" or
//! "granted". The failed command is never retried behind the caller's back:
//! a `SET NX` or a fenced write that may or may not have run is for the
//! caller to judge, not for this layer.
//!
//! So one call takes at most the connect timeout (if it has to reconnect)
//! plus the response timeout.
//!
//! A connection may also follow a server that moves: [`connect_located`]
//! asks a [`Locate`] (say, the Sentinels) where the server is before every
//! new connection, a `READONLY` reply (the node was demoted under it)
//! retires the connection like a broken one, and [`Conn::follow`] asks
//! again at once and moves if the answer changed — a lock on a
//! Sentinel-managed primary follows a failover.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue, ScriptInvocation};
use tokio::sync::Mutex;

use crate::config::ConnectOptions;
use crate::error::LockError;

/// A cheap-to-clone handle to one Redis server.
#[derive(Clone)]
pub struct Conn {
    inner: Arc<Inner>,
}

/// Finds the server to connect to now: its `redis://` URL, or why not.
/// Asked before every new connection of a [`connect_located`] handle.
pub type Locate = Arc<dyn Fn() -> BoxFuture<'static, Result<String, String>> + Send + Sync>;

/// Where the handle's server is.
enum Source {
    /// Always at one URL.
    Fixed,
    /// Wherever the locator says, asked again on every reconnect.
    Located(Locate),
}

struct Inner {
    source: Source,
    /// The client of the server last connected to (for a located handle,
    /// replaced when it moves).
    client: std::sync::Mutex<Client>,
    /// That server's URL, as located (empty for a fixed handle).
    located: std::sync::Mutex<String>,
    config: AsyncConnectionConfig,
    opts: ConnectOptions,
    /// The URL with any password replaced by `***`, for messages.
    url: String,
    /// The current connection, tagged with a generation so that a failure
    /// on an old connection does not throw away a newer one.
    current: Mutex<Option<(u64, MultiplexedConnection)>>,
    generation: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("url", &self.inner.url)
            .field("opts", &self.inner.opts)
            .finish_non_exhaustive()
    }
}

/// Opens a connection to the Redis server at `url` (any URL the `redis`
/// crate accepts: `redis://[user:password@]host[:port][/db]`,
/// `unix:///path`).
///
/// Fails with [`LockError::InvalidUrl`] for a malformed URL and with
/// [`LockError::Connect`] when no connection is made within
/// `opts.connect_timeout()`.
pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Conn, LockError> {
    let shown = redact(url);
    if url.starts_with("rediss://") {
        return Err(LockError::InvalidUrl {
            url: shown,
            reason: "TLS (rediss://) is not supported; reach a TLS server through a local \
                     tunnel (stunnel, spiped) at a redis:// address"
                .into(),
        });
    }
    let client = Client::open(url).map_err(|e| LockError::InvalidUrl {
        url: shown.clone(),
        reason: one_line(&e.to_string()),
    })?;
    let conn = Conn::with(Source::Fixed, client, shown, opts);
    conn.connection().await?;
    Ok(conn)
}

/// Opens a connection to wherever `locate` says the server is, and finds
/// it again before every reconnect (see the [module docs](self)). `name`
/// stands for the server in messages (a Sentinel URL, say; any password in
/// it is replaced by `***`).
///
/// Fails with [`LockError::Connect`] when the server cannot be located, or
/// reached, within `opts.connect_timeout()`.
pub async fn connect_located(
    name: &str,
    locate: Locate,
    opts: &ConnectOptions,
) -> Result<Conn, LockError> {
    let shown = redact(name);
    let url = run_locate(&locate, &shown, opts).await?;
    let client = open_client(&url)?;
    let conn = Conn::with(Source::Located(locate), client, shown, opts);
    if let Ok(mut located) = conn.inner.located.lock() {
        *located = url;
    }
    conn.connection().await?;
    Ok(conn)
}

/// Asks the locator, within the connect timeout.
async fn run_locate(
    locate: &Locate,
    name: &str,
    opts: &ConnectOptions,
) -> Result<String, LockError> {
    let failed = |detail: String| LockError::Connect {
        url: name.to_owned(),
        timeout: opts.connect_timeout(),
        source: redis::RedisError::from((
            redis::ErrorKind::Io,
            "could not locate the server",
            detail,
        )),
    };
    match tokio::time::timeout(opts.connect_timeout(), locate()).await {
        Ok(Ok(url)) => Ok(url),
        Ok(Err(why)) => Err(failed(why)),
        Err(_) => Err(failed("no answer in time".into())),
    }
}

fn open_client(url: &str) -> Result<Client, LockError> {
    Client::open(url).map_err(|e| LockError::InvalidUrl {
        url: redact(url),
        reason: one_line(&e.to_string()),
    })
}

impl Conn {
    fn with(source: Source, client: Client, shown: String, opts: &ConnectOptions) -> Conn {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(opts.connect_timeout()))
            .set_response_timeout(Some(opts.response_timeout()));
        Conn {
            inner: Arc::new(Inner {
                source,
                client: std::sync::Mutex::new(client),
                located: std::sync::Mutex::new(String::new()),
                config,
                opts: *opts,
                url: shown,
                current: Mutex::new(None),
                generation: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    /// The server's URL, with any password replaced by `***`.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The timeouts in force.
    pub fn options(&self) -> &ConnectOptions {
        &self.inner.opts
    }

    /// The `redis` client behind this handle, for connections a lock opens
    /// of its own (a FIFO waiter's `BLPOP`, a pub/sub subscription: see
    /// [`crate::wait`]) so that a blocking command never holds up the
    /// shared connection.
    pub(crate) fn client(&self) -> Client {
        self.inner
            .client
            .lock()
            .map(|c| c.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// For a located handle: asks where the server is now, and if it moved,
    /// retires the current connection so that the next command goes to the
    /// new place. Returns whether it moved (a fixed handle never does).
    pub async fn follow(&self) -> Result<bool, LockError> {
        let Source::Located(locate) = &self.inner.source else {
            return Ok(false);
        };
        let url = run_locate(locate, &self.inner.url, &self.inner.opts).await?;
        let moved = self.inner.located.lock().map(|l| *l != url).unwrap_or(true);
        if moved {
            let client = open_client(&url)?;
            let mut current = self.inner.current.lock().await;
            *current = None;
            if let Ok(mut c) = self.inner.client.lock() {
                *c = client;
            }
            if let Ok(mut l) = self.inner.located.lock() {
                *l = url;
            }
            tracing::debug!(url = %self.inner.url, "the server moved; the next command connects to it");
        }
        Ok(moved)
    }

    /// Runs a command and says on which connection it ran, for a command
    /// whose meaning depends on that connection's earlier ones (`WAIT`
    /// counts acknowledgements of the connection's own last write).
    pub(crate) async fn query_tracked<T: FromRedisValue>(
        &self,
        cmd: &Cmd,
    ) -> Result<(u64, T), LockError> {
        let (generation, mut con) = self.connection().await?;
        let result = cmd.query_async(&mut con).await;
        self.settle(generation, result)
            .await
            .map(|v| (generation, v))
    }

    /// Runs a command on the connection `generation` only: if that one was
    /// retired (it broke, timed out, or the server moved), the command is
    /// not sent and the result is [`LockError::ConnectionLost`].
    pub(crate) async fn query_on<T: FromRedisValue>(
        &self,
        generation: u64,
        cmd: &Cmd,
    ) -> Result<T, LockError> {
        let con = {
            let current = self.inner.current.lock().await;
            match current.as_ref() {
                Some((g, con)) if *g == generation => con.clone(),
                _ => {
                    return Err(LockError::ConnectionLost {
                        url: self.inner.url.clone(),
                        source: redis::RedisError::from((
                            redis::ErrorKind::Io,
                            "the connection of the earlier command is gone",
                        )),
                    })
                }
            }
        };
        let mut con = con;
        let result = cmd.query_async(&mut con).await;
        self.settle(generation, result).await
    }

    /// Sends `PING` and waits for the reply.
    pub async fn ping(&self) -> Result<(), LockError> {
        let _: String = self.query(&redis::cmd("PING")).await?;
        Ok(())
    }

    /// Runs any command, with the timeouts and error classification of this
    /// crate. For inspection (`GET`, `PTTL`) and tests; the locks use their
    /// own methods.
    pub async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, LockError> {
        let (generation, mut con) = self.connection().await?;
        let result = cmd.query_async(&mut con).await;
        self.settle(generation, result).await
    }

    /// Runs a script by `EVALSHA`, loading it on `NOSCRIPT` (see
    /// [`crate::scripts`]).
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, LockError> {
        let (generation, mut con) = self.connection().await?;
        let result = invocation.invoke_async(&mut con).await;
        self.settle(generation, result).await
    }

    /// The current connection, opening one if there is none.
    async fn connection(&self) -> Result<(u64, MultiplexedConnection), LockError> {
        let mut current = self.inner.current.lock().await;
        if let Some((generation, con)) = current.as_ref() {
            return Ok((*generation, con.clone()));
        }
        if let Source::Located(locate) = &self.inner.source {
            let url = run_locate(locate, &self.inner.url, &self.inner.opts).await?;
            let client = open_client(&url)?;
            if let Ok(mut c) = self.inner.client.lock() {
                *c = client;
            }
            if let Ok(mut l) = self.inner.located.lock() {
                *l = url;
            }
        }
        let client = self.client();
        let con = client
            .get_multiplexed_async_connection_with_config(&self.inner.config)
            .await
            .map_err(|e| {
                LockError::from_connect(e, &self.inner.url, self.inner.opts.connect_timeout())
            })?;
        let generation = self
            .inner
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(url = %self.inner.url, generation, "connected to Redis");
        *current = Some((generation, con.clone()));
        Ok((generation, con))
    }

    /// Classifies a command's error, and retires a broken or timed-out
    /// connection so that the next command reconnects (for a located
    /// handle, also one to a node that says it is a read-only replica now).
    async fn settle<T>(
        &self,
        generation: u64,
        result: redis::RedisResult<T>,
    ) -> Result<T, LockError> {
        let err = match result {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let demoted = matches!(self.inner.source, Source::Located(_))
            && (err.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
                || err.to_string().contains("READONLY"));
        let err = LockError::from_command(err, &self.inner.url, self.inner.opts.response_timeout());
        if demoted
            || matches!(
                err,
                LockError::ConnectionLost { .. } | LockError::Timeout { .. }
            )
        {
            let mut current = self.inner.current.lock().await;
            if current.as_ref().is_some_and(|(g, _)| *g == generation) {
                tracing::debug!(url = %self.inner.url, generation, error = %err, "connection retired; the next command reconnects");
                *current = None;
            }
        }
        Err(err)
    }
}

/// `url` with the password (if any) replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let user = match userinfo.find(':') {
        Some(colon) => &userinfo[..colon],
        // `redis://secret@host` is a password-only URL for the redis crate.
        None => "",
    };
    format!("{}{}:***@{}", &url[..scheme_end + 3], user, &rest[at + 1..])
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("redis://127.0.0.1:6380/"), "redis://127.0.0.1:6380/");
        assert_eq!(
            redact("redis://user:hunter2@host:1/0"),
            "redis://user:***@host:1/0"
        );
        assert_eq!(redact("redis://:hunter2@host/"), "redis://:***@host/");
        assert_eq!(redact("redis://hunter2@host"), "redis://:***@host");
        assert_eq!(redact("rediss://u:p@ss@host/"), "rediss://u:***@host/");
        assert_eq!(redact("not a url"), "not a url");
    }

    #[tokio::test]
    async fn malformed_urls_are_errors_not_panics() {
        for url in [
            "",
            "not a url",
            "http://127.0.0.1/",
            "redis://",
            "redis://127.0.0.1:notaport/",
            "redis://127.0.0.1:99999/",
            "redis://127.0.0.1/notadb",
        ] {
            let e = connect(url, &ConnectOptions::default()).await.unwrap_err();
            assert!(
                matches!(e, LockError::InvalidUrl { .. }),
                "{url:?} gave {e:?}"
            );
            assert!(!e.is_retryable());
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }

    #[tokio::test]
    async fn a_malformed_url_never_shows_its_password() {
        let e = connect(
            "redis://u:hunter2@127.0.0.1:bad/",
            &ConnectOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
