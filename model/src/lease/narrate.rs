//! The lease family's steps in plain words, with the Redis command each one
//! stands for as the protocol's capabilities make it.

use crate::kit::tell_pause;
use crate::narrate::Told;
use crate::narrate::{KeyView, NarratedStep, Turn};
use crate::op::{ClientOp, Reply};
use crate::outcome::Outcome;
use crate::step::{ClientFault, NodeFault, Step};
use crate::system::System;
use crate::world::ClientId;
use locklab_spec::declaration::Release;

use super::partition::Reach;
use super::{LeaseModel, World};
use renewal::deadline_passed;

mod partition;
mod persistence;
mod renewal;
mod replicas;

/// Tells the steps of one lease-family scenario.
pub(super) struct Narrator<'a> {
    model: &'a LeaseModel,
}

impl<'a> Narrator<'a> {
    pub(super) fn new(model: &'a LeaseModel) -> Self {
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
        let on_old = step
            .client()
            .is_some_and(|c| before.reach(c) == Reach::Isolated);
        let (command, reply, mut says) = if on_old {
            let (mut b, mut a) = (before.clone(), after.clone());
            b.swap_isolated();
            a.swap_isolated();
            let (command, reply, says) = self.told(&b, step, outcome, &a);
            let across = format!(" (on the old primary {}, across the cut)", b.primary);
            (command, reply, says + &across)
        } else {
            self.told(before, step, outcome, after)
        };
        says.push_str(&after.roster.tell_believers(&before.roster));
        says.push_str(&renewal::tell_untold(before, after, step));
        let holders = after.roster.believers();
        let caps = self.model.caps;
        NarratedStep {
            n,
            step,
            command,
            reply,
            outcome: outcome.cloned(),
            says,
            key: after.lease.map(|l| KeyView {
                owner: l.owner.to_string(),
                ticks_left: l.ttl,
                fence: caps.fencing.then_some(l.fence),
                count: caps.reentrant().then_some(l.count),
            }),
            nodes: Vec::new(),
            holders: holders.iter().map(ToString::to_string).collect(),
            state: None,
        }
    }

    /// A step's command, reply and words, told on `before` and `after`.
    fn told(&self, before: &World, step: Step, outcome: Option<&Outcome>, after: &World) -> Told {
        match step {
            Step::Op {
                client,
                op: ClientOp::Renew,
                reply,
            } => self.renew(before, after, client, reply, outcome),
            Step::Deliver { client }
                if before.roster.client(client).watchdog.in_flight.is_some() =>
            {
                (None, None, renewal::delivered(after, client, outcome))
            }
            Step::Op {
                client,
                op: ClientOp::Write,
                reply: Reply::Now,
            } if outcome == Some(&Outcome::Lost) => (None, None, deadline_passed(client)),
            Step::Client {
                client,
                fault: fault @ (ClientFault::Stall | ClientFault::Wake),
            } => (None, None, renewal::starved(client, fault)),
            Step::Op {
                client,
                op: ClientOp::Acquire,
                reply: Reply::Now,
            } => self.acquire(before, after, client, outcome),
            Step::Op {
                client,
                op: ClientOp::Acquire,
                reply: Reply::Held,
            } => {
                let (command, _, _) = self.acquire(before, after, client, None);
                (
                    command,
                    Some(self.grant_reply(after, client)),
                    format!(
                        "Redis grants {client}'s acquire, but the reply is delayed in flight: {client} does not know yet"
                    ),
                )
            }
            Step::Op {
                client,
                op: ClientOp::Acquire,
                reply: Reply::Resent,
            } => {
                let (command, reply, says) = self.acquire(before, after, client, outcome);
                (
                    command,
                    reply,
                    format!(
                        "{client}'s acquire runs, its reply is lost, and {client} sends the same request again: {says}"
                    ),
                )
            }
            Step::Deliver { client } => (None, None, self.deliver(after, client)),
            Step::Op {
                client,
                op: ClientOp::Write,
                reply: Reply::Now,
            } => self.write(before, after, client),
            Step::Op {
                client,
                op: ClientOp::Release,
                reply: Reply::Now,
            } => self.release(before, after, client, outcome),
            Step::Op {
                client,
                op: ClientOp::Confirm,
                reply: Reply::Now,
            } => self.confirm(before, client, outcome),
            Step::Tick => (None, None, tick(before, after)),
            Step::Client { client, fault } => (None, None, suffered(before, after, client, fault)),
            Step::Node {
                fault: NodeFault::Restart,
                ..
            } => (None, None, self.restart(before, after)),
            Step::Fsync => (None, None, self.fsync(after)),
            Step::Replicate { node } => self.replicate(before, after, node),
            Step::Node {
                node,
                fault: NodeFault::Failover,
            } if before.cut.is_some() => self.promote_across(before, after, node),
            Step::Node {
                node,
                fault: NodeFault::Failover,
            } => self.failover(before, after, node),
            Step::Partition { side } => (None, None, self.partition(before, side)),
            Step::Heal => (None, None, self.heal(before)),
            Step::Node {
                node,
                fault: NodeFault::NoReplicas,
            } => (None, None, self.noreplicas(node)),
            _ => (None, None, format!("{step} (not a step of this model)")),
        }
    }

