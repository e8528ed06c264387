//! The worker's line protocol, version [`PROTOCOL_VERSION`]: JSON lines,
//! one request per line on the worker's stdin, one reply per line on its
//! stdout, in order; anything else the worker has to say goes to stderr.
//! Replies to operations are the lab's [`Outcome`]s as they serialize — the
//! same words the model predicts and the history records. The full
//! description, for adapter authors, is docs/worker-protocol.md.
//!
//! ```text
//! ← {"op":"start","version":1,"client":"c1","redis":"redis://…","lock_key":"k",…}
//! → {"ready":"token","version":1,"pid":4242,"name":"c1"}
//! ← {"op":"acquire"}                    → {"ok":"granted","token":"9f…","fence":3}
//!                                         {"ok":"granted","count":2}  {"ok":"busy"}
//!                                         {"ok":"believed"}  {"ok":"lost"}
//! ← {"op":"acquire-lost"}               → as acquire: what Redis answered; the
//!                                         client drops it unread
//! ← {"op":"acquire-resent"}             → as acquire: the lost request sent again
//! ← {"op":"acquire-within","deadline_ms":500} → granted, or busy at the deadline
//! ← {"op":"write","data":"c1 write 1"}  → {"ok":"write-with","fence":3}  {"ok":"write-with"}
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
//! version 2:
//! ← {"op":"renew"}                      → {"ok":"renewed","token":"9f…"}  {"ok":"not-held"}
//!                                         {"ok":"reacquired","token":"…"}
//! ← {"op":"renew-held"}                 → {"ok":"held"} (the watchdog keeps the reply)
//! ← {"op":"renew-read"}                 → as renew
//!                                       → unasked, between answers: event lines (super::event)
//! ```
//!
//! `token`, `fence` and `count` are left out when the lock has none. A write
//! is answered with the fencing token the worker would write with
//! (`write-with`), and the *lab* writes to the protected resource with it
//! ([`LabResource`](super::resource::LabResource)). `definite` says the
//! operation surely did not happen (absent: it may have, which the history
//! must allow for); an operation a worker cannot do at all is a definite
//! error. Any reply may carry `"said":"…"`: what the library told its caller
//! (an exception, a warning from a background thread) since the last
//! reply. A line that is not a request gets a definite `err` and the worker
//! goes on; stdin closing ends the worker (exit 0).

use locklab_model::{Call, ClientOp, NodeId, Outcome, Reply as Delivery};
use serde::{Deserialize, Serialize};

