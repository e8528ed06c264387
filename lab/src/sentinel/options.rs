//! What a scenario may change about the lab's Sentinel set, and the Sentinel
//! timings the lab sets itself.

use std::time::Duration;

use super::SentinelError;

/// The name the Sentinels monitor the primary under (`sentinel monitor`).
pub const SERVICE: &str = "locklab";

/// How many `redis-sentinel` processes a set runs: three, so that a
/// majority (two) survives one Sentinel's failure and elects a leader.
pub const SENTINELS: usize = 3;

/// How many Sentinels must see the primary down before it is objectively
/// down and a failover may start.
pub const QUORUM: usize = 2;

/// `failover-timeout` until the lab forces a failover. Sentinel re-points a
/// replica whose master address is not the primary's (`+fix-slave-config`)
/// once it has looked that way for `failover-timeout`; the lab's replicas
/// replicate from a proxy's address, so a short timeout would have Sentinel
/// route them around the proxy within seconds, and `lag` would hold
/// nothing. The configured [`SentinelOptions::failover_timeout`] is put in
/// force when a failover is forced, from when the proxies are out of the
/// path anyway.
pub const HOLD_FAILOVER_TIMEOUT: Duration = Duration::from_secs(3600);

/// Sentinel's own periods, set with `SENTINEL DEBUG` (Redis 7.0) on each
/// Sentinel as it starts: `(parameter, milliseconds)`, with the default in
/// the comment. Shorter than the defaults so that a failover on loopback
/// takes a few seconds rather than tens, and longer where a loaded machine
/// could make Sentinel act on a hiccup.
pub const SENTINEL_TIMINGS: [(&str, u64); 5] = [
    // 10 s. How often a Sentinel reads INFO from each node: how soon it
    // sees a changed replica-priority, an offset, a demoted primary.
    // Its replica data must be younger than 3 periods to pick a replica in
    // a forced failover, so not shorter.
    ("info-period", 1000),
    // 2 s. Hello messages (Sentinels find each other and spread a new
    // configuration); a Sentinel also waits 4 periods before demoting a
    // primary that came back (`+convert-to-slave`).
    ("publish-period", 500),
    // 1 s. How often a Sentinel that sees the primary down asks the others
    // (objective down, then votes).
    ("ask-period", 300),
    // 2 s. A timer tick this late puts a Sentinel in TILT mode, where it
    // does nothing for `tilt-period`: on a loaded 2-core machine a 2 s stall
    // of a Sentinel is possible, and a Sentinel in TILT stalls a failover.
    ("tilt-trigger", 10_000),
    // 30 s.
    ("tilt-period", 5000),
];

/// `min-replicas-to-write` and `min-replicas-max-lag`, on every node (a
/// replica may become the primary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinReplicas {
    /// The primary refuses writes with fewer replicas than this…
    pub replicas: u32,
    /// …that acknowledged within this long (whole seconds, at least 1).
    /// A replica acknowledges what it has every second, so a replica whose
    /// stream the lab holds ([`lag`](super::SentinelSet::lag)) still counts.
    pub max_lag: Duration,
}

/// How to start a [`SentinelSet`](super::SentinelSet).
///
/// ```
/// use locklab::sentinel::SentinelOptions;
///
/// let options = SentinelOptions { replicas: 2, ..SentinelOptions::default() };
/// assert_eq!(options.replicas, 2);
/// ```
#[derive(Debug, Clone)]
pub struct SentinelOptions {
    /// Replicas of the primary: 1 or 2.
    pub replicas: usize,
    /// `down-after-milliseconds`: how long a node may leave a Sentinel's
    /// `PING` unanswered before that Sentinel calls it down. It also bounds
    /// how long a replica's link may have been down for Sentinel to still
    /// promote it (ten times this, plus how long the primary has been down).
    pub down_after: Duration,
    /// `failover-timeout`, from the first failover the lab forces on (see
    /// [`HOLD_FAILOVER_TIMEOUT`] for before): a failed election is retried
    /// after twice this.
    pub failover_timeout: Duration,
    /// `min-replicas-to-write`, if any.
    pub min_replicas_to_write: Option<MinReplicas>,
    /// How long [`start`](super::SentinelSet::start) may take until the set
    /// is ready.
    pub ready_timeout: Duration,
    /// How long each wait of a failover may take: the Sentinels seeing the
    /// replicas' priorities or offsets, every Sentinel naming the new
    /// primary (counted from the request, or from the primary's death),
    /// every node having its new role. Also bounds
    /// [`catch_up`](super::SentinelSet::catch_up).
    pub failover_deadline: Duration,
}

