//! Model-checker throughput and state counts, for docs/performance.md.
//!
//! Measures, for 2–6 clients (rounds 3, lease 3 ticks, no fault, one
//! thread), the unique states, time and states/s of:
//!
//! - a **bare** Stateright model of the same shape, written the plain way
//!   (a `Vec` of clients, derived `Hash`), as the reference;
//! - locklab's `LockModel` for the same protocol, BFS and DFS, with and
//!   without symmetry reduction.
//!
//! Run: `cargo run --release -p locklab-model --example state_space [-- MAX_CLIENTS]`

use std::time::Instant;

use locklab_model::{Faults, LockModel, PropertyName, Protocol, Scenario};
use stateright::{Checker, Model, Property};

/// The bare reference: SET NX to acquire, DEL (or compare-and-delete) to
/// release, a lease of `ttl` ticks that time may not expire under a running
/// holder.
#[derive(Clone)]
struct Bare {
    clients: usize,
    rounds: u8,
    ttl: u8,
    compare_and_delete: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct BareState {
    /// (holding, rounds left) per client.
    clients: Vec<(bool, u8)>,
    /// (owner, ticks left).
    lease: Option<(usize, u8)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum BareAction {
    Acquire(usize),
    Release(usize),
    Tick,
}

impl Model for Bare {
    type State = BareState;
    type Action = BareAction;

    fn init_states(&self) -> Vec<BareState> {
        vec![BareState {
            clients: vec![(false, self.rounds); self.clients],
            lease: None,
        }]
    }

    fn actions(&self, s: &BareState, actions: &mut Vec<BareAction>) {
        for (i, (holding, left)) in s.clients.iter().enumerate() {
            if *holding {
                actions.push(BareAction::Release(i));
            } else if *left > 0 && s.lease.is_none() {
                actions.push(BareAction::Acquire(i));
            }
        }
        if let Some((owner, ttl)) = s.lease {
            if ttl > 1 || !s.clients[owner].0 {
                actions.push(BareAction::Tick);
            }
        }
    }

    fn next_state(&self, s: &BareState, a: BareAction) -> Option<BareState> {
        let mut n = s.clone();
        match a {
            BareAction::Acquire(i) => {
                n.lease = Some((i, self.ttl));
                n.clients[i].0 = true;
            }
            BareAction::Release(i) => {
                if !self.compare_and_delete || n.lease.is_some_and(|(o, _)| o == i) {
                    n.lease = None;
                }
                n.clients[i] = (false, n.clients[i].1 - 1);
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
            s.clients.iter().filter(|c| c.0).count() <= 1
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

fn row(label: &str, clients: usize, f: &Figure) {
    println!(
        "| {label} | {clients} | {} | {:.2} | {:.2} |",
        f.unique,
        f.secs,
        f.rate() / 1e6
    );
}

fn main() {
    let max_clients: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(6);
    println!("| model | clients | unique states | secs | M states/s |");
    println!("|---|---|---|---|---|");
    for (protocol, cad) in [(Protocol::Naive, false), (Protocol::Token, true)] {
        for clients in 2..=max_clients {
            let bare = Bare {
                clients,
                rounds: 3,
                ttl: 3,
                compare_and_delete: cad,
            };
            let name = protocol.name();
            row(
                &format!("bare {name}, BFS"),
                clients,
                &measure(bare.clone().checker().spawn_bfs()),
            );
            row(
                &format!("bare {name}, DFS"),
                clients,
                &measure(bare.checker().spawn_dfs()),
            );
            let scenario = Scenario::new(protocol, Faults::NONE)
                .sized(clients as u64, 3, 3)
                .expect("a valid size");
            let model = || {
                LockModel::checking(
                    scenario,
                    &[
                        PropertyName::MutualExclusion,
                        PropertyName::NoForeignRelease,
                    ],
                )
            };
            row(
                &format!("locklab {name}, BFS"),
                clients,
                &measure(model().checker().spawn_bfs()),
            );
            row(
                &format!("locklab {name}, DFS"),
                clients,
                &measure(model().checker().spawn_dfs()),
            );
            row(
                &format!("locklab {name}, DFS + symmetry"),
                clients,
                &measure(model().checker().symmetry().spawn_dfs()),
            );
        }
    }
}
