//! [`SyncWorker`]: one worker (or the producer) of a sync protocol, with
//! the unit it has in hand — each step on its own (what the lab's
//! conductor plays one at a time) and the production loop
//! ([`SyncWorker::work_once`]) a service would run.

use std::time::Duration;

use locklab_spec::{Protocol, SyncCaps, Take};

use super::error::SyncError;
use super::keys::{SinkKey, SyncKey, UnitId};
use super::sink::{self, Effect};
use super::stream::{self, Delivered};
use super::{slot, types};
use crate::backoff::Backoff;
use crate::config::Ttl;
use crate::connection::Conn;
use crate::token::Token;

/// The most claims [`SyncWorker::work_once`] tries for one unit: a
/// conflict means another worker took the unit first, so a worker that
/// keeps losing gives up on this round rather than looping (an unbounded
/// retry loop is the classic failure of optimistic concurrency on Redis:
/// redis-py#566).
pub const MAX_ATTEMPTS: u32 = 8;

/// After the n-th lost claim a worker waits up to `1 ms · 2^(n + 2)`
/// ([`Backoff::default`], full jitter).
const CONFLICT_WINDOW: u32 = 2;

/// What a worker has in hand.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hand {
    Empty,
    /// Read from the key (a claiming worker claims it next).
    Read(UnitId),
    /// Claimed by compare-and-set.
    Claimed(UnitId),
    /// Handed over by the Stream, pending for this worker.
    Pending(Delivered),
    /// Processed; to be marked (or acknowledged, by this entry id).
    Processed(UnitId, Option<String>),
}

/// What a produce did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Produced {
    /// The unit is in Redis.
    Written(UnitId),
    /// The key still holds a unit: no room (nothing written).
    Full,
}

/// What a read or a claim got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// This unit, now in hand.
    Unit(UnitId),
    /// Nothing to take.
    Empty,
    /// A claim that lost: the unit was replaced, marked, or claimed by
    /// another worker. Nothing is in hand.
    Conflict,
}

/// What processing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The unit.
    pub unit: UnitId,
    /// The sink applied its effect (false: a deduplicating sink had applied
    /// this unit before).
    pub applied: bool,
}

/// What a mark or an ack did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marked {
    /// The unit is marked done.
    Done,
    /// Nothing changed: the unit was no longer this worker's (its claim
    /// ran out and another took it; it was acknowledged already).
    Conflict,
}

/// One round of the production loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// A unit processed and marked.
    Done {
        /// What processing did.
        applied: Applied,
        /// Whether the mark (ack) took effect.
        marked: bool,
        /// Claims lost on the way.
        conflicts: u32,
    },
    /// Nothing to take.
    Idle {
        /// Claims lost before finding nothing.
        conflicts: u32,
    },
    /// Every claim of this round lost ([`MAX_ATTEMPTS`]).
    Contended {
        /// How many.
        conflicts: u32,
    },
}

/// What the lab reads of a run's end state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Every effect the sink applied, in order.
    pub applied: Vec<Effect>,
    /// The units Redis still holds for a worker to take.
    pub waiting: Vec<UnitId>,
}

/// One worker (or producer) of a sync protocol.
#[derive(Debug)]
pub struct SyncWorker {
    caps: SyncCaps,
    conn: Conn,
    sink_conn: Conn,
    key: SyncKey,
    sink: SinkKey,
    ttl: Ttl,
    id: String,
    hand: Hand,
    produced: u32,
    backoff: Backoff,
}

/// Fails with [`SyncError::WrongType`], sending nothing that writes, when
/// one of the keys a protocol with `caps` uses holds another type than it
/// stores there.
pub async fn check_types(
    caps: SyncCaps,
    conn: &Conn,
    sink_conn: &Conn,
    key: &SyncKey,
    sink: &SinkKey,
) -> Result<(), SyncError> {
    if caps.stream() {
        types::expect(conn, key.as_str(), "stream").await?;
    } else {
        types::expect(conn, key.as_str(), "string").await?;
        types::expect(conn, &key.claim(), "string").await?;
    }
    types::expect(sink_conn, sink.as_str(), "list").await?;
    if caps.dedup_sink {
        types::expect(sink_conn, &sink.seen(), "set").await?;
    }
    Ok(())
}

