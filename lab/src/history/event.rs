//! One event per operation a client invoked, with its outcome (in the lab's
//! one [`Outcome`] vocabulary) and its start and end on the lab's monotonic
//! clock, plus what the lab observed and the faults it injected. Replays,
//! chaos schedules and bench runs all record histories in this one form, so
//! one checker reads them all.
//!
//! # Renewals and losses: the contract
//!
//! A lock that renews its lease records two more kinds of event, whoever
//! made them (the lab's own clients, or a worker reporting its library):
//!
//! - a **renewal** is an [`Op::Call`] of [`ClientOp::Renew`]: the client,
//!   when (`start_us`, `end_us`), [`Event::token`] — the token of the key
//!   it extended or tried to extend (its own, for a renewal that checks;
//!   whatever the key held, for one that does not) — and the outcome:
//!   [`Outcome::Renewed`], [`Outcome::NotHeld`] (nothing of its was there:
//!   the watchdog stops), [`Outcome::Reacquired`] (the key was gone and
//!   the renewal created it again), or an `error`;
//! - a **loss notification** is an [`Op::Lost`] event: the client, when,
//!   and the reason its library gave ([`Event::said`]). It is unsolicited:
//!   the holder's library tells it the lock is gone (a failed renewal, a
//!   local lease deadline passed).
//!
//! The checker judges `no-foreign-extension` and `loss-told` on these
//! events (`checker.rs`), for any client that records them.

use std::time::Instant;

use locklab_model::{Call, ClientOp, KeyRole, NodeId, Outcome, Reply};
use serde::{Deserialize, Serialize};

use crate::client::{Inspection, OpError};

/// What an event records; in JSON, its name (`"acquire"`, `"pause"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// A client's operation (with what became of its reply: `acquire-lost`
    /// is an acquire whose reply the client never read).
    Call(Call),
    /// The lab looked at the lock key on Redis.
    Observed,
    /// The client was paused (it takes no steps).
    Pause,
    /// The client was resumed.
    Resume,
    /// The client was crashed (it takes no steps ever again).
    Crash,
    /// The lab killed a Redis node and restarted it empty.
    Restart,
    /// At the end of a run, the lab read what the protected resource (a
    /// sink) holds and what Redis still holds for a client to take.
    Inspected,
    /// The lab killed a Redis node and keeps it down (a delayed restart).
    Down,
    /// A node the lab kept down came back, empty.
    Rejoin,
    /// The lab moved a node's clock ahead.
    ClockJump,
    /// A replica caught up with its primary (`node`).
    Replicate,
    /// Sentinel promoted a replica (`node`); every client followed it.
    Failover,
    /// The client's library told it the lock is lost (a failed renewal, a
    /// lease deadline passed): the reason is in [`Event::said`].
    Lost,
    /// The lab starved a client's watchdog: it renews nothing until woken.
    Stall,
    /// The lab let a starved watchdog run again.
    Wake,
}

impl Op {
    /// A client's operation, its reply read at once.
    pub const fn call(op: ClientOp) -> Op {
        Op::Call(Call::now(op))
    }

    /// The operation's name in tables.
    pub fn name(&self) -> String {
        match self {
            Op::Call(call) => call.name(),
            Op::Observed => "observed".to_owned(),
            Op::Pause => "pause".to_owned(),
            Op::Resume => "resume".to_owned(),
            Op::Crash => "crash".to_owned(),
            Op::Restart => "restart".to_owned(),
            Op::Inspected => "inspected".to_owned(),
            Op::Down => "down".to_owned(),
            Op::Rejoin => "rejoin".to_owned(),
            Op::ClockJump => "clock-jump".to_owned(),
            Op::Replicate => "replicate".to_owned(),
            Op::Failover => "failover".to_owned(),
            Op::Lost => "lost".to_owned(),
            Op::Stall => "stall".to_owned(),
            Op::Wake => "wake".to_owned(),
        }
    }

    /// The lab's own events, for reading names.
    const EVENTS: [Op; 14] = [
        Op::Observed,
        Op::Pause,
        Op::Resume,
        Op::Crash,
        Op::Restart,
        Op::Inspected,
        Op::Down,
        Op::Rejoin,
        Op::ClockJump,
        Op::Replicate,
        Op::Failover,
        Op::Lost,
        Op::Stall,
        Op::Wake,
    ];

