//! Counterexamples people can follow: each step of a path told in plain
//! words, with the Redis command it stands for, the reply, and the state of
//! the lock key after it. The same data goes into the JSON, so the lab's
//! replay can play the path step by step.

use serde::{Deserialize, Serialize};

use crate::protocol::{Release, Rules};
use crate::scenario::Scenario;
use crate::step::Step;
use crate::world::{ClientId, World};

/// The lock key's state after a step.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyView {
    /// Whose grant the key holds.
    pub owner: String,
    /// Ticks left before it expires.
    pub ticks_left: u8,
    /// Its fencing token, for a fenced lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fence: Option<u8>,
}

/// One step of a counterexample, told.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NarratedStep {
    /// 1-based position in the path.
    pub n: usize,
    /// The step itself, as the replay plays it.
    pub step: Step,
    /// The Redis command the step stands for, if any.
    pub command: Option<String>,
    /// Redis's reply, if any.
    pub reply: Option<String>,
    /// What happened, in words.
    pub says: String,
    /// The lock key after the step (`None`: absent).
    pub key: Option<KeyView>,
    /// The clients that believe they hold the lock after the step.
    pub holders: Vec<String>,
}

impl NarratedStep {
    /// The step as one line: `5. c1 releases: DEL lock → 1 (removes c2's
    /// lock) · lock: absent · holders: c2`.
    pub fn line(&self) -> String {
        let mut line = format!("{:>2}. {}", self.n, self.says);
        if let Some(command) = &self.command {
            line.push_str(&format!("  [{command}"));
            if let Some(reply) = &self.reply {
                line.push_str(&format!(" → {reply}"));
            }
            line.push(']');
        }
        let key = match &self.key {
            None => "absent".to_owned(),
            Some(k) => {
                let fence = k.fence.map(|f| format!(", fence {f}")).unwrap_or_default();
                let s = if k.ticks_left == 1 { "" } else { "s" };
                format!("{}'s{fence}, {} tick{s} left", k.owner, k.ticks_left)
            }
        };
        let holders = if self.holders.is_empty() {
            "nobody".to_owned()
        } else {
            self.holders.join(", ")
        };
        line.push_str(&format!("  · lock: {key} · holders: {holders}"));
        line
    }
}

/// Tells the steps of paths through one scenario.
#[derive(Clone, Copy, Debug)]
pub struct Narrator {
    rules: Rules,
    ttl: u8,
}

impl Narrator {
    /// A narrator for a scenario's protocol and lease.
    pub fn new(scenario: &Scenario) -> Narrator {
        Narrator {
            rules: scenario.protocol.rules(),
            ttl: scenario.ttl,
        }
    }

    /// Tells a path given as the states and steps the checker returned:
    /// `(state, Some(step))` pairs followed by the last state. Numbering
    /// starts at `first`.
    pub fn tell(&self, path: &[(World, Option<Step>)], first: usize) -> Vec<NarratedStep> {
        path.windows(2)
            .enumerate()
            .filter_map(|(i, pair)| {
                let (before, step) = &pair[0];
                let (after, _) = &pair[1];
                step.map(|step| self.tell_step(first + i, before, step, after))
            })
            .collect()
    }

    fn tell_step(&self, n: usize, before: &World, step: Step, after: &World) -> NarratedStep {
        let (command, reply, mut says) = match step {
            Step::Acquire { client } => self.acquire(before, after, client, false),
            Step::AcquireDelayed { client } => self.acquire(before, after, client, true),
            Step::Deliver { client } => (None, None, self.deliver(after, client)),
            Step::Write { client } => self.write(before, after, client),
            Step::Release { client } => self.release(before, client),
            Step::Tick => (None, None, tick(before, after)),
            Step::Pause { client } => (
                None,
                None,
                format!("{client} pauses (GC, swap, SIGSTOP): it takes no steps while time passes"),
            ),
            Step::Resume { client } => (None, None, resume(after, client)),
            Step::Crash { client } => (None, None, crash(before, client)),
            Step::Restart => (None, None, restart(before, self.rules.fencing)),
        };
        let holders_before = before.believer_count();
        let holders = after.believers();
        if holders.len() > 1 && holders.len() > holders_before {
            let all = if holders.len() == 2 { "both" } else { "all" };
            says.push_str(&format!(
                " — {} {all} believe they hold the lock",
                names(&holders)
            ));
        }
        NarratedStep {
            n,
            step,
            command,
            reply,
            says,
            key: after.lease.map(|l| KeyView {
                owner: l.owner.to_string(),
                ticks_left: l.ttl,
                fence: self.rules.fencing.then_some(l.fence),
            }),
            holders: holders.iter().map(ToString::to_string).collect(),
        }
    }

