//! What a client is asked to do: an operation ([`ClientOp`]), and what
//! becomes of its reply ([`Reply`]) — together a [`Call`].
//!
//! Delivery is a dimension of every operation, not a kind of operation: as
//! Stateright's examples make loss and duplication a property of the
//! network, a held, lost or re-sent reply is a [`Reply`] of any
//! operation, and a family that offers one for a new operation adds no
//! word to the vocabulary. The names read as the operation and the reply's
//! suffix: `acquire`, `acquire-delayed`, `ask-lost`, `acquire-resent`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::world::NodeId;

/// An operation a client performs on a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientOp {
    /// One acquire attempt (for a re-entrant lock: one level more).
    Acquire,
    /// A `WAIT` after a grant: how many replicas acknowledged it (a lock
    /// that confirms its grants).
    Confirm,
    /// A write to the protected resource.
    Write,
    /// A release (for a re-entrant lock: one level; for a quorum lock, on
    /// every master).
    Release,
    /// One request of a quorum acquire: ask one master.
    Ask {
        /// The master.
        node: NodeId,
    },
    /// The end of a quorum acquire: the client counts its grants and the
    /// time the round took, and holds the lock or releases everywhere.
    Conclude,
    /// The producer writes the next unit of work.
    Produce,
    /// A worker reads (or, from a Stream, takes) the next unit.
    Read,
    /// A worker claims a unit (compare-and-set on the unit it read, or a
    /// Stream's idle pending unit).
    Claim,
    /// A worker applies its unit's effect to the sink.
    Process,
    /// A worker marks its unit done in the key.
    Mark,
    /// A worker acknowledges its unit to the consumer group.
    Ack,
    /// The holder's watchdog renews its lease (a lock that renews).
    Renew,
}

/// Every operation by name (an ask's master is `n1`: the name does not
/// say).
const OPS: [ClientOp; 13] = [
    ClientOp::Acquire,
    ClientOp::Confirm,
    ClientOp::Write,
    ClientOp::Release,
    ClientOp::Ask {
        node: NodeId::FIRST,
    },
    ClientOp::Conclude,
    ClientOp::Produce,
    ClientOp::Read,
    ClientOp::Claim,
    ClientOp::Process,
    ClientOp::Mark,
    ClientOp::Ack,
    ClientOp::Renew,
];

impl ClientOp {
    /// The operation's name in tables and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            ClientOp::Acquire => "acquire",
            ClientOp::Confirm => "confirm",
            ClientOp::Write => "write",
            ClientOp::Release => "release",
            ClientOp::Ask { .. } => "ask",
            ClientOp::Conclude => "conclude",
            ClientOp::Produce => "produce",
            ClientOp::Read => "read",
            ClientOp::Claim => "claim",
            ClientOp::Process => "process",
            ClientOp::Mark => "mark",
            ClientOp::Ack => "ack",
            ClientOp::Renew => "renew",
        }
    }

    /// The operation of this name (an ask to `n1`).
    pub fn named(name: &str) -> Option<ClientOp> {
        OPS.into_iter().find(|op| op.name() == name)
    }

    /// The master a request of a quorum acquire goes to.
    pub fn node(self) -> Option<NodeId> {
        match self {
            ClientOp::Ask { node } => Some(node),
            _ => None,
        }
    }

    /// Whether the operation carries data of the caller's (a write's
    /// payload; a processed unit's tag in the sink).
    pub fn carries_data(self) -> bool {
        matches!(self, ClientOp::Write | ClientOp::Process)
    }

    /// The operation whose outcomes answer this one (a request to one
    /// master, the conclusion of a quorum acquire and a `WAIT` are
    /// answered as an acquire).
    pub fn answered_as(self) -> ClientOp {
        match self {
            ClientOp::Ask { .. } | ClientOp::Conclude | ClientOp::Confirm => ClientOp::Acquire,
            op => op,
        }
    }
}

impl fmt::Display for ClientOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What becomes of an operation's reply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reply {
    /// The client reads it at once.
    #[default]
    Now,
    /// Redis runs the operation, and the reply is held in flight until a
    /// [`Step::Deliver`](crate::Step::Deliver) hands it over (the `delay`
    /// fault).
    Held,
    /// Redis runs the operation, and no reply reaches the client within
    /// its timeout: it counts the operation as failed (for a quorum
    /// client's request, the master as not granted). The lab sees what
    /// Redis answered.
    Lost,
    /// The reply is lost and the client sends the same request again:
    /// Redis runs it twice, and the client reads the second reply (the
    /// `retry` fault).
    Resent,
}

impl Reply {
    const ALL: [Reply; 4] = [Reply::Now, Reply::Held, Reply::Lost, Reply::Resent];

    /// What the reply adds to the operation's name.
    pub fn suffix(self) -> &'static str {
        match self {
            Reply::Now => "",
            Reply::Held => "-delayed",
            Reply::Lost => "-lost",
            Reply::Resent => "-resent",
        }
    }
}

/// An operation as a client is asked to perform it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Call {
    /// The operation.
    pub op: ClientOp,
    /// What becomes of its reply.
    pub reply: Reply,
}

impl Call {
    /// The operation, its reply read at once.
    pub const fn now(op: ClientOp) -> Call {
        Call {
            op,
            reply: Reply::Now,
        }
    }

    /// The call's name: the operation's, and the reply's suffix
    /// (`acquire`, `acquire-lost`, `ask-lost`).
    pub fn name(self) -> String {
        format!("{}{}", self.op.name(), self.reply.suffix())
    }

    /// The call of this name (an ask to `n1`: the name does not say).
    pub fn named(name: &str) -> Option<Call> {
        Reply::ALL.into_iter().rev().find_map(|reply| {
            let op = name.strip_suffix(reply.suffix())?;
            ClientOp::named(op).map(|op| Call { op, reply })
        })
    }
}

impl From<ClientOp> for Call {
    fn from(op: ClientOp) -> Call {
        Call::now(op)
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.op.name(), self.reply.suffix())
    }
}

impl Serialize for Call {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Call {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Call, D::Error> {
        let name = String::deserialize(d)?;
        Call::named(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown operation {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_named_by_its_operation_and_its_reply() {
        for (name, op, reply) in [
            ("acquire", ClientOp::Acquire, Reply::Now),
            ("acquire-delayed", ClientOp::Acquire, Reply::Held),
            ("acquire-lost", ClientOp::Acquire, Reply::Lost),
            ("acquire-resent", ClientOp::Acquire, Reply::Resent),
            (
                "ask-lost",
                ClientOp::Ask {
                    node: NodeId::FIRST,
                },
                Reply::Lost,
            ),
            ("claim-delayed", ClientOp::Claim, Reply::Held),
        ] {
            let call = Call { op, reply };
            assert_eq!(call.name(), name);
            assert_eq!(Call::named(name), Some(call));
        }
        assert_eq!(Call::named("fly"), None);
        assert_eq!(Call::named("acquire-sideways"), None);
    }
}
