//! criterion benches of the lab's hot paths that need no Redis:
//!
//! - `model_check/<protocol>-pause`: the model checker on a fixed
//!   configuration (3 clients, 2 rounds, a lease of 3 ticks, one pause;
//!   with symmetry reduction, one thread) — throughput in unique states per
//!   second;
//! - `history_check/mutual-exclusion/<n>`: the history checker on a bench
//!   history of `n` grants by 64 clients, built by hand — throughput in
//!   events per second;
//! - `bench_analysis/<n>`: the bench's own reading of the same history
//!   (grants, hand-offs, overlaps).
//!
//! Run with `cargo bench -p locklab --bench checkers`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use locklab::bench::Analysis;
use locklab::history::{self, Event, History, Op};
use locklab_model::{
    check, CheckOptions, ClientOp, Fault, Faults, Outcome, PropertyName, Protocol, Scenario,
};

fn model_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("model_check");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    let options = CheckOptions {
        threads: 1,
        ..CheckOptions::default()
    };
    for name in ["naive", "token", "fenced", "reentrant"] {
        let protocol = Protocol::named(name).expect("a protocol of the lab");
        // Large enough (tens of thousands of states) that criterion needs
        // few iterations: each check spawns its own checker thread.
        let scenario = Scenario::new(protocol, Faults::one(Fault::Pause))
            .sized(3, 2, 3)
            .expect("3 clients, 2 rounds, a lease of 3 ticks is a valid scenario");
        let states = check(scenario, &options, &|_| {}).unique_states;
        group.throughput(Throughput::Elements(states as u64));
        group.bench_function(BenchmarkId::new(protocol.name(), "pause"), |b| {
            b.iter(|| black_box(check(scenario, &options, &|_| {}).unique_states))
        });
    }
    group.finish();
}

/// A fault-free bench history: `grants` grants by 64 clients in turn, each
/// released before the next is granted (as a FIFO hand-off makes them).
fn bench_history(grants: usize) -> (History, Vec<String>) {
    let clients: Vec<String> = (1..=64).map(|i| format!("c{i}")).collect();
    let mut events = Vec::with_capacity(grants * 2);
    let mut t = 0u64;
    for g in 0..grants {
        let client = clients[g % clients.len()].clone();
        let mut acquire = Event::new(
            &client,
            Op::call(ClientOp::Acquire),
            t.saturating_sub(5_000),
        );
        acquire.outcome = Some(Outcome::Granted {
            token: Some(format!("{g:032x}")),
            fence: None,
            count: None,
        });
        acquire.end_us = Some(t + 70);
        events.push(acquire);
        let mut release = Event::new(&client, Op::call(ClientOp::Release), t + 71);
        release.outcome = Some(Outcome::Released);
        release.end_us = Some(t + 140);
        events.push(release);
        t += 141;
    }
    (History { events }, clients)
}

fn history_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("history_check");
    group.sample_size(10);
    for grants in [1_000usize, 10_000, 40_000] {
        let (history, _) = bench_history(grants);
        group.throughput(Throughput::Elements(history.events.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("mutual-exclusion", grants),
            &history,
            |b, h| b.iter(|| black_box(history::finding(h, PropertyName::MutualExclusion))),
        );
    }
    group.finish();
    let mut group = c.benchmark_group("bench_analysis");
    for grants in [10_000usize, 100_000] {
        let (history, clients) = bench_history(grants);
        group.throughput(Throughput::Elements(history.events.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(grants), &history, |b, h| {
            b.iter(|| black_box(Analysis::of(h, &clients).overlaps))
        });
    }
    group.finish();
}

criterion_group!(benches, model_check, history_check);
criterion_main!(benches);
