//! Why an attempt did not get the lock, per master — what users of
//! node-redlock ask for (node-redlock #168, #262): not just "unable to
//! acquire", but which master said what.

use std::fmt;
use std::time::Duration;

use super::round::{Decision, MasterReply};

/// An attempt that did not get the lock, and why, master by master.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Each master's URL and reply (`None`: not asked).
    pub masters: Vec<(String, Option<MasterReply>)>,
    /// How many grants were needed.
    pub needed: usize,
    /// How long the round took, from its first request to its decision.
    pub elapsed: Duration,
    /// The lease, and the drift allowance taken off it.
    pub ttl: Duration,
    /// The drift allowance.
    pub drift: Duration,
    /// What the attempt came to.
    pub decision: Decision,
}

impl Refusal {
    /// How many masters granted.
    pub fn granted(&self) -> usize {
        self.masters
            .iter()
            .filter(|(_, r)| r.as_ref().is_some_and(MasterReply::is_granted))
            .count()
    }

    /// Whether a majority granted and only time was short.
    pub fn out_of_time(&self) -> bool {
        matches!(self.decision, Decision::NoValidity { .. })
    }
}

impl fmt::Display for Refusal {
    /// `1 of 3 masters granted, 2 needed — redis://…:1: granted; redis://…:2:
    /// busy; redis://…:3: no reply within 50ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let granted = self.granted();
        let m = self.masters.len();
        if self.out_of_time() {
            write!(
                f,
                "{granted} of {m} masters granted, but the round took {:?} of a {:?} lease (drift {:?}): no validity left",
                self.elapsed, self.ttl, self.drift
            )?;
        } else {
            write!(
                f,
                "{granted} of {m} masters granted, {} needed",
                self.needed
            )?;
        }
        let per_master: Vec<String> = self
            .masters
            .iter()
            .map(|(url, reply)| {
                let words = reply
                    .as_ref()
                    .map_or("not asked".to_owned(), MasterReply::words);
                format!("{url}: {}", one_line(&words))
            })
            .collect();
        write!(f, " — {}", per_master.join("; "))
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl std::error::Error for Refusal {}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::error::LockError;

    #[test]
    fn a_refusal_names_every_master_on_one_line() {
        let r = Refusal {
            masters: vec![
                (
                    "redis://a/".into(),
                    Some(MasterReply::Granted { fence: None }),
                ),
                ("redis://b/".into(), Some(MasterReply::Busy)),
                (
                    "redis://c/".into(),
                    Some(MasterReply::Failed(Arc::new(LockError::Timeout {
                        timeout: Duration::from_millis(50),
                    }))),
                ),
            ],
            needed: 2,
            elapsed: Duration::from_millis(51),
            ttl: Duration::from_secs(10),
            drift: Duration::from_millis(102),
            decision: Decision::NoMajority { granted: 1 },
        };
        let s = r.to_string();
        assert_eq!(
            s,
            "1 of 3 masters granted, 2 needed — redis://a/: granted; redis://b/: busy; \
             redis://c/: no reply from Redis within the response timeout (50ms)"
        );
        assert!(!s.contains('\n'));
    }
}