/// A protocol's sync capabilities, or why it has none.
pub fn caps_of(protocol: Protocol) -> Result<SyncCaps, SyncError> {
    protocol.caps().sync.ok_or(SyncError::NotSync {
        protocol: protocol.name(),
    })
}

fn take_name(take: Take) -> &'static str {
    match take {
        Take::Read => "a worker that only reads",
        Take::VersionedClaim => "a key-based protocol",
        Take::ConsumerGroup => "a Stream protocol",
    }
}

impl SyncWorker {
    /// A worker of a protocol with `caps`, taking units from `key` on
    /// `conn` and applying effects to `sink` on `sink_conn`; `ttl` is the
    /// marker's and the claim's lease, and a Stream's claim idle time.
    ///
    /// Fails with [`SyncError::WrongType`], touching nothing, when a key
    /// already holds a value of another type than the protocol stores
    /// there (a hash where a string goes, a string where a Stream goes).
    pub async fn open(
        caps: SyncCaps,
        conn: Conn,
        sink_conn: Conn,
        key: SyncKey,
        sink: SinkKey,
        ttl: Ttl,
    ) -> Result<SyncWorker, SyncError> {
        check_types(caps, &conn, &sink_conn, &key, &sink).await?;
        if caps.stream() {
            stream::ensure_group(&conn, &key).await?;
        }
        Ok(SyncWorker {
            caps,
            conn,
            sink_conn,
            key,
            sink,
            ttl,
            id: Token::random().to_string(),
            hand: Hand::Empty,
            produced: 0,
            backoff: Backoff::default(),
        })
    }

    /// The worker's id: its claims' value, its Stream consumer name.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The unit in hand, if any.
    pub fn holding(&self) -> Option<UnitId> {
        match &self.hand {
            Hand::Empty => None,
            Hand::Read(u) | Hand::Claimed(u) | Hand::Processed(u, _) => Some(*u),
            Hand::Pending(d) => Some(d.unit),
        }
    }

    /// Drops whatever is in hand (a worker starting over).
    pub fn forget(&mut self) {
        self.hand = Hand::Empty;
    }

    /// Moves to other keys, with nothing in hand and the producer's count
    /// back at zero.
    pub async fn switch(&mut self, key: SyncKey, sink: SinkKey) -> Result<(), SyncError> {
        let next = SyncWorker::open(
            self.caps,
            self.conn.clone(),
            self.sink_conn.clone(),
            key,
            sink,
            self.ttl,
        )
        .await?;
        *self = SyncWorker {
            id: std::mem::take(&mut self.id),
            ..next
        };
        Ok(())
    }

    /// Writes the next unit (`u1`, `u2`, … in this producer's order): into
    /// the key where there is room, or appended to the Stream.
    pub async fn produce(&mut self) -> Result<Produced, SyncError> {
        let unit = UnitId(self.produced + 1);
        if self.caps.stream() {
            stream::produce(&self.conn, &self.key, unit).await?;
        } else if !slot::produce(&self.conn, &self.key, unit).await? {
            return Ok(Produced::Full);
        }
        self.produced += 1;
        Ok(Produced::Written(unit))
    }

    /// Appends the next `n` units to a Stream in one round trip (a
    /// producer keeping ahead of many consumers); a key-based protocol has
    /// room for one unit at a time, and writes at most one.
    pub async fn produce_many(&mut self, n: u32) -> Result<Vec<UnitId>, SyncError> {
        if !self.caps.stream() {
            return Ok(match self.produce().await? {
                Produced::Written(u) => vec![u],
                Produced::Full => Vec::new(),
            });
        }
        let units: Vec<UnitId> = (1..=n).map(|i| UnitId(self.produced + i)).collect();
        stream::produce_many(&self.conn, &self.key, &units).await?;
        self.produced += n;
        Ok(units)
    }

