//! The quorum family: the same lock key on N independent Redis masters,
//! held by a majority within a validity window — Redlock (`redlock`,
//! `redlock-fenced`). The protocols differ only in their [`Capabilities`].
//!
//! Each master keeps its own copy of the key with its own remaining lease
//! (and, with fencing, its own counter). A client asks the masters one at a
//! time ([`ClientOp::Ask`]: `SET key <token> NX PX ttl` there), in any order,
//! interleaved with the other clients' requests, with time and with faults;
//! it counts the ticks from its first request; having heard from every
//! master it concludes ([`ClientOp::Conclude`]): it holds the lock only with a
//! majority *and* a validity `ttl − elapsed − drift` of at least one tick.
//! Otherwise it releases on every master — also those it believes did not
//! grant it (a reply that never came) — and tries again. A release, after
//! the write, is compare-and-delete on every master.
//!
//! The timing assumption is the lease family's, moved to the validity: a
//! holder that is running (not paused) finishes before its validity ends,
//! so time may not end the validity of a working holder. Faults break it
//! (a pause), or break what the validity stands for: a master that forgets
//! its key (`restart`), a master whose clock jumps ahead (`clock-jump`:
//! its leases lose [`CLOCK_JUMP_TICKS`]). A master that crashes and stays
//! down for a whole lease before it rejoins empty (`delayed-restart`) is the
//! documentation's fix for `restart`. A reply that does not come within the
//! per-master timeout (`delay`: an ask whose reply is [`Reply::Lost`]) is a master the client
//! counts as not granted, though it ran the request.
//!
//! **Bounded contention.** A client that lost an attempt tries again at
//! once, and attempts may overlap freely, until [`CONTENDED_LOSSES`]
//! attempts have been lost in the run; from then on a client starts an
//! attempt only when nobody else is asking and a majority of the masters
//! are up and free, and that attempt takes no time — the retry its
//! backoff's jitter eventually lands. Without that bound, clients that keep
//! splitting the masters between them (or keep taking too long) loop
//! forever, and with fencing every lost attempt bumps a counter, so the
//! state space would be infinite. It is a bound of the scope, like the
//! number of rounds.
//!
//! Symmetry: clients are interchangeable, and so are masters
//! ([`symmetry`](self::symmetry)).

mod narrate;
mod symmetry;
pub mod world;

use crate::kit::{lock_condition, Budget, Core, Resource, ResourceGhost, Roster};
use crate::narrate::{KeyRole, LeaseClock, NarratedStep, Turn};
use crate::op::{ClientOp, Reply};
use crate::outcome::Outcome;
use crate::scenario::Scenario;
use crate::step::{NodeFault, Step};
use crate::system::{Condition, System, Taken};
use crate::world::{ClientId, NodeId};
use locklab_spec::declaration::Capabilities;
use locklab_spec::fault::{Fault, CLOCK_JUMP_TICKS};
use locklab_spec::property::PropertyName;
pub use world::{bit, Client, Key, Node, NodeSet, Pc, World};

/// Attempts that may be lost in a run before every attempt waits for the
/// contention to end (see the module docs).
pub const CONTENDED_LOSSES: u8 = 1;

/// The properties this family models. (`no-foreign-release` is not among
/// them: the release is the token lock's compare-and-delete, on each
/// master; the lease family computes its verdict.)
const MODELLED: [PropertyName; 5] = [
    PropertyName::MutualExclusion,
    PropertyName::FencedResource,
    PropertyName::EventuallyAcquired,
    PropertyName::SomeoneAcquires,
    PropertyName::EveryoneFinishes,
];

/// A quorum-family scenario, ready for the checker.
#[derive(Clone, Debug)]
pub struct QuorumModel {
    core: Core,
    caps: Capabilities,
    resource: Resource,
}

impl QuorumModel {
    fn ttl(&self) -> u8 {
        self.scenario().ttl
    }

    /// The elapsed ticks from which no validity is left.
    fn no_validity_at(&self) -> u8 {
        self.scenario().ttl.saturating_sub(self.scenario().drift)
    }

    fn majority(&self) -> u32 {
        u32::from(self.scenario().majority())
    }

    /// Whether the contention is over: attempts start only alone.
    fn contention_over(&self, w: &World) -> bool {
        w.lost >= CONTENDED_LOSSES
    }

