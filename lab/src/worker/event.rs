//! Version 2's event lines: what a worker's library did by itself, between
//! the answers to the lab's requests — a renewal its watchdog made, or a
//! loss it told its caller about. They are unsolicited, so they cannot be
//! replies: a line with an `"event"` field is an event, never the answer to
//! a request, and the lab sets it aside and records it in the history as
//! the renewal contract says (`history::event`).
//!
//! ```text
//! {"event":"renewal","ok":"renewed","token":"9f3c…"}
//! {"event":"renewal","ok":"not-held"}      {"event":"renewal","ok":"reacquired","token":"…"}
//! {"event":"renewal","err":"Timeout reading from socket"}
//! {"event":"lost","said":"LockNotOwnedError: extend failed"}
//! ```

use locklab_model::Outcome;
use serde::{Deserialize, Serialize};

/// What a renewal found, in the outcome vocabulary of a `renew`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Renewed {
    /// The lease was extended.
    Renewed,
    /// Nothing of the client's was there: the watchdog stops.
    NotHeld,
    /// The key was gone and the renewal created it again.
    Reacquired,
}

impl Renewed {
    /// As an outcome.
    pub fn outcome(self) -> Outcome {
        match self {
            Renewed::Renewed => Outcome::Renewed,
            Renewed::NotHeld => Outcome::NotHeld,
            Renewed::Reacquired => Outcome::Reacquired,
        }
    }

    /// From an outcome, if it is a renewal's.
    pub fn of(outcome: &Outcome) -> Option<Renewed> {
        match outcome {
            Outcome::Renewed => Some(Renewed::Renewed),
            Outcome::NotHeld => Some(Renewed::NotHeld),
            Outcome::Reacquired => Some(Renewed::Reacquired),
            _ => None,
        }
    }
}

/// One event line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum WorkerEvent {
    /// The library renewed the lease (or tried to).
    Renewal {
        /// What the renewal found (absent: it failed, `err`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ok: Option<Renewed>,
        /// The token of the key it extended, or tried to, if it can tell.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// Why it failed, on one line.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        err: Option<String>,
    },
    /// The library told its caller the lock is gone.
    Lost {
        /// What it said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        said: Option<String>,
    },
}

/// Why a line with an `"event"` field is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// It does not parse as one.
    #[error("not an event line ({reason}): events are {{\"event\":\"renewal\",\"ok\":\"renewed\"}} and {{\"event\":\"lost\"}}")]
    Shape {
        /// What did not parse.
        reason: String,
    },
    /// A renewal that says neither what it found nor why it failed.
    #[error("a renewal event needs \"ok\" (renewed, not-held, reacquired) or \"err\"")]
    Empty,
}

impl WorkerEvent {
    /// The event `line` is; `None` when it is no event (a reply).
    pub fn parse(line: &str) -> Option<Result<WorkerEvent, EventError>> {
        #[derive(Deserialize)]
        struct Tagged {
            event: Option<serde_json::Value>,
        }
        if !line.contains("\"event\"") {
            return None;
        }
        serde_json::from_str::<Tagged>(line).ok()?.event?;
        Some(
            serde_json::from_str::<WorkerEvent>(line)
                .map_err(|e| EventError::Shape {
                    reason: e.to_string(),
                })
                .and_then(|event| match event {
                    WorkerEvent::Renewal {
                        ok: None,
                        err: None,
                        ..
                    } => Err(EventError::Empty),
                    event => Ok(event),
                }),
        )
    }

    /// The line, without its newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("an event always serializes")
    }

    /// A renewal's event, from what the client's renewal returned.
    pub fn renewal(
        result: &Result<Outcome, crate::client::OpError>,
        token: Option<String>,
    ) -> Self {
        match result {
            Ok(outcome) => WorkerEvent::Renewal {
                ok: Renewed::of(outcome),
                token,
                err: Renewed::of(outcome)
                    .is_none()
                    .then(|| format!("a renewal answered {outcome}")),
            },
            Err(e) => WorkerEvent::Renewal {
                ok: None,
                token,
                err: Some(e.message.clone()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_the_documented_lines() {
        for (event, line) in [
            (
                WorkerEvent::Renewal {
                    ok: Some(Renewed::Renewed),
                    token: Some("9f".into()),
                    err: None,
                },
                r#"{"event":"renewal","ok":"renewed","token":"9f"}"#,
            ),
            (
                WorkerEvent::Renewal {
                    ok: Some(Renewed::NotHeld),
                    token: None,
                    err: None,
                },
                r#"{"event":"renewal","ok":"not-held"}"#,
            ),
            (
                WorkerEvent::Renewal {
                    ok: None,
                    token: None,
                    err: Some("timeout".into()),
                },
                r#"{"event":"renewal","err":"timeout"}"#,
            ),
            (
                WorkerEvent::Lost {
                    said: Some("gone".into()),
                },
                r#"{"event":"lost","said":"gone"}"#,
            ),
            (WorkerEvent::Lost { said: None }, r#"{"event":"lost"}"#),
        ] {
            assert_eq!(event.to_line(), line);
            assert_eq!(WorkerEvent::parse(line), Some(Ok(event)));
        }
    }

    #[test]
    fn replies_are_no_events_and_bad_events_are_told() {
        assert_eq!(WorkerEvent::parse(r#"{"ok":"renewed"}"#), None);
        assert_eq!(
            WorkerEvent::parse(r#"{"ok":"busy","said":"\"event\""}"#),
            None
        );
        assert_eq!(
            WorkerEvent::parse(r#"{"event":"renewal"}"#),
            Some(Err(EventError::Empty))
        );
        let e = WorkerEvent::parse(r#"{"event":"extended"}"#)
            .unwrap()
            .unwrap_err();
        assert!(matches!(e, EventError::Shape { .. }), "{e}");
    }
}
