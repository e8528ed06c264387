//! The step vocabulary shared by every model and the lab: a counterexample
//! is a list of these, and the lab's conductor plays the same list against
//! real Redis. A step is either a client's action (it names the
//! [`ClientOp`] the client performs), time passing, or a fault; which steps
//! a model takes, and what each one does, is the model's to say.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::outcome::ClientOp;
use crate::world::{ClientId, NodeId, MAX_CLIENTS, MAX_NODES};

/// One step of the system: a client's action, time passing, or a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Step {
    /// The client sends its acquire and reads the reply at once.
    Acquire {
        /// Who.
        client: ClientId,
    },
    /// Redis runs the client's acquire, but the reply is held in flight
    /// (the `delay` fault).
    AcquireDelayed {
        /// Who.
        client: ClientId,
    },
    /// The held reply reaches the client.
    Deliver {
        /// Who.
        client: ClientId,
    },
    /// The client's acquire reply is lost and it sends the same request
    /// again: Redis runs it twice, the client reads the second reply (the
    /// `retry` fault).
    Retry {
        /// Who.
        client: ClientId,
    },
    /// The client writes to the protected resource (its critical section),
    /// carrying its fencing token where the protocol has one.
    Write {
        /// Who.
        client: ClientId,
    },
    /// The client releases the lock (one level, for a re-entrant lock).
    Release {
        /// Who.
        client: ClientId,
    },
    /// One tick of time passes: every lease loses a tick, and is gone at zero.
    Tick,
    /// The client stops taking steps (the `pause` fault).
    Pause {
        /// Who.
        client: ClientId,
    },
    /// The paused client takes steps again.
    Resume {
        /// Who.
        client: ClientId,
    },
    /// The client stops for good (the `crash` fault).
    Crash {
        /// Who.
        client: ClientId,
    },
    /// A Redis node crashes and restarts empty (the `restart` fault).
    Restart {
        /// Which node (`n1` for a single server).
        node: NodeId,
    },
    /// The producer writes the next unit of work (a sync scenario's
    /// environment: the lab performs it, not a client under test).
    Produce,
    /// The worker reads (or, from a Stream, takes) the next unit.
    Read {
        /// Who.
        client: ClientId,
    },
    /// Redis runs the worker's read, but the reply is held in flight (the
    /// `delay` fault); [`Step::Deliver`] hands it over.
    ReadDelayed {
        /// Who.
        client: ClientId,
    },
    /// The worker claims a unit: by compare-and-set on the unit it read, or
    /// (a Stream) a unit pending longer than the claim idle time.
    Claim {
        /// Who.
        client: ClientId,
    },
    /// Redis runs the worker's claim, but the reply is held in flight (the
    /// `delay` fault).
    ClaimDelayed {
        /// Who.
        client: ClientId,
    },
    /// The worker processes its unit: the unit's effect goes to the sink.
    Process {
        /// Who.
        client: ClientId,
    },
    /// The worker marks its unit done in the key.
    Mark {
        /// Who.
        client: ClientId,
    },
    /// The worker acknowledges its unit to the Stream's consumer group.
    Ack {
        /// Who.
        client: ClientId,
    },
    /// The client asks one master for the lock (`SET NX PX` there) and
    /// reads its reply: one request of a quorum acquire.
    Ask {
        /// Who.
        client: ClientId,
        /// Which master.
        node: NodeId,
    },
    /// The client asks one master, which runs the request, but no reply
    /// comes within the client's per-master timeout: the client counts the
    /// master as not granted (the `delay` fault of the quorum family).
    AskLost {
        /// Who.
        client: ClientId,
        /// Which master.
        node: NodeId,
    },
    /// The client, having heard from every master, decides: it holds the
    /// lock with a majority and validity left, or releases everywhere.
    Conclude {
        /// Who.
        client: ClientId,
    },
    /// A master crashes, empty, and stays down (the `delayed-restart`
    /// fault): it may rejoin only after a whole lease.
    DelayedRestart {
        /// Which master.
        node: NodeId,
    },
    /// A master that crashed comes back, empty.
    Rejoin {
        /// Which master.
        node: NodeId,
    },
    /// A master's clock jumps ahead (the `clock-jump` fault): its leases
    /// lose [`CLOCK_JUMP_TICKS`](locklab_spec::fault::CLOCK_JUMP_TICKS).
    ClockJump {
        /// Which master.
        node: NodeId,
    },
    /// The client sends `WAIT` after its grant and reads how many replicas
    /// acknowledged it (a lock that confirms its grants, `token-wait`).
    Confirm {
        /// Who.
        client: ClientId,
    },
    /// A replica catches up with everything its primary has now.
    Replicate {
        /// The replica.
        node: NodeId,
    },
    /// Sentinel promotes this replica with whatever it has (the `failover`
    /// fault); the old primary is demoted and resyncs from it.
    Failover {
        /// The replica promoted.
        node: NodeId,
    },
}

