//! The worker's line protocol: JSON lines, one request per line on the
//! worker's stdin, one reply per line on its stdout, in order.
//!
//! ```text
//! → (on start)  {"ready":"token","pid":4242,"name":"c1"}
//! ← {"op":"acquire"}                    → {"ok":"granted","token":"9f…","fence":3}
//!                                         {"ok":"busy"}  {"ok":"believed"}
//! ← {"op":"write","data":"c1 write 1"}  → {"ok":"accepted"}  {"ok":"refused","highest":4}
//! ← {"op":"release"}                    → {"ok":"released"}  {"ok":"not-held"}
//!                                         {"ok":"deleted"}  {"ok":"nothing-to-delete"}
//! ← {"op":"reset","lock_key":"k2","resource_key":"r2"} → {"ok":"reset"}
//! ← {"op":"ping"}                       → {"ok":"pong"}
//! ← {"op":"quit"}                       → {"ok":"bye"}, and the worker exits 0
//! any failure                           → {"err":"one line"}
//! ```
//!
//! `token` and `fence` are left out when the lock has none. A line that is
//! not a request gets an `err` reply and the worker goes on; stdin closing
//! ends the worker (exit 0).

use serde::{Deserialize, Serialize};

use super::lock::{LabAttempt, LabRelease, LabWrite};

/// The longest request line a worker reads, and the longest reply line the
/// lab reads.
pub const MAX_LINE: usize = 1 << 20;

/// A request to a worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// One acquire attempt ([`LabLock::try_acquire`](super::LabLock::try_acquire)).
    Acquire,
    /// Release the grant held.
    Release,
    /// Write to the protected resource.
    Write {
        /// What to write.
        data: String,
    },
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
    /// The request as one JSON line, without the newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a request always serializes")
    }
}

/// A successful reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ok", rename_all = "kebab-case")]
pub enum Done {
    /// Acquire: granted.
    Granted {
        /// The holder's token, if the lock has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// The fencing token, if the lock issues one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fence: Option<u64>,
    },
    /// Acquire: another client holds the lock.
    Busy,
    /// Acquire: refused, but the client believes it holds the lock.
    Believed,
    /// Release: our lock was removed.
    Released,
    /// Release: nothing of ours was there.
    NotHeld,
    /// Release: `DEL` removed a key, whoever's.
    Deleted,
    /// Release: `DEL` found no key.
    NothingToDelete,
    /// Write: stored.
    Accepted,
    /// Write: refused, a higher fencing token was accepted.
    Refused {
        /// The highest fencing token accepted so far.
        highest: u64,
    },
    /// Reset: done.
    Reset,
    /// Ping: the connection works.
    Pong,
    /// Quit: the worker exits.
    Bye,
}

