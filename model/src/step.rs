//! The step vocabulary shared by the model and the lab: a counterexample is
//! a list of these, and the lab's conductor plays the same list against real
//! Redis.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::world::ClientId;

/// One step of the system: a client's action, time passing, or a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Step {
    /// The client sends its acquire and reads the reply at once.
    Acquire {
        /// Who.
        client: ClientId,
    },
    /// Redis grants the client's acquire, but the reply is held in flight
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
    /// The client writes to the protected resource (its critical section),
    /// carrying its fencing token where the protocol has one.
    Write {
        /// Who.
        client: ClientId,
    },
    /// The client releases the lock.
    Release {
        /// Who.
        client: ClientId,
    },
    /// One tick of time passes: the lease loses a tick, and is gone at zero.
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
    /// Redis crashes and restarts empty (the `restart` fault).
    Restart,
}

impl Step {
    /// The client taking or suffering the step (none for a tick).
    pub fn client(self) -> Option<ClientId> {
        match self {
            Step::Acquire { client }
            | Step::AcquireDelayed { client }
            | Step::Deliver { client }
            | Step::Write { client }
            | Step::Release { client }
            | Step::Pause { client }
            | Step::Resume { client }
            | Step::Crash { client } => Some(client),
            Step::Tick | Step::Restart => None,
        }
    }

    /// The step's name in JSON and tables.
    pub fn kind(self) -> &'static str {
        match self {
            Step::Acquire { .. } => "acquire",
            Step::AcquireDelayed { .. } => "acquire-delayed",
            Step::Deliver { .. } => "deliver",
            Step::Write { .. } => "write",
            Step::Release { .. } => "release",
            Step::Tick => "tick",
            Step::Pause { .. } => "pause",
            Step::Resume { .. } => "resume",
            Step::Crash { .. } => "crash",
            Step::Restart => "restart",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.client() {
            Some(c) => write!(f, "{} {c}", self.kind()),
            None => f.write_str(self.kind()),
        }
    }
}

/// A step that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read step `{0}`: write e.g. `acquire c1`, `acquire-delayed c2`, `deliver c2`, `write c1`, `release c1`, `pause c1`, `resume c1`, `crash c3`, `tick`, `restart`")]
pub struct BadStep(pub String);

impl FromStr for Step {
    type Err = BadStep;

    /// Reads a step as [`Display`](fmt::Display) writes it: `acquire c1`, `tick`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadStep(s.to_owned());
        let mut words = s.split_whitespace();
        let kind = words.next().ok_or_else(bad)?;
        let client = match words.next() {
            None => None,
            Some(name) => {
                let n: u8 = name
                    .strip_prefix('c')
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (1..=crate::world::MAX_CLIENTS as u8).contains(n))
                    .ok_or_else(bad)?;
                Some(ClientId(n - 1))
            }
        };
        if words.next().is_some() {
            return Err(bad());
        }
        let step = match (kind, client) {
            ("tick", None) => Step::Tick,
            ("restart", None) => Step::Restart,
            ("acquire", Some(client)) => Step::Acquire { client },
            ("acquire-delayed", Some(client)) => Step::AcquireDelayed { client },
            ("deliver", Some(client)) => Step::Deliver { client },
            ("write", Some(client)) => Step::Write { client },
            ("release", Some(client)) => Step::Release { client },
            ("pause", Some(client)) => Step::Pause { client },
            ("resume", Some(client)) => Step::Resume { client },
            ("crash", Some(client)) => Step::Crash { client },
            _ => return Err(bad()),
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
            Step::Restart,
            Step::Crash {
                client: ClientId(7),
            },
        ];
        let text = format_schedule(&steps);
        assert_eq!(
            text,
            "acquire c1; acquire-delayed c2; tick; restart; crash c8"
        );
        assert_eq!(parse_schedule(&text), Ok(steps));
    }

    #[test]
    fn bad_steps_are_named() {
        for bad in [
            "acquire",
            "tick c1",
            "acquire c0",
            "acquire c9",
            "fly c1",
            "acquire c1 c2",
        ] {
            assert_eq!(parse_schedule(bad), Err(BadStep(bad.to_owned())), "{bad}");
        }
    }
}
