//! The bench: its tables and plots, every figure a multiple of the RTT of
//! its run (the plots drawn by the bench's own chart code).

use crate::bench::svg::{Chart, Series};
use crate::report::input::{BenchOutput, BenchRow};
use crate::report::view::{BenchView, Table};

fn x(ratio: f64) -> String {
    if ratio >= 100.0 {
        format!("{ratio:.0}×")
    } else if ratio >= 10.0 {
        format!("{ratio:.1}×")
    } else {
        format!("{ratio:.2}×")
    }
}

pub(super) fn bench_view(b: &BenchOutput) -> BenchView {
    let rtt = b.rtt_us.max(1e-9);
    let mut uncontended = Table {
        header: [
            "variant",
            "acquire p50",
            "acquire p99",
            "acquire p99.9",
            "release p50",
            "mutual-exclusion",
        ]
        .map(String::from)
        .to_vec(),
        rows: Vec::new(),
        numeric: vec![1, 2, 3, 4],
    };
    for r in &b.uncontended {
        let opt = |v: Option<f64>| v.map_or("-".to_owned(), x);
        uncontended.rows.push(vec![
            r.variant.clone(),
            opt(r.acquire_p50_rtt),
            opt(r.acquire_p99_rtt),
            opt(r.acquire_p999_us.map(|us| us / rtt)),
            opt(r.release_p50_rtt),
            r.mutual_exclusion.word().to_owned(),
        ]);
    }
    let mut contended = Table {
        header: [
            "variant",
            "clients",
            "grants/s",
            "grants per RTT",
            "hand-off p50",
            "hand-off p99",
            "fairness max/min",
            "starved",
            "overlaps",
            "mutual-exclusion",
            "errors",
        ]
        .map(String::from)
        .to_vec(),
        rows: Vec::new(),
        numeric: vec![1, 2, 3, 4, 5, 6, 7, 8, 10],
    };
    for r in &b.contended {
        contended.rows.push(vec![
            if r.masters == 1 {
                r.variant.clone()
            } else {
                format!("{} ×{}", r.variant, r.masters)
            },
            r.clients.to_string(),
            format!("{:.0}", r.grants_per_s),
            format!("{:.3}", r.grants_per_s * rtt / 1e6),
            x(r.handoff_p50_rtt),
            x(r.handoff_p99_rtt),
            r.fairness_max_over_min
                .map_or("-".into(), |f| format!("{f:.2}")),
            r.starved.to_string(),
            r.overlaps.to_string(),
            r.mutual_exclusion.word().to_owned(),
            r.errors.to_string(),
        ]);
    }
    BenchView {
        caption: format!(
            "every figure is a multiple of this run's Redis round trip: PING p50 {:.1} µs (p99 {:.1} µs) · {} s per run{} · lease {} ms · servers: {}",
            b.rtt_us,
            b.rtt_p99_us,
            b.duration_secs,
            if b.quick { " (--quick)" } else { "" },
            b.ttl_ms,
            b.servers
        ),
        tables: vec![
            (
                "One client, no contention: latency as multiples of the RTT".into(),
                uncontended,
            ),
            (
                "Clients contending for one key (hand-off: release → the next holder's grant, as multiples of the RTT)".into(),
                contended,
            ),
        ],
        charts: bench_charts(b)
            .into_iter()
            .map(|c| (c.title.clone(), c.render()))
            .collect(),
        broken: b.broken.clone(),
    }
}

fn bench_charts(b: &BenchOutput) -> Vec<Chart> {
    let rtt = b.rtt_us.max(1e-9);
    let reference = Some((1.0, format!("1 RTT = {:.0} µs", b.rtt_us)));
    let latency = Chart {
        title: "Uncontended acquire latency by percentile, × RTT".into(),
        x_caption: "percentile".into(),
        y_caption: "acquire latency / RTT (log)".into(),
        x_labels: crate::bench::report::PERCENTILES
            .iter()
            .map(|q| format!("p{}", (q * 100.0 * 100.0).round() / 100.0))
            .collect(),
        series: b
            .uncontended
            .iter()
            .filter(|r| r.masters == 1)
            .filter_map(|r| {
                let p = r.acquire_percentiles_us.as_ref()?;
                Some(Series {
                    name: r.variant.clone(),
                    values: p.iter().map(|v| Some(v / rtt)).collect(),
                })
            })
            .collect(),
        reference: reference.clone(),
    };
    let mut clients: Vec<usize> = b.contended.iter().map(|r| r.clients).collect();
    clients.sort_unstable();
    clients.dedup();
    let mut lines: Vec<(String, usize)> = Vec::new();
    for r in &b.contended {
        if !lines.contains(&(r.variant.clone(), r.masters)) {
            lines.push((r.variant.clone(), r.masters));
        }
    }
    let by_clients = |f: &dyn Fn(&BenchRow) -> f64| -> Vec<Series> {
        lines
            .iter()
            .map(|(variant, masters)| Series {
                name: if *masters == 1 {
                    variant.clone()
                } else {
                    format!("{variant} ×{masters}")
                },
                values: clients
                    .iter()
                    .map(|c| {
                        b.contended
                            .iter()
                            .find(|r| {
                                &r.variant == variant && r.masters == *masters && r.clients == *c
                            })
                            .map(f)
                    })
                    .collect(),
            })
            .collect()
    };
    let x_labels: Vec<String> = clients.iter().map(ToString::to_string).collect();
    vec![
        latency,
        Chart {
            title: "Hand-off time (release → next holder's grant), median, × RTT".into(),
            x_caption: "clients on one key".into(),
            y_caption: "hand-off p50 / RTT (log)".into(),
            x_labels: x_labels.clone(),
            series: by_clients(&|r| r.handoff_p50_rtt),
            reference,
        },
        Chart {
            title: "Grants per RTT on one key".into(),
            x_caption: "clients on one key".into(),
            y_caption: "grants per round trip (log)".into(),
            x_labels,
            series: by_clients(&|r| r.grants_per_s * rtt / 1e6),
            reference: None,
        },
    ]
}
