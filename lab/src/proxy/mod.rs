//! The lab's TCP proxy: it sits between one client and Redis and injects
//! the model's *message* faults on the wire.
//!
//! Its fault verbs come in pairs, as in turmoil:
//!
//! | verb | undo | what the bytes of that direction do meanwhile |
//! |---|---|---|
//! | [`hold`](Proxy::hold) | [`release`](Proxy::release) | buffered, in order; `release` delivers them |
//! | [`delay`](Proxy::delay) | [`undelay`](Proxy::undelay) | each chunk delivered that much after it arrived, in order |
//! | [`partition`](Proxy::partition) | [`repair`](Proxy::repair) | dropped, both directions, and every connection closed |
//!
//! The model's `delay` fault is played with `hold`: the lab holds
//! [`Direction::ToClient`], lets the client send its acquire, waits until
//! Redis has executed it (the key exists) and until the reply has reached
//! the proxy ([`wait_held`](Proxy::wait_held)), and later releases the reply
//! (`deliver`).
//!
//! # How it works
//!
//! [`Proxy::start`] binds `127.0.0.1:0` and accepts any number of client
//! connections (the `redis` crate reconnects after a broken connection);
//! each gets a fresh connection to the upstream. All of it runs as tasks of
//! the caller's tokio runtime. Each connection has two *pipes*, one per
//! direction: a reader puts every chunk it reads (up to 16 KiB) at the back
//! of the pipe's queue with its arrival time, and a writer takes chunks from
//! the front, one at a time, once the direction is not held and the chunk's
//! arrival time plus the direction's current delay has passed. One queue per
//! pipe and one writer per queue keep the order of the bytes, whatever the
//! verbs do. Undelaying delivers what waited at once, as releasing does.
//!
//! # Bounds
//!
//! - A pipe queues at most [`MAX_QUEUED_BYTES`] (plus one chunk): a reader
//!   that finds its queue full stops reading until the writer has made room,
//!   so a long hold turns into TCP back-pressure, never into unbounded
//!   memory or lost bytes. Each such stall is counted
//!   ([`DirectionStats::cap_stalls`]) and logged.
//! - At most [`MAX_CONNECTIONS`] connections at once; more are closed on
//!   accept and counted as refused.
//! - Connecting upstream takes at most [`UPSTREAM_CONNECT_TIMEOUT`].
//! - Dropping the [`Proxy`] aborts its accept task and every connection
//!   task; their sockets are closed.

mod relay;

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The most bytes one direction of one connection queues (held or
/// delayed) before the proxy stops reading from the sender.
pub const MAX_QUEUED_BYTES: usize = 16 << 20;

/// The most client connections open at once.
pub const MAX_CONNECTIONS: usize = 256;

/// How long connecting to the upstream may take.
pub const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A direction of traffic through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Requests: from the client to Redis.
    ToServer,
    /// Replies: from Redis to the client.
    ToClient,
}

impl Direction {
    /// Both directions.
    pub const BOTH: [Direction; 2] = [Direction::ToServer, Direction::ToClient];

    /// `to-server` or `to-client`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::ToServer => "to-server",
            Direction::ToClient => "to-client",
        }
    }

    fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one direction is doing, across all connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DirectionStats {
    /// Bytes read from the sender.
    pub received: u64,
    /// Bytes written to the receiver.
    pub forwarded: u64,
    /// Bytes thrown away: queued on a connection that was closed (by a
    /// partition, by either end, or by dropping the proxy) before they could
    /// be delivered.
    pub dropped: u64,
    /// Bytes queued now: held, delayed, or about to be written.
    pub held: usize,
    /// How often a reader stopped reading because its queue was full
    /// ([`MAX_QUEUED_BYTES`]).
    pub cap_stalls: u64,
    /// Whether the direction is held now.
    pub is_held: bool,
    /// The direction's delay now.
    pub delay: Duration,
}

