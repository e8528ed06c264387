//! The worker protocol's start: the lab's start-up message, the worker's
//! `ready`, and the version both must speak.
//!
//! A worker learns everything about its run from its first stdin line, not
//! from flags, so that any program in any language can be one: the command
//! line picks the *library* (`locklab worker --protocol token`,
//! `python3 redis_py_lock.py`), the start-up message gives the *run* (which
//! Redis — the lab's proxy, so that delays are real —, which key, which
//! lease). The version is checked at both ends: a worker that speaks
//! another one is stopped before it acquires anything, with one line that
//! says so.

use serde::{Deserialize, Serialize};

/// The newest version of the worker protocol this lab speaks
/// (docs/worker-protocol.md): 2 adds renewals.
pub const PROTOCOL_VERSION: u32 = 2;

/// The version every start-up message says in `version`, which every
/// worker understands: a version-1 adapter refuses any other, so the lab
/// offers the newer one in [`Start::max_version`] instead, and the worker's
/// `ready` says which one they speak.
pub const BASE_VERSION: u32 = 1;

/// The lab's first line to a worker: `{"op":"start","version":1,…}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename = "start")]
pub struct Start {
    /// The base protocol version ([`BASE_VERSION`]).
    pub version: u32,
    /// The newest version the lab speaks (absent: only `version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<u32>,
    /// The client's name in the run (`c1`, …), for the worker's messages.
    pub client: String,
    /// The Redis URL to lock on: the lab's proxy, when the lab injects
    /// message faults.
    pub redis: String,
    /// The lock key, exactly as the lab observes it on Redis: a library that
    /// prefixes its keys must be pointed at this one.
    pub lock_key: String,
    /// The protected resource's key. Informational: the lab writes to the
    /// resource itself, with the fencing token the worker reports.
    pub resource_key: String,
    /// The lease of every grant, in milliseconds.
    pub lease_ms: u64,
    /// How long connecting to Redis may take, in milliseconds.
    pub connect_timeout_ms: u64,
    /// How long one Redis command may wait for its reply, in milliseconds:
    /// long, so that a reply the proxy holds is late, not lost.
    pub response_timeout_ms: u64,
    /// A quorum lock's other masters, after `redis` (absent: one Redis).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masters: Vec<String>,
    /// Where the worker's own effects go, for a protocol whose worker
    /// applies them itself (a sync protocol's sink); absent: `redis`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_redis: Option<String>,
    /// A quorum lock's timing (absent: the lock's defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<QuorumTiming>,
    /// When the lock is on a Sentinel set (`redis` is then its
    /// `redis+sentinel://` URL): the set, for a client that finds the
    /// primary through the Sentinels and follows a failover (absent: one
    /// Redis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel: Option<SentinelSet>,
    /// Version 2: the period at which a lock that renews its lease renews
    /// it, in milliseconds, below `lease_ms` (absent: no renewal asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_every_ms: Option<u64>,
}

/// A Sentinel set in a start-up message: what a Sentinel client is
/// configured with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentinelSet {
    /// The service (master) name the Sentinels monitor.
    pub service: String,
    /// The Sentinels, `host:port` each.
    pub addrs: Vec<String>,
}

impl SentinelSet {
    /// The set `url` names, if it is a Sentinel URL.
    pub fn of_url(url: &str) -> Option<SentinelSet> {
        let sentinel = crate::sentinel::SentinelUrl::parse(url).ok()?;
        Some(SentinelSet {
            service: sentinel.service().to_owned(),
            addrs: sentinel
                .hosts()
                .iter()
                .map(|(host, port)| format!("{host}:{port}"))
                .collect(),
        })
    }
}

/// A quorum lock's timing in a start-up message: the lab sets it so that a
/// replay's decisions fall where the model's do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumTiming {
    /// The drift allowance as a share of the lease, in millionths.
    pub drift_ppm: u64,
    /// The drift allowance beyond that share, in microseconds.
    pub drift_floor_us: u64,
    /// The timeout per master and request, in milliseconds.
    pub master_timeout_ms: u64,
}

impl QuorumTiming {
    /// The timing of `options`.
    pub fn of(options: &locklab_impl::RedlockOptions) -> QuorumTiming {
        QuorumTiming {
            drift_ppm: (options.drift_factor() * 1e6).round() as u64,
            drift_floor_us: options.drift_floor().as_micros() as u64,
            master_timeout_ms: options.master_timeout().as_millis() as u64,
        }
    }

