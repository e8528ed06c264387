//! One measured run of a sync protocol: `workers` tokio tasks, each with a
//! worker of its own (its own connection) running the protocol's production
//! loop ([`SyncWorker::work_once`]) for a fixed time, fed by one producer;
//! at the end the lab reads the sink, and the figures are what it holds.
//!
//! **The producer is never the bottleneck.** It runs in the same process
//! and is woken by every worker's completion (a `Notify`), not by a timer:
//! for a Stream it keeps two units per worker, and four more, ahead of the
//! workers (appending them in one round trip, `produce_many`), so a
//! worker that finds nothing new is counted (`idle_rounds`) and shows it;
//! for a key it writes the next unit the moment a worker marks the last
//! one done, and the time from that mark to the next unit in the key is
//! measured (`refill`: a round trip or two). What limits a row is the
//! protocol: one unit in the key at a time, claims that conflict, or the
//! server. (So a Stream unit's produce→processed time includes its wait
//! behind that backlog: about two rounds of a worker, by Little's law.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use locklab_impl::sync::{SyncError, Work};
use locklab_impl::{Backoff, ConnectOptions, Ttl};
use locklab_model::Protocol;
use tokio::sync::Notify;

use super::latency::{Latency, Recording};
use crate::client::{ClientSpec, Keys, Strategy, SyncClient};

/// A worker stops after this many failed rounds in one run.
const MAX_ERRORS: u64 = 100;

/// How long a Stream worker's read waits for a new unit (`BLOCK`).
const READ_WAIT: Duration = Duration::from_millis(2);

/// The most units the producer appends in one round trip.
const BATCH: u32 = 128;

/// What one run is.
#[derive(Clone, Debug)]
pub struct SyncSpec {
    /// The protocol.
    pub protocol: Protocol,
    /// The server.
    pub url: String,
    /// Concurrent workers.
    pub workers: usize,
    /// How long they work.
    pub duration: Duration,
    /// The marker's and claim's lease, and a Stream's claim idle time.
    pub ttl: Ttl,
    /// The key the units pass through (fresh per run).
    pub key: String,
    /// The sink (fresh per run).
    pub sink: String,
    /// Connect and response timeouts.
    pub connect: ConnectOptions,
}

/// What one run measured.
#[derive(Clone, Debug)]
pub struct SyncMeasured {
    /// Units the producer wrote.
    pub produced: u64,
    /// Units the sink holds exactly once.
    pub exactly_once: u64,
    /// Units the sink holds more than once.
    pub doubled: u64,
    /// Units produced, never applied, and no longer in Redis: lost.
    pub lost: u64,
    /// Units still waiting in Redis at the end (neither lost nor done).
    pub waiting: u64,
    /// Rounds that processed a unit.
    pub processed: u64,
    /// Processings a deduplicating sink refused (applied before).
    pub refused: u64,
    /// Claims lost to another worker.
    pub conflicts: u64,
    /// Rounds that found nothing to take.
    pub idle_rounds: u64,
    /// From a unit's produce to its effect's first application.
    pub latency: Latency,
    /// From a worker's mark to the next unit in the key (key-based
    /// protocols: how long the producer leaves the key empty).
    pub refill: Latency,
    /// How long the workers ran.
    pub elapsed: Duration,
    /// Failed rounds.
    pub errors: u64,
    /// The first failure, in the server's or the client's words.
    pub first_error: Option<String>,
}

/// What the workers and the producer share.
#[derive(Default)]
struct Shared {
    produced_at: Mutex<HashMap<u32, Instant>>,
    first_applied: Mutex<HashMap<u32, ()>>,
    latency: Mutex<Recording>,
    refill: Mutex<Recording>,
    /// When the key was last freed by a mark, for the producer's refill.
    freed: Mutex<Option<Instant>>,
    finished: AtomicU64,
    processed: AtomicU64,
    refused: AtomicU64,
    conflicts: AtomicU64,
    idle: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    wake: Notify,
}

impl Shared {
    fn failed(&self, e: &SyncError) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first_error.lock() {
            first.get_or_insert_with(|| crate::client::error_line(e));
        }
    }
}