    fn acquire(
        &self,
        before: &World,
        after: &World,
        c: ClientId,
        delayed: bool,
    ) -> (Option<String>, Option<String>, String) {
        let value = if self.rules.unique_token {
            format!("<{c}'s token>")
        } else {
            "1".to_owned()
        };
        let command = if self.rules.fencing {
            format!(
                "EVALSHA acquire-fenced 2 lock lock:fence {value} <{} ticks>",
                self.ttl
            )
        } else {
            format!("SET lock {value} NX PX <{} ticks>", self.ttl)
        };
        let granted = before.lease.is_none();
        let fence = after.client(c).fence;
        let reply = match (granted, self.rules.fencing) {
            (true, true) => fence.to_string(),
            (true, false) => "OK".to_owned(),
            (false, _) => "(nil)".to_owned(),
        };
        let says = match (granted, delayed) {
            (true, true) => format!(
                "Redis grants {c}'s acquire, but the reply is delayed in flight: {c} does not know yet"
            ),
            (true, false) if self.rules.fencing => {
                format!("{c} acquires the lock with fencing token {fence}")
            }
            (true, false) => format!("{c} acquires the lock"),
            (false, _) => {
                let owner = before.lease.map(|l| l.owner.to_string()).unwrap_or_default();
                format!(
                    "{c}'s SET NX fails ({owner} holds the lock), but {c} never reads the reply and goes on as the holder"
                )
            }
        };
        (Some(command), Some(reply), says)
    }

    fn deliver(&self, after: &World, c: ClientId) -> String {
        let lease = after.lease;
        let tail = match lease {
            Some(l) if l.owner == c => String::new(),
            Some(l) => format!(", though `lock` is now {}'s", l.owner),
            None => ", though its lease has run out".to_owned(),
        };
        format!("the delayed reply reaches {c}: it believes it holds the lock{tail}")
    }

    fn write(
        &self,
        before: &World,
        after: &World,
        c: ClientId,
    ) -> (Option<String>, Option<String>, String) {
        let client = before.client(c);
        let stale = if after.stale_accepted && !before.stale_accepted {
            let made = if client.grant == 0 {
                "without any grant".to_owned()
            } else {
                format!("under grant {}", client.grant)
            };
            format!(
                " — a stale write, made {made} yet accepted after grant {}'s",
                before.resource_grant
            )
        } else {
            String::new()
        };
        if self.rules.fencing {
            let token = client.fence;
            let command = format!("EVALSHA fenced-write 3 resource resource:highest resource:log {token} <{c}'s data>");
            if token >= before.resource_max {
                (
                    Some(command),
                    Some("accepted".to_owned()),
                    format!("{c} writes to the resource with token {token}: accepted{stale}"),
                )
            } else {
                (
                    Some(command),
                    Some("refused".to_owned()),
                    format!(
                        "{c} writes with token {token}: the resource refuses it, having accepted token {}",
                        before.resource_max
                    ),
                )
            }
        } else {
            (
                Some(format!("SET resource <{c}'s data>")),
                Some("OK".to_owned()),
                format!("{c} writes to the resource{stale}"),
            )
        }
    }

    fn release(&self, before: &World, c: ClientId) -> (Option<String>, Option<String>, String) {
        let (command, removes) = match self.rules.release {
            Release::Del => ("DEL lock".to_owned(), before.lease.is_some()),
            Release::CompareAndDelete => (
                format!("EVALSHA compare-and-delete 1 lock <{c}'s token>"),
                before.lease.is_some_and(|l| l.owner == c),
            ),
        };
        let reply = if removes { "1" } else { "0" };
        let says = match before.lease {
            None => format!("{c} releases: `lock` is already gone, nothing to remove"),
            Some(l) if l.owner == c => format!("{c} releases its own lock"),
            Some(l) if removes => format!("{c} releases: its DEL removes {}'s lock", l.owner),
            Some(l) => format!(
                "{c} releases: `lock` holds {}'s token, so the script leaves it alone",
                l.owner
            ),
        };
        (Some(command), Some(reply.to_owned()), says)
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

fn resume(after: &World, c: ClientId) -> String {
    if !after.client(c).believes_it_holds() {
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

fn restart(before: &World, fencing: bool) -> String {
    let lost = match before.lease {
        Some(l) => format!("{}'s lock", l.owner),
        None => "no lock".to_owned(),
    };
    let counter = if fencing {
        format!(" and the fencing counter (at {})", before.fence_counter)
    } else {
        String::new()
    };
    format!("Redis crashes and restarts without persistence: {lost}{counter} gone with it")
}

fn names(clients: &[ClientId]) -> String {
    let names: Vec<String> = clients.iter().map(ToString::to_string).collect();
    match names.as_slice() {
        [a, b] => format!("{a} and {b}"),
        _ => names.join(", "),
    }
}
