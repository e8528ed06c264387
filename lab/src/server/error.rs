//! What can go wrong with a lab-started `redis-server`.

use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use crate::process::Signal;

/// An error from [`RedisServer`](super::RedisServer).
///
/// The first line of each message says what happened and stands on its own.
/// Every error that concerns a started server carries the last lines of its
/// log in `log_tail` (see [`ServerError::log_tail`]); the start-up failures
/// also print them after the first line, since the log is where Redis says
/// why it would not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// No `redis-server` binary where the lab looked.
    #[error(
        "redis-server not found ({detail}); run `bash scripts/setup.sh`, \
         or set LOCKLAB_REDIS_SERVER to the path of a redis-server binary"
    )]
    BinaryNotFound {
        /// Where the lab looked.
        detail: String,
    },

    /// The server process could not be started at all.
    #[error("could not start {binary}: {source}")]
    Spawn {
        /// The binary the lab tried to run.
        binary: String,
        /// Why.
        source: io::Error,
    },

    /// A file-system or socket operation of the lab failed.
    #[error("could not {action}: {source}")]
    Io {
        /// What the lab was doing.
        action: String,
        /// Why it failed.
        source: io::Error,
        /// The server's log, if it had one yet.
        log_tail: String,
    },

    /// The server exited before it answered `PING`.
    #[error(
        "redis-server on 127.0.0.1:{port} exited before it was ready ({status}){}{}",
        reason_suffix(.reason),
        tail_suffix(.log_tail)
    )]
    Exited {
        /// The port it was told to listen on.
        port: u16,
        /// How it exited.
        status: ExitStatus,
        /// The last line Redis wrote before exiting (its complaint), if any.
        reason: String,
        /// The last lines of its log.
        log_tail: String,
    },

    /// The server did not answer `PING` within the readiness deadline (it
    /// has been killed).
    #[error(
        "redis-server on 127.0.0.1:{port} did not answer PING within {waited:.0?} \
         (last attempt: {last_error}){}",
        tail_suffix(.log_tail)
    )]
    NotReady {
        /// Its port.
        port: u16,
        /// How long the lab waited.
        waited: Duration,
        /// What the last `PING` attempt got.
        last_error: String,
        /// The last lines of its log.
        log_tail: String,
    },

    /// Every attempt to listen failed with "Address already in use".
    #[error(
        "redis-server could not listen on 127.0.0.1:{port}: address already in use \
         ({attempts} attempts){}",
        tail_suffix(.log_tail)
    )]
    PortInUse {
        /// The last port tried.
        port: u16,
        /// How many starts were tried.
        attempts: u32,
        /// The last lines of its log.
        log_tail: String,
    },

    /// The operation needs a running server, and this one was killed (or
    /// its restart failed).
    #[error("redis-server on 127.0.0.1:{port} is not running")]
    NotRunning {
        /// Its port.
        port: u16,
        /// The last lines of its log.
        log_tail: String,
    },

    /// A signal could not be sent to the server.
    #[error("could not send {signal} to redis-server (pid {pid}) on 127.0.0.1:{port}: {source}")]
    Signal {
        /// Its port.
        port: u16,
        /// Its process id.
        pid: u32,
        /// The signal.
        signal: Signal,
        /// Why it could not be sent.
        source: io::Error,
        /// The last lines of its log.
        log_tail: String,
    },

    /// A skewable clock was asked for where the clock shim is not built.
    #[error(
        "a skewable clock needs locklab's clock shim, which is built for x86_64 and \
         aarch64 Linux with glibc only, not for {target}"
    )]
    ClockUnsupported {
        /// The target the lab was built for.
        target: &'static str,
    },

    /// The clock offset of a server started without a skewable clock.
    #[error(
        "redis-server on 127.0.0.1:{port} has the machine's clock; start it with \
         ServerConfig::skewable_clock to shift it"
    )]
    ClockNotSkewable {
        /// Its port.
        port: u16,
    },

    /// The clock shim could not be put into the server.
    #[error("clock shim: {detail}{}", tail_suffix(.log_tail))]
    ClockShim {
        /// What went wrong.
        detail: String,
        /// The last lines of the server's log, if it ran.
        log_tail: String,
    },
}

impl ServerError {
    /// The last lines of the server's log, where there is one.
    pub fn log_tail(&self) -> Option<&str> {
        let tail = match self {
            ServerError::BinaryNotFound { .. }
            | ServerError::Spawn { .. }
            | ServerError::ClockUnsupported { .. }
            | ServerError::ClockNotSkewable { .. } => return None,
            ServerError::Io { log_tail, .. }
            | ServerError::Exited { log_tail, .. }
            | ServerError::NotReady { log_tail, .. }
            | ServerError::PortInUse { log_tail, .. }
            | ServerError::NotRunning { log_tail, .. }
            | ServerError::Signal { log_tail, .. }
            | ServerError::ClockShim { log_tail, .. } => log_tail,
        };
        (!tail.is_empty()).then_some(tail.as_str())
    }

    /// Whether this is a missing binary (an environment problem: exit 2).
    pub fn is_binary_not_found(&self) -> bool {
        matches!(self, ServerError::BinaryNotFound { .. })
    }
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

fn tail_suffix(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!(
            "\n--- last lines of the redis-server log ---\n{}",
            tail.trim_start_matches(['\r', '\n']).trim_end()
        )
    }
}
