//! Counterexamples people can follow: each step of a path told in plain
//! words, with the Redis command it stands for, the reply, and the state of
//! the lock key after it. The same data goes into the JSON, so the lab's
//! replay can play the path step by step and a report can draw it. Each
//! family tells its own steps ([`crate::System::tell`]); the shapes here are
//! shared.

use serde::{Deserialize, Serialize};

use crate::outcome::Outcome;
use crate::step::Step;
use crate::world::{ClientId, NodeId};

/// A step told: the Redis command it stands for, Redis's reply, and what
/// happened in words.
pub type Told = (Option<String>, Option<String>, String);

/// One step of a path, as a family tells it: its place (1-based), the state
/// before it, the step, what the client read, and the state after it.
#[derive(Clone, Copy, Debug)]
pub struct Turn<'a, W> {
    /// The step's place in the path.
    pub n: usize,
    /// The state it was taken in.
    pub before: &'a W,
    /// The step.
    pub step: Step,
    /// What the client read, if it read a reply.
    pub outcome: Option<&'a Outcome>,
    /// The state it led to.
    pub after: &'a W,
}

/// The lock key's state after a step.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyView {
    /// Whose grant the key holds.
    pub owner: String,
    /// Ticks left before it expires.
    pub ticks_left: u8,
    /// Its fencing token, for a fenced lock.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fence: Option<u8>,
    /// Its hold count, for a re-entrant lock.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub count: Option<u8>,
}

/// One master of a quorum lock after a step.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeView {
    /// The lock key there (`None`: absent).
    pub key: Option<KeyView>,
    /// The master is down (crashed, not yet rejoined).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub down: bool,
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
    /// What the client reads, in the lab's outcome words, if the step reads
    /// a reply.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub outcome: Option<Outcome>,
    /// What happened, in words.
    pub says: String,
    /// The lock key after the step (`None`: absent); for a quorum lock,
    /// see `nodes`.
    pub key: Option<KeyView>,
    /// For a quorum lock: each master after the step, first to last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeView>,
    /// The clients that believe they hold the lock after the step.
    pub holders: Vec<String>,
    /// The state after the step in a family's own words, where a lock key
    /// and its holders say nothing (the units of a sync scenario): then the
    /// line ends with this instead.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub state: Option<String>,
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
        if let Some(state) = &self.state {
            line.push_str(&format!("  · {state}"));
            return line;
        }
        let holders = if self.holders.is_empty() {
            "nobody".to_owned()
        } else {
            self.holders.join(", ")
        };
        if self.nodes.is_empty() {
            let key = key_words(self.key.as_ref());
            line.push_str(&format!("  · lock: {key} · holders: {holders}"));
        } else {
            let nodes: Vec<String> = self
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let state = if n.down {
                        "down".to_owned()
                    } else {
                        key_words(n.key.as_ref())
                    };
                    format!("{}: {state}", NodeId(i as u8))
                })
                .collect();
            line.push_str(&format!("  · {} · holders: {holders}", nodes.join(" · ")));
        }
        line
    }
}

/// A lock key in words: `c1's, fence 2, 3 ticks left`, or `absent`.
fn key_words(key: Option<&KeyView>) -> String {
    match key {
        None => "absent".to_owned(),
        Some(k) => {
            let fence = k.fence.map(|f| format!(", fence {f}")).unwrap_or_default();
            let count = k.count.map(|c| format!(", count {c}")).unwrap_or_default();
            let s = if k.ticks_left == 1 { "" } else { "s" };
            format!("{}'s{fence}{count}, {} tick{s} left", k.owner, k.ticks_left)
        }
    }
}

/// Which of a scenario's keys a lease is on (the lab maps roles to the key
/// names of a run).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyRole {
    /// The lock key.
    Lock,
    /// A sync key holding the "processed" marker, which expires.
    Marker,
    /// A unit's claim (`<key>:claim`), leased.
    Claim,
    /// A unit pending in a Stream's consumer group: its idle time runs, and
    /// once it reaches the claim idle time another consumer may claim it.
    /// No key holds it (the lab clocks it, but cannot see it expire).
    Pending {
        /// The unit.
        unit: u8,
    },
    /// No key: the clock of a quorum client's acquire, from its first
    /// request to its conclusion (the elapsed time its validity is
    /// computed from), so that the lab's ticks keep to it too.
    Attempt {
        /// Whose acquire.
        client: ClientId,
    },
    /// No key: the time a master that crashed has been down, so that the
    /// lab keeps it down for as long as the model does.
    Down,
}

impl KeyRole {
    /// Whether a key of its own holds this lease, so that the lab can see
    /// it on Redis (as a key with a TTL).
    pub fn is_a_key(self) -> bool {
        !matches!(
            self,
            KeyRole::Pending { .. } | KeyRole::Attempt { .. } | KeyRole::Down
        )
    }
}

/// A key with a lease, as the lab's clock needs it: where it is, and how
/// much of its lease the model says is left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LeaseClock {
    /// The node holding the key.
    pub node: NodeId,
    /// Which key.
    pub key: KeyRole,
    /// Ticks left (at least 1: a key whose lease ran out is gone).
    pub ticks_left: u8,
    /// The whole lease, in ticks.
    pub ttl: u8,
}