    /// Whether `c` may send a request now: the next one of its attempt, or
    /// the first of a new attempt — at once while the contention lasts,
    /// else only when nobody else is asking and a majority of the masters
    /// are up and free.
    fn may_ask(&self, w: &World, c: ClientId) -> bool {
        match w.roster.client(c).pc {
            Pc::Asking => true,
            Pc::Idle if !self.contention_over(w) => true,
            Pc::Idle => {
                let free = w
                    .nodes()
                    .iter()
                    .filter(|n| n.is_up() && n.key.is_none())
                    .count() as u32;
                free >= self.majority() && w.roster.clients().iter().all(|o| o.pc != Pc::Asking)
            }
            _ => false,
        }
    }

    /// One master runs `c`'s request: a grant when the key is free there.
    /// Returns what the master answered.
    fn run_ask(&self, w: &mut World, c: ClientId, k: NodeId) -> Outcome {
        let ttl = self.ttl();
        let fencing = self.caps.fencing;
        let node = w.node_mut(k);
        if !node.is_up() {
            return Outcome::Unreachable;
        }
        if node.key.is_some() {
            return Outcome::Busy;
        }
        node.key = Some(Key { owner: c, ttl });
        if fencing {
            node.counter += 1;
        }
        Outcome::Granted {
            token: None,
            fence: fencing.then_some(u64::from(node.counter)),
            count: None,
        }
    }

    /// The client's next request starts an attempt if it is idle.
    fn begin(&self, w: &mut World, c: ClientId) {
        let alone = self.contention_over(w);
        let client = w.roster.client_mut(c);
        if client.pc == Pc::Idle {
            *client = Client {
                pc: Pc::Asking,
                rounds_left: client.rounds_left,
                alone,
                ..Client::default()
            };
        }
    }

    /// Removes `c`'s token from every master that is up (compare-and-delete
    /// on each); whether any was removed.
    fn release_everywhere(w: &mut World, c: ClientId) -> bool {
        let mut removed = false;
        for node in w.nodes.iter_mut().take(usize::from(w.m)) {
            if node.is_up() && node.key.is_some_and(|k| k.owner == c) {
                node.key = None;
                removed = true;
            }
        }
        removed
    }

    fn conclude(&self, w: &mut World, c: ClientId) -> Outcome {
        let client = *w.roster.client(c);
        let majority = client.got.count_ones() >= self.majority();
        let valid = client.elapsed < self.no_validity_at();
        if majority && valid {
            let grant = self.resource.issue(&mut w.resource);
            let client = w.roster.client_mut(c);
            client.pc = Pc::Holding;
            client.validity = self.no_validity_at() - client.elapsed;
            client.grant = grant;
            client.alone = false;
            client.asked = 0;
            client.got = 0;
            client.elapsed = 0;
            return Outcome::Granted {
                token: None,
                fence: self.caps.fencing.then_some(u64::from(client.fence)),
                count: None,
            };
        }
        Self::release_everywhere(w, c);
        w.lost = (w.lost + 1).min(CONTENDED_LOSSES);
        let client = w.roster.client_mut(c);
        *client = Client {
            rounds_left: client.rounds_left,
            ..Client::default()
        };
        if majority {
            Outcome::Expired
        } else {
            Outcome::Busy
        }
    }

    fn write(&self, w: &mut World, c: ClientId) -> Outcome {
        let Client { fence, grant, .. } = *w.roster.client(c);
        w.roster.client_mut(c).pc = Pc::Wrote;
        self.resource.write(&mut w.resource, fence, grant)
    }

    fn release(&self, w: &mut World, c: ClientId) -> Outcome {
        let removed = Self::release_everywhere(w, c);
        let client = w.roster.client_mut(c);
        let rounds_left = client.rounds_left - 1;
        *client = Client {
            pc: if rounds_left == 0 { Pc::Done } else { Pc::Idle },
            rounds_left,
            ..Client::default()
        };
        if removed {
            Outcome::Released
        } else {
            Outcome::NotHeld
        }
    }

