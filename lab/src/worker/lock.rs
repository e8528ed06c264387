//! [`LabLock`]: the one trait the lab drives a lock client through — *the*
//! extension point for bringing your own lock.
//!
//! A lab client is a lock client *with its state*: it remembers the grant
//! it believes it holds, releases that grant, and writes to the protected
//! resource with the grant's fencing token if the lock issues one. So the
//! trait's methods take no grant: the harness says "acquire", "write",
//! "release", exactly as the model's steps do, and the client does what a
//! service using that lock would do.
//!
//! # Why boxed futures
//!
//! The harness holds clients of different protocols side by side — the
//! four of `locklab-impl`, `rslock`, and whatever a user brings — and
//! chooses them by name at run time, so it needs `Box<dyn LabLock>`. An
//! `async fn` in a trait is not dyn-compatible, and an enum would close the
//! set. Each method therefore returns a [`LabFuture`], a pinned, boxed,
//! `Send` future: one allocation per operation, nothing next to a round trip
//! to Redis. `Send` lets a harness run clients on a multi-threaded runtime.
//!
//! # Implementing it
//!
//! ```no_run
//! use locklab::worker::{LabAttempt, LabFuture, LabLock, LabRelease, LabWrite};
//!
//! struct MyLock { /* a connection, the keys, the grant held */ }
//!
//! impl LabLock for MyLock {
//!     fn protocol(&self) -> &str { "my-lock" }
//!     fn try_acquire(&mut self) -> LabFuture<'_, LabAttempt> {
//!         Box::pin(async move { Ok(LabAttempt::Busy) })
//!     }
//!     fn release(&mut self) -> LabFuture<'_, LabRelease> {
//!         Box::pin(async move { Ok(LabRelease::NotHeld) })
//!     }
//!     fn write<'a>(&'a mut self, _data: &'a [u8]) -> LabFuture<'a, LabWrite> {
//!         Box::pin(async move { Ok(LabWrite::Accepted) })
//!     }
//!     fn reset<'a>(&'a mut self, _lock_key: &'a str, _resource_key: &'a str) -> LabFuture<'a, ()> {
//!         Box::pin(async move { Ok(()) })
//!     }
//! }
//! ```
//!
//! Errors are strings, one line each: the history records them as the
//! operation's failure, and the harness never branches on their content.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use locklab_impl::{
    connect, AnyLock, Attempt, Conn, ConnectOptions, FencedResource, Grant, LockKey, PlainResource,
    Protocol, ReleaseOutcome, ResourceKey, Ttl, WriteOutcome,
};
use serde::{Deserialize, Serialize};

/// What every [`LabLock`] method returns: a boxed `Send` future of the
/// outcome, or of a one-line error.
pub type LabFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// The outcome of one acquire attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabAttempt {
    /// The lock server granted the lock to this client.
    Granted {
        /// The value identifying this holder, if the lock has one (`token`,
        /// `fenced`, `rslock`).
        token: Option<String>,
        /// The fencing token issued with the grant (`fenced`).
        fence: Option<u64>,
    },
    /// Another client holds the lock.
    Busy,
    /// The server refused, but the client ignores the reply and believes
    /// it holds the lock (`naive-unchecked`).
    Believed,
}

impl LabAttempt {
    /// Whether the client now believes it holds the lock.
    pub fn believes_held(&self) -> bool {
        !matches!(self, LabAttempt::Busy)
    }
}

/// What a release did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabRelease {
    /// The client's own lock was removed.
    Released,
    /// Nothing of the client's was there any more (its lease ran out; the
    /// key is gone or another client holds it). Nothing was removed.
    NotHeld,
    /// A `DEL` removed *a* key — the client cannot know whose (`naive`).
    Deleted,
    /// A `DEL` found no key.
    NothingToDelete,
}