async fn open(spec: &SyncSpec) -> Result<SyncClient, String> {
    let client_spec = ClientSpec {
        lock: spec.protocol.name().to_owned(),
        redis: vec![spec.url.clone()],
        resource_redis: None,
        keys: Keys {
            lock: spec.key.clone(),
            resource: spec.sink.clone(),
        },
        ttl: spec.ttl.as_duration(),
        connect: spec.connect,
        strategy: Strategy::Default,
        redlock: None,
    };
    SyncClient::open(spec.protocol, &client_spec)
        .await
        .map_err(|e| crate::client::error_line(&e))
}

/// Runs `spec`: opens the producer and the workers, runs them together for
/// `spec.duration`, and reads the sink. Fails (one line) if a client cannot
/// be opened.
pub async fn measure_sync(spec: &SyncSpec) -> Result<SyncMeasured, String> {
    let mut producer = open(spec).await?;
    let mut workers = Vec::with_capacity(spec.workers);
    for _ in 0..spec.workers {
        workers.push(open(spec).await?);
    }
    let stream = spec.protocol.caps().sync.is_some_and(|caps| caps.stream());
    let shared = Arc::new(Shared::default());
    let start = tokio::time::Instant::now() + Duration::from_millis(20);
    let end = start + spec.duration;
    let mut tasks = Vec::with_capacity(spec.workers);
    for (i, worker) in workers.into_iter().enumerate() {
        let shared = Arc::clone(&shared);
        let tag = format!("c{}", i + 1);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(start).await;
            work(worker, &tag, &shared, end, stream).await;
        }));
    }
    // Two units per worker ahead: with one, a 64-worker Stream run had
    // workers find nothing new a few hundred times (the producer, one task
    // among 65, was late to refill); with two, none did.
    let ahead = 2 * spec.workers as u64 + 4;
    let feeder = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            tokio::time::sleep_until(start).await;
            produce(&mut producer, &shared, end, stream, ahead).await;
            producer
        })
    };
    // A round may overrun the end by one response timeout; anything still
    // running well after that is stopped.
    let stop_at = end + spec.connect.response_timeout() * 2 + Duration::from_secs(5);
    for task in &mut tasks {
        if tokio::time::timeout_at(stop_at, &mut *task).await.is_err() {
            task.abort();
        }
    }
    let elapsed = start.elapsed();
    shared.wake.notify_one();
    let producer = tokio::time::timeout_at(stop_at, feeder)
        .await
        .map_err(|_| "the producer did not stop".to_owned())?
        .map_err(|e| format!("the producer failed: {e}"))?;
    let produced = shared
        .produced_at
        .lock()
        .map(|p| p.len() as u64)
        .unwrap_or(0);
    let seen = producer
        .worker_ref()
        .inspect()
        .await
        .map_err(|e| format!("reading the sink: {}", crate::client::error_line(&e)))?;
    let mut counts: HashMap<u32, u64> = HashMap::new();
    for effect in &seen.applied {
        *counts.entry(effect.unit.0).or_default() += 1;
    }
    let waiting = seen.waiting.len() as u64;
    let applied = counts.len() as u64;
    let read = |m: &Mutex<Recording>| m.lock().map(|r| r.summary()).unwrap_or_default();
    let first_error = shared.first_error.lock().ok().and_then(|e| e.clone());
    Ok(SyncMeasured {
        produced,
        exactly_once: counts.values().filter(|n| **n == 1).count() as u64,
        doubled: counts.values().filter(|n| **n > 1).count() as u64,
        lost: produced.saturating_sub(applied + waiting),
        waiting,
        processed: shared.processed.load(Ordering::Relaxed),
        refused: shared.refused.load(Ordering::Relaxed),
        conflicts: shared.conflicts.load(Ordering::Relaxed),
        idle_rounds: shared.idle.load(Ordering::Relaxed),
        latency: read(&shared.latency),
        refill: read(&shared.refill),
        elapsed,
        errors: shared.errors.load(Ordering::Relaxed),
        first_error,
    })
}