    /// The event of this name (an ask's master is the event's `node`).
    pub fn named(name: &str) -> Option<Op> {
        Call::named(name)
            .map(Op::Call)
            .or_else(|| Op::EVENTS.into_iter().find(|op| op.name() == name))
    }

    /// An acquire, sent once or again — for a quorum lock, its
    /// conclusion (a request to one master grants nothing by itself); or
    /// the confirmation of one (a `WAIT`): an operation whose outcome may
    /// give belief.
    pub fn is_acquire(&self) -> bool {
        matches!(
            self,
            Op::Call(Call {
                op: ClientOp::Acquire | ClientOp::Conclude | ClientOp::Confirm,
                ..
            })
        )
    }

    /// A renewal of the client's lease, by its watchdog.
    pub fn is_renewal(&self) -> bool {
        matches!(
            self,
            Op::Call(Call {
                op: ClientOp::Renew,
                ..
            })
        )
    }

    /// An operation whose reply the client never read (Redis ran it; the
    /// lab saw what it answered).
    pub fn is_lost(&self) -> bool {
        matches!(
            self,
            Op::Call(Call {
                reply: Reply::Lost,
                ..
            })
        )
    }
}

impl Serialize for Op {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Op, D::Error> {
        let name = String::deserialize(d)?;
        Op::named(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown operation {name:?}")))
    }
}

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The client (`c1`, …), or `lab` for the lab's own observations.
    pub client: String,
    /// What happened.
    pub op: Op,
    /// The node it happened on (a restart, an observation), when there are
    /// several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeId>,
    /// What the operation did: the reply the client read — or, for an
    /// acquire whose reply is still in flight (`end_us` is `None`), what
    /// the lab saw it do on Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Why it failed, if it did. A failure that is not `definite` may have
    /// happened: the checker reads a failed acquire that may have run as a
    /// possible lock on Redis (see [`Event::may_have_granted`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<OpError>,
    /// What the client's library told its caller with this reply (a
    /// worker's `said`: an exception a release raised, a renewal thread
    /// that died) — what a program using the library would have seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub said: Option<String>,
    /// The fencing token a write carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<u64>,
    /// For a renewal: the token of the key it extended, or tried to (see
    /// the [module docs](self)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// For a renewal: a worker reported it, made by its library's own
    /// timer — what the renewal found is the watchdog's to know, and the
    /// caller learns it only from a `lost` line.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_timer: bool,
    /// For an observation: whether the key had a lease (the lock key: was
    /// there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    /// For an observation of another key than the lock key: which one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyRole>,
    /// For an inspection: what the lab read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspected: Option<Inspection>,
    /// When it was invoked, in µs since the history began.
    pub start_us: u64,
    /// When the client learned the outcome (`None`: never — the reply was
    /// still in flight when the client crashed or the run ended).
    pub end_us: Option<u64>,
}

impl Event {
    /// An event of `client` doing `op`, at `at` µs, with nothing known yet.
    pub fn new(client: &str, op: Op, at: u64) -> Event {
        Event {
            client: client.to_owned(),
            op,
            node: None,
            outcome: None,
            error: None,
            said: None,
            fence: None,
            token: None,
            by_timer: false,
            present: None,
            key: None,
            inspected: None,
            start_us: at,
            end_us: None,
        }
    }

    /// An acquire whose reply the client read, after which it believes it
    /// holds the lock (one more level of it).
    pub fn gives_belief(&self) -> bool {
        self.op.is_acquire()
            && self.end_us.is_some()
            && self.outcome.as_ref().is_some_and(Outcome::gives_belief)
    }

    /// An acquire Redis granted on a free lock (whether or not the client
    /// has read the reply yet): a new grant, not one more level of a
    /// re-entrant one. For a lock that confirms its grants, the grant is
    /// the pending one; its confirmation only gives belief. A renewal that
    /// created the key again is a grant too: a new key on Redis.
    pub fn is_grant(&self) -> bool {
        if self.op.is_renewal() {
            return self.outcome == Some(Outcome::Reacquired);
        }
        self.op.is_acquire()
            && match self.outcome {
                Some(Outcome::Pending) => true,
                Some(Outcome::Granted { count, .. }) => {
                    self.op != Op::call(ClientOp::Confirm) && count.is_none_or(|c| c == 1)
                }
                _ => false,
            }
    }