/// Connections through the proxy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionStats {
    /// Client connections accepted and relayed.
    pub accepted: u64,
    /// Client connections closed at once: during a partition, or over
    /// [`MAX_CONNECTIONS`].
    pub refused: u64,
    /// Connections whose upstream could not be reached.
    pub upstream_failures: u64,
    /// Connections open now.
    pub active: usize,
}

/// What the writers of one direction must do now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Control {
    held: bool,
    delay: Duration,
}

/// One direction, across all connections.
struct Lane {
    control: watch::Sender<Control>,
    queued: AtomicUsize,
    received: AtomicU64,
    forwarded: AtomicU64,
    dropped: AtomicU64,
    cap_stalls: AtomicU64,
}

impl Lane {
    fn new() -> Self {
        Self {
            control: watch::Sender::new(Control::default()),
            queued: AtomicUsize::new(0),
            received: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            cap_stalls: AtomicU64::new(0),
        }
    }
}

/// State shared by the proxy handle and its tasks.
struct Shared {
    upstream: SocketAddr,
    lanes: [Lane; 2],
    partitioned: AtomicBool,
    /// Bumped to close every open connection (partition, drop).
    epoch: watch::Sender<u64>,
    /// Woken whenever bytes enter or leave a queue.
    queued_changed: Notify,
    accepted: AtomicU64,
    refused: AtomicU64,
    upstream_failures: AtomicU64,
    active: AtomicUsize,
}

impl Shared {
    fn lane(&self, dir: Direction) -> &Lane {
        &self.lanes[dir.index()]
    }

    /// Whether a connection born in epoch `born` may still move bytes.
    fn alive(&self, born: u64) -> bool {
        *self.epoch.borrow() == born
    }

    fn close_all(&self) {
        self.epoch.send_modify(|e| *e += 1);
    }
}

