//! The quorum family's steps in plain words, with the Redis command each
//! one sends to which master.

use crate::kit::tell_pause;
use crate::narrate::Told;
use crate::narrate::{KeyView, NarratedStep, NodeView, Turn};
use crate::op::{ClientOp, Reply};
use crate::outcome::Outcome;
use crate::step::{ClientFault, NodeFault, Step};
use crate::world::{ClientId, NodeId};
use locklab_spec::fault::CLOCK_JUMP_TICKS;

use super::{bit, NodeSet, QuorumModel, World};

/// Tells the steps of one quorum scenario.
pub(super) struct Narrator<'a> {
    model: &'a QuorumModel,
}

fn ticks(n: u8) -> String {
    format!("{n} tick{}", if n == 1 { "" } else { "s" })
}

/// `n1, n3`, or `no master`.
fn set_names(set: NodeSet, m: u8) -> String {
    let names: Vec<String> = (0..m)
        .filter(|k| set & (1 << k) != 0)
        .map(|k| NodeId(k).to_string())
        .collect();
    if names.is_empty() {
        "no master".to_owned()
    } else {
        names.join(", ")
    }
}

impl<'a> Narrator<'a> {
    pub(super) fn new(model: &'a QuorumModel) -> Self {
        Narrator { model }
    }

    pub(super) fn tell(&self, turn: Turn<'_, World>) -> NarratedStep {
        let Turn {
            n,
            before,
            step,
            outcome,
            after,
        } = turn;
        let (command, reply, mut says) = match step {
            Step::Op {
                client,
                op: ClientOp::Ask { node },
                reply,
            } => self.ask(before, client, node, outcome, reply == Reply::Lost),
            Step::Op {
                client,
                op: ClientOp::Conclude,
                ..
            } => self.conclude(before, client, outcome),
            Step::Op {
                client,
                op: ClientOp::Write,
                ..
            } => self.write(before, after, client),
            Step::Op {
                client,
                op: ClientOp::Release,
                ..
            } => self.release(before, client),
            Step::Tick => (None, None, self.tick(before, after)),
            Step::Client { client, fault } => (None, None, suffered(before, after, client, fault)),
            Step::Node {
                node,
                fault: NodeFault::Restart,
            } => (
                None,
                None,
                format!(
                    "{node} crashes and restarts without persistence: {} gone with it",
                    self.lost(before, node)
                ),
            ),
            Step::Node {
                node,
                fault: NodeFault::DelayedRestart,
            } => (
                None,
                None,
                format!(
                    "{node} crashes and stays down for a lease ({}) before it may rejoin: {} gone with it",
                    ticks(self.model.ttl()),
                    self.lost(before, node)
                ),
            ),
            Step::Node {
                node,
                fault: NodeFault::Rejoin,
            } => (
                None,
                None,
                format!("{node} rejoins, empty, a lease after its crash"),
            ),
            Step::Node {
                node,
                fault: NodeFault::ClockJump,
            } => (None, None, jump(before, after, node)),
            _ => (None, None, format!("{step}: not a step of a quorum lock")),
        };
        says.push_str(&after.roster.tell_believers(&before.roster));
        let holders = after.roster.believers();
        let fencing = self.model.caps.fencing;
        NarratedStep {
            n,
            step,
            command,
            reply,
            outcome: outcome.cloned(),
            says,
            key: None,
            nodes: after
                .nodes()
                .iter()
                .map(|node| NodeView {
                    key: node.key.map(|k| KeyView {
                        owner: k.owner.to_string(),
                        ticks_left: k.ttl,
                        fence: fencing.then_some(node.counter),
                        count: None,
                    }),
                    down: !node.is_up(),
                })
                .collect(),
            holders: holders.iter().map(ToString::to_string).collect(),
            state: None,
        }
    }

    fn acquire_command(&self, c: ClientId, node: NodeId) -> String {
        let ttl = ticks(self.model.ttl());
        if self.model.caps.fencing {
            format!("{node}: EVALSHA acquire-fenced 2 lock lock:fence <{c}'s token> <{ttl}>")
        } else {
            format!("{node}: SET lock <{c}'s token> NX PX <{ttl}>")
        }
    }

    fn ask(
        &self,
        before: &World,
        c: ClientId,
        node: NodeId,
        outcome: Option<&Outcome>,
        lost: bool,
    ) -> Told {
        let client = before.roster.client(c);
        let starts = if client.asked == 0 {
            format!("{c} starts an attempt: ")
        } else {
            String::new()
        };
        let holder = before.node(node).key.map(|k| k.owner);
        let (reply, what) = match outcome {
            Some(Outcome::Granted { fence, .. }) => (
                fence.map_or("OK".to_owned(), |f| f.to_string()),
                match fence {
                    Some(f) => format!("{node} grants it, counter {f}"),
                    None => format!("{node} grants it"),
                },
            ),
            Some(Outcome::Unreachable) => (
                "(connection refused)".to_owned(),
                format!("{node} is down and does not answer"),
            ),
            _ => (
                "(nil)".to_owned(),
                match holder {
                    Some(h) if h == c => format!("{node} refuses: its own older key is there"),
                    Some(h) => format!("{node} refuses: {h}'s key is there"),
                    None => format!("{node} refuses"),
                },
            ),
        };
        let says = if lost {
            format!(
                "{starts}{c} asks {node}; {what}, but no reply reaches {c} within its timeout: {c} counts {node} as not granted"
            )
        } else {
            let got = (client.got
                | matches!(outcome, Some(Outcome::Granted { .. }))
                    .then_some(bit(node))
                    .unwrap_or(0))
            .count_ones();
            format!(
                "{starts}{c} asks {node}: {what} ({got} of {} so far)",
                before.m
            )
        };
        (Some(self.acquire_command(c, node)), Some(reply), says)
    }