impl Step {
    /// The client taking or suffering the step (none for time and for
    /// faults of a node).
    pub fn client(self) -> Option<ClientId> {
        match self {
            Step::Acquire { client }
            | Step::AcquireDelayed { client }
            | Step::Deliver { client }
            | Step::Retry { client }
            | Step::Write { client }
            | Step::Release { client }
            | Step::Pause { client }
            | Step::Resume { client }
            | Step::Crash { client }
            | Step::Read { client }
            | Step::ReadDelayed { client }
            | Step::Claim { client }
            | Step::ClaimDelayed { client }
            | Step::Process { client }
            | Step::Mark { client }
            | Step::Ack { client }
            | Step::Ask { client, .. }
            | Step::AskLost { client, .. }
            | Step::Conclude { client }
            | Step::Confirm { client } => Some(client),
            Step::Tick
            | Step::Restart { .. }
            | Step::Produce
            | Step::DelayedRestart { .. }
            | Step::Rejoin { .. }
            | Step::ClockJump { .. }
            | Step::Replicate { .. }
            | Step::Failover { .. } => None,
        }
    }

    /// Whether the step sends its operation and leaves the reply in
    /// flight, for a later [`Step::Deliver`].
    pub fn is_delayed(self) -> bool {
        matches!(
            self,
            Step::AcquireDelayed { .. } | Step::ReadDelayed { .. } | Step::ClaimDelayed { .. }
        )
    }

    /// The node a step is about: a fault of a node, or a client's request
    /// to one master.
    pub fn node(self) -> Option<NodeId> {
        match self {
            Step::Restart { node }
            | Step::DelayedRestart { node }
            | Step::Rejoin { node }
            | Step::ClockJump { node }
            | Step::Ask { node, .. }
            | Step::AskLost { node, .. }
            | Step::Replicate { node }
            | Step::Failover { node } => Some(node),
            _ => None,
        }
    }

    /// The operation the client performs on this step, if it performs one
    /// (a fault done *to* a client, such as a pause, is not an operation).
    /// A retry is two: a request whose reply is lost
    /// ([`ClientOp::AcquireLost`]), then the same request again, whose reply
    /// the client reads — the operation named here. A step with an
    /// operation and no client ([`Step::Produce`]) is the environment's,
    /// which the lab performs itself. (A [`Step::Deliver`] reads the reply
    /// of whatever was sent; its operation here is the lease family's.)
    pub fn op(self) -> Option<ClientOp> {
        match self {
            Step::Acquire { .. } | Step::AcquireDelayed { .. } | Step::Deliver { .. } => {
                Some(ClientOp::Acquire)
            }
            Step::Retry { .. } => Some(ClientOp::AcquireResent),
            Step::Write { .. } => Some(ClientOp::Write),
            Step::Release { .. } => Some(ClientOp::Release),
            Step::Produce => Some(ClientOp::Produce),
            Step::Read { .. } | Step::ReadDelayed { .. } => Some(ClientOp::Read),
            Step::Claim { .. } | Step::ClaimDelayed { .. } => Some(ClientOp::Claim),
            Step::Process { .. } => Some(ClientOp::Process),
            Step::Mark { .. } => Some(ClientOp::Mark),
            Step::Ack { .. } => Some(ClientOp::Ack),
            Step::Ask { node, .. } => Some(ClientOp::Ask { node }),
            Step::AskLost { node, .. } => Some(ClientOp::AskLost { node }),
            Step::Conclude { .. } => Some(ClientOp::Conclude),
            Step::Confirm { .. } => Some(ClientOp::Confirm),
            Step::Tick
            | Step::Pause { .. }
            | Step::Resume { .. }
            | Step::Crash { .. }
            | Step::Restart { .. }
            | Step::DelayedRestart { .. }
            | Step::Rejoin { .. }
            | Step::ClockJump { .. } => None,
            Step::Replicate { .. } | Step::Failover { .. } => None,
        }
    }

