//! The step vocabulary shared by the model and the lab: a counterexample is
//! a list of these, and the lab's conductor plays the same list against real
//! Redis.

use std::fmt;

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
