//! The bench's report: one row per run, as a table for people and as JSON.

use locklab_model::Verdict;
use serde::Serialize;

use crate::output::table::Table;

use super::latency::Latency;
use super::run::Measured;
use super::variant::Variant;

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The median `PING` round trip, µs: the yardstick of every `*_rtt`.
    pub rtt_us: f64,
    /// The 99th percentile of the `PING`s, µs.
    pub rtt_p99_us: f64,
    /// `embedded` (servers the lab started) or `given` (`--redis`).
    pub servers: &'static str,
    /// The lease of every grant, ms.
    pub ttl_ms: u64,
    /// How long each run contended, s.
    pub duration_secs: f64,
    /// Whether this was a `--quick` run.
    pub quick: bool,
    /// One client, acquire+release pairs: the latencies.
    pub uncontended: Vec<Row>,
    /// Every run, by client count.
    pub contended: Vec<Row>,
    /// Rows that should have kept mutual exclusion and did not.
    pub broken: Vec<String>,
    /// Rows whose clients met errors: their figures are not judged.
    pub erred: Vec<String>,
    /// Rows whose mutual exclusion was not judged, and why (errors, or no
    /// grant at all to judge).
    pub not_judged: Vec<String>,
    /// The sync protocols' runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sync: Vec<super::sync_report::SyncRow>,
    /// The sync issue's targets, checked on those runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sync_targets: Vec<super::sync_report::Target>,
}

/// Acquire and release latencies (uncontended rows only).
#[derive(Clone, Debug, Serialize)]
pub struct Latencies {
    /// Acquire median, µs.
    pub acquire_p50_us: f64,
    /// Acquire 99th percentile, µs.
    pub acquire_p99_us: f64,
    /// Acquire 99.9th percentile, µs.
    pub acquire_p999_us: f64,
    /// Release median, µs.
    pub release_p50_us: f64,
    /// Release 99th percentile, µs.
    pub release_p99_us: f64,
    /// Release 99.9th percentile, µs.
    pub release_p999_us: f64,
    /// `acquire_p50_us` / `rtt_us`.
    pub acquire_p50_rtt: f64,
    /// `acquire_p99_us` / `rtt_us`.
    pub acquire_p99_rtt: f64,
    /// `release_p50_us` / `rtt_us`.
    pub release_p50_rtt: f64,
    /// Re-entry median, µs (a re-entrant lock's acquire by its holder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reentry_p50_us: Option<f64>,
    /// `reentry_p50_us` / `rtt_us`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reentry_p50_rtt: Option<f64>,
    /// The acquire latency at the percentiles of [`PERCENTILES`], µs (for
    /// the distribution plot).
    pub acquire_percentiles_us: Vec<f64>,
}

/// The percentiles of the latency-distribution plot.
pub const PERCENTILES: [f64; 7] = [0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999];

/// One run.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// `token/fifo`, `rslock/retry=200ms`.
    pub variant: String,
    /// The protocol's or the peer's name.
    pub protocol: String,
    /// How it waits: `poll`, `notify`, `fifo`, `retry=…`.
    pub wait: String,
    /// Whether it is a peer crate.
    pub peer: bool,
    /// Concurrent clients on the one key.
    pub clients: usize,
    /// Redis masters (quorum N/2+1 for the Redlock peers).
    pub masters: usize,
    /// Grants in the run.
    pub grants: u64,
    /// Grants per second.
    pub grants_per_s: f64,
    /// Most grants of one client over the fewest of another, among clients
    /// with any (`null`: nobody got one).
    pub fairness_max_over_min: Option<f64>,
    /// Clients with no grant at all.
    pub starved: u64,
    /// Release → next holder's grant, median, µs.
    pub handoff_p50_us: f64,
    /// Release → next holder's grant, 99th percentile, µs.
    pub handoff_p99_us: f64,
    /// `handoff_p50_us` / RTT.
    pub handoff_p50_rtt: f64,
    /// `handoff_p99_us` / RTT.
    pub handoff_p99_rtt: f64,
    /// Grants that began while another client believed it held the lock.
    pub overlaps: u64,
    /// The history checker's verdict on `mutual-exclusion`: `not judged`
    /// when the run met errors or granted nothing.
    pub mutual_exclusion: Verdict,
    /// Grants the history checker judged (0: the row is not judged).
    pub judged_grants: u64,
    /// Whether this variant must keep mutual exclusion in a fault-free run.
    pub should_keep_mutual_exclusion: bool,
    /// Operations that failed.
    pub errors: u64,
    /// Events in the history.
    pub events: usize,
    /// The latencies (uncontended rows).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub latencies: Option<Latencies>,
}