    /// One tick: every lease loses a tick (and is gone at zero), every
    /// attempt's clock and every holder's validity move on, and a master
    /// that is down comes closer to rejoining.
    fn tick(&self, w: &mut World) {
        let cap = self.no_validity_at();
        for node in w.nodes.iter_mut().take(usize::from(w.m)) {
            if let Some(key) = node.key.as_mut() {
                key.ttl -= 1;
                if key.ttl == 0 {
                    node.key = None;
                }
            }
            if let Some(d) = node.down.as_mut() {
                *d = d.saturating_sub(1);
            }
        }
        for client in w.roster.clients_mut() {
            match client.pc {
                Pc::Asking => client.elapsed = (client.elapsed + 1).min(cap),
                Pc::Holding | Pc::Wrote => client.validity = client.validity.saturating_sub(1),
                _ => {}
            }
        }
    }

    /// Whether a tick changes anything, and the timing assumption allows it:
    /// no working holder is at the last tick of its validity, and no
    /// attempt that runs alone is in progress (it takes no time).
    fn tick_enabled(&self, w: &World) -> bool {
        let cap = self.no_validity_at();
        let blocked = w
            .roster
            .clients()
            .iter()
            .any(|c| (c.is_working() && c.validity <= 1) || (c.pc == Pc::Asking && c.alone));
        let moves = w
            .nodes()
            .iter()
            .any(|n| n.key.is_some() || n.down.is_some_and(|d| d > 0))
            || w.roster.clients().iter().any(|c| {
                (c.pc == Pc::Asking && c.elapsed < cap) || (c.believes_it_holds() && c.validity > 0)
            });
        moves && !blocked
    }

    /// Applies a step: the outcome the client reads, if it reads one now;
    /// `None` for a step the family does not take.
    fn apply(&self, w: &mut World, step: Step) -> Option<Option<Outcome>> {
        let outcome = match step {
            Step::Op {
                client,
                op: ClientOp::Ask { node },
                reply: Reply::Now,
            } => {
                self.begin(w, client);
                let outcome = self.run_ask(w, client, node);
                let c = w.roster.client_mut(client);
                c.asked |= bit(node);
                if let Outcome::Granted { fence, .. } = outcome {
                    c.got |= bit(node);
                    c.fence = c.fence.max(fence.map_or(0, |f| f as u8));
                }
                Some(outcome)
            }
            Step::Op {
                client,
                op: ClientOp::Ask { node },
                reply: Reply::Lost,
            } => {
                w.budget.spend(Fault::Delay);
                self.begin(w, client);
                let outcome = self.run_ask(w, client, node);
                w.roster.client_mut(client).asked |= bit(node);
                Some(outcome)
            }
            Step::Op {
                client,
                op: ClientOp::Conclude,
                reply: Reply::Now,
            } => Some(self.conclude(w, client)),
            Step::Op {
                client,
                op: ClientOp::Write,
                reply: Reply::Now,
            } => Some(self.write(w, client)),
            Step::Op {
                client,
                op: ClientOp::Release,
                reply: Reply::Now,
            } => Some(self.release(w, client)),
            Step::Tick => {
                self.tick(w);
                None
            }
            Step::Client { client, fault } => {
                w.roster.suffer(client, fault, &mut w.budget);
                None
            }
            Step::Node {
                node,
                fault: NodeFault::Restart,
            } => {
                w.budget.spend(Fault::Restart);
                *w.node_mut(node) = Node::default();
                None
            }
            Step::Node {
                node,
                fault: NodeFault::DelayedRestart,
            } => {
                w.budget.spend(Fault::DelayedRestart);
                *w.node_mut(node) = Node {
                    down: Some(self.ttl()),
                    ..Node::default()
                };
                None
            }
            Step::Node {
                node,
                fault: NodeFault::Rejoin,
            } => {
                w.node_mut(node).down = None;
                None
            }
            Step::Node {
                node,
                fault: NodeFault::ClockJump,
            } => {
                w.budget.spend(Fault::ClockJump);
                let n = w.node_mut(node);
                if let Some(key) = n.key.as_mut() {
                    key.ttl = key.ttl.saturating_sub(CLOCK_JUMP_TICKS);
                    if key.ttl == 0 {
                        n.key = None;
                    }
                }
                None
            }
            _ => return None,
        };
        Some(outcome)
    }

    /// The masters whose data a fault could take away: up, with a key or a
    /// counter.
    fn has_something(node: &Node) -> bool {
        node.is_up() && (node.key.is_some() || node.counter > 0)
    }
}

impl System for QuorumModel {
    type World = World;

    fn of(scenario: Scenario, checking: &[PropertyName]) -> Self {
        let core = Core::new(scenario, checking, &MODELLED);
        let caps = scenario.protocol.caps();
        QuorumModel {
            resource: Resource::new(caps.fencing, &core),
            caps,
            core,
        }
    }