/// One reply line: `{"ok":…}` or `{"err":"…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reply {
    /// The operation was carried out.
    Ok(Done),
    /// It failed; one line saying why.
    Err {
        /// The error.
        err: String,
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

impl From<LabAttempt> for Done {
    fn from(a: LabAttempt) -> Self {
        match a {
            LabAttempt::Granted { token, fence } => Done::Granted { token, fence },
            LabAttempt::Busy => Done::Busy,
            LabAttempt::Believed => Done::Believed,
        }
    }
}

impl From<LabRelease> for Done {
    fn from(r: LabRelease) -> Self {
        match r {
            LabRelease::Released => Done::Released,
            LabRelease::NotHeld => Done::NotHeld,
            LabRelease::Deleted => Done::Deleted,
            LabRelease::NothingToDelete => Done::NothingToDelete,
        }
    }
}

impl From<LabWrite> for Done {
    fn from(w: LabWrite) -> Self {
        match w {
            LabWrite::Accepted => Done::Accepted,
            LabWrite::Refused { highest } => Done::Refused { highest },
        }
    }
}

impl<T: Into<Done>> From<Result<T, String>> for Reply {
    fn from(r: Result<T, String>) -> Self {
        match r {
            Ok(done) => Reply::Ok(done.into()),
            Err(err) => Reply::Err { err },
        }
    }
}

impl Reply {
    /// The reply as one JSON line, without the newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a reply always serializes")
    }

    /// Parses one line.
    pub fn parse(line: &str) -> Result<Reply, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// The reply to an acquire.
    pub fn into_attempt(self) -> Result<LabAttempt, String> {
        match self.done()? {
            Done::Granted { token, fence } => Ok(LabAttempt::Granted { token, fence }),
            Done::Busy => Ok(LabAttempt::Busy),
            Done::Believed => Ok(LabAttempt::Believed),
            other => Err(unexpected("acquire", &other)),
        }
    }

    /// The reply to a release.
    pub fn into_release(self) -> Result<LabRelease, String> {
        match self.done()? {
            Done::Released => Ok(LabRelease::Released),
            Done::NotHeld => Ok(LabRelease::NotHeld),
            Done::Deleted => Ok(LabRelease::Deleted),
            Done::NothingToDelete => Ok(LabRelease::NothingToDelete),
            other => Err(unexpected("release", &other)),
        }
    }

    /// The reply to a write.
    pub fn into_write(self) -> Result<LabWrite, String> {
        match self.done()? {
            Done::Accepted => Ok(LabWrite::Accepted),
            Done::Refused { highest } => Ok(LabWrite::Refused { highest }),
            other => Err(unexpected("write", &other)),
        }
    }

    /// The reply to a reset.
    pub fn into_reset(self) -> Result<(), String> {
        match self.done()? {
            Done::Reset => Ok(()),
            other => Err(unexpected("reset", &other)),
        }
    }

    /// The reply to a ping.
    pub fn into_pong(self) -> Result<(), String> {
        match self.done()? {
            Done::Pong => Ok(()),
            other => Err(unexpected("ping", &other)),
        }
    }

    fn done(self) -> Result<Done, String> {
        match self {
            Reply::Ok(done) => Ok(done),
            Reply::Err { err } => Err(err),
        }
    }
}

fn unexpected(op: &str, done: &Done) -> String {
    format!(
        "the worker answered {} to {op}",
        Reply::Ok(done.clone()).to_line()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_the_documented_lines() {
        assert_eq!(Request::Acquire.to_line(), r#"{"op":"acquire"}"#);
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
        let parsed: Request = serde_json::from_str(r#"{"op":"quit"}"#).unwrap();
        assert_eq!(parsed, Request::Quit);
    }

    #[test]
    fn replies_round_trip() {
        for (reply, line) in [
            (
                Reply::Ok(Done::Granted {
                    token: Some("ab".into()),
                    fence: Some(3),
                }),
                r#"{"ok":"granted","token":"ab","fence":3}"#,
            ),
            (
                Reply::Ok(Done::Granted {
                    token: None,
                    fence: None,
                }),
                r#"{"ok":"granted"}"#,
            ),
            (Reply::Ok(Done::Busy), r#"{"ok":"busy"}"#),
            (Reply::Ok(Done::NotHeld), r#"{"ok":"not-held"}"#),
            (
                Reply::Ok(Done::NothingToDelete),
                r#"{"ok":"nothing-to-delete"}"#,
            ),
            (
                Reply::Ok(Done::Refused { highest: 4 }),
                r#"{"ok":"refused","highest":4}"#,
            ),
            (Reply::Err { err: "boom".into() }, r#"{"err":"boom"}"#),
        ] {
            assert_eq!(reply.to_line(), line);
            assert_eq!(Reply::parse(line).unwrap(), reply);
        }
    }

    #[test]
    fn typed_accessors_refuse_the_wrong_reply() {
        assert_eq!(
            Reply::parse(r#"{"ok":"busy"}"#).unwrap().into_attempt(),
            Ok(LabAttempt::Busy)
        );
        assert!(Reply::Ok(Done::Busy).into_release().is_err());
        assert_eq!(
            Reply::Err { err: "x".into() }.into_write(),
            Err("x".to_owned())
        );
    }
}
