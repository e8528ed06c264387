//! The one outcome vocabulary: what a client's operation did, as the model
//! predicts it and as a real client reports it. The lab's client trait
//! returns these, the worker protocol carries them as JSON, the history
//! records them, and the conductor compares each real outcome with the one
//! the model expects at that step — so there is one set of words, and no
//! conversion between look-alike enums.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An operation a client performs on a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientOp {
    /// One acquire attempt (for a re-entrant lock: one level more).
    Acquire,
    /// A new acquire request whose reply is lost on its way back: Redis
    /// runs it, the lab sees what it answered, the client never does.
    AcquireLost,
    /// The request of the last [`ClientOp::AcquireLost`] sent again (a
    /// client library's retry): the client reads this reply.
    AcquireResent,
    /// A write to the protected resource.
    Write,
    /// A release (for a re-entrant lock: one level).
    Release,
    /// A `WAIT` after a grant: how many replicas acknowledged it (a lock
    /// that confirms its grants).
    Confirm,
}

impl ClientOp {
    /// The operation's name in tables and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            ClientOp::Acquire => "acquire",
            ClientOp::AcquireLost => "acquire-lost",
            ClientOp::AcquireResent => "acquire-resent",
            ClientOp::Write => "write",
            ClientOp::Release => "release",
            ClientOp::Confirm => "confirm",
        }
    }
}

impl ClientOp {
    /// The operation whose outcomes answer this one (a re-sent acquire is
    /// answered as an acquire).
    pub fn answered_as(self) -> ClientOp {
        match self {
            ClientOp::AcquireLost | ClientOp::AcquireResent | ClientOp::Confirm => {
                ClientOp::Acquire
            }
            op => op,
        }
    }
}

impl fmt::Display for ClientOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an operation did. As a model prediction, a field that is `None`
/// means "the model does not say" (a random token, say); see
/// [`Outcome::matches`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "ok", rename_all = "kebab-case")]
pub enum Outcome {
    /// Acquire: the lock server granted the lock (or, for a re-entrant
    /// lock, one more level of it) to this client.
    Granted {
        /// The value identifying this holder, if the lock has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// The fencing token of the grant, if the lock issues one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fence: Option<u64>,
        /// The hold count after the grant, for a re-entrant lock.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u32>,
    },
    /// Acquire: another holder has the lock (or this client itself, for a
    /// lock that cannot tell).
    Busy,
    /// Acquire: refused, but the client ignores the reply and believes it
    /// holds the lock.
    Believed,
    /// Acquire: a re-entry found the client's own hold gone (its lease ran
    /// out): the client learns it no longer holds the lock.
    Lost,
    /// Release: the client's own lock was removed.
    Released,
    /// Release: one level of a re-entrant lock given back; still held.
    StillHeld {
        /// The hold count left.
        count: u32,
    },
    /// Release: nothing of the client's was there any more (its lease ran
    /// out; the key is gone or another client holds it). Nothing removed.
    NotHeld,
    /// Release: a `DEL` removed *a* key — the client cannot know whose.
    Deleted,
    /// Release: a `DEL` found no key.
    NothingToDelete,
    /// Write: the protected resource stored it.
    Accepted,
    /// Write: refused, a write with a higher fencing token was accepted.
    Refused {
        /// The highest fencing token accepted so far.
        highest: u64,
    },
    /// Acquire, for a lock that confirms its grants: the primary granted
    /// the lock, and the client does not count it until replicas
    /// acknowledge it ([`ClientOp::Confirm`]); it does not believe yet.
    Pending,
    /// Confirm: too few replicas acknowledged the grant, so the client
    /// released it and counts it as not acquired.
    Unacknowledged,
}

impl Outcome {
    /// A grant with nothing said about token, fence or count.
    pub const GRANTED: Outcome = Outcome::Granted {
        token: None,
        fence: None,
        count: None,
    };