    /// Reads the next unit: `GET key` (the article), `MGET key key:claim`
    /// (a claiming worker, which leaves a claimed unit alone), or
    /// `XREADGROUP … >` (the Stream hands it over, pending for this
    /// worker).
    pub async fn read(&mut self) -> Result<Taken, SyncError> {
        self.read_within(None).await
    }

    async fn read_within(&mut self, block: Option<Duration>) -> Result<Taken, SyncError> {
        let (hand, taken) = match self.caps.take {
            Take::Read | Take::VersionedClaim => {
                let unit = if self.caps.claims_first() {
                    slot::get_unclaimed(&self.conn, &self.key).await?
                } else {
                    slot::get(&self.conn, &self.key).await?
                };
                match unit {
                    Some(u) => (Hand::Read(u), Taken::Unit(u)),
                    None => (Hand::Empty, Taken::Empty),
                }
            }
            Take::ConsumerGroup => {
                match stream::read(&self.conn, &self.key, &self.id, block).await? {
                    Some(d) => {
                        let u = d.unit;
                        (Hand::Pending(d), Taken::Unit(u))
                    }
                    None => (Hand::Empty, Taken::Empty),
                }
            }
        };
        self.hand = hand;
        Ok(taken)
    }

    /// Claims a unit: by compare-and-set on the unit in hand (key-based),
    /// or a Stream entry pending longer than the claim idle time.
    pub async fn claim(&mut self) -> Result<Taken, SyncError> {
        match self.caps.take {
            Take::Read => Err(SyncError::Unsupported {
                op: "claim",
                protocol: take_name(Take::Read),
            }),
            Take::VersionedClaim => {
                let Hand::Read(unit) = self.hand else {
                    return Err(SyncError::NothingInHand { op: "claim" });
                };
                if slot::claim(&self.conn, &self.key, unit, &self.id, self.ttl).await? {
                    self.hand = Hand::Claimed(unit);
                    Ok(Taken::Unit(unit))
                } else {
                    self.hand = Hand::Empty;
                    Ok(Taken::Conflict)
                }
            }
            Take::ConsumerGroup => {
                match stream::autoclaim(&self.conn, &self.key, &self.id, self.ttl).await? {
                    Some(d) => {
                        let u = d.unit;
                        self.hand = Hand::Pending(d);
                        Ok(Taken::Unit(u))
                    }
                    None => Ok(Taken::Empty),
                }
            }
        }
    }

    /// Processes the unit in hand: its effect, tagged, goes to the sink.
    pub async fn process(&mut self, tag: &str) -> Result<Applied, SyncError> {
        let (unit, ack) = match &self.hand {
            Hand::Read(u) if !self.caps.claims_first() => (*u, None),
            Hand::Claimed(u) => (*u, None),
            Hand::Pending(d) => (d.unit, Some(d.id.clone())),
            _ => return Err(SyncError::NothingInHand { op: "process" }),
        };
        let applied =
            sink::apply(&self.sink_conn, &self.sink, self.caps.dedup_sink, unit, tag).await?;
        self.hand = Hand::Processed(unit, ack);
        Ok(Applied { unit, applied })
    }

    /// Marks the processed unit done in the key: `SET key processed PX
    /// ttl` (the article: whatever the key holds by now), or by
    /// compare-and-set (a claiming worker).
    pub async fn mark(&mut self) -> Result<Marked, SyncError> {
        if self.caps.stream() {
            return Err(SyncError::Unsupported {
                op: "mark",
                protocol: take_name(Take::ConsumerGroup),
            });
        }
        let Hand::Processed(unit, _) = self.hand else {
            return Err(SyncError::NothingInHand { op: "mark" });
        };
        let done = if self.caps.claims_first() {
            slot::mark_claimed(&self.conn, &self.key, unit, &self.id, self.ttl).await?
        } else {
            slot::mark_blind(&self.conn, &self.key, self.ttl).await?;
            true
        };
        self.hand = Hand::Empty;
        Ok(if done { Marked::Done } else { Marked::Conflict })
    }