    fn conclude(&self, before: &World, c: ClientId, outcome: Option<&Outcome>) -> Told {
        let client = before.roster.client(c);
        let m = before.m;
        let got = client.got.count_ones();
        let elapsed = client.elapsed;
        let took = if elapsed == 0 {
            "within the tick".to_owned()
        } else {
            format!("after {}", ticks(elapsed))
        };
        let majority = self.model.majority();
        match outcome {
            Some(Outcome::Granted { fence, .. }) => {
                let validity = self.model.no_validity_at() - elapsed;
                let fence = fence.map_or(String::new(), |f| {
                    format!(", fencing token {f} (the largest counter of its majority)")
                });
                (
                    None,
                    None,
                    format!(
                        "{c} heard from every master {took}: {got} of {m} granted, a majority, and {} of validity left: it holds the lock{fence}",
                        ticks(validity)
                    ),
                )
            }
            _ => {
                let why = if got >= majority {
                    format!(
                        "{got} of {m} granted, a majority, but {} went by: no validity left",
                        ticks(elapsed)
                    )
                } else {
                    format!("{got} of {m} granted, short of a majority ({majority})")
                };
                let keys = before.keys_of(c);
                let removes = if keys == 0 {
                    "nothing of its is there".to_owned()
                } else {
                    format!("removes its key on {}", set_names(keys, m))
                };
                (
                    Some(format!(
                        "every master: EVALSHA compare-and-delete 1 lock <{c}'s token>"
                    )),
                    Some(format!("{} removed", keys.count_ones())),
                    format!(
                        "{c} heard from every master {took}: {why}; it releases on every master ({removes}) and will try again"
                    ),
                )
            }
        }
    }

    fn write(&self, before: &World, after: &World, c: ClientId) -> Told {
        let client = before.roster.client(c);
        self.model.resource.tell_write(
            &before.resource,
            &after.resource,
            c,
            client.fence,
            client.grant,
        )
    }

    fn release(&self, before: &World, c: ClientId) -> Told {
        let keys = before.keys_of(c);
        let m = before.m;
        let says = if keys == 0 {
            format!("{c} releases on every master: none holds its token any more, nothing removed")
        } else {
            format!(
                "{c} releases on every master: its key is removed on {}",
                set_names(keys, m)
            )
        };
        (
            Some(format!(
                "every master: EVALSHA compare-and-delete 1 lock <{c}'s token>"
            )),
            Some(format!("{} removed", keys.count_ones())),
            says,
        )
    }

    fn tick(&self, before: &World, after: &World) -> String {
        let mut parts = Vec::new();
        for k in before.node_ids() {
            if let (Some(key), None) = (before.node(k).key, after.node(k).key) {
                parts.push(format!("{}'s key on {k} runs out", key.owner));
            }
        }
        for c in before.roster.ids() {
            let (b, a) = (before.roster.client(c), after.roster.client(c));
            if b.believes_it_holds() && b.validity > 0 && a.validity == 0 {
                parts.push(format!("{c}'s validity is over"));
            }
        }
        for k in before.node_ids() {
            if before.node(k).down == Some(1) {
                parts.push(format!("{k} may rejoin"));
            }
        }
        if parts.is_empty() {
            "a tick passes".to_owned()
        } else {
            format!("a tick passes; {}", parts.join("; "))
        }
    }

    fn lost(&self, before: &World, node: NodeId) -> String {
        let key = match before.node(node).key {
            Some(k) => format!("{}'s key", k.owner),
            None => "no key".to_owned(),
        };
        if self.model.caps.fencing {
            format!("{key} and its counter (at {})", before.node(node).counter)
        } else {
            key
        }
    }
}

fn jump(before: &World, after: &World, node: NodeId) -> String {
    let head = format!("{node}'s clock jumps {} ahead", ticks(CLOCK_JUMP_TICKS));
    match (before.node(node).key, after.node(node).key) {
        (Some(k), None) => format!("{head}: {}'s key there expires at once", k.owner),
        (Some(k), Some(left)) => format!(
            "{head}: {}'s key there now has {} left",
            k.owner,
            ticks(left.ttl)
        ),
        _ => head,
    }
}

fn suffered(before: &World, after: &World, c: ClientId, fault: ClientFault) -> String {
    match fault {
        ClientFault::Pause => tell_pause(c),
        ClientFault::Resume => resume(after, c),
        ClientFault::Crash => crash(before, c),
        ClientFault::Stall | ClientFault::Wake => {
            format!("{} {c} (not a step of this model)", fault.name())
        }
    }
}

fn resume(after: &World, c: ClientId) -> String {
    let client = after.roster.client(c);
    if !client.believes_it_holds() {
        return format!("{c} resumes");
    }
    let keys = after.keys_of(c).count_ones();
    if client.validity > 0 {
        format!("{c} resumes, still within its validity")
    } else {
        format!(
            "{c} resumes, still believing it holds the lock — but its validity is over ({keys} of {} masters still hold its key)",
            after.m
        )
    }
}

fn crash(before: &World, c: ClientId) -> String {
    if before.roster.client(c).believes_it_holds() {
        format!("{c} crashes holding the lock: its keys stay until their leases run out")
    } else {
        format!("{c} crashes (stops for good)")
    }
}