    /// An acquire that failed in a way that may have run on Redis (a
    /// timeout, a connection lost after sending): its client does not
    /// believe it holds the lock, but Redis may hold it for it.
    pub fn may_have_granted(&self) -> bool {
        self.op.is_acquire()
            && self.outcome.is_none()
            && self.error.as_ref().is_some_and(|e| !e.definite)
    }

    /// The outcome, or the failure, in words.
    pub fn result_words(&self) -> String {
        match (&self.outcome, &self.error) {
            (_, Some(e)) => {
                let sure = if e.definite { "" } else { " (may have run)" };
                format!("failed{sure}: {}", e.message)
            }
            (Some(o), None) if self.end_us.is_none() => format!("{o} on Redis; no reply read"),
            (Some(o), None) => o.to_string(),
            (None, None) => String::new(),
        }
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
        Recorder::since(Instant::now())
    }

    /// A history whose clock starts at `origin`.
    pub fn since(origin: Instant) -> Recorder {
        Recorder {
            origin,
            events: Vec::new(),
        }
    }

    /// µs since the history began.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// µs from the history's start to `at` (0 before it).
    pub fn us_of(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_micros()).unwrap_or(u64::MAX)
    }

    /// Sets a recorded event's start and end to `at_us`: an event that
    /// took no time the lab saw (a worker's report).
    pub fn place(&mut self, index: usize, at_us: u64) {
        if let Some(e) = self.events.get_mut(index) {
            e.start_us = at_us;
            e.end_us = Some(at_us);
        }
    }

    /// Records an invocation; returns its index so the completion can be
    /// filled in with [`Recorder::complete`].
    pub fn invoke(&mut self, client: &str, op: Op) -> usize {
        let event = Event::new(client, op, self.now_us());
        self.events.push(event);
        self.events.len() - 1
    }

    /// Records the end of an invocation.
    pub fn complete(&mut self, index: usize, result: Result<Outcome, OpError>) {
        let now = self.now_us();
        if let Some(e) = self.events.get_mut(index) {
            match result {
                Ok(outcome) => e.outcome = Some(outcome),
                Err(error) => e.error = Some(error),
            }
            e.end_us = Some(now);
        }
    }

    /// Records what the lab saw an invocation do on Redis before the client
    /// read the reply (a delayed grant: the key exists), leaving it
    /// incomplete: the client does not know yet.
    pub fn observe(&mut self, index: usize, outcome: Outcome) {
        if let Some(e) = self.events.get_mut(index) {
            e.outcome = Some(outcome);
        }
    }

    /// Marks a recorded operation's reply as never read by its client (it
    /// was lost on its way back): what Redis did stays, the client does not
    /// know it.
    pub fn unread(&mut self, index: usize) {
        if let Some(e) = self.events.get_mut(index) {
            e.end_us = None;
        }
    }

    /// Sets the node a recorded operation went to.
    pub fn at_node(&mut self, index: usize, node: NodeId) {
        if let Some(e) = self.events.get_mut(index) {
            e.node = Some(node);
        }
    }

    /// Records what the client's library told its caller with a reply.
    pub fn said(&mut self, index: usize, said: Option<String>) {
        if let (Some(e), Some(said)) = (self.events.get_mut(index), said) {
            e.said = Some(said);
        }
    }

    /// Sets the token of the key a recorded renewal extended, or tried to.
    pub fn extends(&mut self, index: usize, token: Option<String>) {
        if let Some(e) = self.events.get_mut(index) {
            e.token = token;
        }
    }

    /// Marks a recorded renewal as one a worker's library made on its own
    /// timer (see [`Event::by_timer`]).
    pub fn by_timer(&mut self, index: usize) {
        if let Some(e) = self.events.get_mut(index) {
            e.by_timer = true;
        }
    }

    /// Sets the fencing token a recorded write carries.
    pub fn carry(&mut self, index: usize, fence: Option<u64>) {
        if let Some(e) = self.events.get_mut(index) {
            e.fence = fence;
        }
    }

    /// Records an instantaneous event (an observation or a fault), and
    /// returns it to be filled in.
    pub fn instant(&mut self, client: &str, op: Op) -> &mut Event {
        let at = self.now_us();
        let mut event = Event::new(client, op, at);
        event.end_us = Some(at);
        self.events.push(event);
        self.events.last_mut().expect("just pushed")
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