    /// Acknowledges the processed unit to the consumer group (`XACK`).
    pub async fn ack(&mut self) -> Result<Marked, SyncError> {
        if !self.caps.stream() {
            return Err(SyncError::Unsupported {
                op: "ack",
                protocol: take_name(self.caps.take),
            });
        }
        let Hand::Processed(_, Some(id)) = &self.hand else {
            return Err(SyncError::NothingInHand { op: "ack" });
        };
        let done = stream::ack(&self.conn, &self.key, id).await?;
        self.hand = Hand::Empty;
        Ok(if done { Marked::Done } else { Marked::Conflict })
    }

    /// One round of the production loop: take a unit (a claiming worker
    /// re-reads after a lost claim, with jittered backoff — 1 ms to 4 ms,
    /// doubling with each loss, at most 50 ms — at most [`MAX_ATTEMPTS`]
    /// times; a Stream worker waits up to `wait` for a new
    /// unit, then takes an idle pending one), process it with `tag`, mark
    /// or acknowledge it.
    pub async fn work_once(&mut self, tag: &str, wait: Duration) -> Result<Work, SyncError> {
        let block = (!wait.is_zero()).then_some(wait);
        let mut conflicts = 0;
        for attempt in 0..MAX_ATTEMPTS {
            let taken = match self.read_within(block).await? {
                Taken::Empty if self.caps.stream() => self.claim().await?,
                Taken::Unit(_) if self.caps.claims_first() && !self.caps.stream() => {
                    self.claim().await?
                }
                taken => taken,
            };
            match taken {
                Taken::Empty => return Ok(Work::Idle { conflicts }),
                Taken::Conflict => {
                    // The losers of one race must not meet again in the
                    // next: full jitter over a window of 4 ms, doubling
                    // with each loss (a window of one timer tick had them
                    // wake together and collide on the next unit).
                    conflicts += 1;
                    tokio::time::sleep(self.backoff.delay(attempt + CONFLICT_WINDOW)).await;
                }
                Taken::Unit(_) => {
                    let applied = self.process(tag).await?;
                    let marked = if self.caps.stream() {
                        self.ack().await?
                    } else {
                        self.mark().await?
                    };
                    return Ok(Work::Done {
                        applied,
                        marked: marked == Marked::Done,
                        conflicts,
                    });
                }
            }
        }
        Ok(Work::Contended { conflicts })
    }

    /// What the sink applied, and which units Redis still holds for a
    /// worker to take.
    pub async fn inspect(&self) -> Result<Inspection, SyncError> {
        let applied = sink::content(&self.sink_conn, &self.sink).await?;
        let waiting = if self.caps.stream() {
            stream::waiting(&self.conn, &self.key).await?
        } else {
            slot::get(&self.conn, &self.key)
                .await?
                .into_iter()
                .collect()
        };
        Ok(Inspection { applied, waiting })
    }

    /// Makes sure the connections work (after a Redis restart, the first
    /// command on an old connection fails and replaces it) and, for a
    /// Stream, that its consumer group exists again — so that the next read
    /// is one round trip, not a `NOGROUP` and a second try.
    pub async fn ping(&self) -> Result<(), SyncError> {
        if self.conn.ping().await.is_err() {
            self.conn.ping().await?;
        }
        if self.sink_conn.ping().await.is_err() {
            self.sink_conn.ping().await?;
        }
        if self.caps.stream() {
            stream::ensure_group(&self.conn, &self.key).await?;
        }
        Ok(())
    }
}