impl LabRelease {
    /// Whether a key was removed from the server.
    pub fn removed_a_key(self) -> bool {
        matches!(self, LabRelease::Released | LabRelease::Deleted)
    }
}

/// What the protected resource did with a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabWrite {
    /// Stored.
    Accepted,
    /// Refused: a write with a higher fencing token was accepted before.
    Refused {
        /// The highest fencing token accepted so far.
        highest: u64,
    },
}

/// A lock client the lab can drive: acquire, write, release, and start over
/// with fresh keys. See the [module docs](self).
pub trait LabLock: Send {
    /// The protocol's name (`naive`, `token`, `rslock`, …).
    fn protocol(&self) -> &str;

    /// One acquire attempt, without waiting for the lock to be free. A
    /// grant (or belief) is remembered for [`write`](Self::write) and
    /// [`release`](Self::release), replacing any earlier one.
    fn try_acquire(&mut self) -> LabFuture<'_, LabAttempt>;

    /// Releases the grant remembered from the last acquire and forgets it.
    /// An error if there is none.
    fn release(&mut self) -> LabFuture<'_, LabRelease>;

    /// Writes `data` to the protected resource, with the fencing token of
    /// the grant held, if the lock issues them (a fenced client without a
    /// grant writes with token 0, which the resource refuses once any token
    /// was accepted).
    fn write<'a>(&'a mut self, data: &'a [u8]) -> LabFuture<'a, LabWrite>;

    /// Forgets any grant and switches to a new lock key and resource key,
    /// so one client (and one worker process) serves schedule after
    /// schedule.
    fn reset<'a>(&'a mut self, lock_key: &'a str, resource_key: &'a str) -> LabFuture<'a, ()>;

    /// Makes sure the client's connection works: after Redis restarted, the
    /// first command on an old connection fails (and replaces it), and the
    /// lab would rather spend that on a ping than on a client's step. The
    /// default does nothing.
    fn ping(&mut self) -> LabFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}

impl<T: LabLock + ?Sized> LabLock for Box<T> {
    fn protocol(&self) -> &str {
        (**self).protocol()
    }
    fn try_acquire(&mut self) -> LabFuture<'_, LabAttempt> {
        (**self).try_acquire()
    }
    fn release(&mut self) -> LabFuture<'_, LabRelease> {
        (**self).release()
    }
    fn write<'a>(&'a mut self, data: &'a [u8]) -> LabFuture<'a, LabWrite> {
        (**self).write(data)
    }
    fn reset<'a>(&'a mut self, lock_key: &'a str, resource_key: &'a str) -> LabFuture<'a, ()> {
        (**self).reset(lock_key, resource_key)
    }
    fn ping(&mut self) -> LabFuture<'_, ()> {
        (**self).ping()
    }
}

/// The protocol names [`open`] knows, in this build: the four of
/// `locklab-impl`, and `rslock` when the `rslock` feature is on.
pub fn known_protocols() -> &'static [&'static str] {
    #[cfg(feature = "rslock")]
    {
        &["naive", "naive-unchecked", "token", "fenced", "rslock"]
    }
    #[cfg(not(feature = "rslock"))]
    {
        &["naive", "naive-unchecked", "token", "fenced"]
    }
}

/// Everything needed to open a lab client.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    /// The protocol's name (see [`known_protocols`]).
    pub protocol: String,
    /// The Redis URL of the lock (the proxy's, to inject message faults).
    pub redis: String,
    /// The Redis URL of the protected resource; `None`: the lock's.
    pub resource_redis: Option<String>,
    /// The lock key.
    pub lock_key: String,
    /// The resource key.
    pub resource_key: String,
    /// The lease of each grant.
    pub ttl: Duration,
    /// Connect and response timeouts of the client's connections.
    pub connect: ConnectOptions,
}

