//! The sync family's steps in plain words, with the Redis command each one
//! stands for as the protocol's capabilities make it, and the state after
//! each step: what the key (or the Stream) holds, and the sink.

use crate::kit::tell_pause;
use crate::narrate::Told;
use crate::narrate::{NarratedStep, Turn};
use crate::op::{ClientOp, Reply};
use crate::outcome::Outcome;
use crate::step::{ClientFault, NodeFault, Step};
use crate::world::ClientId;

use super::{Entry, Pc, Slot, SyncModel, Unit, World};

/// Tells the steps of one sync scenario.
pub(super) struct Narrator<'a> {
    model: &'a SyncModel,
}

impl<'a> Narrator<'a> {
    pub(super) fn new(model: &'a SyncModel) -> Self {
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
            Step::Produce => self.produce(after),
            Step::Op {
                client,
                op: ClientOp::Read,
                reply: Reply::Now,
            } => self.read(before, after, client, outcome),
            Step::Op {
                client,
                op: ClientOp::Read,
                reply: Reply::Held,
            } => {
                let (command, reply, _) = self.read(before, after, client, None);
                let unit = unit_of(after, client);
                (
                    command,
                    reply,
                    format!("Redis hands {unit} to {client}, but the reply is delayed in flight: {client} does not know it has it"),
                )
            }
            Step::Op {
                client,
                op: ClientOp::Claim,
                reply: Reply::Now,
            } => self.claim(before, after, client, outcome),
            Step::Op {
                client,
                op: ClientOp::Claim,
                reply: Reply::Held,
            } => {
                let (command, _, _) = self.claim(before, after, client, None);
                let unit = unit_of(after, client);
                (
                    command,
                    Some("1".to_owned()),
                    format!("Redis grants {client}'s claim of {unit}, but the reply is delayed in flight: {client} does not know yet"),
                )
            }
            Step::Deliver { client } => (None, None, self.deliver(after, client)),
            Step::Op {
                client,
                op: ClientOp::Process,
                reply: Reply::Now,
            } => self.process(before, client, outcome),
            Step::Op {
                client,
                op: ClientOp::Mark,
                reply: Reply::Now,
            } => self.mark(before, client, outcome),
            Step::Op {
                client,
                op: ClientOp::Ack,
                reply: Reply::Now,
            } => self.ack(before, client, outcome),
            Step::Tick => (None, None, self.tick(before, after)),
            Step::Client { client, fault } => (None, None, suffered(before, after, client, fault)),
            Step::Node {
                fault: NodeFault::Restart,
                ..
            } => (None, None, self.restart(before)),
            _ => (None, None, format!("{step} (not a step of this model)")),
        };
        if let (None, Some(u)) = (before.doubled(), after.doubled()) {
            says.push_str(&format!(" — {u}'s effect is now applied twice"));
        }
        if let (None, Some(u)) = (before.lost(), after.lost()) {
            says.push_str(&format!(
                " — {u} is lost: no longer in Redis, in nobody's hands, never processed"
            ));
        }
        NarratedStep {
            n,
            step,
            command,
            reply,
            outcome: outcome.cloned(),
            says,
            key: None,
            nodes: Vec::new(),
            holders: Vec::new(),
            state: Some(self.state(after)),
        }
    }

    fn ttl(&self) -> u8 {
        self.model.ttl()
    }

    fn produce(&self, after: &World) -> Told {
        let u = Unit(after.produced);
        if self.model.stream() {
            (
                Some(format!("XADD key * unit {u}")),
                Some(format!("<{u}'s id>")),
                format!("the producer appends {u} to the stream"),
            )
        } else {
            (
                Some(format!("EVALSHA sync-produce 1 key {u}")),
                Some("1".to_owned()),
                format!("the producer writes {u} to `key` (which held no unit)"),
            )
        }
    }

    fn read(&self, before: &World, after: &World, c: ClientId, outcome: Option<&Outcome>) -> Told {
        let unit = unit_of(after, c);
        let caps = self.model.caps;
        let command = if caps.stream() {
            format!("XREADGROUP GROUP workers {c} COUNT 1 STREAMS key >")
        } else if self.model.claims() {
            "MGET key key:claim".to_owned()
        } else {
            "GET key".to_owned()
        };
        if let Some(Outcome::Empty) = outcome {
            let there = match before.slot {
                Slot::Marker => "`processed`".to_owned(),
                Slot::Empty => "(nil)".to_owned(),
                Slot::Unit(u) => format!("{u}, claimed"),
            };
            let says = format!("{c} finds nothing to take");
            let reply = if caps.stream() {
                "(nil)".to_owned()
            } else {
                there
            };
            return (Some(command), Some(reply), says);
        }
        let (reply, says) = if caps.stream() {
            let tail = if self.model.caps.dedup_sink {
                String::new()
            } else {
                format!(": it is pending for {c} until {c} acknowledges it")
            };
            (
                unit.clone(),
                format!("{c} takes {unit} from the stream{tail}"),
            )
        } else if self.model.claims() {
            (
                format!("{unit}, (nil)"),
                format!("{c} reads {unit}, unclaimed"),
            )
        } else {
            let others: Vec<String> = before
                .roster
                .ids()
                .filter(|o| {
                    *o != c
                        && before.roster.client(*o).unit.map(|u| u.to_string())
                            == Some(unit.clone())
                })
                .map(|o| o.to_string())
                .collect();
            let tail = if others.is_empty() {
                String::new()
            } else {
                format!(
                    " — as {} did: nothing told {c} it is taken",
                    others.join(" and ")
                )
            };
            (unit.clone(), format!("{c} reads {unit}{tail}"))
        };
        (Some(command), Some(reply), says)
    }

    fn claim(&self, before: &World, after: &World, c: ClientId, outcome: Option<&Outcome>) -> Told {
        let ttl = self.ttl();
        if self.model.stream() {
            let unit = unit_of(after, c);
            let from = match before
                .units()
                .find(|u| u.to_string() == unit)
                .map(|u| before.entry(u))
            {
                Some(Entry::Pending { owner, .. }) => owner.to_string(),
                _ => "another worker".to_owned(),
            };
            return (
                Some(format!(
                    "XAUTOCLAIM key workers {c} <{ttl} ticks> 0-0 COUNT 1"
                )),
                Some(unit.clone()),
                format!("{c} claims {unit}, pending for {from} longer than the claim idle time"),
            );
        }
        let unit = before
            .roster
            .client(c)
            .unit
            .map(|u| u.to_string())
            .unwrap_or_default();
        let command = format!("EVALSHA sync-claim 2 key key:claim {unit} <{c}> <{ttl} ticks>");
        match outcome {
            Some(Outcome::Conflict) => {
                let why = match (before.slot, before.claim) {
                    (_, Some(claim)) => format!("{} claims it", claim.owner),
                    (Slot::Unit(u), None) => format!("`key` holds {u} now"),
                    (Slot::Marker, None) => "it is marked processed".to_owned(),
                    (Slot::Empty, None) => "`key` is gone".to_owned(),
                };
                (
                    Some(command),
                    Some("0".to_owned()),
                    format!("{c}'s claim of {unit} conflicts ({why}): it lets the unit go and reads again"),
                )
            }
            _ => (
                Some(command),
                Some("1".to_owned()),
                format!("{c} claims {unit}: `key` still holds it and nobody claims it"),
            ),
        }
    }

    fn deliver(&self, after: &World, c: ClientId) -> String {
        let unit = unit_of(after, c);
        let lapsed = if self.model.claims() {
            match after.claim {
                Some(claim) if claim.owner == c => String::new(),
                Some(claim) => format!(", though {} claims it now", claim.owner),
                None => ", though its claim has run out".to_owned(),
            }
        } else {
            match after
                .units()
                .find(|u| u.to_string() == unit)
                .map(|u| after.entry(u))
            {
                Some(Entry::Pending { owner, .. }) if owner != c => {
                    format!(", though it is pending for {owner} now")
                }
                _ => String::new(),
            }
        };
        format!("the delayed reply reaches {c}: it has {unit}{lapsed}")
    }

    fn process(&self, before: &World, c: ClientId, outcome: Option<&Outcome>) -> Told {
        let unit = before
            .roster
            .client(c)
            .unit
            .map(|u| u.to_string())
            .unwrap_or_default();
        let applied = matches!(outcome, Some(Outcome::Processed { applied: true, .. }));
        if self.model.caps.dedup_sink {
            let (reply, says) = if applied {
                ("1", format!("{c} processes {unit}: the sink applies it"))
            } else {
                (
                    "0",
                    format!(
                        "{c} processes {unit}: the sink has applied {unit} before and refuses it"
                    ),
                )
            };
            return (
                Some(format!("EVALSHA dedup-apply 2 sink sink:seen {unit} <{c}>")),
                Some(reply.to_owned()),
                says,
            );
        }
        (
            Some(format!("RPUSH sink \"{unit} <{c}>\"")),
            Some("(integer)".to_owned()),
            format!("{c} processes {unit}: its effect goes to the sink"),
        )
    }

    fn mark(&self, before: &World, c: ClientId, outcome: Option<&Outcome>) -> Told {
        let ttl = self.ttl();
        let unit = before
            .roster
            .client(c)
            .unit
            .map(|u| u.to_string())
            .unwrap_or_default();
        if !self.model.claims() {
            let over = match before.slot {
                Slot::Unit(u) if u.to_string() != unit => {
                    format!(" — over {u}, which nobody has processed")
                }
                Slot::Unit(_) => String::new(),
                Slot::Marker => " (it already was)".to_owned(),
                Slot::Empty => String::new(),
            };
            return (
                Some(format!("SET key processed PX <{ttl} ticks>")),
                Some("OK".to_owned()),
                format!("{c} marks {unit} processed: `key` := processed{over}"),
            );
        }
        let command = format!("EVALSHA sync-mark 2 key key:claim {unit} <{c}> <{ttl} ticks>");
        match outcome {
            Some(Outcome::Conflict) => {
                let why = match (before.slot, before.claim) {
                    (_, Some(claim)) if claim.owner != c => format!("{} claims it", claim.owner),
                    (Slot::Unit(u), _) => format!("`key` holds {u}"),
                    (Slot::Marker, _) => "it is marked processed already".to_owned(),
                    (Slot::Empty, _) => "`key` is gone".to_owned(),
                };
                (
                    Some(command),
                    Some("0".to_owned()),
                    format!("{c}'s mark of {unit} changes nothing ({why})"),
                )
            }
            _ => (
                Some(command),
                Some("1".to_owned()),
                format!("{c} marks {unit} processed and drops its claim"),
            ),
        }
    }

    fn ack(&self, before: &World, c: ClientId, outcome: Option<&Outcome>) -> Told {
        let unit = before
            .roster
            .client(c)
            .unit
            .map(|u| u.to_string())
            .unwrap_or_default();
        let command = format!("XACK key workers <{unit}'s id>");
        match outcome {
            Some(Outcome::Marked) => {
                let whose = before
                    .roster
                    .client(c)
                    .unit
                    .map(|u| before.entry(u))
                    .and_then(|e| match e {
                        Entry::Pending { owner, .. } if owner != c => {
                            Some(format!(" (pending for {owner}: XACK does not ask whose)"))
                        }
                        _ => None,
                    })
                    .unwrap_or_default();
                (
                    Some(command),
                    Some("1".to_owned()),
                    format!("{c} acknowledges {unit}{whose}"),
                )
            }
            _ => (
                Some(command),
                Some("0".to_owned()),
                format!("{c} acknowledges {unit}: nothing pending any more, it was acknowledged (or lost) already"),
            ),
        }
    }

    fn tick(&self, before: &World, after: &World) -> String {
        let mut ended = Vec::new();
        if before.marker_ttl > 0 && after.marker_ttl == 0 {
            ended.push("the marker expires: `key` is gone".to_owned());
        }
        if let (Some(claim), None) = (before.claim, after.claim) {
            ended.push(format!(
                "{}'s claim of {} runs out",
                claim.owner, claim.unit
            ));
        }
        for u in after.units() {
            if let (
                Entry::Pending {
                    idle_left: 1,
                    owner,
                },
                Entry::Pending { idle_left: 0, .. },
            ) = (before.entry(u), after.entry(u))
            {
                ended.push(format!(
                    "{u} has been pending for {owner} for the claim idle time: another worker may claim it"
                ));
            }
        }
        if ended.is_empty() {
            "a tick passes".to_owned()
        } else {
            format!("a tick passes; {}", ended.join("; "))
        }
    }

    fn restart(&self, before: &World) -> String {
        let lost = if self.model.stream() {
            let left: Vec<String> = before
                .units()
                .filter(|u| matches!(before.entry(*u), Entry::New | Entry::Pending { .. }))
                .map(|u| u.to_string())
                .collect();
            if left.is_empty() {
                "the stream and its group".to_owned()
            } else {
                format!("the stream (with {}) and its group", left.join(", "))
            }
        } else {
            match before.slot {
                Slot::Unit(u) => format!("`key` (holding {u})"),
                Slot::Marker => "`key` (the marker)".to_owned(),
                Slot::Empty => "the claim".to_owned(),
            }
        };
        format!("Redis crashes and restarts without persistence: {lost} gone with it; the sink keeps its effects")
    }

    /// The state after a step, on one line.
    fn state(&self, w: &World) -> String {
        let redis = if self.model.stream() {
            let entries: Vec<String> = w
                .units()
                .filter_map(|u| match w.entry(u) {
                    Entry::Absent => None,
                    Entry::New => Some(format!("{u} new")),
                    Entry::Pending {
                        owner,
                        idle_left: 0,
                    } => Some(format!("{u} pending {owner} (idle)")),
                    Entry::Pending { owner, idle_left } => {
                        Some(format!("{u} pending {owner} ({idle_left}t)"))
                    }
                    Entry::Acked => Some(format!("{u} acked")),
                })
                .collect();
            if entries.is_empty() {
                "stream: empty".to_owned()
            } else {
                format!("stream: {}", entries.join(", "))
            }
        } else {
            let key = match w.slot {
                Slot::Empty => "absent".to_owned(),
                Slot::Unit(u) => u.to_string(),
                Slot::Marker => format!("processed ({}t)", w.marker_ttl),
            };
            match w.claim {
                Some(c) => format!("key: {key}, claimed by {} ({}t)", c.owner, c.ttl),
                None => format!("key: {key}"),
            }
        };
        let sink: Vec<String> = w
            .units()
            .filter(|u| w.applied(*u) > 0)
            .map(|u| {
                if w.applied(u) > 1 {
                    format!("{u}×2")
                } else {
                    u.to_string()
                }
            })
            .collect();
        let sink = if sink.is_empty() {
            "empty".to_owned()
        } else {
            sink.join(", ")
        };
        format!("{redis} · sink: {sink}")
    }
}

/// The unit in a worker's hands, as `u2`.
fn unit_of(w: &World, c: ClientId) -> String {
    w.roster
        .client(c)
        .unit
        .map(|u| u.to_string())
        .unwrap_or_default()
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
    let worker = after.roster.client(c);
    match (worker.pc, worker.unit) {
        (Pc::Got | Pc::Claimed | Pc::Processed, Some(u)) => {
            format!("{c} resumes, still with {u} in hand")
        }
        _ => format!("{c} resumes"),
    }
}

fn crash(before: &World, c: ClientId) -> String {
    let worker = before.roster.client(c);
    match (worker.pc, worker.unit) {
        (Pc::Processed, Some(u)) => {
            format!("{c} crashes after processing {u}, before marking it done")
        }
        (_, Some(u)) => format!("{c} crashes with {u} in hand, unprocessed"),
        _ => format!("{c} crashes (stops for good)"),
    }
}
