//! The step vocabulary shared by every model and the lab: a counterexample
//! is a list of these, and the lab's conductor plays the same list against
//! real Redis.
//!
//! A step is a client's operation with what becomes of its reply
//! ([`Step::Op`]), a held reply handed over, the producer's write, time
//! passing, a replica catching up, or a fault done to a client or a node.
//! Which steps a model takes, and what each one does, is the model's to
//! say: a family matches the steps it offers and no other.
//!
//! A step reads and writes as text (`acquire c1`, `ask-lost c1 n2`,
//! `tick`, `restart n2`) and as JSON (`{"kind":"ask-lost","client":0,
//! "node":1}`), with the same names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::op::{Call, ClientOp, Reply};
use crate::side::Side;
use crate::world::{ClientId, NodeId, MAX_CLIENTS, MAX_NODES};

/// One step of the system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// The client performs `op`; `reply` says what becomes of its reply.
    Op {
        /// The client.
        client: ClientId,
        /// The operation.
        op: ClientOp,
        /// What becomes of its reply.
        reply: Reply,
    },
    /// The reply held in flight ([`Reply::Held`]) reaches the client.
    Deliver {
        /// The client.
        client: ClientId,
    },
    /// The producer writes the next unit of work (a sync scenario's
    /// environment: the lab performs it, not a client under test).
    Produce,
    /// One tick of time passes: every lease loses a tick, and is gone at zero.
    Tick,
    /// A replica catches up with everything its primary has now.
    Replicate {
        /// The replica.
        node: NodeId,
    },
    /// The primary's append-only file is fsynced: what it has now survives
    /// a restart (`appendfsync everysec` does this once a second).
    Fsync,
    /// The network is cut in two (the `partition` fault): `side` (the
    /// primary, and the replicas and clients named with it) on one side;
    /// every other node and client, and a majority of the Sentinels, on
    /// the other.
    Partition {
        /// The primary's side.
        side: Side,
    },
    /// The cut heals: every link works again, and Sentinel demotes an old
    /// primary that it replaced meanwhile.
    Heal,
    /// A fault done to a client (or its end).
    Client {
        /// The client.
        client: ClientId,
        /// What is done to it.
        fault: ClientFault,
    },
    /// A fault done to a Redis node (or its end).
    Node {
        /// The node (`n1` for a single server).
        node: NodeId,
        /// What is done to it.
        fault: NodeFault,
    },
}

/// A fault done to a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientFault {
    /// It stops taking steps (the `pause` fault).
    Pause,
    /// The paused client takes steps again.
    Resume,
    /// It stops for good (the `crash` fault).
    Crash,
    /// Its watchdog alone is starved while it works on (the `stall`
    /// fault): it renews nothing until woken.
    Stall,
    /// Its starved watchdog runs again.
    Wake,
}

impl ClientFault {
    const ALL: [ClientFault; 5] = [
        ClientFault::Pause,
        ClientFault::Resume,
        ClientFault::Crash,
        ClientFault::Stall,
        ClientFault::Wake,
    ];

    /// The step's name.
    pub fn name(self) -> &'static str {
        match self {
            ClientFault::Pause => "pause",
            ClientFault::Resume => "resume",
            ClientFault::Crash => "crash",
            ClientFault::Stall => "stall",
            ClientFault::Wake => "wake",
        }
    }
}

/// A fault done to a Redis node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeFault {
    /// It crashes and restarts empty (the `restart` fault).
    Restart,
    /// A master crashes, empty, and stays down (the `delayed-restart`
    /// fault): it may rejoin only after a whole lease.
    DelayedRestart,
    /// A master that crashed comes back, empty.
    Rejoin,
    /// Its clock jumps ahead (the `clock-jump` fault): its leases lose
    /// [`CLOCK_JUMP_TICKS`](locklab_spec::fault::CLOCK_JUMP_TICKS).
    ClockJump,
    /// Sentinel promotes this replica with whatever it has (the `failover`
    /// fault); the old primary is demoted and resyncs from it.
    Failover,
    /// A primary cut off from its replicas (a `partition`) has heard from
    /// fewer than `min-replicas-to-write` within `min-replicas-max-lag`,
    /// and refuses writes from now on (`-NOREPLICAS`) until it hears from
    /// them again.
    NoReplicas,
}

