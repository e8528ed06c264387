//! One measured run: `clients` tokio tasks, each with its own client of one
//! variant, acquiring and releasing one key as fast as they can for a fixed
//! time, every operation recorded in one history.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use locklab_impl::{ConnectOptions, Ttl};
use locklab_model::{PropertyName, Verdict};

use locklab_model::{Call, ClientOp, Outcome};

use crate::client::{LabClient, OpError};
use crate::history::{self, History, Op, Recorder};

use super::analysis::Analysis;
use super::variant::Variant;

/// A client stops after this many failed operations in one run.
const MAX_ERRORS: u64 = 100;

/// A client stops after this many acquires in one run (far beyond what any
/// lock reaches in the longest run accepted).
const MAX_ACQUIRES: u64 = 50_000_000;

/// What one run is.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// The variant.
    pub variant: Variant,
    /// One URL per master.
    pub urls: Vec<String>,
    /// Concurrent clients.
    pub clients: usize,
    /// How long they contend.
    pub duration: Duration,
    /// The lease of each grant.
    pub ttl: Ttl,
    /// The lock key (fresh per run).
    pub key: String,
    /// Connect and response timeouts.
    pub connect: ConnectOptions,
}

/// What one run measured.
#[derive(Clone, Debug)]
pub struct Measured {
    /// The figures.
    pub analysis: Analysis,
    /// The history checker's verdict on mutual exclusion.
    pub mutual_exclusion: Verdict,
    /// How long the clients ran, from the common start to the last one's
    /// end.
    pub elapsed: Duration,
    /// How many events the history has.
    pub events: usize,
    /// How long the history checker took.
    pub checked_in: Duration,
    /// The first failure the clients met, in the server's or the client's
    /// words.
    pub first_error: Option<String>,
}

/// The clients' names: `c1`, `c2`, …
pub fn client_names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("c{i}")).collect()
}

type Shared = Arc<Mutex<Recorder>>;

fn invoke(rec: &Shared, client: &str, op: Op) -> usize {
    rec.lock()
        .map(|mut r| r.invoke(client, op))
        .unwrap_or(usize::MAX)
}

fn complete(rec: &Shared, index: usize, result: Result<Outcome, OpError>) {
    if let Ok(mut r) = rec.lock() {
        r.complete(index, result);
    }
}

/// Runs `spec`: opens the clients, starts them together, lets them contend
/// for `spec.duration`, and reads the history. Fails (one line) if a client
/// cannot be opened.
pub async fn measure(spec: &RunSpec) -> Result<Measured, String> {
    let mut locks = Vec::with_capacity(spec.clients);
    for _ in 0..spec.clients {
        locks.push(
            spec.variant
                .open(&spec.urls, &spec.key, spec.ttl, &spec.connect)
                .await?,
        );
    }
    let names = client_names(spec.clients);
    let recorder: Shared = Arc::new(Mutex::new(Recorder::new()));
    let start = tokio::time::Instant::now() + Duration::from_millis(20);
    let end = start + spec.duration;
    let mut tasks = Vec::with_capacity(spec.clients);
    for (lock, name) in locks.into_iter().zip(&names) {
        let (rec, name) = (recorder.clone(), name.clone());
        let reenters = spec.variant.reenters();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(start).await;
            client_loop(lock, &name, &rec, end, reenters).await
        }));
    }
    // A waiter may overrun the end by one poll and one response timeout;
    // anything still running well after that is stopped.
    let grace = spec.connect.response_timeout() * 2 + Duration::from_secs(5);
    let stop_at = end + grace;
    for task in &mut tasks {
        if tokio::time::timeout_at(stop_at, &mut *task).await.is_err() {
            task.abort();
        }
    }
    let elapsed = start.elapsed();
    let history = match Arc::try_unwrap(recorder) {
        Ok(m) => m.into_inner().map(Recorder::finish).unwrap_or_default(),
        Err(shared) => shared
            .lock()
            .map(|r| History {
                events: r.events().to_vec(),
            })
            .unwrap_or_default(),
    };
    let checked = Instant::now();
    let verdict = history::finding(&history, PropertyName::MutualExclusion).verdict;
    let checked_in = checked.elapsed();
    let first_error = history
        .events
        .iter()
        .find_map(|e| e.error.as_ref().map(|e| e.message.clone()));
    Ok(Measured {
        first_error,
        analysis: Analysis::of(&history, &names),
        mutual_exclusion: verdict,
        elapsed,
        events: history.events.len(),
        checked_in,
    })
}

/// One client: acquire (waiting by the variant's own strategy), re-enter
/// once if the lock is re-entrant, release as many times, again, until the
/// end of the run.
async fn client_loop(
    mut lock: Box<dyn LabClient>,
    name: &str,
    rec: &Shared,
    end: tokio::time::Instant,
    reenters: bool,
) {
    let mut errors = 0;
    for _ in 0..MAX_ACQUIRES {
        let now = tokio::time::Instant::now();
        if now >= end || errors >= MAX_ERRORS {
            break;
        }
        let at = invoke(rec, name, Op::call(ClientOp::Acquire));
        let result = lock.acquire_within(end - now).await;
        let held = match &result {
            Ok(o) if o.gives_belief() => 1,
            Ok(_) => {
                complete(rec, at, result);
                break;
            }
            Err(_) => {
                errors += 1;
                complete(rec, at, result);
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        complete(rec, at, result);
        let mut levels = held;
        if reenters {
            let at = invoke(rec, name, Op::call(ClientOp::Acquire));
            let again = lock.perform(Call::now(ClientOp::Acquire), "").await;
            if again.as_ref().is_ok_and(Outcome::gives_belief) {
                levels += 1;
            } else if again.is_err() {
                errors += 1;
            }
            complete(rec, at, again);
        }
        for _ in 0..levels {
            let at = invoke(rec, name, Op::call(ClientOp::Release));
            let released = lock.perform(Call::now(ClientOp::Release), "").await;
            if released.is_err() {
                errors += 1;
            }
            complete(rec, at, released);
        }
    }
}