/// A TCP proxy between clients and one upstream (Redis), with fault verbs.
/// See the [module docs](self).
///
/// ```no_run
/// # async fn demo(redis: std::net::SocketAddr) -> std::io::Result<()> {
/// use locklab::proxy::{Direction, Proxy};
///
/// let proxy = Proxy::start(redis).await?;
/// // Point a client at proxy.url() instead of Redis, then:
/// proxy.hold(Direction::ToClient); // replies wait in the proxy
/// proxy.release(Direction::ToClient); // and are delivered, in order
/// # Ok(())
/// # }
/// ```
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .field("partitioned", &self.is_partitioned())
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// Binds `127.0.0.1:0` and starts relaying to `upstream`, on the tasks
    /// of the current tokio runtime (so it must be called inside one).
    pub async fn start(upstream: SocketAddr) -> io::Result<Proxy> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            lanes: [Lane::new(), Lane::new()],
            partitioned: AtomicBool::new(false),
            epoch: watch::Sender::new(0),
            queued_changed: Notify::new(),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            upstream_failures: AtomicU64::new(0),
            active: AtomicUsize::new(0),
        });
        let accept = tokio::spawn(relay::accept_loop(listener, shared.clone()));
        tracing::debug!(%addr, %upstream, "proxy started");
        Ok(Proxy {
            addr,
            shared,
            accept,
        })
    }

    /// The address clients connect to (127.0.0.1, a port of its own).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `redis://127.0.0.1:PORT/`, for a client to use instead of Redis's.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.addr.port())
    }

    /// The address relayed to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// Holds the bytes of `dir`: from now on they are buffered, in order,
    /// until [`release`](Self::release). Bytes already being written go on.
    pub fn hold(&self, dir: Direction) {
        self.control(dir, |c| c.held = true);
    }

    /// Ends a [`hold`](Self::hold): the buffered bytes are delivered in
    /// order (after any delay still in force). Harmless if not held.
    pub fn release(&self, dir: Direction) {
        self.control(dir, |c| c.held = false);
    }

    /// Delivers each chunk of `dir` `delay` after it reached the proxy,
    /// order kept. The delay applies to the chunks already queued too.
    pub fn delay(&self, dir: Direction, delay: Duration) {
        self.control(dir, |c| c.delay = delay);
    }

    /// Ends a [`delay`](Self::delay): queued chunks go at once.
    pub fn undelay(&self, dir: Direction) {
        self.delay(dir, Duration::ZERO);
    }

    /// Cuts the network: every open connection is closed (with a reset, so
    /// each client sees a broken connection at once), the bytes queued on
    /// them are dropped, and new connections are closed as soon as they are
    /// accepted, until [`repair`](Self::repair).
    pub fn partition(&self) {
        self.shared.partitioned.store(true, Ordering::SeqCst);
        self.shared.close_all();
        tracing::debug!(addr = %self.addr, "proxy partitioned");
    }

    /// Ends a [`partition`](Self::partition): new connections are relayed
    /// again. (The closed ones stay closed; clients reconnect.)
    pub fn repair(&self) {
        self.shared.partitioned.store(false, Ordering::SeqCst);
        tracing::debug!(addr = %self.addr, "proxy repaired");
    }

    /// Whether the proxy is partitioned.
    pub fn is_partitioned(&self) -> bool {
        self.shared.partitioned.load(Ordering::SeqCst)
    }

    /// Whether `dir` is held.
    pub fn is_held(&self, dir: Direction) -> bool {
        self.shared.lane(dir).control.borrow().held
    }

    /// Bytes of `dir` that reached the proxy and are not yet passed on:
    /// held, delayed, or about to be written. While `dir` is held, exactly
    /// the held bytes.
    pub fn held_bytes(&self, dir: Direction) -> usize {
        self.shared.lane(dir).queued.load(Ordering::SeqCst)
    }

    /// Waits until at least `at_least` bytes of `dir` are queued in the
    /// proxy (e.g. the reply of a held request has reached it), at most
    /// `timeout`. Returns whether they are.
    pub async fn wait_held(&self, dir: Direction, at_least: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let changed = self.shared.queued_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.held_bytes(dir) >= at_least {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return self.held_bytes(dir) >= at_least;
            }
        }
    }

    /// Bytes of `dir` delivered so far.
    pub fn forwarded_bytes(&self, dir: Direction) -> u64 {
        self.shared.lane(dir).forwarded.load(Ordering::SeqCst)
    }

    /// Everything counted about `dir`.
    pub fn stats(&self, dir: Direction) -> DirectionStats {
        let lane = self.shared.lane(dir);
        let control = *lane.control.borrow();
        DirectionStats {
            received: lane.received.load(Ordering::SeqCst),
            forwarded: lane.forwarded.load(Ordering::SeqCst),
            dropped: lane.dropped.load(Ordering::SeqCst),
            held: lane.queued.load(Ordering::SeqCst),
            cap_stalls: lane.cap_stalls.load(Ordering::SeqCst),
            is_held: control.held,
            delay: control.delay,
        }
    }

    /// The connections accepted, refused and open.
    pub fn connections(&self) -> ConnectionStats {
        let s = &self.shared;
        ConnectionStats {
            accepted: s.accepted.load(Ordering::SeqCst),
            refused: s.refused.load(Ordering::SeqCst),
            upstream_failures: s.upstream_failures.load(Ordering::SeqCst),
            active: s.active.load(Ordering::SeqCst),
        }
    }

    fn control(&self, dir: Direction, change: impl FnOnce(&mut Control)) {
        self.shared.lane(dir).control.send_modify(change);
        tracing::debug!(addr = %self.addr, %dir, control = ?*self.shared.lane(dir).control.borrow(), "proxy control");
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Aborting the accept task drops its set of connection tasks, which
        // aborts them; closing them first makes them go even sooner.
        self.shared.close_all();
        self.accept.abort();
    }
}
