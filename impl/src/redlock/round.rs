//! One attempt of a Redlock acquire, as data: the request to each master,
//! its reply, and the decision — a majority and validity left, or not.
//!
//! The concurrent [`try_acquire`](super::Redlock::try_acquire) and the
//! lab's step-by-step replay (a request to one master at a time) record
//! into the same [`Round`] and conclude by the same [`Round::decide`], so a
//! replay tests the decision a production acquire makes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::LockError;
use crate::token::Token;

/// What one master answered to one request of an attempt.
#[derive(Debug, Clone)]
pub enum MasterReply {
    /// The master set the key for this attempt (with fencing: the master's
    /// counter after the grant).
    Granted {
        /// The master's fencing counter, for a fenced Redlock.
        fence: Option<u64>,
    },
    /// Another client's token is there.
    Busy,
    /// No usable answer: the master failed, or did not answer within the
    /// per-master timeout. The request may have run there.
    Failed(Arc<LockError>),
    /// Asked, but the reply was dropped unread (a reply lost on its way
    /// back, as the lab injects it): counted as not granted, though the
    /// master may have granted.
    Unread,
}

impl MasterReply {
    /// Whether the attempt counts this master as granted.
    pub fn is_granted(&self) -> bool {
        matches!(self, MasterReply::Granted { .. })
    }

    /// The reply in a few words: `granted`, `busy`, the error.
    pub fn words(&self) -> String {
        match self {
            MasterReply::Granted { fence: Some(f) } => format!("granted (counter {f})"),
            MasterReply::Granted { fence: None } => "granted".to_owned(),
            MasterReply::Busy => "busy".to_owned(),
            MasterReply::Failed(e) => e.to_string(),
            MasterReply::Unread => "no reply read".to_owned(),
        }
    }
}

/// What an attempt comes to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// A majority granted and validity is left: the lock is held.
    Hold {
        /// How long it stays valid from now.
        validity: Duration,
        /// The fencing token: the largest counter among the granting
        /// masters (fenced Redlock).
        fence: Option<u64>,
    },
    /// Fewer than a majority granted.
    NoMajority {
        /// Masters that granted.
        granted: usize,
    },
    /// A majority granted, but the round took so long that nothing of the
    /// lease is left once the drift is taken off.
    NoValidity {
        /// Masters that granted.
        granted: usize,
    },
}

/// One attempt in progress: its token, when its first request went out,
/// and each master's reply so far.
#[derive(Debug, Clone)]
pub struct Round {
    pub(crate) token: Token,
    pub(crate) started: Option<Instant>,
    pub(crate) replies: Vec<Option<MasterReply>>,
}

impl Round {
    /// A new attempt on `masters` masters, with a fresh token.
    pub(crate) fn new(masters: usize) -> Round {
        Round {
            token: Token::random(),
            started: None,
            replies: vec![None; masters],
        }
    }

    /// The attempt's token (stored on every master that grants).
    pub fn token(&self) -> Token {
        self.token
    }

    /// When the first request was sent (`None` before it).
    pub fn started(&self) -> Option<Instant> {
        self.started
    }

    /// Each master's reply, `None` where it has not been asked.
    pub fn replies(&self) -> &[Option<MasterReply>] {
        &self.replies
    }

    /// Whether every master has answered (or failed).
    pub fn heard_from_all(&self) -> bool {
        self.replies.iter().all(Option::is_some)
    }

    /// How many masters granted.
    pub fn granted(&self) -> usize {
        self.replies
            .iter()
            .flatten()
            .filter(|r| r.is_granted())
            .count()
    }

    /// Marks the moment a request is sent: the first one starts the clock.
    pub(crate) fn sending(&mut self, at: Instant) {
        self.started.get_or_insert(at);
    }

    pub(crate) fn record(&mut self, master: usize, reply: MasterReply) {
        if let Some(slot) = self.replies.get_mut(master) {
            *slot = Some(reply);
        }
    }

    /// The decision at `now`: hold with a majority and `ttl − elapsed −
    /// drift` left, where `elapsed` runs from the first request.
    pub fn decide(
        &self,
        majority: usize,
        ttl: Duration,
        drift: Duration,
        now: Instant,
    ) -> Decision {
        let granted = self.granted();
        if granted < majority {
            return Decision::NoMajority { granted };
        }
        let elapsed = self
            .started
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        let left = ttl.checked_sub(elapsed).and_then(|l| l.checked_sub(drift));
        match left {
            Some(validity) if !validity.is_zero() => Decision::Hold {
                validity,
                fence: self
                    .replies
                    .iter()
                    .flatten()
                    .filter_map(|r| match r {
                        MasterReply::Granted { fence } => *fence,
                        _ => None,
                    })
                    .max(),
            },
            _ => Decision::NoValidity { granted },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn round(replies: &[MasterReply], started: Instant) -> Round {
        let mut r = Round::new(replies.len());
        r.sending(started);
        for (k, reply) in replies.iter().enumerate() {
            r.record(k, reply.clone());
        }
        r
    }

    fn granted(fence: u64) -> MasterReply {
        MasterReply::Granted { fence: Some(fence) }
    }

    #[test]
    fn a_majority_holds_for_the_lease_less_the_time_taken_and_the_drift() {
        let t0 = Instant::now();
        let r = round(&[granted(4), MasterReply::Busy, granted(7)], t0);
        assert_eq!(
            r.decide(2, 300 * MS, 5 * MS, t0 + 100 * MS),
            Decision::Hold {
                validity: 195 * MS,
                fence: Some(7)
            }
        );
        // Exactly nothing left is not enough.
        assert_eq!(
            r.decide(2, 300 * MS, 5 * MS, t0 + 295 * MS),
            Decision::NoValidity { granted: 2 }
        );
        assert_eq!(
            r.decide(2, 300 * MS, 5 * MS, t0 + 900 * MS),
            Decision::NoValidity { granted: 2 }
        );
    }

    #[test]
    fn errors_and_unread_replies_are_not_grants() {
        let t0 = Instant::now();
        let failed = MasterReply::Failed(Arc::new(LockError::Timeout { timeout: 50 * MS }));
        let r = round(&[granted(1), failed, MasterReply::Unread], t0);
        assert_eq!(r.granted(), 1);
        assert!(r.heard_from_all());
        assert_eq!(
            r.decide(2, 300 * MS, 5 * MS, t0),
            Decision::NoMajority { granted: 1 }
        );
    }
}