    fn ttl(&self) -> u8 {
        self.model.scenario().ttl
    }

    fn acquire_command(&self, c: ClientId) -> String {
        let caps = self.model.caps;
        let ttl = self.ttl();
        if caps.reentrant() {
            let attempt = match caps.reentry {
                locklab_spec::declaration::Reentry::Counted {
                    idempotent: true, ..
                } => format!(" <{c}'s attempt id>"),
                _ => String::new(),
            };
            format!("EVALSHA reentrant-acquire 2 lock lock:fence <{c}'s id>{attempt} <{ttl} ticks>")
        } else if caps.fencing {
            format!("EVALSHA acquire-fenced 2 lock lock:fence <{c}'s token> <{ttl} ticks>")
        } else if caps.unique_token {
            format!("SET lock <{c}'s token> NX PX <{ttl} ticks>")
        } else {
            format!("SET lock 1 NX PX <{ttl} ticks>")
        }
    }

    fn grant_reply(&self, after: &World, c: ClientId) -> String {
        let caps = self.model.caps;
        match after.lease {
            Some(l) if caps.reentrant() => format!("fence {}, count {}", l.fence, l.count),
            _ if caps.fencing => after.roster.client(c).fence.to_string(),
            _ => "OK".to_owned(),
        }
    }

    fn acquire(
        &self,
        before: &World,
        after: &World,
        c: ClientId,
        outcome: Option<&Outcome>,
    ) -> Told {
        let command = self.acquire_command(c);
        let fencing = self.model.caps.fencing;
        let reentering = before.roster.client(c).depth > 0;
        let mine_before = before.lease.filter(|l| l.owner == c);
        let (reply, says) = match outcome {
            Some(Outcome::Granted { .. }) => {
                let reply = self.grant_reply(after, c);
                let fence = after.roster.client(c).fence;
                let with_fence = if fencing {
                    format!(" with fencing token {fence}")
                } else {
                    String::new()
                };
                let says = match (reentering, mine_before) {
                    (true, Some(_)) => {
                        let count = after.lease.map_or(0, |l| l.count);
                        format!("{c} re-enters its lock: count {count}, lease renewed, same fencing token")
                    }
                    (true, None) => format!(
                        "{c} re-acquires: the lock is free — its own lease ran out under it — so it takes a fresh one{with_fence}, believing it re-entered"
                    ),
                    (false, Some(_)) => {
                        let count = after.lease.map_or(0, |l| l.count);
                        format!("{c} acquires the lock, which is its own already: count {count}")
                    }
                    (false, None) => format!("{c} acquires the lock{with_fence}"),
                };
                (reply, says)
            }
            Some(Outcome::Believed) => {
                let owner = before.lease.map(|l| l.owner.to_string()).unwrap_or_default();
                let whose = if owner == c.to_string() {
                    "its own lock".to_owned()
                } else {
                    format!("{owner} holds the lock")
                };
                (
                    "(nil)".to_owned(),
                    format!(
                        "{c}'s SET NX fails ({whose}), but {c} never reads the reply and goes on as the holder"
                    ),
                )
            }
            Some(Outcome::Pending) => ("OK".to_owned(), self.pending(before, c)),
            Some(Outcome::Lost) => (
                "lost".to_owned(),
                format!(
                    "{c}'s re-entry finds its hold gone (its lease ran out): it learns it lost the lock and starts its round over"
                ),
            ),
            _ => {
                let own = after.lease.is_some_and(|l| l.owner == c);
                let says = if own && reentering {
                    format!(
                        "{c}'s re-acquire fails on its own lock: SET NX cannot tell the owner, so {c} waits for itself until its lease runs out"
                    )
                } else if own {
                    format!(
                        "{c} is refused by its own lock: Redis holds it for {c}, but {c} believes it does not"
                    )
                } else {
                    let owner = after.lease.map(|l| l.owner.to_string()).unwrap_or_default();
                    format!("{c}'s acquire is refused: {owner} holds the lock")
                };
                ("(nil)".to_owned(), says)
            }
        };
        (Some(command), Some(reply), says)
    }

