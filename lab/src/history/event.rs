//! One event per operation a client invoked, with its outcome and its start
//! and end on the lab's monotonic clock, plus what the lab observed and the
//! faults it injected. Replays, chaos schedules and bench runs all record
//! histories in this one form, so one checker reads them all.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// What Redis (or the client) said to an acquire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AcquireOutcome {
    /// Redis set the key for this client.
    Granted,
    /// The key was held by someone else.
    Busy,
    /// Redis refused, but the client ignored the reply and believes it
    /// holds the lock (`naive-unchecked`).
    Believed,
    /// The command failed (connection, timeout, …).
    Failed(String),
}

/// What a release did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseOutcome {
    /// Removed the client's own lock (compare-and-delete matched).
    Released,
    /// `DEL` removed a key; the client cannot know whose.
    Deleted,
    /// Nothing of the client's was there (expired, or another holds it).
    NotHeld,
    /// `DEL` found no key.
    NothingToDelete,
    /// The command failed.
    Failed(String),
}

impl ReleaseOutcome {
    /// True when the release removed a key from Redis.
    pub fn removed_a_key(&self) -> bool {
        matches!(self, ReleaseOutcome::Released | ReleaseOutcome::Deleted)
    }
}

/// What the protected resource did with a write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteOutcome {
    /// The resource took the write.
    Accepted,
    /// The resource refused it: it had accepted a higher fencing token.
    Refused {
        /// The highest token it had accepted.
        highest: u64,
    },
    /// The command failed.
    Failed(String),
}

/// The operation an event records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// An acquire attempt.
    Acquire {
        /// The outcome.
        outcome: AcquireOutcome,
        /// The lock's token, for protocols that have one.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        token: Option<String>,
        /// The fencing token issued with the grant.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        fence: Option<u64>,
    },
    /// A release.
    Release {
        /// The outcome.
        outcome: ReleaseOutcome,
    },
    /// A write to the protected resource.
    Write {
        /// The fencing token carried, for a fenced lock.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        fence: Option<u64>,
        /// The outcome.
        outcome: WriteOutcome,
    },
    /// The lab observed that the lock key is gone from Redis (the lease ran
    /// out).
    Expired,
    /// The client was paused (it takes no steps).
    Pause,
    /// The client was resumed.
    Resume,
    /// The client was crashed (it takes no steps ever again).
    Crash,
    /// The lab killed Redis and restarted it empty.
    Restart,
}

impl Op {
    /// The operation's name in tables.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Acquire { .. } => "acquire",
            Op::Release { .. } => "release",
            Op::Write { .. } => "write",
            Op::Expired => "expired",
            Op::Pause => "pause",
            Op::Resume => "resume",
            Op::Crash => "crash",
            Op::Restart => "restart",
        }
    }
}

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The client (`c1`, …), or `lab` for the lab's own observations.
    pub client: String,
    /// What happened.
    #[serde(flatten)]
    pub op: Op,
    /// When it was invoked, in µs since the history began.
    pub start_us: u64,
    /// When the client learned the outcome (`None`: never — the reply was
    /// still in flight when the client crashed or the run ended).
    pub end_us: Option<u64>,
}

impl Event {
    /// True for an acquire after which the client believes it holds the
    /// lock.
    pub fn gives_belief(&self) -> bool {
        matches!(
            self.op,
            Op::Acquire {
                outcome: AcquireOutcome::Granted | AcquireOutcome::Believed,
                ..
            }
        )
    }

    /// True for an acquire Redis granted (whether or not the client has
    /// read the reply yet).
    pub fn is_grant(&self) -> bool {
        matches!(
            self.op,
            Op::Acquire {
                outcome: AcquireOutcome::Granted,
                ..
            }
        )
    }
}

/// A history being recorded: events in the order they were invoked.
#[derive(Clone, Debug)]
pub struct Recorder {
    origin: Instant,
    events: Vec<Event>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// A history starting now.
    pub fn new() -> Recorder {
        Recorder {
            origin: Instant::now(),
            events: Vec::new(),
        }
    }

    /// µs since the history began.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Records an invocation; returns its index so the completion can be
    /// filled in with [`Recorder::complete`].
    pub fn invoke(&mut self, client: &str, op: Op) -> usize {
        let start_us = self.now_us();
        self.events.push(Event {
            client: client.to_owned(),
            op,
            start_us,
            end_us: None,
        });
        self.events.len() - 1
    }

    /// Records the completion of an invocation, with its final outcome.
    pub fn complete(&mut self, index: usize, op: Op) {
        let now = self.now_us();
        if let Some(e) = self.events.get_mut(index) {
            e.op = op;
            e.end_us = Some(now);
        }
    }

    /// Records what the lab saw an invocation do on Redis before the client
    /// read the reply (a delayed grant: the key exists), leaving it
    /// incomplete: the client does not know yet.
    pub fn observe(&mut self, index: usize, op: Op) {
        if let Some(e) = self.events.get_mut(index) {
            e.op = op;
        }
    }

    /// Records an instantaneous event (an observation or a fault).
    pub fn instant(&mut self, client: &str, op: Op) {
        let at = self.now_us();
        self.events.push(Event {
            client: client.to_owned(),
            op,
            start_us: at,
            end_us: Some(at),
        });
    }

    /// The events so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The finished history.
    pub fn finish(self) -> History {
        History {
            events: self.events,
        }
    }
}

/// A finished history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The events, in the order they were invoked.
    pub events: Vec<Event>,
}