    /// The lock's options, or why they are out of range.
    pub fn options(&self) -> Result<locklab_impl::RedlockOptions, locklab_impl::LockError> {
        locklab_impl::RedlockOptions::default()
            .with_drift_factor(self.drift_ppm as f64 / 1e6)?
            .with_drift_floor(std::time::Duration::from_micros(self.drift_floor_us))
            .with_master_timeout(std::time::Duration::from_millis(self.master_timeout_ms))
    }
}

impl Start {
    /// The message as one JSON line, without the newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a start-up message always serializes")
    }

    /// The version a worker that speaks up to `newest` answers with: the
    /// newest both speak.
    pub fn agreed(&self, newest: u32) -> u32 {
        self.max_version.unwrap_or(self.version).min(newest)
    }

    /// The renewal period, checked against the lease.
    pub fn renew_every(&self) -> Result<Option<std::time::Duration>, PeriodError> {
        check_period(self.renew_every_ms, self.lease_ms)
            .map(|p| p.map(std::time::Duration::from_millis))
    }
}

/// Why a renewal period cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// A period of zero would renew without pause.
    #[error("a renewal period of 0 ms: renewals need a period above zero")]
    Zero,
    /// A period not below the lease lets the lease run out before the
    /// first renewal.
    #[error("a renewal period of {period_ms} ms is not below the lease of {lease_ms} ms: the lease would run out before the renewal")]
    NotBelowLease {
        /// The period.
        period_ms: u64,
        /// The lease.
        lease_ms: u64,
    },
}

/// `period_ms` if it is a usable renewal period for `lease_ms`.
pub fn check_period(period_ms: Option<u64>, lease_ms: u64) -> Result<Option<u64>, PeriodError> {
    match period_ms {
        Some(0) => Err(PeriodError::Zero),
        Some(period_ms) if period_ms >= lease_ms => Err(PeriodError::NotBelowLease {
            period_ms,
            lease_ms,
        }),
        period => Ok(period),
    }
}

/// A worker's answer to [`Start`], once it is connected and ready to take
/// requests: `{"ready":"redis-py Lock","version":1,"pid":4242,"name":"c1"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// The lock it is: a protocol name (`token`) or a library's
    /// (`redis-py Lock 5.2.1`), for reports.
    pub ready: String,
    /// The protocol version it speaks (0 when it did not say).
    #[serde(default)]
    pub version: u32,
    /// Its process id (informational: the lab signals the pid it started).
    #[serde(default)]
    pub pid: u32,
    /// The client name it was given.
    #[serde(default)]
    pub name: String,
    /// It follows a Sentinel failover: given a start-up message with
    /// `sentinel`, it finds the primary through the Sentinels and moves to
    /// the new one after a failover, as its library does. Without it the
    /// lab does not play the failover cells on it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follows_failover: bool,
    /// Version 2: its library renews the lease by itself, at the start-up
    /// message's `renew_every_ms`, and it reports each renewal and each
    /// loss as an event line ([`super::event`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub renews: bool,
}

/// Why a start-up line, as a worker reads it, cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The line is not a start-up message.
    #[error("expected the start-up message {{\"op\":\"start\",\"version\":{PROTOCOL_VERSION},…}} as the first line, got {line:?}: {reason}")]
    NotStart {
        /// The line (cut).
        line: String,
        /// What did not parse.
        reason: String,
    },
    /// The lab speaks another version.
    #[error("the lab speaks worker protocol version {lab}, this worker speaks {BASE_VERSION} to {PROTOCOL_VERSION}")]
    Version {
        /// The version the lab sent.
        lab: u32,
    },
    /// The renewal period cannot be used.
    #[error(transparent)]
    Period(#[from] PeriodError),
}