    fn core(&self) -> &Core {
        &self.core
    }

    fn initial(&self) -> World {
        let s = self.scenario();
        World {
            roster: Roster::new(
                s.clients,
                Client {
                    rounds_left: s.rounds,
                    ..Client::default()
                },
            ),
            nodes: [Node::default(); world::MAX_NODES],
            m: s.nodes(),
            lost: 0,
            resource: ResourceGhost::default(),
            budget: Budget::new(s.faults),
        }
    }

    fn actions(&self, w: &World, steps: &mut Vec<Step>) {
        let all = w.all_nodes();
        w.roster.offer(&w.budget, steps, |client, c, steps| {
            if self.may_ask(w, client) {
                for node in w.node_ids() {
                    if c.asked & bit(node) != 0 {
                        continue;
                    }
                    let ask = ClientOp::Ask { node };
                    steps.push(Step::now(client, ask));
                    if w.budget.left(Fault::Delay) > 0 && w.node(node).is_up() {
                        steps.push(Step::Op {
                            client,
                            op: ask,
                            reply: Reply::Lost,
                        });
                    }
                }
            }
            match c.pc {
                Pc::Asking if c.asked == all => steps.push(Step::now(client, ClientOp::Conclude)),
                Pc::Holding => steps.push(Step::now(client, ClientOp::Write)),
                Pc::Wrote => steps.push(Step::now(client, ClientOp::Release)),
                _ => {}
            }
        });
        if self.tick_enabled(w) {
            steps.push(Step::Tick);
        }
        let none_down = w.nodes().iter().all(Node::is_up);
        for node in w.node_ids() {
            let n = w.node(node);
            let fault = |fault| Step::Node { node, fault };
            if n.down == Some(0) {
                steps.push(fault(NodeFault::Rejoin));
            }
            if w.budget.left(Fault::Restart) > 0 && Self::has_something(n) {
                steps.push(fault(NodeFault::Restart));
            }
            if w.budget.left(Fault::DelayedRestart) > 0 && none_down && Self::has_something(n) {
                steps.push(fault(NodeFault::DelayedRestart));
            }
            if w.budget.left(Fault::ClockJump) > 0 && n.is_up() && n.key.is_some() {
                steps.push(fault(NodeFault::ClockJump));
            }
        }
    }

    /// The shared lock conditions; the family models no other property.
    fn condition(property: PropertyName) -> Condition<Self> {
        lock_condition::<Self>(property).unwrap_or(|_, _| true)
    }

    fn play(&self, w: &World, step: Step) -> Option<(World, Option<Outcome>)> {
        let mut next = w.clone();
        let outcome = self.apply(&mut next, step)?;
        Some((next, outcome))
    }

    /// A schedule found in another scenario may ask what this one does not
    /// allow at that point: skipped.
    fn refused(&self, _: &World, _: Step) -> (Taken, Option<Outcome>) {
        (Taken::Skipped, None)
    }

    /// Each master's key, the clock of each attempt in progress (from its
    /// first request: the elapsed time its validity is computed from), and
    /// the time each master that is down has been so.
    fn observed(&self) -> Vec<KeyRole> {
        vec![KeyRole::Lock]
    }

    fn clocks(&self, w: &World) -> Vec<LeaseClock> {
        let ttl = self.ttl();
        let keys = w.node_ids().filter_map(|k| {
            w.node(k).key.map(|key| LeaseClock {
                node: k,
                key: KeyRole::Lock,
                ticks_left: key.ttl,
                ttl,
            })
        });
        let attempts = w.roster.ids().filter_map(|c| {
            let client = w.roster.client(c);
            (client.pc == Pc::Asking).then(|| LeaseClock {
                node: NodeId::FIRST,
                key: KeyRole::Attempt { client: c },
                ticks_left: ttl + 1 - client.elapsed,
                ttl: ttl + 1,
            })
        });
        let down = w.node_ids().filter_map(|k| {
            w.node(k).down.map(|left| LeaseClock {
                node: k,
                key: KeyRole::Down,
                ticks_left: left + 1,
                ttl: ttl + 1,
            })
        });
        keys.chain(attempts).chain(down).collect()
    }

    fn tell(&self, turn: Turn<'_, World>) -> NarratedStep {
        narrate::Narrator::new(self).tell(turn)
    }
}