    /// The step's name in JSON and tables.
    pub fn kind(self) -> &'static str {
        match self {
            Step::Acquire { .. } => "acquire",
            Step::AcquireDelayed { .. } => "acquire-delayed",
            Step::Deliver { .. } => "deliver",
            Step::Retry { .. } => "retry",
            Step::Write { .. } => "write",
            Step::Release { .. } => "release",
            Step::Tick => "tick",
            Step::Pause { .. } => "pause",
            Step::Resume { .. } => "resume",
            Step::Crash { .. } => "crash",
            Step::Restart { .. } => "restart",
            Step::Produce => "produce",
            Step::Read { .. } => "read",
            Step::ReadDelayed { .. } => "read-delayed",
            Step::Claim { .. } => "claim",
            Step::ClaimDelayed { .. } => "claim-delayed",
            Step::Process { .. } => "process",
            Step::Mark { .. } => "mark",
            Step::Ack { .. } => "ack",
            Step::Ask { .. } => "ask",
            Step::AskLost { .. } => "ask-lost",
            Step::Conclude { .. } => "conclude",
            Step::DelayedRestart { .. } => "delayed-restart",
            Step::Rejoin { .. } => "rejoin",
            Step::ClockJump { .. } => "clock-jump",
            Step::Confirm { .. } => "confirm",
            Step::Replicate { .. } => "replicate",
            Step::Failover { .. } => "failover",
        }
    }
}

impl fmt::Display for Step {
    /// `acquire c1`, `tick`, `ask c1 n2`; a restart names its node unless
    /// it is the only one a single server has (`restart`, `restart n2`); a
    /// replica's step always names it (`replicate n2`, `failover n1`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let replicas = matches!(self, Step::Replicate { .. } | Step::Failover { .. });
        match (self.client(), self.node()) {
            (Some(c), Some(n)) => write!(f, "{} {c} {n}", self.kind()),
            (Some(c), None) => write!(f, "{} {c}", self.kind()),
            (None, Some(n)) if n != NodeId::FIRST || replicas => write!(f, "{} {n}", self.kind()),
            _ => f.write_str(self.kind()),
        }
    }
}