/// Why a client could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A protocol this build does not know.
    #[error("unknown protocol {name:?}: known protocols are {}{}", known_protocols().join(", "), rslock_hint(name))]
    UnknownProtocol {
        /// The name asked for.
        name: String,
    },
    /// A key, TTL or URL was refused, or Redis could not be reached.
    #[error("{0}")]
    Lock(#[from] locklab_impl::LockError),
}

fn rslock_hint(name: &str) -> &'static str {
    if name == "rslock" && !cfg!(feature = "rslock") {
        " (rslock needs a build with `--features rslock`)"
    } else {
        ""
    }
}

/// Opens the client `spec` describes: connects to Redis (failing within the
/// connect timeout if it cannot) and returns it ready to acquire.
pub async fn open(spec: &ClientSpec) -> Result<Box<dyn LabLock>, OpenError> {
    let lock_key = LockKey::new(spec.lock_key.as_str())?;
    let resource_key = ResourceKey::new(spec.resource_key.as_str())?;
    let ttl = Ttl::new(spec.ttl)?;
    #[cfg(feature = "rslock")]
    if spec.protocol == super::rslock::PROTOCOL {
        let client = super::rslock::RslockLock::open(spec, lock_key, resource_key, ttl).await?;
        return Ok(Box::new(client));
    }
    let protocol: Protocol = spec
        .protocol
        .parse()
        .map_err(|_| OpenError::UnknownProtocol {
            name: spec.protocol.clone(),
        })?;
    let conn = connect(&spec.redis, &spec.connect).await?;
    let resource_conn = match &spec.resource_redis {
        Some(url) if *url != spec.redis => connect(url, &spec.connect).await?,
        _ => conn.clone(),
    };
    Ok(Box::new(ImplLock::new(
        protocol,
        conn,
        resource_conn,
        lock_key,
        resource_key,
        ttl,
    )))
}

/// The resource an [`ImplLock`] writes to.
#[derive(Clone, Debug)]
enum Resource {
    Fenced(FencedResource),
    Plain(PlainResource),
}

impl Resource {
    fn new(protocol: Protocol, conn: Conn, key: ResourceKey) -> Self {
        if protocol == Protocol::Fenced {
            Resource::Fenced(FencedResource::new(conn, key))
        } else {
            Resource::Plain(PlainResource::new(conn, key))
        }
    }
}

/// [`LabLock`] for the four locks of `locklab-impl` ([`AnyLock`]): the
/// fenced lock writes to a [`FencedResource`] with its grant's fencing
/// token, the others to a [`PlainResource`].
#[derive(Debug)]
pub struct ImplLock {
    lock: AnyLock,
    resource: Resource,
    resource_conn: Conn,
    grant: Option<Grant>,
}

impl ImplLock {
    /// A client of `protocol` on `lock_key`, writing to `resource_key`
    /// over `resource_conn`.
    pub fn new(
        protocol: Protocol,
        conn: Conn,
        resource_conn: Conn,
        lock_key: LockKey,
        resource_key: ResourceKey,
        ttl: Ttl,
    ) -> Self {
        Self {
            lock: AnyLock::new(protocol, conn, lock_key, ttl),
            resource: Resource::new(protocol, resource_conn.clone(), resource_key),
            resource_conn,
            grant: None,
        }
    }

    /// The grant this client believes it holds.
    pub fn grant(&self) -> Option<&Grant> {
        self.grant.as_ref()
    }

    /// The lock it drives.
    pub fn lock(&self) -> &AnyLock {
        &self.lock
    }
}

impl LabLock for ImplLock {
    fn protocol(&self) -> &str {
        self.lock.protocol_name()
    }

