//! The worker's line protocol: JSON lines, one request per line on the
//! worker's stdin, one reply per line on its stdout, in order. Replies to
//! operations are the lab's [`Outcome`]s as they serialize — the same words
//! the model predicts and the history records.
//!
//! ```text
//! → (on start)  {"ready":"token","pid":4242,"name":"c1"}
//! ← {"op":"acquire"}                    → {"ok":"granted","token":"9f…","fence":3}
//!                                         {"ok":"busy"}  {"ok":"believed"}  {"ok":"lost"}
//! ← {"op":"acquire-lost"}               → what Redis answered; the client drops it unread
//! ← {"op":"acquire-resent"}             → as acquire: the lost request sent again
//! ← {"op":"acquire-within","deadline_ms":500} → granted, or busy at the deadline
//! ← {"op":"write","data":"c1 write 1"}  → {"ok":"accepted"}  {"ok":"refused","highest":4}
//! ← {"op":"release"}                    → {"ok":"released"}  {"ok":"still-held","count":1}
//!                                         {"ok":"not-held"}  {"ok":"deleted"}  {"ok":"nothing-to-delete"}
//! ← {"op":"produce"}                    → {"ok":"produced","unit":1}  {"ok":"conflict"}
//! ← {"op":"read"}                       → {"ok":"read","unit":1}  {"ok":"empty"}
//! ← {"op":"claim"}                      → {"ok":"claimed","unit":1}  {"ok":"conflict"}  {"ok":"empty"}
//! ← {"op":"process","data":"c1 process 1"} → {"ok":"processed","unit":1,"applied":true}
//! ← {"op":"mark"}  {"op":"ack"}         → {"ok":"marked"}  {"ok":"conflict"}
//! ← {"op":"ask","node":1}               → a quorum lock's request to master n2: granted, busy, unreachable
//! ← {"op":"ask-lost","node":1}          → the same, its reply dropped by the client
//! ← {"op":"conclude"}                   → granted, busy (no majority), expired (no validity left)
//! ← {"op":"confirm"}                    → {"ok":"granted","token":"9f…"}  {"ok":"unacknowledged"}
//!                                         (after an acquire that said {"ok":"pending"})
//! ← {"op":"reset","lock_key":"k2","resource_key":"r2"} → {"ok":"reset"}
//! ← {"op":"ping"}                       → {"ok":"pong"}
//! ← {"op":"quit"}                       → {"ok":"bye"}, and the worker exits 0
//! any failure                           → {"err":"one line","definite":true}
//! ```
//!
//! `token`, `fence` and `count` are left out when the lock has none.
//! `definite` says the operation surely did not happen (absent: it may
//! have). A line that is not a request gets an `err` reply and the worker
//! goes on; stdin closing ends the worker (exit 0).

use locklab_model::{ClientOp, Outcome};
use serde::{Deserialize, Serialize};

use crate::client::OpError;

/// The longest request line a worker reads, and the longest reply line the
/// lab reads.
pub const MAX_LINE: usize = 1 << 20;

/// A request to a worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// One acquire attempt.
    Acquire,
    /// A new acquire request whose reply the client drops unread (the lab
    /// gets it).
    AcquireLost,
    /// The request of the last `acquire-lost` sent again.
    AcquireResent,
    /// Acquire, waiting by the lock's own strategy.
    AcquireWithin {
        /// How long at most.
        deadline_ms: u64,
    },
    /// Write to the protected resource.
    Write {
        /// What to write.
        data: String,
    },
    /// Release one level of the grant held.
    Release,
    /// Write the next unit of work.
    Produce,
    /// Read (take) the next unit.
    Read,
    /// Claim a unit.
    Claim,
    /// Apply the unit in hand to the sink.
    Process {
        /// The effect's tag.
        data: String,
    },
    /// Mark the processed unit done.
    Mark,
    /// Acknowledge the processed unit.
    Ack,
    /// One request of a quorum acquire, to master `node` (0-based).
    Ask {
        /// The master.
        node: u8,
    },
    /// One request of a quorum acquire whose reply the client drops unread.
    AskLost {
        /// The master.
        node: u8,
    },
    /// The end of a quorum acquire: hold, or release everywhere.
    Conclude,
    /// `WAIT` for the grant the last acquire left pending.
    Confirm,
    /// Start over with these keys.
    Reset {
        /// The new lock key.
        lock_key: String,
        /// The new resource key.
        resource_key: String,
    },
    /// Make sure the client's connection works (after a Redis restart).
    Ping,
    /// Reply `bye` and exit 0.
    Quit,
}

impl Request {
    /// The request that performs `op` (with `data` for a write).
    pub fn of(op: ClientOp, data: &str) -> Request {
        match op {
            ClientOp::Acquire => Request::Acquire,
            ClientOp::AcquireLost => Request::AcquireLost,
            ClientOp::AcquireResent => Request::AcquireResent,
            ClientOp::Write => Request::Write {
                data: data.to_owned(),
            },
            ClientOp::Release => Request::Release,
            ClientOp::Produce => Request::Produce,
            ClientOp::Read => Request::Read,
            ClientOp::Claim => Request::Claim,
            ClientOp::Process => Request::Process {
                data: data.to_owned(),
            },
            ClientOp::Mark => Request::Mark,
            ClientOp::Ack => Request::Ack,
            ClientOp::Ask { node } => Request::Ask { node: node.0 },
            ClientOp::AskLost { node } => Request::AskLost { node: node.0 },
            ClientOp::Conclude => Request::Conclude,
            ClientOp::Confirm => Request::Confirm,
        }
    }

