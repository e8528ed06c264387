//! The one outcome vocabulary: what a client's operation did, as the model
//! predicts it and as a real client reports it. The lab's client trait
//! returns these, the worker protocol carries them as JSON, the history
//! records them, and the conductor compares each real outcome with the one
//! the model expects at that step — so there is one set of words, and no
//! conversion between look-alike enums.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::op::ClientOp;

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
    /// out); or write, for a lock that renews: the holder's lease deadline
    /// has passed. Either way the client learns it no longer holds the
    /// lock.
    Lost,
    /// Acquire (one master of a quorum): the master did not answer — it is
    /// down, or no reply came within the per-master timeout. Counted as not
    /// granted.
    Unreachable,
    /// Acquire (a quorum's conclusion): a majority granted, but the round
    /// took so long that no validity is left; the client releases
    /// everywhere.
    Expired,
    /// Release: the client's own lock was removed.
    Released,
    /// Release: one level of a re-entrant lock given back; still held.
    StillHeld {
        /// The hold count left.
        count: u32,
    },
    /// Release or renew: nothing of the client's was there any more (its
    /// lease ran out; the key is gone or another client holds it). Nothing
    /// removed, nothing extended.
    NotHeld,
    /// Renew: the key's lease was extended to a whole lease again.
    Renewed,
    /// Renew: the key was gone, and the renewal created it again
    /// (`SET NX`): the lease was lost in between, and the holder's library
    /// tells it nothing (the lab records what Redis did).
    Reacquired,
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
    /// Produce: the unit is in Redis, for a worker to take.
    Produced {
        /// The unit (`u<unit>`).
        unit: u32,
    },
    /// Read: the worker has this unit (from a Stream: pending for it).
    Read {
        /// The unit.
        unit: u32,
    },
    /// Read or claim: nothing to take (an empty key or the marker; no new
    /// or idle Stream entry).
    Empty,
    /// Claim: the unit is the worker's to process.
    Claimed {
        /// The unit.
        unit: u32,
    },
    /// Claim, mark or ack that changed nothing: the unit was no longer as
    /// the worker read it (claimed by another, replaced, or already
    /// acknowledged); for a producer, the key still holds a unit.
    Conflict,
    /// Process: the unit's effect went to the sink.
    Processed {
        /// The unit.
        unit: u32,
        /// The sink applied it (false: a deduplicating sink had applied
        /// this unit before and refused it).
        applied: bool,
    },
    /// Mark or ack: the unit is marked done.
    Marked,
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
            Outcome::Unreachable => "unreachable",
            Outcome::Expired => "expired",
            Outcome::Released => "released",
            Outcome::StillHeld { .. } => "still-held",
            Outcome::NotHeld => "not-held",
            Outcome::Renewed => "renewed",
            Outcome::Reacquired => "reacquired",
            Outcome::Deleted => "deleted",
            Outcome::NothingToDelete => "nothing-to-delete",
            Outcome::Accepted => "accepted",
            Outcome::Refused { .. } => "refused",
            Outcome::Pending => "pending",
            Outcome::Unacknowledged => "unacknowledged",
            Outcome::Produced { .. } => "produced",
            Outcome::Read { .. } => "read",
            Outcome::Empty => "empty",
            Outcome::Claimed { .. } => "claimed",
            Outcome::Conflict => "conflict",
            Outcome::Processed { .. } => "processed",
            Outcome::Marked => "marked",
        }
    }

    /// Whether this outcome can answer `op` (answered as what
    /// [`ClientOp::answered_as`] says: a quorum's conclusion as an
    /// acquire).
    pub fn answers(&self, op: ClientOp) -> bool {
        let answered = match self {
            Outcome::Granted { .. }
            | Outcome::Busy
            | Outcome::Believed
            | Outcome::Unreachable
            | Outcome::Expired
            | Outcome::Pending
            | Outcome::Unacknowledged => &[ClientOp::Acquire][..],
            Outcome::Released
            | Outcome::StillHeld { .. }
            | Outcome::Deleted
            | Outcome::NothingToDelete => &[ClientOp::Release],
            Outcome::NotHeld => &[ClientOp::Release, ClientOp::Renew],
            // A re-entry that found its hold gone; a write a renewing
            // holder's deadline check refused.
            Outcome::Lost => &[ClientOp::Acquire, ClientOp::Write],
            Outcome::Renewed | Outcome::Reacquired => &[ClientOp::Renew],
            Outcome::Accepted | Outcome::Refused { .. } => &[ClientOp::Write],
            Outcome::Produced { .. } => &[ClientOp::Produce],
            Outcome::Read { .. } => &[ClientOp::Read],
            Outcome::Empty => &[ClientOp::Read, ClientOp::Claim],
            Outcome::Claimed { .. } => &[ClientOp::Claim],
            Outcome::Conflict => &[
                ClientOp::Produce,
                ClientOp::Claim,
                ClientOp::Mark,
                ClientOp::Ack,
            ],
            Outcome::Processed { .. } => &[ClientOp::Process],
            Outcome::Marked => &[ClientOp::Mark, ClientOp::Ack],
        };
        answered.contains(&op.answered_as())
    }

    /// The unit a worker now has to process, after a read or a claim.
    pub fn took(&self) -> Option<u32> {
        match self {
            Outcome::Read { unit } | Outcome::Claimed { unit } => Some(*unit),
            _ => None,
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
            Outcome::Unreachable => f.write_str("no answer from the master"),
            Outcome::Expired => f.write_str("a majority, but no validity left"),
            Outcome::Released => f.write_str("released"),
            Outcome::StillHeld { count } => write!(f, "still held (count {count})"),
            Outcome::NotHeld => f.write_str("not held any more"),
            Outcome::Renewed => f.write_str("renewed"),
            Outcome::Reacquired => f.write_str("the key was gone: created again"),
            Outcome::Deleted => f.write_str("DEL removed a key"),
            Outcome::NothingToDelete => f.write_str("DEL found no key"),
            Outcome::Accepted => f.write_str("accepted"),
            Outcome::Refused { highest } => write!(f, "refused (highest {highest})"),
            Outcome::Produced { unit } => write!(f, "produced u{unit}"),
            Outcome::Read { unit } => write!(f, "read u{unit}"),
            Outcome::Empty => f.write_str("nothing to take"),
            Outcome::Claimed { unit } => write!(f, "claimed u{unit}"),
            Outcome::Conflict => f.write_str("conflict: changed nothing"),
            Outcome::Processed {
                unit,
                applied: true,
            } => write!(f, "u{unit} applied to the sink"),
            Outcome::Processed {
                unit,
                applied: false,
            } => write!(f, "u{unit} refused by the sink (applied before)"),
            Outcome::Marked => f.write_str("marked done"),
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
        let processed: Outcome =
            serde_json::from_str(r#"{"ok":"processed","unit":2,"applied":false}"#).unwrap();
        assert_eq!(
            processed,
            Outcome::Processed {
                unit: 2,
                applied: false
            }
        );
    }

    #[test]
    fn an_outcome_answers_the_operations_it_can() {
        assert!(Outcome::Busy.answers(ClientOp::Conclude));
        assert!(!Outcome::Busy.answers(ClientOp::Release));
        assert!(
            Outcome::Conflict.answers(ClientOp::Claim) && Outcome::Conflict.answers(ClientOp::Ack)
        );
        assert!(Outcome::Empty.answers(ClientOp::Read) && !Outcome::Empty.answers(ClientOp::Mark));
        assert!(Outcome::Marked.answers(ClientOp::Ack));
        assert_eq!(Outcome::Claimed { unit: 3 }.took(), Some(3));
    }
}