/// A step that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read step `{given}`: {why}; write e.g. `acquire c1`, `acquire-delayed c2`, `deliver c2`, `retry c1`, `write c1`, `release c1`, `pause c1`, `resume c1`, `crash c3`, `tick`, `restart`, `restart n2`, `produce`, `read c1`, `read-delayed c1`, `claim c1`, `claim-delayed c1`, `process c1`, `mark c1`, `ack c1`, `ask c1 n2`, `ask-lost c1 n2`, `conclude c1`, `delayed-restart n2`, `rejoin n2`, `clock-jump n2`, `confirm c1`, `replicate n2`, `failover n2`")]
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
        if third.is_some() && !matches!(kind, "ask" | "ask-lost") {
            return Err(bad(format!("`{kind}` takes at most one argument")));
        }
        let client = |arg: Option<&str>| -> Result<ClientId, BadStep> {
            let arg = arg.ok_or_else(|| bad(format!("`{kind}` needs a client")))?;
            index(arg, 'c', MAX_CLIENTS, "client")
                .map(ClientId)
                .map_err(bad)
        };
        let node = |arg: Option<&str>| -> Result<NodeId, BadStep> {
            match arg {
                None => Ok(NodeId::FIRST),
                Some(arg) => index(arg, 'n', MAX_NODES, "node").map(NodeId).map_err(bad),
            }
        };
        let none = |arg: Option<&str>| -> Result<(), BadStep> {
            match arg {
                None => Ok(()),
                Some(_) => Err(bad(format!("`{kind}` takes no client"))),
            }
        };
        let step = match kind {
            "tick" => {
                none(arg)?;
                Step::Tick
            }
            "restart" => Step::Restart { node: node(arg)? },
            "produce" => {
                none(arg)?;
                Step::Produce
            }
            "read" => Step::Read {
                client: client(arg)?,
            },
            "read-delayed" => Step::ReadDelayed {
                client: client(arg)?,
            },
            "claim" => Step::Claim {
                client: client(arg)?,
            },
            "claim-delayed" => Step::ClaimDelayed {
                client: client(arg)?,
            },
            "process" => Step::Process {
                client: client(arg)?,
            },
            "mark" => Step::Mark {
                client: client(arg)?,
            },
            "ack" => Step::Ack {
                client: client(arg)?,
            },
            "delayed-restart" => Step::DelayedRestart { node: node(arg)? },
            "rejoin" => Step::Rejoin { node: node(arg)? },
            "clock-jump" => Step::ClockJump { node: node(arg)? },
            "ask" | "ask-lost" => {
                let client = client(arg)?;
                let node = match third {
                    Some(n) => node(Some(n))?,
                    None => {
                        return Err(bad(format!(
                            "`{kind}` needs a client and a node: `{kind} c1 n2`"
                        )))
                    }
                };
                if kind == "ask" {
                    Step::Ask { client, node }
                } else {
                    Step::AskLost { client, node }
                }
            }
            "conclude" => Step::Conclude {
                client: client(arg)?,
            },
            "replicate" | "failover" => {
                let node = match arg {
                    None => return Err(bad(format!("`{kind}` needs a node (`n2`, …)"))),
                    Some(arg) => index(arg, 'n', MAX_NODES, "node")
                        .map(NodeId)
                        .map_err(bad)?,
                };
                if kind == "replicate" {
                    Step::Replicate { node }
                } else {
                    Step::Failover { node }
                }
            }
            "confirm" => Step::Confirm {
                client: client(arg)?,
            },
            "acquire" => Step::Acquire {
                client: client(arg)?,
            },
            "acquire-delayed" => Step::AcquireDelayed {
                client: client(arg)?,
            },
            "deliver" => Step::Deliver {
                client: client(arg)?,
            },
            "retry" => Step::Retry {
                client: client(arg)?,
            },
            "write" => Step::Write {
                client: client(arg)?,
            },
            "release" => Step::Release {
                client: client(arg)?,
            },
            "pause" => Step::Pause {
                client: client(arg)?,
            },
            "resume" => Step::Resume {
                client: client(arg)?,
            },
            "crash" => Step::Crash {
                client: client(arg)?,
            },
            other => return Err(bad(format!("`{other}` is not a step"))),
        };
        Ok(step)
    }
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
    fn schedules_round_trip_through_text() {
        let steps = vec![
            Step::Acquire {
                client: ClientId(0),
            },
            Step::AcquireDelayed {
                client: ClientId(1),
            },
            Step::Tick,
            Step::Restart {
                node: NodeId::FIRST,
            },
            Step::Restart { node: NodeId(2) },
            Step::Retry {
                client: ClientId(7),
            },
            Step::Ask {
                client: ClientId(0),
                node: NodeId(0),
            },
            Step::AskLost {
                client: ClientId(1),
                node: NodeId(4),
            },
            Step::Conclude {
                client: ClientId(1),
            },
            Step::DelayedRestart { node: NodeId(1) },
            Step::Rejoin { node: NodeId(1) },
            Step::ClockJump { node: NodeId(2) },
            Step::Confirm {
                client: ClientId(0),
            },
            Step::Replicate { node: NodeId(1) },
            Step::Failover {
                node: NodeId::FIRST,
            },
        ];
        let text = format_schedule(&steps);
        assert_eq!(
            text,
            "acquire c1; acquire-delayed c2; tick; restart; restart n3; retry c8; \
             ask c1 n1; ask-lost c2 n5; conclude c2; delayed-restart n2; rejoin n2; clock-jump n3; \
             confirm c1; replicate n2; failover n1"
        );
        assert_eq!(parse_schedule(&text), Ok(steps));
        let sync = "produce; read c1; read-delayed c2; deliver c2; claim c1; claim-delayed c2; process c1; mark c1; ack c2";
        let steps = parse_schedule(sync).unwrap();
        assert_eq!(format_schedule(&steps), sync);
        assert!(steps[2].is_delayed() && steps[5].is_delayed() && !steps[4].is_delayed());
        assert_eq!(steps[0].client(), None);
        assert_eq!(steps[0].op(), Some(ClientOp::Produce));
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
        ] {
            let err = parse_schedule(bad).unwrap_err();
            assert_eq!(err.given, bad);
            assert!(err.why.contains(why), "{bad}: {}", err.why);
        }
    }
}
