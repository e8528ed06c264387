//! The proxy's tasks: the accept loop, and per connection two pipes (one per
//! direction), each a reader and a writer around one queue.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Direction, Shared, MAX_CONNECTIONS, MAX_QUEUED_BYTES, UPSTREAM_CONNECT_TIMEOUT};

/// The most bytes one read takes.
const CHUNK: usize = 16 * 1024;
/// The pause after a failed `accept` (e.g. out of file descriptors).
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(10);

/// Accepts connections until the proxy is dropped (which aborts this task
/// and, with its `JoinSet`, every connection task).
pub(super) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "proxy accept failed");
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        // Subscribe before looking at the partition flag: a partition that
        // comes between the two then still reaches this connection.
        let kill = shared.epoch.subscribe();
        if shared.partitioned.load(Ordering::SeqCst) || conns.len() >= MAX_CONNECTIONS {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            reset(stream);
            continue;
        }
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        conns.spawn(serve(stream, shared.clone(), kill));
    }
}

/// The error that ends a connection the proxy closed.
fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "closed by the proxy")
}

/// Closes `stream` with a reset (RST), so the peer sees a broken
/// connection at once rather than an orderly end.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Counts a connection as active while it lives (also when aborted).
struct Active<'a>(&'a Shared);

impl<'a> Active<'a> {
    fn new(shared: &'a Shared) -> Self {
        shared.active.fetch_add(1, Ordering::SeqCst);
        Active(shared)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Relays one client connection until both directions are done (each ends
/// when its sender is done or an end breaks, after delivering what it
/// queued), or the proxy closes every connection.
async fn serve(client: TcpStream, shared: Arc<Shared>, mut kill: watch::Receiver<u64>) {
    let _active = Active::new(&shared);
    // The epoch this connection lives in; a partition (or the proxy's drop)
    // ends it, and no byte moves once it has ended.
    let born = *kill.borrow_and_update();
    let connect = tokio::time::timeout(
        UPSTREAM_CONNECT_TIMEOUT,
        TcpStream::connect(shared.upstream),
    );
    let server = tokio::select! {
        r = connect => r,
        _ = kill.changed() => {
            reset(client);
            return;
        }
    };
    let mut server = match server {
        Ok(Ok(server)) => server,
        Ok(Err(e)) => {
            shared.upstream_failures.fetch_add(1, Ordering::SeqCst);
            tracing::warn!(upstream = %shared.upstream, error = %e, "proxy could not reach its upstream");
            reset(client);
            return;
        }
        Err(_) => {
            shared.upstream_failures.fetch_add(1, Ordering::SeqCst);
            tracing::warn!(upstream = %shared.upstream, "proxy upstream connect timed out");
            reset(client);
            return;
        }
    };
    let mut client = client;
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let up = Pipe::new(Direction::ToServer);
    let down = Pipe::new(Direction::ToClient);
    let killed = {
        let (mut client_r, mut client_w) = client.split();
        let (mut server_r, mut server_w) = server.split();
        // Each direction lives on its own: an end that breaks (a server
        // killed by SIGKILL resets its socket) stops what reads from or
        // writes to it, but bytes already queued the other way are still
        // delivered — a reply the server sent before it died reaches the
        // client, held or not, as it would over a real network.
        let relay = async {
            let (a, b, c, d) = tokio::join!(
                up.read_from(&mut client_r, &shared, born),
                up.write_to(&mut server_w, &shared, born),
                down.read_from(&mut server_r, &shared, born),
                down.write_to(&mut client_w, &shared, born),
            );
            a.and(b).and(c).and(d)
        };
        tokio::select! {
            r = relay => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "proxy connection ended by an error");
                }
                false
            }
            _ = kill.changed() => true,
        }
    };
    if killed || !shared.alive(born) {
        let _ = client.set_zero_linger();
        let _ = server.set_zero_linger();
    }
    for pipe in [&up, &down] {
        let left = pipe.clear();
        let lane = shared.lane(pipe.dir);
        lane.queued.fetch_sub(left, Ordering::SeqCst);
        lane.dropped.fetch_add(left as u64, Ordering::SeqCst);
    }
    shared.queued_changed.notify_waiters();
}

/// One direction of one connection: a FIFO of chunks between a reader and a
/// writer.
struct Pipe {
    dir: Direction,
    state: Mutex<PipeState>,
    /// Reader → writer: a chunk arrived, or the sender is done.
    data: Notify,
    /// Writer → reader: the queue shrank.
    room: Notify,
}

#[derive(Default)]
struct PipeState {
    chunks: VecDeque<(Instant, Vec<u8>)>,
    bytes: usize,
    finished: bool,
}