impl NodeFault {
    const ALL: [NodeFault; 6] = [
        NodeFault::Restart,
        NodeFault::DelayedRestart,
        NodeFault::Rejoin,
        NodeFault::ClockJump,
        NodeFault::Failover,
        NodeFault::NoReplicas,
    ];

    /// The step's name.
    pub fn name(self) -> &'static str {
        match self {
            NodeFault::Restart => "restart",
            NodeFault::DelayedRestart => "delayed-restart",
            NodeFault::Rejoin => "rejoin",
            NodeFault::ClockJump => "clock-jump",
            NodeFault::Failover => "failover",
            NodeFault::NoReplicas => "noreplicas",
        }
    }

    /// Whether the step always names its node, as a replica's does (`n1`
    /// may be a replica); a node fault of a single server may leave it out.
    fn names_its_node(self) -> bool {
        matches!(self, NodeFault::Failover | NodeFault::NoReplicas)
    }
}

impl Step {
    /// The client performs `op` and reads its reply at once.
    pub fn now(client: ClientId, op: ClientOp) -> Step {
        Step::Op {
            client,
            op,
            reply: Reply::Now,
        }
    }

    /// The client taking or suffering the step (none for the environment,
    /// time and the nodes).
    pub fn client(self) -> Option<ClientId> {
        match self {
            Step::Op { client, .. } | Step::Deliver { client } | Step::Client { client, .. } => {
                Some(client)
            }
            _ => None,
        }
    }

    /// The node a step is about: a node's fault, a replica catching up, or
    /// a client's request to one master.
    pub fn node(self) -> Option<NodeId> {
        match self {
            Step::Node { node, .. } | Step::Replicate { node } => Some(node),
            Step::Op { op, .. } => op.node(),
            _ => None,
        }
    }

    /// The operation performed on this step, and what becomes of its reply
    /// (a fault done *to* a client, such as a pause, is not one). A step
    /// with an operation and no client ([`Step::Produce`]) is the
    /// environment's, which the lab performs itself. A [`Step::Deliver`]
    /// reads the reply of whatever was sent: it performs nothing.
    pub fn call(self) -> Option<Call> {
        match self {
            Step::Op { op, reply, .. } => Some(Call { op, reply }),
            Step::Produce => Some(Call::now(ClientOp::Produce)),
            _ => None,
        }
    }

    /// The step's name in JSON and tables.
    pub fn kind(self) -> String {
        match self {
            Step::Op { op, reply, .. } => Call { op, reply }.name(),
            Step::Deliver { .. } => "deliver".to_owned(),
            Step::Produce => "produce".to_owned(),
            Step::Tick => "tick".to_owned(),
            Step::Replicate { .. } => "replicate".to_owned(),
            Step::Fsync => "fsync".to_owned(),
            Step::Partition { .. } => "partition".to_owned(),
            Step::Heal => "heal".to_owned(),
            Step::Client { fault, .. } => fault.name().to_owned(),
            Step::Node { fault, .. } => fault.name().to_owned(),
        }
    }

    /// Whether the step always names its node (a replica's step), even
    /// `n1`.
    fn names_its_node(self) -> bool {
        match self {
            Step::Replicate { .. } => true,
            Step::Node { fault, .. } => fault.names_its_node(),
            _ => false,
        }
    }
}

impl fmt::Display for Step {
    /// `acquire c1`, `tick`, `ask c1 n2`; a restart names its node unless
    /// it is the only one a single server has (`restart`, `restart n2`); a
    /// replica's step always names it (`replicate n2`, `failover n1`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        if let Step::Partition { side } = self {
            return write!(f, "{kind} {side}");
        }
        match (self.client(), self.node()) {
            (Some(c), Some(n)) => write!(f, "{kind} {c} {n}"),
            (Some(c), None) => write!(f, "{kind} {c}"),
            (None, Some(n)) if n != NodeId::FIRST || self.names_its_node() => {
                write!(f, "{kind} {n}")
            }
            _ => f.write_str(&kind),
        }
    }
}

/// A step that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read step `{given}`: {why}; write e.g. `acquire c1`, `acquire-delayed c2`, `deliver c2`, `acquire-resent c1`, `write c1`, `release c1`, `pause c1`, `resume c1`, `crash c3`, `tick`, `restart`, `restart n2`, `produce`, `read c1`, `read-delayed c1`, `claim c1`, `claim-delayed c1`, `process c1`, `mark c1`, `ack c1`, `ask c1 n2`, `ask-lost c1 n2`, `conclude c1`, `delayed-restart n2`, `rejoin n2`, `clock-jump n2`, `confirm c1`, `replicate n2`, `failover n2`, `renew c1`, `renew-delayed c1`, `stall c1`, `wake c1`, `fsync`, `partition n1+c1`, `noreplicas n1`, `heal`")]
pub struct BadStep {
    /// What was given.
    pub given: String,
    /// What is wrong with it.
    pub why: String,
}