    /// The outcome's name: `granted`, `busy`, … (the JSON tag).
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Granted { .. } => "granted",
            Outcome::Busy => "busy",
            Outcome::Believed => "believed",
            Outcome::Lost => "lost",
            Outcome::Released => "released",
            Outcome::StillHeld { .. } => "still-held",
            Outcome::NotHeld => "not-held",
            Outcome::Deleted => "deleted",
            Outcome::NothingToDelete => "nothing-to-delete",
            Outcome::Accepted => "accepted",
            Outcome::Refused { .. } => "refused",
            Outcome::Pending => "pending",
            Outcome::Unacknowledged => "unacknowledged",
        }
    }

    /// The operation this outcome answers.
    pub fn answers(&self) -> ClientOp {
        match self {
            Outcome::Granted { .. }
            | Outcome::Busy
            | Outcome::Believed
            | Outcome::Lost
            | Outcome::Pending
            | Outcome::Unacknowledged => ClientOp::Acquire,
            Outcome::Released
            | Outcome::StillHeld { .. }
            | Outcome::NotHeld
            | Outcome::Deleted
            | Outcome::NothingToDelete => ClientOp::Release,
            Outcome::Accepted | Outcome::Refused { .. } => ClientOp::Write,
        }
    }

    /// After an acquire: whether the client now believes it holds the lock.
    pub fn gives_belief(&self) -> bool {
        matches!(self, Outcome::Granted { .. } | Outcome::Believed)
    }

    /// After a release: whether a key was removed from the server.
    pub fn removed_a_key(&self) -> bool {
        matches!(self, Outcome::Released | Outcome::Deleted)
    }

    /// The fencing token a grant carries.
    pub fn fence(&self) -> Option<u64> {
        match self {
            Outcome::Granted { fence, .. } => *fence,
            _ => None,
        }
    }

    /// Whether a real outcome is what this prediction says: the same kind,
    /// and equal wherever the prediction gives a value.
    pub fn matches(&self, real: &Outcome) -> bool {
        fn same<T: PartialEq>(expected: &Option<T>, real: &Option<T>) -> bool {
            expected.is_none() || expected == real
        }
        match (self, real) {
            (
                Outcome::Granted {
                    token: t,
                    fence: f,
                    count: n,
                },
                Outcome::Granted {
                    token: rt,
                    fence: rf,
                    count: rn,
                },
            ) => same(t, rt) && same(f, rf) && same(n, rn),
            (Outcome::StillHeld { count }, Outcome::StillHeld { count: real }) => count == real,
            (Outcome::Refused { highest }, Outcome::Refused { highest: real }) => highest == real,
            (expected, real) => expected == real,
        }
    }
}

impl fmt::Display for Outcome {
    /// `granted (fence 3, count 2)`, `still held (count 1)`, `refused
    /// (highest 4)`: what a person reads in a timeline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Granted { fence, count, .. } => {
                f.write_str("granted")?;
                let details: Vec<String> = fence
                    .map(|x| format!("fence {x}"))
                    .into_iter()
                    .chain(count.map(|n| format!("count {n}")))
                    .collect();
                if !details.is_empty() {
                    write!(f, " ({})", details.join(", "))?;
                }
                Ok(())
            }
            Outcome::Busy => f.write_str("busy"),
            Outcome::Believed => f.write_str("refused, but believed"),
            Outcome::Lost => f.write_str("lost: its hold was gone"),
            Outcome::Released => f.write_str("released"),
            Outcome::StillHeld { count } => write!(f, "still held (count {count})"),
            Outcome::NotHeld => f.write_str("not held any more"),
            Outcome::Deleted => f.write_str("DEL removed a key"),
            Outcome::NothingToDelete => f.write_str("DEL found no key"),
            Outcome::Accepted => f.write_str("accepted"),
            Outcome::Refused { highest } => write!(f, "refused (highest {highest})"),
            Outcome::Pending => f.write_str("granted on the primary, not yet acknowledged"),
            Outcome::Unacknowledged => f.write_str("no replica acknowledged: released"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prediction_matches_where_it_says_something() {
        let predicted = Outcome::Granted {
            token: None,
            fence: Some(2),
            count: None,
        };
        let real = Outcome::Granted {
            token: Some("9f".into()),
            fence: Some(2),
            count: None,
        };
        assert!(predicted.matches(&real));
        assert!(!predicted.matches(&Outcome::Granted {
            token: None,
            fence: Some(3),
            count: None
        }));
        assert!(!predicted.matches(&Outcome::Busy));
        assert!(Outcome::StillHeld { count: 1 }.matches(&Outcome::StillHeld { count: 1 }));
        assert!(!Outcome::StillHeld { count: 1 }.matches(&Outcome::StillHeld { count: 2 }));
    }

    #[test]
    fn outcomes_are_the_wire_words() {
        let line = serde_json::to_string(&Outcome::Refused { highest: 4 }).unwrap();
        assert_eq!(line, r#"{"ok":"refused","highest":4}"#);
        let granted: Outcome = serde_json::from_str(r#"{"ok":"granted","fence":3}"#).unwrap();
        assert_eq!(granted.fence(), Some(3));
        assert_eq!(granted.name(), "granted");
    }
}