impl StartError {
    /// Parses a worker's first stdin line, checking the version.
    pub fn check(line: &str) -> Result<Start, StartError> {
        // The version first, so that a newer lab's message (with fields this
        // worker does not know) is refused for its version, not its shape.
        #[derive(Deserialize)]
        struct Versioned {
            op: String,
            version: u32,
        }
        if let Ok(v) = serde_json::from_str::<Versioned>(line) {
            if v.op == "start" && !(BASE_VERSION..=PROTOCOL_VERSION).contains(&v.version) {
                return Err(StartError::Version { lab: v.version });
            }
        }
        let start = serde_json::from_str::<Start>(line).map_err(|e| StartError::NotStart {
            line: cut(line, 200),
            reason: e.to_string(),
        })?;
        start.renew_every()?;
        Ok(start)
    }
}

/// `s` cut to at most `max` bytes (on a character boundary), with `…` when
/// cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Start {
        Start {
            version: BASE_VERSION,
            max_version: None,
            client: "c1".into(),
            redis: "redis://127.0.0.1:7000/".into(),
            lock_key: "k".into(),
            resource_key: "r".into(),
            lease_ms: 75,
            connect_timeout_ms: 2000,
            response_timeout_ms: 30000,
            masters: Vec::new(),
            resource_redis: None,
            quorum: None,
            sentinel: None,
            renew_every_ms: None,
        }
    }

    #[test]
    fn the_start_up_message_is_the_documented_line() {
        assert_eq!(
            start().to_line(),
            r#"{"op":"start","version":1,"client":"c1","redis":"redis://127.0.0.1:7000/","lock_key":"k","resource_key":"r","lease_ms":75,"connect_timeout_ms":2000,"response_timeout_ms":30000}"#
        );
        assert_eq!(StartError::check(&start().to_line()), Ok(start()));
    }

    #[test]
    fn a_worker_refuses_another_version_and_other_lines() {
        let newer = start()
            .to_line()
            .replace(r#""version":1"#, r#""version":3"#);
        assert_eq!(
            StartError::check(&newer),
            Err(StartError::Version { lab: 3 })
        );
        let e = StartError::check(r#"{"op":"acquire"}"#).unwrap_err();
        assert!(matches!(e, StartError::NotStart { .. }), "{e}");
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn a_sentinel_url_is_given_as_its_set() {
        let set = SentinelSet::of_url("redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/locklab");
        assert_eq!(
            set,
            Some(SentinelSet {
                service: "locklab".into(),
                addrs: vec!["127.0.0.1:26379".into(), "127.0.0.1:26380".into()],
            })
        );
        assert_eq!(SentinelSet::of_url("redis://127.0.0.1:6379/"), None);
        let line = Start {
            sentinel: set,
            ..start()
        }
        .to_line();
        assert!(
            line.ends_with(
                r#""sentinel":{"service":"locklab","addrs":["127.0.0.1:26379","127.0.0.1:26380"]}}"#
            ),
            "{line}"
        );
    }

    #[test]
    fn version_2_is_offered_and_a_version_1_worker_still_reads_the_line() {
        let offer = Start {
            max_version: Some(PROTOCOL_VERSION),
            renew_every_ms: Some(25),
            ..start()
        };
        let line = offer.to_line();
        assert!(line.contains(r#""version":1,"max_version":2"#), "{line}");
        assert!(line.ends_with(r#""renew_every_ms":25}"#), "{line}");
        assert_eq!(offer.agreed(1), 1);
        assert_eq!(offer.agreed(2), 2);
        assert_eq!(start().agreed(2), 1);
        assert_eq!(StartError::check(&line), Ok(offer));
    }

    #[test]
    fn a_renewal_period_must_be_above_zero_and_below_the_lease() {
        let with = |ms| Start {
            renew_every_ms: Some(ms),
            ..start()
        };
        assert_eq!(
            with(25).renew_every(),
            Ok(Some(std::time::Duration::from_millis(25)))
        );
        assert_eq!(with(0).renew_every(), Err(PeriodError::Zero));
        assert_eq!(
            StartError::check(&with(75).to_line()),
            Err(StartError::Period(PeriodError::NotBelowLease {
                period_ms: 75,
                lease_ms: 75
            }))
        );
        assert!(!PeriodError::Zero.to_string().contains('\n'));
    }

    #[test]
    fn ready_without_a_version_reads_as_version_0() {
        let r: Ready = serde_json::from_str(r#"{"ready":"x"}"#).unwrap();
        assert_eq!(r.version, 0);
        assert!(!r.follows_failover);
        assert!(!r.renews);
    }
}
