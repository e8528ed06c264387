//! [`LabClient`]: the one trait the lab drives every client through —
//! replays, chaos, the bench and worker processes — and *the* extension
//! point for bringing your own lock.
//!
//! A lab client is a client *with its state*: it remembers the grants it
//! believes it holds (one per level of a re-entrant lock), releases them,
//! and writes to the protected resource with the fencing token of its
//! grant if the lock issues one. So its operations take no grant: the
//! harness says "acquire", "write", "release", exactly as the model's steps
//! do ([`ClientOp`]), and the client answers in the lab's one outcome
//! vocabulary ([`Outcome`]), the words the model predicts in.
//!
//! A client implements the operations it has, one method each; every other
//! operation answers "unsupported" (a definite error) by default, and
//! [`LabClient::perform`] dispatches a [`Call`] once for all of them. What
//! becomes of a reply is a dimension of its own: a request whose reply is
//! lost ([`LabClient::lose`]) and the same request sent again
//! ([`LabClient::resend`]) are for the clients that can do them.
//!
//! # Why boxed futures
//!
//! The harness holds clients of different protocols side by side —
//! `locklab-impl`'s, the peer crates', worker processes, whatever a user
//! brings — chosen by name at run time, so it needs `Box<dyn LabClient>`.
//! An `async fn` in a trait is not dyn-compatible, so each method returns a
//! [`ClientFuture`], a pinned, boxed, `Send` future: one allocation per
//! operation, nothing next to a round trip to Redis.
//!
//! # Layout
//!
//! - [`spec`]: [`ClientSpec`], [`OpenError`] and the names a build knows.
//! - [`open`]: [`open()`], any client by name.
//! - [`impl_client`]: [`ImplClient`], the single-instance locks of
//!   `locklab-impl`.
//! - [`quorum`]: [`QuorumClient`], its Redlock on N masters.
//! - [`sync_client`]: [`SyncClient`], the sync protocols' workers and
//!   producer (the same trait: their operations are steps too).
//! - [`follow`]: [`connect_any`], a connection for either form of
//!   `--redis` (a Sentinel service's primary, followed).
//! - `rslock`, `redlock` (features of the same names): the peer crates.
//! - [`support`]: which operations a client cannot do at all
//!   ([`Support`]), so that a run skips what needs them.

pub mod follow;
pub mod impl_client;
pub mod open;
pub mod quorum;
#[cfg(feature = "redlock")]
pub mod redlock;
pub mod resource;
#[cfg(feature = "rslock")]
pub mod rslock;
pub mod spec;
pub mod support;
pub mod sync_client;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use locklab_model::{Call, ClientOp, NodeId, Outcome, Reply};
use serde::{Deserialize, Serialize};

pub use follow::connect_any;
pub use impl_client::ImplClient;
pub use open::open;
pub use quorum::QuorumClient;
pub use spec::{known_clients, ClientSpec, OpenError, Strategy};
pub use support::Support;
pub use sync_client::SyncClient;

/// Why an operation failed, on one line — and whether it surely did not
/// happen (`definite`: refused before anything reached the server) or may
/// have (a timeout, a lost connection: an acquire may have taken the lock).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct OpError {
    /// What went wrong.
    pub message: String,
    /// The operation surely did not happen.
    #[serde(default)]
    pub definite: bool,
    /// The server refused it for a reason of its own (out of memory,
    /// scripting disabled, a read-only replica, no permission, a key of
    /// another type): an environment failure, never a verdict.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refused: bool,
}

impl OpError {
    /// A failure that may or may not have taken effect.
    pub fn indefinite(message: impl Into<String>) -> Self {
        OpError {
            message: message.into(),
            definite: false,
            refused: false,
        }
    }

    /// A failure that surely did not take effect.
    pub fn definite(message: impl Into<String>) -> Self {
        OpError {
            message: message.into(),
            definite: true,
            refused: false,
        }
    }

    /// From a library error: definite when it was refused before sending.
    pub fn of(e: &locklab_impl::LockError) -> Self {
        use locklab_impl::LockError as E;
        let definite = matches!(
            e,
            E::InvalidKey { .. }
                | E::InvalidTtl { .. }
                | E::InvalidOption { .. }
                | E::InvalidUrl { .. }
                | E::Connect { .. }
                | E::WrongGrant { .. }
                | E::InvalidFence { .. }
                | E::UnknownProtocol { .. }
                | E::InvalidOwner { .. }
                | E::NotHeld { .. }
        );
        OpError {
            message: error_line(e),
            definite,
            // A lock's normal answers are never server errors (busy is nil,
            // not an error): one is the server refusing.
            refused: matches!(e, E::Redis(_)),
        }
    }
}

/// What every [`LabClient`] method returns.
pub type ClientFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, OpError>> + Send + 'a>>;

/// One effect the protected resource (a sync protocol's sink) applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The unit.
    pub unit: u32,
    /// The tag the worker gave it.
    pub tag: String,
}

