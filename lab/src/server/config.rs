//! How to start a `redis-server`: the settings a scenario can change.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// How long [`RedisServer`](super::RedisServer) waits for a new server to
/// answer `PING` by default.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings for a [`RedisServer`](super::RedisServer), built with chained
/// calls from [`ServerConfig::new`]:
///
/// ```
/// use std::time::Duration;
/// use locklab::server::ServerConfig;
///
/// let config = ServerConfig::new()
///     .appendonly(true)
///     .ready_timeout(Duration::from_secs(5))
///     .arg("--maxmemory")
///     .arg("64mb");
/// assert!(config.is_appendonly());
/// ```
///
/// By default: `redis-server` from `LOCKLAB_REDIS_SERVER` or `PATH`, a free
/// loopback port, no persistence, a master, ready within
/// [`DEFAULT_READY_TIMEOUT`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub(crate) binary: Option<PathBuf>,
    pub(crate) port: Option<u16>,
    pub(crate) appendonly: bool,
    pub(crate) replica_of: Option<(String, u16)>,
    pub(crate) ready_timeout: Duration,
    pub(crate) extra_args: Vec<OsString>,
    pub(crate) skewable_clock: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            binary: None,
            port: None,
            appendonly: false,
            replica_of: None,
            ready_timeout: DEFAULT_READY_TIMEOUT,
            extra_args: Vec::new(),
            skewable_clock: false,
        }
    }
}

impl ServerConfig {
    /// The defaults (see the type's docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs this binary instead of the one from `LOCKLAB_REDIS_SERVER` or
    /// `PATH`.
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Listens on this port instead of a free one the lab picks. If the port
    /// is taken, start-up retries it briefly and then fails, rather than
    /// moving to another port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Turns the append-only file on (`--appendonly yes`). Off by default:
    /// the lab's servers keep nothing across a restart unless a scenario
    /// asks. RDB snapshots stay off either way (`--save ""`); pass
    /// `--save` in [`args`](Self::args) to change that.
    pub fn appendonly(mut self, on: bool) -> Self {
        self.appendonly = on;
        self
    }

    /// Starts the server as a replica of `host:port` (`--replicaof`).
    pub fn replica_of(mut self, host: impl Into<String>, port: u16) -> Self {
        self.replica_of = Some((host.into(), port));
        self
    }

    /// How long to wait for the server to answer `PING` after starting it
    /// (and after each restart).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Appends one command-line argument for `redis-server`, after the
    /// lab's own (so it overrides them), e.g. `.arg("--maxmemory").arg("64mb")`.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    /// Appends several command-line arguments (see [`arg`](Self::arg)).
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.extra_args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Runs the server with locklab's clock shim, so that
    /// [`set_clock_offset`](super::RedisServer::set_clock_offset) can shift
    /// its wall clock while it runs (see [`super::clock`]). Off by default:
    /// the server then has the machine's clock.
    pub fn skewable_clock(mut self, on: bool) -> Self {
        self.skewable_clock = on;
        self
    }

    /// Whether the server's wall clock can be shifted.
    pub fn is_skewable_clock(&self) -> bool {
        self.skewable_clock
    }

    /// Whether the append-only file is on.
    pub fn is_appendonly(&self) -> bool {
        self.appendonly
    }
}