/// What the front of a pipe holds.
enum Front {
    /// Nothing queued; `finished` when the sender is done.
    Empty { finished: bool },
    /// A chunk that arrived then.
    Chunk { arrived: Instant },
}

impl Pipe {
    fn new(dir: Direction) -> Self {
        Self {
            dir,
            state: Mutex::new(PipeState::default()),
            data: Notify::new(),
            room: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, arrived: Instant, chunk: Vec<u8>) {
        {
            let mut s = self.state();
            s.bytes += chunk.len();
            s.chunks.push_back((arrived, chunk));
        }
        self.data.notify_one();
    }

    fn finish(&self) {
        self.state().finished = true;
        self.data.notify_one();
    }

    fn front(&self) -> Front {
        let s = self.state();
        match s.chunks.front() {
            Some((arrived, _)) => Front::Chunk { arrived: *arrived },
            None => Front::Empty {
                finished: s.finished,
            },
        }
    }

    fn pop(&self) -> Option<Vec<u8>> {
        let chunk = {
            let mut s = self.state();
            let (_, chunk) = s.chunks.pop_front()?;
            s.bytes -= chunk.len();
            chunk
        };
        self.room.notify_one();
        Some(chunk)
    }

    /// Empties the queue; returns how many bytes it held.
    fn clear(&self) -> usize {
        let mut s = self.state();
        s.chunks.clear();
        std::mem::take(&mut s.bytes)
    }

    /// Reads chunks from `src` into the queue until the sender is done.
    async fn read_from(
        &self,
        src: &mut ReadHalf<'_>,
        shared: &Shared,
        born: u64,
    ) -> io::Result<()> {
        let lane = shared.lane(self.dir);
        let mut buf = vec![0u8; CHUNK];
        loop {
            self.wait_for_room(shared).await;
            let n = match src.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    self.finish();
                    return Err(e);
                }
            };
            if n == 0 {
                self.finish();
                return Ok(());
            }
            lane.received.fetch_add(n as u64, Ordering::SeqCst);
            if !shared.alive(born) {
                lane.dropped.fetch_add(n as u64, Ordering::SeqCst);
                return Err(closed());
            }
            lane.queued.fetch_add(n, Ordering::SeqCst);
            self.push(Instant::now(), buf[..n].to_vec());
            shared.queued_changed.notify_waiters();
        }
    }

    /// Waits while the queue is at its cap.
    async fn wait_for_room(&self, shared: &Shared) {
        let mut stalled = false;
        loop {
            let room = self.room.notified();
            if self.state().bytes < MAX_QUEUED_BYTES {
                return;
            }
            if !stalled {
                stalled = true;
                shared
                    .lane(self.dir)
                    .cap_stalls
                    .fetch_add(1, Ordering::SeqCst);
                tracing::warn!(dir = %self.dir, cap = MAX_QUEUED_BYTES, "proxy queue full: reading paused until it drains");
            }
            room.await;
        }
    }

    /// Writes queued chunks to `dst`, in order, as the direction's hold and
    /// delay allow; shuts `dst` down once the sender is done and the queue
    /// is empty.
    async fn write_to(
        &self,
        dst: &mut WriteHalf<'_>,
        shared: &Shared,
        born: u64,
    ) -> io::Result<()> {
        let lane = shared.lane(self.dir);
        let mut control = lane.control.subscribe();
        loop {
            let ctl = *control.borrow_and_update();
            match self.front() {
                Front::Empty { finished: true } => {
                    let _ = dst.shutdown().await;
                    return Ok(());
                }
                Front::Empty { finished: false } => {
                    tokio::select! {
                        _ = self.data.notified() => {}
                        r = control.changed() => if r.is_err() { return Ok(()) },
                    }
                }
                Front::Chunk { .. } if ctl.held => {
                    if control.changed().await.is_err() {
                        return Ok(());
                    }
                }
                Front::Chunk { arrived } => {
                    let due = arrived + ctl.delay;
                    if Instant::now() < due {
                        tokio::select! {
                            _ = tokio::time::sleep_until(due) => {}
                            r = control.changed() => if r.is_err() { return Ok(()) },
                        }
                        continue;
                    }
                    if !shared.alive(born) {
                        return Err(closed());
                    }
                    let Some(chunk) = self.pop() else { continue };
                    let len = chunk.len();
                    lane.queued.fetch_sub(len, Ordering::SeqCst);
                    let written = dst.write_all(&chunk).await;
                    shared.queued_changed.notify_waiters();
                    if let Err(e) = written {
                        lane.dropped.fetch_add(len as u64, Ordering::SeqCst);
                        return Err(e);
                    }
                    lane.forwarded.fetch_add(len as u64, Ordering::SeqCst);
                }
            }
        }
    }
}