fn index(word: &str, prefix: char, max: usize, what: &str) -> Result<u8, String> {
    let n: usize = word
        .strip_prefix(prefix)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("`{word}` is not a {what} (`{prefix}1`, `{prefix}2`, …)"))?;
    if (1..=max).contains(&n) {
        Ok((n - 1) as u8)
    } else {
        Err(format!(
            "`{word}`: {what}s are numbered {prefix}1 to {prefix}{max}"
        ))
    }
}

/// The old name of `acquire-resent`, still read.
const RETRY: &str = "retry";

impl FromStr for Step {
    type Err = BadStep;

    /// Reads a step as [`Display`](fmt::Display) writes it: `acquire c1`, `tick`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: String| BadStep {
            given: s.to_owned(),
            why,
        };
        let words: Vec<&str> = s.split_whitespace().collect();
        let (kind, arg, third) = match words.as_slice() {
            [kind] => (*kind, None, None),
            [kind, arg] => (*kind, Some(*arg), None),
            [kind, arg, third] => (*kind, Some(*arg), Some(*third)),
            [] => return Err(bad("the step is empty".into())),
            _ => return Err(bad("a step has at most three words".into())),
        };
        let call = if kind == RETRY {
            Some(Call {
                op: ClientOp::Acquire,
                reply: Reply::Resent,
            })
        } else {
            Call::named(kind)
        };
        let asks = call.is_some_and(|c| c.op.node().is_some());
        if third.is_some() && !asks {
            return Err(bad(format!("`{kind}` takes at most one argument")));
        }
        let client = |arg: Option<&str>| -> Result<ClientId, BadStep> {
            let arg = arg.ok_or_else(|| bad(format!("`{kind}` needs a client")))?;
            index(arg, 'c', MAX_CLIENTS, "client")
                .map(ClientId)
                .map_err(bad)
        };
        let node = |arg: &str| index(arg, 'n', MAX_NODES, "node").map(NodeId).map_err(bad);
        let none = |arg: Option<&str>| match arg {
            None => Ok(()),
            Some(_) => Err(bad(format!("`{kind}` takes no client"))),
        };
        if let Some(Call { op, reply }) = call.filter(|c| c.op != ClientOp::Produce) {
            let client = client(arg)?;
            let op = match (op, third) {
                (ClientOp::Ask { .. }, Some(n)) => ClientOp::Ask { node: node(n)? },
                (ClientOp::Ask { .. }, None) => {
                    return Err(bad(format!(
                        "`{kind}` needs a client and a node: `{kind} c1 n2`"
                    )))
                }
                (op, _) => op,
            };
            return Ok(Step::Op { client, op, reply });
        }
        if let Some(fault) = ClientFault::ALL.into_iter().find(|f| f.name() == kind) {
            return Ok(Step::Client {
                client: client(arg)?,
                fault,
            });
        }
        if let Some(fault) = NodeFault::ALL.into_iter().find(|f| f.name() == kind) {
            let node = match arg {
                Some(arg) => node(arg)?,
                None if fault.names_its_node() => {
                    return Err(bad(format!("`{kind}` needs a node (`n2`, …)")))
                }
                None => NodeId::FIRST,
            };
            return Ok(Step::Node { node, fault });
        }
        match kind {
            "tick" => none(arg).map(|()| Step::Tick),
            "produce" => none(arg).map(|()| Step::Produce),
            "fsync" => none(arg).map(|()| Step::Fsync),
            "heal" => none(arg).map(|()| Step::Heal),
            "partition" => match arg {
                Some(arg) => arg
                    .parse()
                    .map(|side| Step::Partition { side })
                    .map_err(bad),
                None => Err(bad(format!(
                    "`{kind}` needs the primary's side (`n1`, `n1+c1+n3`, …)"
                ))),
            },
            "deliver" => Ok(Step::Deliver {
                client: client(arg)?,
            }),
            "replicate" => match arg {
                Some(arg) => Ok(Step::Replicate { node: node(arg)? }),
                None => Err(bad(format!("`{kind}` needs a node (`n2`, …)"))),
            },
            other => Err(bad(format!("`{other}` is not a step"))),
        }
    }
}