fn ratio(us: f64, rtt: f64) -> f64 {
    if rtt > 0.0 {
        us / rtt
    } else {
        0.0
    }
}

impl Row {
    /// The row of a run.
    pub fn new(
        variant: &Variant,
        clients: usize,
        masters: usize,
        m: &Measured,
        rtt: f64,
        latencies: bool,
    ) -> Row {
        let a = &m.analysis;
        let secs = m.elapsed.as_secs_f64().max(1e-9);
        let handoff = a.handoffs.summary();
        let latencies = latencies.then(|| {
            let (acq, rel): (Latency, Latency) = (a.acquire.summary(), a.release.summary());
            Latencies {
                acquire_p50_us: acq.p50_us,
                acquire_p99_us: acq.p99_us,
                acquire_p999_us: acq.p999_us,
                release_p50_us: rel.p50_us,
                release_p99_us: rel.p99_us,
                release_p999_us: rel.p999_us,
                acquire_p50_rtt: ratio(acq.p50_us, rtt),
                acquire_p99_rtt: ratio(acq.p99_us, rtt),
                release_p50_rtt: ratio(rel.p50_us, rtt),
                reentry_p50_us: (!a.reentry.is_empty()).then(|| a.reentry.quantile(0.5)),
                reentry_p50_rtt: (!a.reentry.is_empty())
                    .then(|| ratio(a.reentry.quantile(0.5), rtt)),
                acquire_percentiles_us: PERCENTILES
                    .iter()
                    .map(|q| a.acquire.quantile(*q))
                    .collect(),
            }
        });
        Row {
            variant: variant.to_string(),
            protocol: variant.name().to_owned(),
            wait: variant.wait_name(),
            peer: variant.is_peer(),
            clients,
            masters,
            grants: a.grants,
            grants_per_s: a.grants as f64 / secs,
            fairness_max_over_min: a.fairness(),
            starved: a.starved(),
            handoff_p50_us: handoff.p50_us,
            handoff_p99_us: handoff.p99_us,
            handoff_p50_rtt: ratio(handoff.p50_us, rtt),
            handoff_p99_rtt: ratio(handoff.p99_us, rtt),
            overlaps: a.overlaps,
            mutual_exclusion: if a.errors > 0 || a.grants == 0 {
                Verdict::NotJudged
            } else {
                m.mutual_exclusion
            },
            judged_grants: if a.errors > 0 { 0 } else { a.grants },
            should_keep_mutual_exclusion: variant.keeps_mutual_exclusion(),
            errors: a.errors,
            events: m.events,
            latencies,
        }
    }

    /// Why the row's mutual exclusion was not judged, if it was not.
    pub fn not_judged(&self) -> Option<String> {
        match (self.errors, self.grants) {
            (0, 0) => Some(format!("{}: no grant to judge", self.label())),
            (0, _) => None,
            (e, _) => Some(format!("{}: {e} errors", self.label())),
        }
    }

    /// Whether this row broke mutual exclusion although it should keep it.
    pub fn is_broken(&self) -> bool {
        self.should_keep_mutual_exclusion
            && (self.overlaps > 0 || self.mutual_exclusion == Verdict::Violated)
    }

    /// `variant, N masters, C clients`, for messages.
    pub fn label(&self) -> String {
        format!(
            "{} ({} master{}, {} client{})",
            self.variant,
            self.masters,
            if self.masters == 1 { "" } else { "s" },
            self.clients,
            if self.clients == 1 { "" } else { "s" }
        )
    }
}

