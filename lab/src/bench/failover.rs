//! What a failover costs the lock's users (`locklab bench --failovers N`):
//! clients contend for one lock on the lab's Sentinel set — a primary and
//! one replica, replicating as it does, no lag forced — through the
//! Sentinel URL, as production clients would; the primary is killed
//! (SIGKILL) and Sentinel fails over on its own. Per failover:
//!
//! - the time from the primary's death to every Sentinel naming the new
//!   primary, and to the first grant a client gets from it;
//! - whether the grant held at the moment of the kill survived: its
//!   holder's release, once it reaches the new primary, finds its token
//!   there (`released`) or not (`not-held`: the replica never received
//!   the key — the lock was lost);
//! - how many times two clients believed they held the lock at once (the
//!   history checker's mutual-exclusion overlaps).
//!
//! Each failover starts a set of its own, so every one starts alike.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use locklab_impl::{ConnectOptions, LockError, LockKey, ReleaseOutcome, Ttl, WaitingLock};
use locklab_model::{ClientOp, Outcome};
use serde::Serialize;

use super::run::client_names;
use super::variant::Variant;
use crate::client::{connect_any, OpError};
use crate::history::{Event, History, Op, Recorder};
use crate::output::Status;
use crate::output::{print_command_json, table::Table};
use crate::sentinel::{SentinelOptions, SentinelSet};

/// Contention before the primary is killed.
const WARM_UP: Duration = Duration::from_millis(500);
/// How long the clients go on after the first grant on the new primary.
const AFTER: Duration = Duration::from_millis(500);
/// How long the bench waits for a first grant after the kill.
pub const DEADLINE: Duration = Duration::from_secs(15);
/// How long a client holds the lock (a short critical section).
const HOLD: Duration = Duration::from_millis(5);
/// A client's wait after a failed operation (the primary is down).
const BACKOFF: Duration = Duration::from_millis(10);
/// The most attempts to release one grant while the primary moves.
const RELEASE_TRIES: usize = 3000;

/// What one failover cost.
#[derive(Clone, Debug, Serialize)]
pub struct FailoverCost {
    /// The lock.
    pub variant: String,
    /// Which failover (1-based).
    pub run: usize,
    /// Contending clients.
    pub clients: usize,
    /// From the kill to every Sentinel naming the new primary, ms.
    pub agreed_ms: f64,
    /// From the kill to the first grant a client read from the new
    /// primary, ms (`None`: none within [`DEADLINE`]).
    pub first_grant_ms: Option<f64>,
    /// Replicas the set started with.
    pub replicas: usize,
    /// A client held the lock when the primary was killed.
    pub held_at_kill: bool,
    /// That grant was not on the new primary (its holder's release found
    /// no token of its own there).
    pub lost: bool,
    /// Pairs of clients that believed they held the lock at once.
    pub doubled: usize,
    /// Grants in the whole run.
    pub grants: usize,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    failovers: &'a [FailoverCost],
}

/// What the failover bench runs: its own plan, which `locklab bench`
/// makes from its flags, so that this module does not import the command.
#[derive(Clone, Debug)]
pub struct FailoverPlan {
    /// The lock variants to measure (peers are skipped: a peer crate
    /// cannot follow a Sentinel failover).
    pub variants: Vec<Variant>,
    /// Contending clients per run.
    pub clients: usize,
    /// Replicas of the primary.
    pub replicas: usize,
    /// The lease.
    pub ttl: Ttl,
    /// Forced failovers per variant.
    pub failovers: usize,
    /// JSON on stdout instead of a table.
    pub json: bool,
}