    fn try_acquire(&mut self) -> LabFuture<'_, LabAttempt> {
        Box::pin(async move {
            match self.lock.try_acquire().await.map_err(|e| error_line(&e))? {
                Attempt::Busy => Ok(LabAttempt::Busy),
                Attempt::Granted(grant) => {
                    let attempt = if grant.server_granted() {
                        LabAttempt::Granted {
                            token: grant.token().map(|t| t.to_string()),
                            fence: grant.fence(),
                        }
                    } else {
                        LabAttempt::Believed
                    };
                    self.grant = Some(grant);
                    Ok(attempt)
                }
            }
        })
    }

    fn release(&mut self) -> LabFuture<'_, LabRelease> {
        Box::pin(async move {
            let grant = self
                .grant
                .take()
                .ok_or_else(|| "nothing to release: no grant held".to_owned())?;
            let outcome = self
                .lock
                .release(&grant)
                .await
                .map_err(|e| error_line(&e))?;
            Ok(match outcome {
                ReleaseOutcome::Released => LabRelease::Released,
                ReleaseOutcome::NotHeld => LabRelease::NotHeld,
                ReleaseOutcome::Deleted => LabRelease::Deleted,
                ReleaseOutcome::NothingToDelete => LabRelease::NothingToDelete,
            })
        })
    }

    fn write<'a>(&'a mut self, data: &'a [u8]) -> LabFuture<'a, LabWrite> {
        Box::pin(async move {
            let outcome = match &self.resource {
                Resource::Fenced(r) => {
                    let fence = self.grant.as_ref().and_then(Grant::fence).unwrap_or(0);
                    r.write(fence, data).await
                }
                Resource::Plain(r) => r.write(data).await,
            };
            Ok(lab_write(outcome.map_err(|e| error_line(&e))?))
        })
    }

    fn reset<'a>(&'a mut self, lock_key: &'a str, resource_key: &'a str) -> LabFuture<'a, ()> {
        Box::pin(async move {
            let lock_key = LockKey::new(lock_key).map_err(|e| error_line(&e))?;
            let resource_key = ResourceKey::new(resource_key).map_err(|e| error_line(&e))?;
            let protocol = self.lock.protocol();
            self.lock = AnyLock::new(
                protocol,
                self.lock.conn().clone(),
                lock_key,
                self.lock.ttl(),
            );
            self.resource = Resource::new(protocol, self.resource_conn.clone(), resource_key);
            self.grant = None;
            Ok(())
        })
    }

    fn ping(&mut self) -> LabFuture<'_, ()> {
        Box::pin(async move {
            // The first ping on a broken connection fails and replaces it.
            let conn = self.lock.conn();
            if conn.ping().await.is_ok() {
                return Ok(());
            }
            conn.ping().await.map_err(|e| error_line(&e))
        })
    }
}

pub(crate) fn lab_write(outcome: WriteOutcome) -> LabWrite {
    match outcome {
        WriteOutcome::Accepted => LabWrite::Accepted,
        WriteOutcome::Refused { highest } => LabWrite::Refused { highest },
    }
}

/// An error and its sources, on one line: `connection to Redis at … lost:
/// Connection reset by peer`.
pub fn error_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trait_is_dyn_compatible_and_send() {
        fn takes(_: &mut dyn LabLock) {}
        fn send<T: Send>() {}
        send::<Box<dyn LabLock>>();
        let _ = takes;
    }

    #[test]
    fn unknown_protocols_list_the_known_ones() {
        let e = OpenError::UnknownProtocol {
            name: "nope".into(),
        };
        let s = e.to_string();
        assert!(s.contains("naive-unchecked") && s.contains("fenced"), "{s}");
        assert!(!s.contains('\n'), "{s}");
    }

    #[test]
    fn error_lines_carry_their_sources() {
        let inner = std::io::Error::other("reset by peer");
        let outer = std::io::Error::other(OuterError(inner));
        let line = error_line(&outer);
        assert!(
            line.contains("outer") && line.contains("reset by peer"),
            "{line}"
        );
    }

    #[derive(Debug)]
    struct OuterError(std::io::Error);
    impl std::fmt::Display for OuterError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("outer\nfailure")
        }
    }
    impl std::error::Error for OuterError {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
}
