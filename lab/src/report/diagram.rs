//! A sequence diagram, as the drawing code needs it and nothing more: lanes
//! (clients, servers, replicas, Sentinels, the resource), one row per step
//! or moment, the calls between lanes, and the bars and shaded spans that
//! run down the lanes.
//!
//! It is deliberately neutral: it knows nothing of protocols, histories or
//! the model's types. The converters in [`super::from_json`] turn each
//! command's output into it, so a new protocol with more lanes (Redlock's
//! nodes, a Sentinel set) changes a converter, not the drawing.

/// A whole diagram.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagram {
    /// The heading drawn at the top.
    pub title: String,
    /// One line under the heading (what a row is, what a tick is).
    pub subtitle: String,
    /// What the rows' positions mean.
    pub clock: Clock,
    /// Left to right.
    pub lanes: Vec<Lane>,
    /// Top to bottom.
    pub rows: Vec<Row>,
    /// Bars along lanes: leases, and who believes it holds the lock.
    pub bars: Vec<Bar>,
    /// Shaded stretches of a lane: paused, crashed, down.
    pub spans: Vec<Span>,
    /// Labelled separators between rows.
    pub dividers: Vec<Divider>,
}

/// What a row stands for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    /// A step of the model: time passes only in tick rows.
    #[default]
    Steps,
    /// A moment of a real run, with its time in µs ([`Row::at_us`]).
    Micros,
}

/// One column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lane {
    /// A short stable name (`c1`, `redis`, `resource`, `node2`).
    pub id: String,
    /// The heading (`c1`, `Redis`, `resource`).
    pub label: String,
    /// What it is.
    pub kind: LaneKind,
}

/// What a lane is; it decides the lane's colour and heading shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneKind {
    /// A lock client.
    Client,
    /// A Redis server (a master, a Redlock node).
    Server,
    /// A replica.
    Replica,
    /// A Sentinel.
    Sentinel,
    /// The protected resource.
    Resource,
}

/// One step or moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    /// The number shown in the margin (the model's step number).
    pub n: usize,
    /// For [`Clock::Micros`]: when it happened, µs since the run began.
    pub at_us: Option<u64>,
    /// The lane that acts or suffers (none: a tick).
    pub actor: Option<usize>,
    /// What kind of step it is.
    pub mark: Mark,
    /// The commands sent in this row (several: one per node).
    pub calls: Vec<Call>,
    /// What happened, in words.
    pub says: String,
    /// The exact command and reply, shown under the words.
    pub command: Option<String>,
    /// The state after the row (the key, who believes it holds).
    pub state: Option<String>,
    /// The properties this row breaks.
    pub breaks: Vec<String>,
}

/// The kind of a row, which decides its glyph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mark {
    /// A command (its arrows are in [`Row::calls`]).
    #[default]
    Call,
    /// Time passes.
    Tick,
    /// The actor pauses.
    Pause,
    /// The actor resumes.
    Resume,
    /// The actor crashes.
    Crash,
    /// The actor (a server) restarts, empty.
    Restart,
    /// The actor (a server) expired the key.
    Expired,
    /// A reply held in flight reaches the actor.
    Deliver,
    /// Anything else: drawn as a dot on the actor's lane.
    Note,
}

/// A command from the row's actor to another lane, and its reply.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The lane it is sent to.
    pub to: usize,
    /// The arrow's label (short; the full command is [`Row::command`]).
    pub label: String,
    /// The reply, if one came back.
    pub reply: Option<String>,
    /// The row where the reply reaches the actor, when it is held in
    /// flight (none: the same row).
    pub reply_row: Option<usize>,
    /// How the reply reads.
    pub tone: Tone,
}

/// Whether a reply is good or bad news for safety.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tone {
    /// Ordinary.
    #[default]
    Plain,
    /// Safety at work (a stale write refused).
    Good,
    /// The break (a `DEL` of another's lock).
    Bad,
}

/// A bar along a lane over the state after rows `from..=to`.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// The lane.
    pub lane: usize,
    /// The first row after which the state holds.
    pub from: usize,
    /// The last such row.
    pub to: usize,
    /// What the bar shows.
    pub kind: BarKind,
    /// The lane whose colour it takes (the lease's owner).
    pub owner: usize,
    /// A label at its top (`c1's lock · fence 1`).
    pub label: String,
    /// For a lease: the fraction left after each row `from..=to` (1 =
    /// fresh, 0 = run out); empty: full all along.
    pub left: Vec<f64>,
    /// How it ends, at row `to + 1`.
    pub end: BarEnd,
}

/// What a bar shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarKind {
    /// A lease on a server: the key, which runs out.
    Lease,
    /// A client believes it holds the lock, and the key is its own.
    Holds,
    /// A client believes it holds the lock, but the key is not its own.
    Stale,
}

/// How a bar ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarEnd {
    /// It does not: the state lasts to the end of the diagram.
    Open,
    /// The lease ran out.
    Expired,
    /// Someone else's release removed it.
    Removed,
    /// The server lost it (a restart without persistence).
    Lost,
    /// Its owner released it, or stopped believing.
    Released,
}

/// A shaded stretch of a lane over the state after rows `from..=to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The lane.
    pub lane: usize,
    /// The first row.
    pub from: usize,
    /// The last row.
    pub to: usize,
    /// What it is.
    pub kind: SpanKind,
}

/// What a shaded span is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    /// A client takes no steps while time passes.
    Paused,
    /// A client stopped for good.
    Crashed,
    /// A server is down (or, for an instant restart, restarting).
    Down,
}

/// A labelled line drawn before a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divider {
    /// The row it precedes.
    pub before: usize,
    /// The label.
    pub label: String,
}

impl Diagram {
    /// The rows that break a property.
    pub fn breaking_rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.breaks.is_empty())
            .map(|(i, _)| i)
    }
}