/// Runs the failovers the plan asks for, for each of its variants.
pub fn run(plan: &FailoverPlan, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Status> {
    let clients = plan.clients;
    let mut costs = Vec::new();
    for variant in plan.variants.iter().filter(|v| !v.is_peer()) {
        for n in 1..=plan.failovers {
            let cost = runtime
                .block_on(one(variant, n, clients, plan))
                .with_context(|| format!("failover {n} of {variant}"))?;
            costs.push(cost);
        }
    }
    if plan.json {
        print_command_json("bench", &JsonReport { failovers: &costs })?;
    } else {
        print!("{}", render(&costs));
    }
    Ok(Status::Agrees)
}

async fn one(
    variant: &Variant,
    n: usize,
    clients: usize,
    plan: &FailoverPlan,
) -> anyhow::Result<FailoverCost> {
    let mut set = SentinelSet::start(&SentinelOptions {
        replicas: plan.replicas,
        ..SentinelOptions::default()
    })
    .await
    .map_err(|e| crate::output::Tailed::new(e.to_string(), e.log_tail()))?;
    let url = set.url();
    let options = ConnectOptions::default();
    let key = format!("locklab:failover-bench:{n}");
    let Variant::Impl { protocol, wait } = *variant else {
        anyhow::bail!("a peer crate cannot follow a Sentinel failover");
    };
    let mut locks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let conn = connect_any(&url, &options).await?;
        let lock_key = LockKey::new(key.as_str())?;
        locks.push(WaitingLock::new(protocol, conn, lock_key, plan.ttl, wait)?);
    }
    let origin = std::time::Instant::now();
    let rec = Arc::new(Mutex::new(Recorder::since(origin)));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (lock, name) in locks.into_iter().zip(client_names(clients)) {
        let (rec, stop) = (Arc::clone(&rec), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            contend(lock, &name, &rec, &stop).await
        }));
    }
    tokio::time::sleep(WARM_UP).await;
    let report = set
        .kill_primary(None)
        .await
        .map_err(|e| crate::output::Tailed::new(e.to_string(), e.log_tail()))?;
    let killed_at = u64::try_from(
        report
            .started_at
            .saturating_duration_since(origin)
            .as_micros(),
    )
    .unwrap_or(u64::MAX);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let first = loop {
        let first = snapshot(&rec)
            .events
            .iter()
            .filter(|e| e.start_us > killed_at && e.gives_belief())
            .filter_map(|e| e.end_us)
            .min();
        if first.is_some() || tokio::time::Instant::now() >= deadline {
            break first;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    tokio::time::sleep(AFTER).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
    }
    let history = snapshot(&rec);
    let (held_at_kill, lost) = held_at(&history, killed_at);
    let doubled = overlaps(&history);
    Ok(FailoverCost {
        variant: variant.to_string(),
        run: n,
        clients,
        replicas: plan.replicas,
        agreed_ms: report.agreed_after.as_secs_f64() * 1000.0,
        first_grant_ms: first.map(|at| at.saturating_sub(killed_at) as f64 / 1000.0),
        held_at_kill,
        lost,
        doubled,
        grants: history.events.iter().filter(|e| e.gives_belief()).count(),
    })
}

/// Acquire, hold briefly, release — until told to stop, as a service
/// would: an acquire that failed (the primary is gone) waits a moment and
/// tries again; a release that failed in a way worth retrying is sent
/// again, where the primary is now, until it gets an answer.
async fn contend(lock: WaitingLock, name: &str, rec: &Mutex<Recorder>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let at = invoke(rec, name, ClientOp::Acquire);
        let grant = match lock.acquire(Duration::from_millis(200)).await {
            Ok(grant) => grant,
            Err(LockError::NotAcquired { .. }) => {
                complete(rec, at, Ok(Outcome::Busy));
                continue;
            }
            Err(e) => {
                complete(rec, at, Err(OpError::of(&e)));
                tokio::time::sleep(BACKOFF).await;
                continue;
            }
        };
        let granted = Outcome::Granted {
            token: grant.token().map(|t| t.to_string()),
            fence: grant.fence(),
            count: grant.count(),
        };
        complete(rec, at, Ok(granted));
        tokio::time::sleep(HOLD).await;
        for _ in 0..RELEASE_TRIES {
            let at = invoke(rec, name, ClientOp::Release);
            match lock.release(&grant).await {
                Ok(outcome) => {
                    complete(rec, at, Ok(released(outcome)));
                    break;
                }
                Err(e) => {
                    let again = e.is_retryable();
                    complete(rec, at, Err(OpError::of(&e)));
                    if !again {
                        break;
                    }
                    // Where the primary is now (once the Sentinels agree).
                    let _ = lock.conn().follow().await;
                    tokio::time::sleep(BACKOFF).await;
                }
            }
        }
    }
}

fn released(outcome: ReleaseOutcome) -> Outcome {
    match outcome {
        ReleaseOutcome::Released => Outcome::Released,
        ReleaseOutcome::NotHeld => Outcome::NotHeld,
        ReleaseOutcome::Deleted => Outcome::Deleted,
        ReleaseOutcome::NothingToDelete => Outcome::NothingToDelete,
        ReleaseOutcome::StillHeld { count } => Outcome::StillHeld { count },
    }
}

fn invoke(rec: &Mutex<Recorder>, client: &str, op: ClientOp) -> usize {
    rec.lock()
        .map(|mut r| r.invoke(client, Op::call(op)))
        .unwrap_or(usize::MAX)
}