/// The producer: a Stream is kept `ahead` units ahead of the workers; a key
/// is refilled as soon as a worker frees it. Woken by every completion, and
/// at least every millisecond.
async fn produce(
    producer: &mut SyncClient,
    shared: &Shared,
    end: tokio::time::Instant,
    stream: bool,
    ahead: u64,
) {
    let mut produced: u64 = 0;
    while tokio::time::Instant::now() < end && shared.errors.load(Ordering::Relaxed) < MAX_ERRORS {
        let finished = shared.finished.load(Ordering::Relaxed);
        let room = (finished + ahead).saturating_sub(produced);
        let batch = if stream {
            room.min(u64::from(BATCH)) as u32
        } else {
            1
        };
        if batch > 0 {
            match producer.worker().produce_many(batch).await {
                Ok(units) if !units.is_empty() => {
                    let now = Instant::now();
                    produced += units.len() as u64;
                    if let Ok(mut at) = shared.produced_at.lock() {
                        for u in &units {
                            at.insert(u.0, now);
                        }
                    }
                    if let (false, Ok(mut freed)) = (stream, shared.freed.lock()) {
                        if let (Some(t), Ok(mut refill)) = (freed.take(), shared.refill.lock()) {
                            refill.record(now.duration_since(t).as_micros() as u64);
                        }
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => shared.failed(&e),
            }
        }
        let _ = tokio::time::timeout(Duration::from_millis(1), shared.wake.notified()).await;
    }
}

/// The first idle wait's window is `IDLE_BASE · 2^IDLE_FIRST`: the
/// workers' polls must spread over several of tokio's 1 ms timer ticks
/// from the first idle round on, or every idle worker wakes on the same
/// tick, reads the same new unit, and all but one lose the claim (measured:
/// 3.8 conflicts per unit at 8 workers with a first window of 1 ms).
const IDLE_FIRST: u32 = 3;

const IDLE_BASE: Duration = Duration::from_millis(1);

/// One worker: the protocol's production loop until the end of the run. A
/// worker that finds nothing in a key waits with jittered backoff (the key
/// has no blocking read; full jitter over a window that doubles from 8 ms
/// to 16 ms); a Stream worker's read waits for a new unit.
async fn work(
    mut client: SyncClient,
    tag: &str,
    shared: &Shared,
    end: tokio::time::Instant,
    stream: bool,
) {
    let idle_backoff = Backoff::new(IDLE_BASE, IDLE_BASE * 16).expect("a valid backoff");
    let wait = if stream { READ_WAIT } else { Duration::ZERO };
    let mut idle_in_a_row = 0;
    while tokio::time::Instant::now() < end && shared.errors.load(Ordering::Relaxed) < MAX_ERRORS {
        match client.worker().work_once(tag, wait).await {
            Ok(Work::Done {
                applied,
                marked,
                conflicts,
            }) => {
                let now = Instant::now();
                idle_in_a_row = 0;
                shared
                    .conflicts
                    .fetch_add(u64::from(conflicts), Ordering::Relaxed);
                shared.processed.fetch_add(1, Ordering::Relaxed);
                if applied.applied {
                    let first = shared
                        .first_applied
                        .lock()
                        .map(|mut f| f.insert(applied.unit.0, ()).is_none())
                        .unwrap_or(false);
                    let produced = shared
                        .produced_at
                        .lock()
                        .ok()
                        .and_then(|p| p.get(&applied.unit.0).copied());
                    if let (true, Some(at), Ok(mut latency)) =
                        (first, produced, shared.latency.lock())
                    {
                        latency.record(now.duration_since(at).as_micros() as u64);
                    }
                } else {
                    shared.refused.fetch_add(1, Ordering::Relaxed);
                }
                if marked && !stream {
                    if let Ok(mut freed) = shared.freed.lock() {
                        *freed = Some(now);
                    }
                }
                shared.finished.fetch_add(1, Ordering::Relaxed);
                shared.wake.notify_one();
            }
            Ok(Work::Idle { conflicts }) => {
                shared
                    .conflicts
                    .fetch_add(u64::from(conflicts), Ordering::Relaxed);
                shared.idle.fetch_add(1, Ordering::Relaxed);
                if !stream {
                    tokio::time::sleep(idle_backoff.delay(IDLE_FIRST + idle_in_a_row)).await;
                    idle_in_a_row = (idle_in_a_row + 1).min(4);
                }
            }
            Ok(Work::Contended { conflicts }) => {
                // Every claim of the round lost (the worker backed off
                // between them): another worker has the unit.
                shared
                    .conflicts
                    .fetch_add(u64::from(conflicts), Ordering::Relaxed);
            }
            Err(e) => {
                shared.failed(&e);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}
