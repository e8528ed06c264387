//! The sync rows of the bench's report, and the targets checked on
//! them.

use locklab_model::{Protocol, SyncCaps, Take};
use serde::Serialize;

use super::sync::SyncMeasured;
use crate::output::table::Table;

/// One sync run.
#[derive(Clone, Debug, Serialize)]
pub struct SyncRow {
    /// The protocol.
    pub protocol: String,
    /// Concurrent workers.
    pub workers: usize,
    /// Units the producer wrote.
    pub produced: u64,
    /// Units whose effect the sink holds exactly once.
    pub exactly_once: u64,
    /// `exactly_once` per second: the row's throughput.
    pub exactly_once_per_s: f64,
    /// Units the sink holds more than once.
    pub doubled: u64,
    /// Units lost: produced, never applied, no longer in Redis.
    pub lost: u64,
    /// Units still waiting in Redis when the run ended.
    pub waiting: u64,
    /// Claims lost to another worker, per unit processed (the CAS retries).
    pub conflicts_per_unit: f64,
    /// Processings a deduplicating sink refused.
    pub refused: u64,
    /// Worker rounds that found nothing to take.
    pub idle_rounds: u64,
    /// Produce → first application, median, µs.
    pub latency_p50_us: f64,
    /// Produce → first application, 99th percentile, µs.
    pub latency_p99_us: f64,
    /// `latency_p50_us` / RTT.
    pub latency_p50_rtt: f64,
    /// `latency_p99_us` / RTT.
    pub latency_p99_rtt: f64,
    /// A worker's mark → the next unit in the key, median, as a ratio of
    /// the RTT (key-based protocols; `null` for a Stream).
    pub refill_p50_rtt: Option<f64>,
    /// Failed rounds: a row with any is not judged.
    pub errors: u64,
}

fn ratio(us: f64, rtt: f64) -> f64 {
    if rtt > 0.0 {
        us / rtt
    } else {
        0.0
    }
}

impl SyncRow {
    /// The row of a run.
    pub fn new(protocol: &str, workers: usize, m: &SyncMeasured, rtt: f64) -> SyncRow {
        let secs = m.elapsed.as_secs_f64().max(1e-9);
        SyncRow {
            protocol: protocol.to_owned(),
            workers,
            produced: m.produced,
            exactly_once: m.exactly_once,
            exactly_once_per_s: m.exactly_once as f64 / secs,
            doubled: m.doubled,
            lost: m.lost,
            waiting: m.waiting,
            conflicts_per_unit: m.conflicts as f64 / m.processed.max(1) as f64,
            refused: m.refused,
            idle_rounds: m.idle_rounds,
            latency_p50_us: m.latency.p50_us,
            latency_p99_us: m.latency.p99_us,
            latency_p50_rtt: ratio(m.latency.p50_us, rtt),
            latency_p99_rtt: ratio(m.latency.p99_us, rtt),
            refill_p50_rtt: (m.refill.count > 0).then(|| ratio(m.refill.p50_us, rtt)),
            errors: m.errors,
        }
    }
}

/// One of the performance targets, checked.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    /// What it asks.
    pub target: String,
    /// What this run measured.
    pub measured: String,
    /// Met, missed, or `null` when the rows it needs were not run (or
    /// erred).
    pub met: Option<bool>,
}

fn row<'a>(rows: &'a [SyncRow], protocol: &str, workers: usize) -> Option<&'a SyncRow> {
    rows.iter()
        .find(|r| r.protocol == protocol && r.workers == workers && r.errors == 0)
}

/// The name of the sync protocol whose workers take units as `take`, with
/// a sink that does not deduplicate: the targets compare ways of taking.
fn taking(take: Take) -> &'static str {
    Protocol::all()
        .iter()
        .find(|p| {
            p.caps().sync
                == Some(SyncCaps {
                    take,
                    dedup_sink: false,
                })
        })
        .map_or("(none)", |p| p.name())
}

/// The targets of the sync issue: the Stream (consumer group) at 64
/// workers at least 10× the versioned claim's exactly-once units per
/// second, and the versioned claim with at most one retry per unit at 8
/// workers.
pub fn targets(rows: &[SyncRow]) -> Vec<Target> {
    let (stream, cas) = (taking(Take::ConsumerGroup), taking(Take::VersionedClaim));
    let speedup_target = format!("{stream} ≥ 10× {cas} units/s at 64 workers");
    let speedup = match (row(rows, stream, 64), row(rows, cas, 64)) {
        (Some(s), Some(c)) if c.exactly_once_per_s > 0.0 => {
            let x = s.exactly_once_per_s / c.exactly_once_per_s;
            Target {
                target: speedup_target,
                measured: format!(
                    "{:.0} vs {:.0} units/s: {x:.1}×",
                    s.exactly_once_per_s, c.exactly_once_per_s
                ),
                met: Some(x >= 10.0),
            }
        }
        _ => Target {
            target: speedup_target,
            measured: "not run".into(),
            met: None,
        },
    };
    let retries_target = format!("{cas} ≤ 1 retry per unit at 8 workers");
    let retries = match row(rows, cas, 8) {
        Some(c) => Target {
            target: retries_target,
            measured: format!("{:.2} retries per unit", c.conflicts_per_unit),
            met: Some(c.conflicts_per_unit <= 1.0),
        },
        None => Target {
            target: retries_target,
            measured: "not run".into(),
            met: None,
        },
    };
    vec![speedup, retries]
}

fn us(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}ms", v / 1000.0)
    } else {
        format!("{v:.0}µs")
    }
}

/// The sync table and the targets, for people.
pub fn render(rows: &[SyncRow], targets: &[Target]) -> String {
    let mut out = String::from(
        "\nsync: units of work, one producer, workers on one key or Stream (× = ratio to the RTT)\n",
    );
    let mut t = Table::new([
        "protocol",
        "workers",
        "exactly-once/s",
        "doubled",
        "lost",
        "retries/unit",
        "produce→processed p50",
        "p99",
        "refill p50",
        "idle rounds",
        "errors",
    ]);
    for r in rows {
        t.row([
            r.protocol.clone(),
            r.workers.to_string(),
            format!("{:.0}", r.exactly_once_per_s),
            r.doubled.to_string(),
            r.lost.to_string(),
            format!("{:.2}", r.conflicts_per_unit),
            format!("{} {:.1}×", us(r.latency_p50_us), r.latency_p50_rtt),
            format!("{} {:.1}×", us(r.latency_p99_us), r.latency_p99_rtt),
            r.refill_p50_rtt.map_or("-".into(), |x| format!("{x:.1}×")),
            r.idle_rounds.to_string(),
            r.errors.to_string(),
        ]);
    }
    out.push_str(&t.render());
    for target in targets {
        let word = match target.met {
            Some(true) => "met",
            Some(false) => "NOT MET",
            None => "not run",
        };
        out.push_str(&format!(
            "target: {} — {} ({word})\n",
            target.target, target.measured
        ));
    }
    out
}