impl Default for SentinelOptions {
    fn default() -> Self {
        Self {
            replicas: 1,
            down_after: Duration::from_millis(1000),
            failover_timeout: Duration::from_secs(5),
            min_replicas_to_write: None,
            ready_timeout: Duration::from_secs(30),
            failover_deadline: Duration::from_secs(60),
        }
    }
}

impl SentinelOptions {
    /// Checks the options before anything starts.
    pub(crate) fn validate(&self) -> Result<(), SentinelError> {
        let bad = |why: String| Err(SentinelError::Options(why));
        if !(1..=2).contains(&self.replicas) {
            return bad(format!("replicas {}: give 1 or 2", self.replicas));
        }
        if self.down_after < Duration::from_millis(100) {
            return bad(format!(
                "down_after {:?}: give at least 100 ms",
                self.down_after
            ));
        }
        if self.failover_timeout < self.down_after {
            return bad(format!(
                "failover_timeout {:?}: give at least down_after ({:?})",
                self.failover_timeout, self.down_after
            ));
        }
        if let Some(min) = self.min_replicas_to_write {
            if min.max_lag < Duration::from_secs(1) || min.max_lag.subsec_nanos() != 0 {
                return bad(format!(
                    "min_replicas_to_write max_lag {:?}: give whole seconds, at least 1",
                    min.max_lag
                ));
            }
        }
        for (name, wait) in [
            ("ready_timeout", self.ready_timeout),
            ("failover_deadline", self.failover_deadline),
        ] {
            if wait.is_zero() {
                return bad(format!("{name} is zero"));
            }
        }
        Ok(())
    }

    /// The `redis-server` arguments every node of the set gets.
    pub(crate) fn node_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(min) = self.min_replicas_to_write {
            args.extend([
                "--min-replicas-to-write".to_string(),
                min.replicas.to_string(),
                "--min-replicas-max-lag".to_string(),
                min.max_lag.as_secs().to_string(),
            ]);
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        SentinelOptions::default().validate().unwrap();
    }

    #[test]
    fn bad_options_are_one_line_each() {
        let cases = [
            SentinelOptions {
                replicas: 0,
                ..SentinelOptions::default()
            },
            SentinelOptions {
                replicas: 3,
                ..SentinelOptions::default()
            },
            SentinelOptions {
                down_after: Duration::from_millis(10),
                ..SentinelOptions::default()
            },
            SentinelOptions {
                failover_timeout: Duration::from_millis(500),
                ..SentinelOptions::default()
            },
            SentinelOptions {
                min_replicas_to_write: Some(MinReplicas {
                    replicas: 1,
                    max_lag: Duration::from_millis(1500),
                }),
                ..SentinelOptions::default()
            },
            SentinelOptions {
                ready_timeout: Duration::ZERO,
                ..SentinelOptions::default()
            },
        ];
        for options in cases {
            let err = options.validate().expect_err("invalid");
            let msg = err.to_string();
            assert!(!msg.contains('\n'), "{msg}");
            assert!(matches!(err, SentinelError::Options(_)), "{err:?}");
        }
    }

    #[test]
    fn min_replicas_reach_every_node() {
        let options = SentinelOptions {
            min_replicas_to_write: Some(MinReplicas {
                replicas: 1,
                max_lag: Duration::from_secs(2),
            }),
            ..SentinelOptions::default()
        };
        assert_eq!(
            options.node_args(),
            [
                "--min-replicas-to-write",
                "1",
                "--min-replicas-max-lag",
                "2"
            ]
        );
        assert!(SentinelOptions::default().node_args().is_empty());
    }
}