    fn deliver(&self, after: &World, c: ClientId) -> String {
        let tail = match after.lease {
            Some(l) if l.owner == c => String::new(),
            Some(l) => format!(", though `lock` is now {}'s", l.owner),
            None => ", though its lease has run out".to_owned(),
        };
        format!("the delayed reply reaches {c}: it believes it holds the lock{tail}")
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

    fn release(
        &self,
        before: &World,
        after: &World,
        c: ClientId,
        outcome: Option<&Outcome>,
    ) -> Told {
        let caps = self.model.caps;
        let command = match caps.release {
            Release::Del => "DEL lock".to_owned(),
            Release::CompareAndDelete if caps.reentrant() => {
                format!("EVALSHA reentrant-release 1 lock <{c}'s id>")
            }
            Release::CompareAndDelete => {
                format!("EVALSHA compare-and-delete 1 lock <{c}'s token>")
            }
        };
        let inside = after.roster.client(c).depth;
        let still_inside = if inside > 0 {
            format!(" — while {c} is still inside, at depth {inside}")
        } else {
            String::new()
        };
        let (reply, says) = match (outcome, before.lease) {
            (Some(Outcome::StillHeld { count }), _) => (
                format!("count {count}"),
                format!("{c} releases one level: still held, count {count}"),
            ),
            (Some(Outcome::Released), _) => (
                "1".to_owned(),
                format!("{c} releases its own lock{still_inside}"),
            ),
            (Some(Outcome::Deleted), Some(l)) if l.owner != c => (
                "1".to_owned(),
                format!("{c} releases: its DEL removes {}'s lock", l.owner),
            ),
            (Some(Outcome::Deleted), _) => (
                "1".to_owned(),
                format!("{c} releases: its DEL removes its own lock{still_inside}"),
            ),
            (_, None) => (
                "0".to_owned(),
                format!("{c} releases: `lock` is already gone, nothing to remove"),
            ),
            (_, Some(l)) => (
                "0".to_owned(),
                format!(
                    "{c} releases: `lock` holds {}'s token, so the script leaves it alone",
                    l.owner
                ),
            ),
        };
        (Some(command), Some(reply), says)
    }
}

fn tick(before: &World, after: &World) -> String {
    match (before.lease, after.lease) {
        (Some(l), None) => format!(
            "a tick passes; the lease of {} runs out: `lock` is gone",
            l.owner
        ),
        (_, Some(l)) => format!(
            "a tick passes; {}'s lease has {} tick{} left",
            l.owner,
            l.ttl,
            if l.ttl == 1 { "" } else { "s" }
        ),
        (None, None) => "a tick passes".to_owned(),
    }
}

fn suffered(before: &World, after: &World, c: ClientId, fault: ClientFault) -> String {
    match fault {
        ClientFault::Pause => tell_pause(c),
        ClientFault::Resume => resume(after, c),
        ClientFault::Crash => crash(before, c),
        ClientFault::Stall | ClientFault::Wake => renewal::starved(c, fault),
    }
}

fn resume(after: &World, c: ClientId) -> String {
    if !after.roster.client(c).believes_it_holds() {
        return format!("{c} resumes");
    }
    match after.lease {
        Some(l) if l.owner == c => format!("{c} resumes, still holding the lock"),
        Some(l) => format!(
            "{c} resumes, still believing it holds the lock — but `lock` is {}'s now",
            l.owner
        ),
        None => format!("{c} resumes, still believing it holds the lock — but its lease ran out"),
    }
}

fn crash(before: &World, c: ClientId) -> String {
    match before.lease {
        Some(l) if l.owner == c => {
            format!("{c} crashes holding the lock: the others must wait for its lease to run out")
        }
        _ => format!("{c} crashes (stops for good)"),
    }
}