impl Serialize for Step {
    /// `{"kind":"ask-lost","client":0,"node":1}`: the name, and the client
    /// and node where the step has them.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Flat {
            kind: self.kind(),
            client: self.client(),
            node: self.node(),
            side: match self {
                Step::Partition { side } => Some(side.to_string()),
                _ => None,
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        let flat = Flat::deserialize(d)?;
        let text = [
            Some(flat.kind),
            flat.client.map(|c| c.to_string()),
            flat.node.map(|n| n.to_string()),
            flat.side,
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A step as JSON has it.
#[derive(Serialize, Deserialize)]
struct Flat {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client: Option<ClientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<NodeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    side: Option<String>,
}

/// Reads a schedule written as steps separated by `;` or `,`.
pub fn parse_schedule(text: &str) -> Result<Vec<Step>, BadStep> {
    text.split([';', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

/// Writes a schedule as [`parse_schedule`] reads it.
pub fn format_schedule(steps: &[Step]) -> String {
    steps
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_round_trip_through_text_and_json() {
        let text = "acquire c1; acquire-delayed c2; tick; restart; restart n3; acquire-resent c8; \
             ask c1 n1; ask-lost c2 n5; conclude c2; delayed-restart n2; rejoin n2; clock-jump n3; \
             confirm c1; replicate n2; failover n1; pause c1; resume c1; crash c3; renew c1; \
             renew-delayed c2; stall c1; wake c1; fsync; partition n1+c1+c3; noreplicas n1; heal; \
             partition n2";
        let steps = parse_schedule(text).unwrap();
        assert_eq!(format_schedule(&steps), text);
        assert_eq!(
            steps[7],
            Step::Op {
                client: ClientId(1),
                op: ClientOp::Ask { node: NodeId(4) },
                reply: Reply::Lost
            }
        );
        let json = serde_json::to_string(&steps).unwrap();
        assert!(
            json.starts_with(r#"[{"kind":"acquire","client":0},"#),
            "{json}"
        );
        assert!(json.contains(r#"{"kind":"ask-lost","client":1,"node":4}"#));
        assert!(json.contains(r#"{"kind":"restart","node":0}"#));
        assert!(json.contains(r#"{"kind":"tick"}"#));
        assert!(json.contains(r#"{"kind":"partition","side":"n1+c1+c3"}"#));
        let back: Vec<Step> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, steps);

        let sync = "produce; read c1; read-delayed c2; deliver c2; claim c1; claim-delayed c2; process c1; mark c1; ack c2";
        let steps = parse_schedule(sync).unwrap();
        assert_eq!(format_schedule(&steps), sync);
        assert_eq!(steps[0].client(), None);
        assert_eq!(steps[0].call(), Some(Call::now(ClientOp::Produce)));
        assert_eq!(steps[3].call(), None);
    }

    #[test]
    fn the_old_name_of_a_resent_acquire_is_read() {
        let steps = parse_schedule("retry c2").unwrap();
        assert_eq!(format_schedule(&steps), "acquire-resent c2");
    }

    #[test]
    fn bad_steps_say_what_is_wrong() {
        for (bad, why) in [
            ("acquire", "`acquire` needs a client"),
            ("tick c1", "`tick` takes no client"),
            ("acquire c0", "clients are numbered c1 to c8"),
            ("acquire c9", "clients are numbered c1 to c8"),
            ("fly c1", "`fly` is not a step"),
            ("acquire c1 c2", "`acquire` takes at most one argument"),
            ("ask c1", "`ask` needs a client and a node"),
            ("ask c1 c2", "`c2` is not a node"),
            ("ask c1 n2 n3", "a step has at most three words"),
            ("acquire x", "`x` is not a client"),
            ("produce c1", "`produce` takes no client"),
            ("claim", "`claim` needs a client"),
            ("failover", "`failover` needs a node"),
            ("replicate c2", "`c2` is not a node"),
            ("partition", "needs the primary's side"),
            ("partition c1", "names no node"),
            ("partition n1+x", "`x` is neither a node"),
            ("heal n1", "`heal` takes no client"),
        ] {
            let err = parse_schedule(bad).unwrap_err();
            assert_eq!(err.given, bad);
            assert!(err.why.contains(why), "{bad}: {}", err.why);
        }
    }
}