/// What the lab reads of a run's end state through a client: evidence of
/// its own, independent of any reply a client read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    /// Every effect the sink applied, in order.
    pub applied: Vec<Applied>,
    /// The units Redis still holds for a worker to take.
    pub waiting: Vec<u32>,
}

/// The keys a client works on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keys {
    /// The lock key.
    pub lock: String,
    /// The protected resource's key.
    pub resource: String,
}

/// A client the lab can drive. See the [module docs](self).
pub trait LabClient: Send {
    /// The protocol's (or peer's) name.
    fn protocol(&self) -> &str;

    /// Performs one call: its operation, read at once, or its reply lost,
    /// or the lost request sent again. An acquire is one attempt (no
    /// waiting); a write carries `data`, and so does a processed unit's tag
    /// (other operations ignore it). An operation that makes no sense in
    /// the client's state (a release with nothing held) is a definite
    /// error, and so is one the client does not have. Provided: it calls
    /// the operation's own method. (A client that only forwards calls — a
    /// worker process's handle — implements this instead.)
    fn perform<'a>(&'a mut self, call: Call, data: &'a str) -> ClientFuture<'a, Outcome> {
        match (call.reply, call.op) {
            (Reply::Lost, op) => self.lose(op),
            (Reply::Resent, op) => self.resend(op),
            // A held reply is the lab's doing (its proxy holds the bytes):
            // the client performs the operation as it would any other.
            (Reply::Now | Reply::Held, op) => match op {
                ClientOp::Acquire => self.acquire(),
                ClientOp::Confirm => self.confirm(),
                ClientOp::Write => self.write(data),
                ClientOp::Release => self.release(),
                ClientOp::Ask { node } => self.ask(node),
                ClientOp::Conclude => self.conclude(),
                ClientOp::Produce => self.produce(),
                ClientOp::Read => self.read(),
                ClientOp::Claim => self.claim(),
                ClientOp::Process => self.process(data),
                ClientOp::Mark => self.mark(),
                ClientOp::Ack => self.ack(),
                ClientOp::Renew => self.renew(),
            },
        }
    }