    /// The request as one JSON line, without the newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a request always serializes")
    }
}

/// A reply to a request that is not an operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ok", rename_all = "kebab-case")]
pub enum Control {
    /// Reset: done.
    Reset,
    /// Ping: the connection works.
    Pong,
    /// Quit: the worker exits.
    Bye,
}

/// One reply line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reply {
    /// An operation was carried out.
    Done(Outcome),
    /// A control request was carried out.
    Control(Control),
    /// It failed.
    Err {
        /// The error, on one line.
        err: String,
        /// The operation surely did not happen.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        definite: bool,
        /// The server refused it for a reason of its own.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        refused: bool,
    },
}

/// The first line a worker prints, once connected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// The protocol it speaks.
    pub ready: String,
    /// Its process id.
    pub pid: u32,
    /// Its name (`--name`).
    pub name: String,
}

impl From<OpError> for Reply {
    fn from(e: OpError) -> Self {
        Reply::Err {
            err: e.message,
            definite: e.definite,
            refused: e.refused,
        }
    }
}

impl Reply {
    /// The reply to an operation's result.
    pub fn of(result: Result<Outcome, OpError>) -> Reply {
        match result {
            Ok(outcome) => Reply::Done(outcome),
            Err(e) => e.into(),
        }
    }

    /// The reply as one JSON line, without the newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a reply always serializes")
    }

    /// Parses one line.
    pub fn parse(line: &str) -> Result<Reply, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// The reply to an operation: its outcome, which must answer `op`.
    pub fn into_outcome(self, op: ClientOp) -> Result<Outcome, OpError> {
        match self {
            Reply::Done(outcome) if outcome.answers(op) => Ok(outcome),
            Reply::Err {
                err,
                definite,
                refused,
            } => Err(OpError {
                message: err,
                definite,
                refused,
            }),
            other => Err(OpError::indefinite(format!(
                "the worker answered {} to {op}",
                other.to_line()
            ))),
        }
    }

    /// The reply to a control request, which must be `expected`.
    pub fn into_control(self, expected: Control) -> Result<(), OpError> {
        match self {
            Reply::Control(c) if c == expected => Ok(()),
            Reply::Err {
                err,
                definite,
                refused,
            } => Err(OpError {
                message: err,
                definite,
                refused,
            }),
            other => Err(OpError::indefinite(format!(
                "the worker answered {} where {} was due",
                other.to_line(),
                Reply::Control(expected).to_line()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_the_documented_lines() {
        assert_eq!(Request::Acquire.to_line(), r#"{"op":"acquire"}"#);
        assert_eq!(
            Request::AcquireResent.to_line(),
            r#"{"op":"acquire-resent"}"#
        );
        assert_eq!(
            Request::Write { data: "x".into() }.to_line(),
            r#"{"op":"write","data":"x"}"#
        );
        assert_eq!(
            Request::Reset {
                lock_key: "k".into(),
                resource_key: "r".into()
            }
            .to_line(),
            r#"{"op":"reset","lock_key":"k","resource_key":"r"}"#
        );
        assert_eq!(
            Request::of(ClientOp::Process, "c1 process 1").to_line(),
            r#"{"op":"process","data":"c1 process 1"}"#
        );
        assert_eq!(Request::of(ClientOp::Ack, "").to_line(), r#"{"op":"ack"}"#);
        let parsed: Request = serde_json::from_str(r#"{"op":"quit"}"#).unwrap();
        assert_eq!(parsed, Request::Quit);
    }

    #[test]
    fn replies_round_trip() {
        for (reply, line) in [
            (
                Reply::Done(Outcome::Granted {
                    token: Some("ab".into()),
                    fence: Some(3),
                    count: None,
                }),
                r#"{"ok":"granted","token":"ab","fence":3}"#,
            ),
            (Reply::Done(Outcome::GRANTED), r#"{"ok":"granted"}"#),
            (Reply::Done(Outcome::Busy), r#"{"ok":"busy"}"#),
            (
                Reply::Done(Outcome::StillHeld { count: 1 }),
                r#"{"ok":"still-held","count":1}"#,
            ),
            (Reply::Done(Outcome::NotHeld), r#"{"ok":"not-held"}"#),
            (
                Reply::Done(Outcome::Refused { highest: 4 }),
                r#"{"ok":"refused","highest":4}"#,
            ),
            (Reply::Control(Control::Pong), r#"{"ok":"pong"}"#),
            (
                Reply::Err {
                    err: "boom".into(),
                    definite: false,
                    refused: false,
                },
                r#"{"err":"boom"}"#,
            ),
            (
                Reply::Err {
                    err: "no".into(),
                    definite: true,
                    refused: false,
                },
                r#"{"err":"no","definite":true}"#,
            ),
        ] {
            assert_eq!(reply.to_line(), line);
            assert_eq!(Reply::parse(line).unwrap(), reply);
        }
    }

    #[test]
    fn typed_readers_refuse_the_wrong_reply() {
        assert_eq!(
            Reply::parse(r#"{"ok":"busy"}"#)
                .unwrap()
                .into_outcome(ClientOp::Acquire),
            Ok(Outcome::Busy)
        );
        assert!(Reply::Done(Outcome::Busy)
            .into_outcome(ClientOp::Release)
            .is_err());
        assert!(Reply::Control(Control::Pong)
            .into_control(Control::Reset)
            .is_err());
    }
}
