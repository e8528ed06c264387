//! Model-checker throughput and state counts, for docs/performance.md.
//!
//! Two tables, for 2–6 clients:
//!
//! 1. Throughput (states/s, one thread, BFS and DFS) of locklab's
//!    `LeaseModel` against a **bare** Stateright model of the same shape —
//!    the token lock, rounds 3, lease 3 ticks, no fault — written the plain
//!    way (a `Vec` of clients, derived `Hash`). Both explore exactly the same
//!    number of states (asserted).
//! 2. Symmetry reduction: unique states and time with and without it, every
//!    property checked, under pause + delay + crash.
//!
//! Run: `cargo run --release -p locklab-model --example state_space [-- MAX_CLIENTS]`;
//! `-- one bare|locklab bfs|dfs CLIENTS ROUNDS TTL` runs a single search
//! (for `valgrind --tool=callgrind`, whose instruction counts do not depend
//! on what else the machine is doing).

use std::time::Instant;

use locklab_model::{Checked, Faults, LeaseModel, PropertyName, Protocol, Scenario, System};

fn p(name: &str) -> Protocol {
    name.parse().expect("a protocol")
}
use stateright::{Checker, Model, Property};

/// The bare reference: SET NX to acquire, a write, DEL (or
/// compare-and-delete) to release, a lease of `ttl` ticks that time may not
/// expire under a running holder.
#[derive(Clone)]
struct Bare {
    clients: usize,
    rounds: u8,
    ttl: u8,
    compare_and_delete: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct BareState {
    /// (0 idle / 1 holding / 2 has written, rounds left) per client.
    clients: Vec<(u8, u8)>,
    /// (owner, ticks left).
    lease: Option<(usize, u8)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum BareAction {
    Acquire(usize),
    Write(usize),
    Release(usize),
    Tick,
}

impl Model for Bare {
    type State = BareState;
    type Action = BareAction;

    fn init_states(&self) -> Vec<BareState> {
        vec![BareState {
            clients: vec![(0, self.rounds); self.clients],
            lease: None,
        }]
    }

    fn actions(&self, s: &BareState, actions: &mut Vec<BareAction>) {
        for (i, (pc, left)) in s.clients.iter().enumerate() {
            match pc {
                1 => actions.push(BareAction::Write(i)),
                2 => actions.push(BareAction::Release(i)),
                _ if *left > 0 && s.lease.is_none() => actions.push(BareAction::Acquire(i)),
                _ => {}
            }
        }
        if let Some((owner, ttl)) = s.lease {
            if ttl > 1 || s.clients[owner].0 == 0 {
                actions.push(BareAction::Tick);
            }
        }
    }

    fn next_state(&self, s: &BareState, a: BareAction) -> Option<BareState> {
        let mut n = s.clone();
        match a {
            BareAction::Acquire(i) => {
                n.lease = Some((i, self.ttl));
                n.clients[i].0 = 1;
            }
            BareAction::Write(i) => n.clients[i].0 = 2,
            BareAction::Release(i) => {
                if !self.compare_and_delete || n.lease.is_some_and(|(o, _)| o == i) {
                    n.lease = None;
                }
                n.clients[i] = (0, n.clients[i].1 - 1);
            }
            BareAction::Tick => {
                let (owner, ttl) = n.lease?;
                n.lease = (ttl > 1).then_some((owner, ttl - 1));
            }
        }
        Some(n)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::always("mutual-exclusion", |_, s: &BareState| {
            s.clients.iter().filter(|c| c.0 > 0).count() <= 1
        })]
    }
}

struct Figure {
    unique: usize,
    secs: f64,
}

impl Figure {
    fn rate(&self) -> f64 {
        self.unique as f64 / self.secs.max(1e-9)
    }
}

fn measure<M, C: Checker<M>>(checker: C) -> Figure
where
    M: Model,
{
    let started = Instant::now();
    let checker = checker.join();
    Figure {
        unique: checker.unique_state_count(),
        secs: started.elapsed().as_secs_f64(),
    }
}

/// `one bare|locklab bfs|dfs CLIENTS ROUNDS TTL`: runs one search, for
/// counting instructions per state with `valgrind --tool=callgrind`, which
/// counts the same on a busy machine as on an idle one.
fn one(args: &[String]) {
    let num = |i: usize| -> u8 { args.get(i).and_then(|a| a.parse().ok()).unwrap_or(3) };
    let (clients, rounds, ttl) = (usize::from(num(3)), num(4), num(5));
    let dfs = args.get(2).map(String::as_str) == Some("dfs");
    let figure = if args.get(1).map(String::as_str) == Some("bare") {
        let bare = Bare {
            clients,
            rounds,
            ttl,
            compare_and_delete: true,
        };
        if dfs {
            measure(bare.checker().spawn_dfs())
        } else {
            measure(bare.checker().spawn_bfs())
        }
    } else {
        let scenario = Scenario::new(p("token"), Faults::NONE)
            .sized(clients as u64, u64::from(rounds), u64::from(ttl))
            .expect("a valid size");
        // One property, as the bare model checks one: Stateright looks every
        // property up by name in every state, so the per-state cost grows
        // with the number of properties checked.
        let model = Checked(LeaseModel::of(scenario, &[PropertyName::MutualExclusion]));
        if dfs {
            measure(model.checker().spawn_dfs())
        } else {
            measure(model.checker().spawn_bfs())
        }
    };
    println!("{}", figure.unique);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("one") {
        return one(&args);
    }
    let max_clients: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(6);

    println!("## Throughput against a bare model (token lock, no fault, one thread)\n");
    println!("| clients | rounds | lease | unique states | bare BFS M/s | locklab BFS M/s | bare DFS M/s | locklab DFS M/s |");
    println!("|---|---|---|---|---|---|---|---|");
    let sizes = (2..=max_clients)
        .map(|c| (c, 3u8, 3u8))
        .chain([(8, 3, 3), (8, 4, 8)])
        .filter(|(c, _, _)| *c <= max_clients.max(8) && (*c <= max_clients || max_clients >= 6));
    for (clients, rounds, ttl) in sizes {
        let bare = Bare {
            clients,
            rounds,
            ttl,
            compare_and_delete: true,
        };
        let scenario = Scenario::new(p("token"), Faults::NONE)
            .sized(clients as u64, u64::from(rounds), u64::from(ttl))
            .expect("a valid size");
        let model = || Checked(LeaseModel::of(scenario, &[PropertyName::MutualExclusion]));
        let bare_bfs = measure(bare.clone().checker().spawn_bfs());
        let bare_dfs = measure(bare.checker().spawn_dfs());
        let ours_bfs = measure(model().checker().spawn_bfs());
        let ours_dfs = measure(model().checker().spawn_dfs());
        assert_eq!(bare_bfs.unique, ours_bfs.unique, "the same state space");
        println!(
            "| {clients} | {rounds} | {ttl} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            ours_bfs.unique,
            bare_bfs.rate() / 1e6,
            ours_bfs.rate() / 1e6,
            bare_dfs.rate() / 1e6,
            ours_dfs.rate() / 1e6
        );
    }

    println!("\n## Symmetry reduction (every property, DFS, one thread)\n");
    println!("| scenario | clients | unique states | with symmetry | reduction | secs | secs with symmetry |");
    println!("|---|---|---|---|---|---|---|");
    let faults: Faults = "pause,delay,crash".parse().expect("faults");
    for (protocol, rounds) in [(p("token"), 2u64), (p("fenced"), 2)] {
        for clients in 2..=max_clients {
            let scenario = Scenario::new(protocol, faults)
                .sized(clients as u64, rounds, 3)
                .expect("a valid size");
            let full = measure(
                Checked(LeaseModel::of(scenario, &PropertyName::ALL))
                    .checker()
                    .spawn_dfs(),
            );
            let sym = measure(
                Checked(LeaseModel::of(scenario, &PropertyName::ALL))
                    .checker()
                    .symmetry()
                    .spawn_dfs(),
            );
            println!(
                "| {protocol} under {faults}, {rounds} rounds | {clients} | {} | {} | {:.1}× | {:.2} | {:.2} |",
                full.unique,
                sym.unique,
                full.unique as f64 / sym.unique.max(1) as f64,
                full.secs,
                sym.secs
            );
        }
    }
}