    /// One acquire attempt (for a re-entrant lock, one level more).
    fn acquire(&mut self) -> ClientFuture<'_, Outcome> {
        refuse(self, ClientOp::Acquire)
    }

    /// `WAIT` for the grant the last acquire left pending.
    fn confirm(&mut self) -> ClientFuture<'_, Outcome> {
        refuse(self, ClientOp::Confirm)
    }

    /// Writes `data` to the protected resource, with the fencing token of
    /// the grant held if the lock issues one.
    fn write<'a>(&'a mut self, data: &'a str) -> ClientFuture<'a, Outcome> {
        let _ = data;
        refuse(self, ClientOp::Write)
    }

    /// Releases one level of the grant held.
    fn release(&mut self) -> ClientFuture<'_, Outcome> {
        refuse(self, ClientOp::Release)
    }

    /// One request of a quorum acquire, to master `node`.
    fn ask(&mut self, node: NodeId) -> ClientFuture<'_, Outcome> {
        refuse(self, ClientOp::Ask { node })
    }

    /// The end of a quorum acquire: hold, or release everywhere.
    fn conclude(&mut self) -> ClientFuture<'_, Outcome> {
        refuse(self, ClientOp::Conclude)
    }

    /// Writes the next unit of work.
    fn produce(&mut self) -> ClientFuture<'_, Outcome> {
        refuse(self, ClientOp::Produce)
    }

    /// Reads (takes) the next unit.
    fn read(&mut self) -> ClientFuture<'_, Outcome> {
        refuse(self, ClientOp::Read)
    }

    /// Claims a unit.
    fn claim(&mut self) -> ClientFuture<'_, Outcome> {
        refuse(self, ClientOp::Claim)
    }

    /// Applies the unit in hand to the sink, tagged `data`.
    fn process<'a>(&'a mut self, data: &'a str) -> ClientFuture<'a, Outcome> {
        let _ = data;
        refuse(self, ClientOp::Process)
    }

    /// Marks the processed unit done.
    fn mark(&mut self) -> ClientFuture<'_, Outcome> {
        refuse(self, ClientOp::Mark)
    }

    /// Acknowledges the processed unit.
    fn ack(&mut self) -> ClientFuture<'_, Outcome> {
        refuse(self, ClientOp::Ack)
    }

    /// One renewal of the lease held, by the holder's watchdog.
    fn renew(&mut self) -> ClientFuture<'_, Outcome> {
        refuse(self, ClientOp::Renew)
    }

    /// Whether it knows, before a write, that it lost its lock (a holder
    /// whose local lease deadline passed): it then does not write. A
    /// worker answers such a write `lost` instead of a token.
    fn knows_lost(&mut self) -> bool {
        false
    }

    /// Whether its lock renews its lease (it has a watchdog).
    fn renews(&self) -> bool {
        false
    }

    /// Whether it holds a lease its watchdog is to renew now: a worker's
    /// own renewal timer renews only then.
    fn has_lease_to_renew(&self) -> bool {
        false
    }

    /// The token of the key the last renewal extended, or tried to (the
    /// history's renewal event carries it); `None` when the client cannot
    /// tell.
    fn extended(&self) -> Option<String> {
        None
    }

    /// Runs one renewal on Redis and holds its reply unread (the `delay`
    /// fault on a watchdog): the holder goes on working meanwhile.
    fn send_renewal(&mut self) -> ClientFuture<'_, ()> {
        let held = Call {
            op: ClientOp::Renew,
            reply: Reply::Held,
        };
        let e = unsupported(self.protocol(), held);
        Box::pin(async move { Err(e) })
    }

    /// The watchdog reads the renewal reply [`LabClient::send_renewal`]
    /// held.
    fn deliver_renewal(&mut self) -> ClientFuture<'_, Outcome> {
        refuse(
            self,
            Call {
                op: ClientOp::Renew,
                reply: Reply::Held,
            },
        )
    }

    /// Sends `op` and drops its reply unread: the lab learns what Redis
    /// answered, the client's state nothing (it counts a timeout).
    fn lose(&mut self, op: ClientOp) -> ClientFuture<'_, Outcome> {
        refuse(
            self,
            Call {
                op,
                reply: Reply::Lost,
            },
        )
    }

    /// Sends the request of the last [`LabClient::lose`] again, as a
    /// library's retry does; this reply is read.
    fn resend(&mut self, op: ClientOp) -> ClientFuture<'_, Outcome> {
        refuse(
            self,
            Call {
                op,
                reply: Reply::Resent,
            },
        )
    }

    /// Takes the lock, waiting by the lock's own strategy for at most
    /// about `deadline`: [`Outcome::Granted`], or [`Outcome::Busy`] when it
    /// is still held then. The default polls [`LabClient::perform`] with a
    /// jittered backoff.
    fn acquire_within(&mut self, deadline: Duration) -> ClientFuture<'_, Outcome> {
        Box::pin(poll_acquire(self, deadline))
    }

    /// Forgets every grant and switches to new keys, so one client (and
    /// one worker process) serves schedule after schedule.
    fn reset<'a>(&'a mut self, keys: &'a Keys) -> ClientFuture<'a, ()>;

    /// Makes sure the client's connection works: after Redis restarted, the
    /// first command on an old connection fails (and replaces it), and the
    /// lab would rather spend that on a ping than on a client's step. The
    /// default does nothing.
    fn ping(&mut self) -> ClientFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    /// Reads what the protected resource holds and what Redis still holds
    /// for a client to take, at the end of a run; `None` for a client whose
    /// resource the history judges from replies alone (a lock). The
    /// default says `None`.
    fn inspect(&mut self) -> ClientFuture<'_, Option<Inspection>> {
        Box::pin(async { Ok(None) })
    }

    /// The fencing token a write would carry now: the latest grant's
    /// (`Some(0)` for a fencing lock holding none), or `None` for a lock
    /// that issues none (a plain write). A worker answers `write` with it
    /// and the lab makes the write (docs/worker-protocol.md). The default:
    /// `None`.
    fn write_fence(&self) -> Option<u64> {
        None
    }
}

/// Takes the lock by polling [`LabClient::perform`] with a jittered
/// backoff until it is granted or `deadline` has passed: the default of
/// [`LabClient::acquire_within`].
pub async fn poll_acquire<C: LabClient + ?Sized>(
    client: &mut C,
    deadline: Duration,
) -> Result<Outcome, OpError> {
    let backoff = locklab_impl::Backoff::default();
    let start = Instant::now();
    for attempt in 0..u32::MAX {
        let outcome = client.perform(Call::now(ClientOp::Acquire), "").await?;
        if !matches!(outcome, Outcome::Busy) {
            return Ok(outcome);
        }
        let left = deadline.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        tokio::time::sleep(backoff.delay(attempt).min(left)).await;
    }
    Ok(Outcome::Busy)
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

/// A definite error for an operation a client does not have.
pub(crate) fn unsupported(client: &str, call: impl Into<Call>) -> OpError {
    let call = call.into();
    OpError::definite(format!("{client} has no `{call}` operation"))
}

/// The default of every operation a client does not have: a definite
/// error, naming it.
pub(crate) fn refuse<'a, C: LabClient + ?Sized>(
    client: &C,
    call: impl Into<Call>,
) -> ClientFuture<'a, Outcome> {
    let e = unsupported(client.protocol(), call);
    Box::pin(async move { Err(e) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trait_is_dyn_compatible_and_send() {
        fn takes(_: &mut dyn LabClient) {}
        fn send<T: Send>() {}
        send::<Box<dyn LabClient>>();
        let _ = takes;
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
        assert!(!line.contains('\n'));
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