pub use super::handshake::{Ready, Start, PROTOCOL_VERSION};
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
    /// Version 2: one renewal of the lease held, now, timed by the lab
    /// (a worker whose library renews on its own timer need not have it).
    Renew,
    /// Version 2: one renewal run on Redis, its reply kept unread by the
    /// worker's watchdog while the holder goes on working.
    RenewHeld,
    /// Version 2: the watchdog reads the reply `renew-held` kept.
    RenewRead,
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
    /// The request that performs `call` (with `data` for a write or a
    /// processed unit's tag), if the protocol has one: a lost or re-sent
    /// reply only of an acquire or of a request to one master.
    pub fn of(call: Call, data: &str) -> Result<Request, OpError> {
        Ok(match (call.op, call.reply) {
            (ClientOp::Acquire, Delivery::Now) => Request::Acquire,
            (ClientOp::Acquire, Delivery::Lost) => Request::AcquireLost,
            (ClientOp::Acquire, Delivery::Resent) => Request::AcquireResent,
            (ClientOp::Ask { node }, Delivery::Now) => Request::Ask { node: node.0 },
            (ClientOp::Ask { node }, Delivery::Lost) => Request::AskLost { node: node.0 },
            (op, Delivery::Now) => match op {
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
                ClientOp::Conclude => Request::Conclude,
                ClientOp::Confirm => Request::Confirm,
                ClientOp::Renew => Request::Renew,
                ClientOp::Acquire | ClientOp::Ask { .. } => unreachable!("matched above"),
            },
            _ => {
                return Err(OpError::definite(format!(
                    "the worker protocol has no `{call}` request"
                )))
            }
        })
    }

    /// The call a request performs, and its data (`None`: a request that is
    /// not an operation).
    pub fn call(&self) -> Option<(Call, &str)> {
        let lost = |op| Call {
            op,
            reply: Delivery::Lost,
        };
        Some(match self {
            Request::Acquire => (Call::now(ClientOp::Acquire), ""),
            Request::AcquireLost => (lost(ClientOp::Acquire), ""),
            Request::AcquireResent => (
                Call {
                    op: ClientOp::Acquire,
                    reply: Delivery::Resent,
                },
                "",
            ),
            Request::Write { data } => (Call::now(ClientOp::Write), data),
            Request::Release => (Call::now(ClientOp::Release), ""),
            Request::Produce => (Call::now(ClientOp::Produce), ""),
            Request::Read => (Call::now(ClientOp::Read), ""),
            Request::Claim => (Call::now(ClientOp::Claim), ""),
            Request::Process { data } => (Call::now(ClientOp::Process), data),
            Request::Mark => (Call::now(ClientOp::Mark), ""),
            Request::Ack => (Call::now(ClientOp::Ack), ""),
            Request::Ask { node } => (
                Call::now(ClientOp::Ask {
                    node: NodeId(*node),
                }),
                "",
            ),
            Request::AskLost { node } => (
                lost(ClientOp::Ask {
                    node: NodeId(*node),
                }),
                "",
            ),
            Request::Conclude => (Call::now(ClientOp::Conclude), ""),
            Request::Confirm => (Call::now(ClientOp::Confirm), ""),
            Request::Renew => (Call::now(ClientOp::Renew), ""),
            Request::AcquireWithin { .. }
            | Request::RenewHeld
            | Request::RenewRead
            | Request::Reset { .. }
            | Request::Ping
            | Request::Quit => return None,
        })
    }

    /// The request as one JSON line, without the newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a request always serializes")
    }
}

/// A reply that is not an outcome: to a request that is not an operation,
/// or to a write (the token to write with).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ok", rename_all = "kebab-case")]
pub enum Control {
    /// Write: the lab is to write with this fencing token (`None`: the
    /// lock issues none; a plain write).
    WriteWith {
        /// The fencing token of the grant held (0 for a fencing lock with
        /// no grant).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fence: Option<u64>,
    },
    /// Reset: done.
    Reset,
    /// Ping: the connection works.
    Pong,
    /// Quit: the worker exits.
    Bye,
    /// `renew-held`: the renewal ran; its reply waits in the watchdog.
    Held,
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

    /// The reply to an operation other than a write: its outcome, which
    /// must answer `op`.
    pub fn into_outcome(self, op: ClientOp) -> Result<Outcome, OpError> {
        match self {
            Reply::Done(outcome) if op != ClientOp::Write && outcome.answers(op) => Ok(outcome),
            other => Err(other.unexpected(op.name())),
        }
    }

    /// The reply to a write: the fencing token the lab is to write with
    /// (`None`: a plain write).
    pub fn into_write_with(self) -> Result<Option<u64>, OpError> {
        match self {
            Reply::Control(Control::WriteWith { fence }) => Ok(fence),
            other => Err(other.unexpected("write")),
        }
    }

    /// The reply to a control request, which must be `expected`.
    pub fn into_control(self, expected: Control) -> Result<(), OpError> {
        match self {
            Reply::Control(c) if c == expected => Ok(()),
            other => {
                let request = match expected {
                    Control::WriteWith { .. } => "write",
                    Control::Reset => "reset",
                    Control::Pong => "ping",
                    Control::Bye => "quit",
                    Control::Held => "renew-held",
                };
                Err(other.unexpected(request))
            }
        }
    }

    /// A failure's line and whether it is definite; `None` for a success.
    pub fn failure(&self) -> Option<(&str, bool)> {
        match self {
            Reply::Err { err, definite, .. } => Some((err, *definite)),
            _ => None,
        }
    }

