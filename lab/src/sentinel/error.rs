//! What can go wrong with the lab's Sentinel set.

use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use crate::server::ServerError;

/// An error from a [`SentinelSet`](super::SentinelSet) or one of its
/// `redis-sentinel` processes.
///
/// Each message is one line that says what happened. The errors about a
/// started process or about the set's agreement also carry the last lines
/// of the logs involved ([`SentinelError::log_tail`]), for the caller to
/// print below that line: Sentinel writes every state change it makes
/// (`+sdown`, `+switch-master`, …) to its log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SentinelError {
    /// The options cannot make a set.
    #[error("Sentinel set options: {0}")]
    Options(String),

    /// No `redis-sentinel` binary where the lab looked.
    #[error(
        "redis-sentinel not found ({detail}); run `bash scripts/setup.sh`, \
         or set LOCKLAB_REDIS_SENTINEL to the path of a redis-sentinel binary"
    )]
    BinaryNotFound {
        /// Where the lab looked.
        detail: String,
    },

    /// A file-system, process or socket operation of the lab failed.
    #[error("could not {action}: {source}")]
    Io {
        /// What the lab was doing.
        action: String,
        /// Why it failed.
        source: io::Error,
    },

    /// A `redis-sentinel` exited before it answered `PING`.
    #[error(
        "redis-sentinel on 127.0.0.1:{port} exited before it was ready ({status}){}",
        reason_suffix(.reason)
    )]
    Exited {
        /// The port it was told to listen on.
        port: u16,
        /// How it exited.
        status: ExitStatus,
        /// Its last log line (its complaint), if any.
        reason: String,
        /// The last lines of its log.
        log_tail: String,
    },

    /// A `redis-sentinel` did not answer `PING` in time (it was killed).
    #[error(
        "redis-sentinel on 127.0.0.1:{port} did not answer PING within {waited:.0?} \
         (last attempt: {last_error})"
    )]
    NotReady {
        /// Its port.
        port: u16,
        /// How long the lab waited.
        waited: Duration,
        /// What the last `PING` got.
        last_error: String,
        /// The last lines of its log.
        log_tail: String,
    },

    /// Every attempt to listen failed with "Address already in use".
    #[error(
        "redis-sentinel could not listen on 127.0.0.1:{port}: address already in use \
         ({attempts} attempts)"
    )]
    PortInUse {
        /// The last port tried.
        port: u16,
        /// How many starts were tried.
        attempts: u32,
        /// The last lines of its log.
        log_tail: String,
    },

    /// A node (primary or replica) of the set failed.
    #[error("a node of the Sentinel set: {0}")]
    Node(#[from] ServerError),

    /// The set did not reach the state the lab waited for (every Sentinel
    /// agreeing on the primary, a replica caught up, a node demoted…)
    /// before the deadline: an environment problem, not a verdict.
    #[error("the Sentinel set did not {goal} within {waited:.1?}: {last}")]
    NotAgreed {
        /// What the lab waited for.
        goal: String,
        /// How long it waited.
        waited: Duration,
        /// The last thing that was not yet so.
        last: String,
        /// The last lines of every Sentinel's log.
        log_tail: String,
    },

    /// A Sentinel or a node refused a command the lab sent.
    #[error("{target} refused {command}: {reply}")]
    Refused {
        /// Who refused.
        target: String,
        /// The command.
        command: String,
        /// Its answer.
        reply: String,
        /// The last lines of every Sentinel's log.
        log_tail: String,
    },

    /// The Sentinels agreed on another primary than the one the lab made
    /// them promote.
    #[error("the Sentinels promoted {got}, not node {expected} ({expected_addr})")]
    WrongPromotion {
        /// The node the lab meant.
        expected: usize,
        /// Its address.
        expected_addr: String,
        /// The address they agreed on.
        got: String,
        /// The last lines of every Sentinel's log.
        log_tail: String,
    },

    /// The caller named a node the set does not have, or one that cannot do
    /// what was asked (which it says).
    #[error("node {node}: {why}")]
    BadNode {
        /// The node index.
        node: usize,
        /// Why it cannot.
        why: String,
    },
}

impl SentinelError {
    /// The last lines of the logs involved, where there are any.
    pub fn log_tail(&self) -> Option<&str> {
        let tail = match self {
            SentinelError::Exited { log_tail, .. }
            | SentinelError::NotReady { log_tail, .. }
            | SentinelError::PortInUse { log_tail, .. }
            | SentinelError::NotAgreed { log_tail, .. }
            | SentinelError::Refused { log_tail, .. }
            | SentinelError::WrongPromotion { log_tail, .. } => log_tail.as_str(),
            SentinelError::Node(e) => return e.log_tail(),
            SentinelError::Options(_)
            | SentinelError::BinaryNotFound { .. }
            | SentinelError::Io { .. }
            | SentinelError::BadNode { .. } => return None,
        };
        (!tail.trim().is_empty()).then_some(tail)
    }
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}