fn complete(rec: &Mutex<Recorder>, at: usize, result: Result<Outcome, OpError>) {
    if let Ok(mut r) = rec.lock() {
        r.complete(at, result);
    }
}

fn snapshot(rec: &Mutex<Recorder>) -> History {
    rec.lock()
        .map(|r| History {
            events: r.events().to_vec(),
        })
        .unwrap_or_default()
}

/// Whether a client held the lock at `at`, and whether that grant was lost:
/// its holder's first answered release after `at` found no token of its
/// own.
fn held_at(history: &History, at: u64) -> (bool, bool) {
    let events = &history.events;
    let Some(grant) = events
        .iter()
        .rposition(|e| e.gives_belief() && e.end_us.is_some_and(|end| end <= at))
    else {
        return (false, false);
    };
    let holder = &events[grant].client;
    let released_before = events[grant + 1..]
        .iter()
        .any(|e| released_by(e, holder, |end| end <= at));
    if released_before {
        return (false, false);
    }
    let lost = events[grant + 1..]
        .iter()
        .find(|e| released_by(e, holder, |_| true))
        .is_some_and(|e| e.outcome == Some(Outcome::NotHeld));
    (true, lost)
}

/// A release of `client`'s answered by Redis, ending when `when` says.
fn released_by(e: &Event, client: &str, when: impl Fn(u64) -> bool) -> bool {
    e.client == client
        && e.op == Op::call(ClientOp::Release)
        && e.outcome.is_some()
        && e.end_us.is_some_and(when)
}

/// Grants read while another client still believed it held the lock (a
/// client believes from the grant it read to the release it sends, as the
/// history checker counts).
fn overlaps(history: &History) -> usize {
    // (when, is a grant, client): a belief starts when its grant is read
    // and ends when its release is sent.
    let mut moments: Vec<(u64, bool, &str)> = history
        .events
        .iter()
        .filter_map(|e| {
            if e.gives_belief() {
                Some((e.end_us?, true, e.client.as_str()))
            } else if e.op == Op::call(ClientOp::Release) {
                Some((e.start_us, false, e.client.as_str()))
            } else {
                None
            }
        })
        .collect();
    moments.sort();
    let mut believing: Vec<&str> = Vec::new();
    let mut doubled = 0;
    for (_, grant, client) in moments {
        if grant {
            if believing.iter().any(|c| *c != client) {
                doubled += 1;
            }
            if !believing.contains(&client) {
                believing.push(client);
            }
        } else {
            believing.retain(|c| *c != client);
        }
    }
    doubled
}

fn render(costs: &[FailoverCost]) -> String {
    let mut out = String::from(
        "locklab bench --failovers — the primary killed while clients contend; Sentinel fails over on its own\n\n",
    );
    let mut table = Table::new([
        "lock",
        "failover",
        "replicas",
        "clients",
        "Sentinels agree",
        "first grant after the kill",
        "held at the kill",
        "lost",
        "doubled",
        "grants",
    ]);
    let ms = |v: f64| format!("{:.0} ms", v);
    for c in costs {
        table.row([
            c.variant.clone(),
            c.run.to_string(),
            c.replicas.to_string(),
            c.clients.to_string(),
            ms(c.agreed_ms),
            c.first_grant_ms
                .map_or(format!("none in {} s", DEADLINE.as_secs()), ms),
            if c.held_at_kill { "yes" } else { "no" }.to_owned(),
            if c.lost { "LOST" } else { "no" }.to_owned(),
            c.doubled.to_string(),
            c.grants.to_string(),
        ]);
    }
    out.push_str(&table.render());
    let mut variants: Vec<&str> = costs.iter().map(|c| c.variant.as_str()).collect();
    variants.dedup();
    for v in variants {
        let mine: Vec<&FailoverCost> = costs.iter().filter(|c| c.variant == v).collect();
        let mut firsts: Vec<f64> = mine.iter().filter_map(|c| c.first_grant_ms).collect();
        firsts.sort_by(f64::total_cmp);
        let median = firsts.get(firsts.len() / 2).copied();
        let max = firsts.last().copied();
        out.push_str(&format!(
            "\n{v}: first grant after the kill median {}, max {}; {} of {} failovers lost the grant held; {} doubled grants\n",
            median.map_or("-".into(), ms),
            max.map_or("-".into(), ms),
            mine.iter().filter(|c| c.lost).count(),
            mine.len(),
            mine.iter().map(|c| c.doubled).sum::<usize>(),
        ));
    }
    out
}