    /// An error reply as the error; any other as a protocol error (the
    /// wrong answer to `request`), indefinite: what the worker did is not
    /// known.
    fn unexpected(self, request: &str) -> OpError {
        match self {
            Reply::Err {
                err,
                definite,
                refused,
            } => OpError {
                message: err,
                definite,
                refused,
            },
            Reply::Done(Outcome::Accepted | Outcome::Refused { .. }) if request == "write" => {
                OpError::indefinite(format!(
                    "the worker answered {} to write: a worker answers a write with {{\"ok\":\"write-with\",\"fence\":…}} and the lab writes",
                    self.to_line()
                ))
            }
            other => OpError::indefinite(format!(
                "the worker answered {} to {request}",
                other.to_line()
            )),
        }
    }
}

/// The `token` of a reply line to `renew`: the key's token the renewal
/// extended, or tried to.
pub fn renewed_token(line: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Token {
        token: Option<String>,
    }
    if !line.contains("\"token\"") {
        return None;
    }
    serde_json::from_str::<Token>(line)
        .ok()
        .and_then(|t| t.token)
}

/// The `said` of a reply line: what the library told its caller.
pub fn said(line: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Said {
        said: Option<String>,
    }
    if !line.contains("\"said\"") {
        return None;
    }
    serde_json::from_str::<Said>(line)
        .ok()
        .and_then(|s| s.said)
        .filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::support;

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
            Request::of(Call::now(ClientOp::Process), "c1 process 1")
                .unwrap()
                .to_line(),
            r#"{"op":"process","data":"c1 process 1"}"#
        );
        assert_eq!(
            Request::of(Call::now(ClientOp::Ack), "").unwrap().to_line(),
            r#"{"op":"ack"}"#
        );
        // The reply's fate is part of the request's name, as in version 1.
        for (call, line) in [
            (support::PROBED[0], r#"{"op":"acquire-lost"}"#),
            (support::PROBED[1], r#"{"op":"acquire-resent"}"#),
            (
                Call {
                    op: ClientOp::Ask { node: NodeId(1) },
                    reply: Delivery::Lost,
                },
                r#"{"op":"ask-lost","node":1}"#,
            ),
        ] {
            let request = Request::of(call, "").unwrap();
            assert_eq!(request.to_line(), line);
            assert_eq!(request.call(), Some((call, "")));
        }
        let lost_write = Call {
            op: ClientOp::Write,
            reply: Delivery::Lost,
        };
        assert!(Request::of(lost_write, "x").unwrap_err().definite);
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
                Reply::Control(Control::WriteWith { fence: Some(3) }),
                r#"{"ok":"write-with","fence":3}"#,
            ),
            (
                Reply::Control(Control::WriteWith { fence: None }),
                r#"{"ok":"write-with"}"#,
            ),
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
        assert_eq!(
            Reply::Control(Control::WriteWith { fence: Some(2) }).into_write_with(),
            Ok(Some(2))
        );
        let e = Reply::Done(Outcome::Accepted)
            .into_outcome(ClientOp::Write)
            .unwrap_err();
        assert!(e.message.contains("write-with") && !e.definite, "{e}");
        let e = Reply::Err {
            err: "x".into(),
            definite: true,
            refused: false,
        }
        .into_write_with()
        .unwrap_err();
        assert_eq!(e, OpError::definite("x"));
    }

    #[test]
    fn said_is_read_from_any_reply() {
        let line = r#"{"ok":"not-held","said":"LockNotOwnedError: gone"}"#;
        assert_eq!(said(line).as_deref(), Some("LockNotOwnedError: gone"));
        assert_eq!(Reply::parse(line).unwrap(), Reply::Done(Outcome::NotHeld));
        assert_eq!(said(r#"{"ok":"busy"}"#), None);
        assert_eq!(said(r#"{"ok":"busy","said":" "}"#), None);
    }
}