fn us(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}ms", v / 1000.0)
    } else {
        format!("{v:.0}µs")
    }
}

fn x(v: f64) -> String {
    format!("{v:.2}×")
}

/// A hand-off figure; `-` where there was none (one client hands the lock
/// to nobody).
fn handoff(us_value: f64, ratio: f64) -> String {
    if us_value == 0.0 {
        "-".to_owned()
    } else {
        format!("{} {}", us(us_value), x(ratio))
    }
}

fn me(row: &Row) -> String {
    match (row.errors, row.grants, row.overlaps, row.mutual_exclusion) {
        (e, _, _, _) if e > 0 => format!("not judged ({e} errors)"),
        (_, 0, _, _) => "not judged (no grant)".into(),
        (_, g, 0, Verdict::Holds) => format!("holds ({g} grants)"),
        (_, _, n, v) => format!("{} ({n} overlaps)", v.word()),
    }
}

impl Report {
    /// The report as tables.
    pub fn render(&self) -> String {
        let mut out = format!(
            "locklab bench — RTT (PING) p50 {} p99 {}; lease {} ms; {} s per run{}; {} servers\n\n",
            us(self.rtt_us),
            us(self.rtt_p99_us),
            self.ttl_ms,
            self.duration_secs,
            if self.quick { " (quick)" } else { "" },
            self.servers,
        );
        out.push_str("uncontended: one client, acquire+release pairs (× = ratio to the RTT)\n");
        let mut t = Table::new([
            "variant",
            "masters",
            "acquire p50",
            "p99",
            "p999",
            "re-entry p50",
            "release p50",
            "p99",
            "p999",
            "mutual-exclusion",
        ]);
        for r in &self.uncontended {
            let Some(l) = &r.latencies else { continue };
            let reentry = match (l.reentry_p50_us, l.reentry_p50_rtt) {
                (Some(u), Some(ratio)) => format!("{} {}", us(u), x(ratio)),
                _ => "-".to_owned(),
            };
            t.row([
                r.variant.clone(),
                r.masters.to_string(),
                format!("{} {}", us(l.acquire_p50_us), x(l.acquire_p50_rtt)),
                format!("{} {}", us(l.acquire_p99_us), x(l.acquire_p99_rtt)),
                us(l.acquire_p999_us),
                reentry,
                format!("{} {}", us(l.release_p50_us), x(l.release_p50_rtt)),
                us(l.release_p99_us),
                us(l.release_p999_us),
                me(r),
            ]);
        }
        out.push_str(&t.render());
        out.push_str("\ncontended: clients on one key\n");
        let mut t = Table::new([
            "variant",
            "masters",
            "clients",
            "grants/s",
            "max/min",
            "starved",
            "hand-off p50",
            "p99",
            "mutual-exclusion",
            "errors",
        ]);
        for r in &self.contended {
            t.row([
                r.variant.clone(),
                r.masters.to_string(),
                r.clients.to_string(),
                format!("{:.0}", r.grants_per_s),
                r.fairness_max_over_min
                    .map_or("-".into(), |f| format!("{f:.2}")),
                r.starved.to_string(),
                handoff(r.handoff_p50_us, r.handoff_p50_rtt),
                handoff(r.handoff_p99_us, r.handoff_p99_rtt),
                me(r),
                r.errors.to_string(),
            ]);
        }
        out.push_str(&t.render());
        if !self.broken.is_empty() {
            out.push_str(&format!(
                "\nBROKEN: mutual exclusion lost in {}\n",
                self.broken.join("; ")
            ));
        }
        if !self.not_judged.is_empty() {
            out.push_str(&format!(
                "\nNOT JUDGED (exit 3) — {}\n",
                self.not_judged.join("; ")
            ));
        }
        if self.broken.is_empty() && self.not_judged.is_empty() {
            out.push_str("\nevery row kept mutual exclusion (history checker)\n");
        }
        if !self.sync.is_empty() {
            out.push_str(&super::sync_report::render(&self.sync, &self.sync_targets));
        }
        out
    }
}
