//! [`RedisServer`]: one `redis-server` process the lab owns.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::clock::Clock;
use super::log::{last_message, LogFile, ERROR_TAIL_LINES};
use super::port::{free_port, log_says_port_in_use};
use super::{binary, probe, ServerConfig, ServerError};
use crate::process::{spawn_guarded, GuardedChild, Signal};

/// Attempts with a new free port when the chosen one was taken meanwhile.
const NEW_PORT_ATTEMPTS: u32 = 5;
/// Attempts on a fixed port (a restart, or a port the config names) that is
/// briefly unavailable, with [`SAME_PORT_BACKOFF`] between them.
const SAME_PORT_ATTEMPTS: u32 = 20;
const SAME_PORT_BACKOFF: Duration = Duration::from_millis(100);
/// The longest single readiness probe; the deadline cuts it shorter.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// The pause between readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(10);

/// A `redis-server` the lab started: on a free port of 127.0.0.1, in its own
/// temporary directory (data and log), without persistence unless the
/// config asks. Dropping it kills the server (SIGKILL), reaps it and deletes
/// the directory; the server also dies if the lab dies (see
/// [`crate::process`]).
///
/// All methods block, each for a bounded time; async callers use
/// `spawn_blocking` or accept the short block.
///
/// ```no_run
/// use locklab::server::RedisServer;
///
/// let mut server = RedisServer::start()?;
/// println!("Redis at {}", server.url());
/// server.pause()?; // SIGSTOP: the server holds every request
/// server.resume()?;
/// server.restart()?; // SIGKILL, then the same port again, empty
/// # Ok::<(), locklab::server::ServerError>(())
/// ```
#[derive(Debug)]
pub struct RedisServer {
    /// The running process; `None` after [`kill`](Self::kill) or a failed
    /// restart. Declared first so that it goes before the directory.
    child: Option<GuardedChild>,
    /// The pid of the current process, or of the last one.
    pid: u32,
    port: u16,
    config: ServerConfig,
    binary: PathBuf,
    log: LogFile,
    /// Redis's working directory (`--dir`): dump and AOF files.
    data_dir: PathBuf,
    /// The clock shim and its clock file, for a skewable clock.
    pub(super) clock: Option<Clock>,
    dir: TempDir,
}

/// How one start attempt ended, when it did not end ready.
enum AttemptError {
    /// Redis could not bind the port; another attempt may do better.
    PortInUse {
        log_tail: String,
    },
    Failed(ServerError),
}

impl From<ServerError> for AttemptError {
    fn from(e: ServerError) -> Self {
        AttemptError::Failed(e)
    }
}

impl RedisServer {
    /// Starts a server with the default [`ServerConfig`] and waits until it
    /// answers `PING`.
    pub fn start() -> Result<Self, ServerError> {
        Self::start_with(ServerConfig::default())
    }

    /// Starts a server with `config` and waits until it answers `PING`
    /// (within the config's readiness deadline).
    pub fn start_with(config: ServerConfig) -> Result<Self, ServerError> {
        let binary = binary::resolve(config.binary.as_deref())?;
        let dir = crate::session::scratch::dir("redis").map_err(|source| ServerError::Io {
            action: "create a temporary directory for redis-server".into(),
            source,
            log_tail: String::new(),
        })?;
        let data_dir = dir.path().join("data");
        fs::create_dir(&data_dir).map_err(|source| ServerError::Io {
            action: format!("create {}", data_dir.display()),
            source,
            log_tail: String::new(),
        })?;
        let log = LogFile::new(dir.path().join("redis.log"));
        let clock = if config.skewable_clock {
            Some(Clock::install(dir.path())?)
        } else {
            None
        };
        let mut server = RedisServer {
            child: None,
            pid: 0,
            port: 0,
            binary,
            log,
            data_dir,
            clock,
            dir,
            config,
        };
        server.launch(server.config.port)?;
        Ok(server)
    }

    /// Starts `n` independent servers with the default config (e.g. the
    /// masters of a Redlock), in parallel. If one fails, the others are
    /// stopped and the first error is returned.
    pub fn start_many(n: usize) -> Result<Vec<Self>, ServerError> {
        Self::start_many_with(n, &ServerConfig::default())
    }

    /// Starts `n` independent servers with `config`, in parallel (a config
    /// with a fixed [`port`](ServerConfig::port) can serve only one).
    pub fn start_many_with(n: usize, config: &ServerConfig) -> Result<Vec<Self>, ServerError> {
        let results: Vec<Result<Self, ServerError>> = thread::scope(|scope| {
            let starts: Vec<_> = (0..n)
                .map(|_| scope.spawn(|| Self::start_with(config.clone())))
                .collect();
            starts
                .into_iter()
                .map(|start| {
                    start
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        results.into_iter().collect()
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's address, 127.0.0.1:PORT.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The port; it stays the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id of the running server, or of the last one after
    /// [`kill`](Self::kill). It changes with each restart.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The config the server was started with.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The server's temporary directory (deleted on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its log file: Redis's stdout and stderr across all its restarts, each
    /// start introduced by a `=== locklab: … ===` line.
    pub fn log_path(&self) -> &Path {
        self.log.path()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        self.log.tail(n)
    }

    /// Whether the process is alive (a paused server is). Reaps it if it
    /// exited on its own.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Stops the server with SIGSTOP: it keeps its connections and data but
    /// answers nothing (the kernel still accepts new connections) until
    /// [`resume`](Self::resume).
    pub fn pause(&self) -> Result<(), ServerError> {
        self.signal(Signal::SIGSTOP)
    }

    /// Lets a paused server go on (SIGCONT). Harmless on a running one.
    pub fn resume(&self) -> Result<(), ServerError> {
        self.signal(Signal::SIGCONT)
    }

    /// Kills the server with SIGKILL (paused or not) and reaps it: a crash
    /// without any chance to save. Does nothing if it is not running.
    pub fn kill(&mut self) -> Result<(), ServerError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let status = child.kill_and_wait().map_err(|source| ServerError::Io {
            action: format!("kill redis-server (pid {})", self.pid),
            source,
            log_tail: self.log.tail(ERROR_TAIL_LINES),
        })?;
        tracing::debug!(port = self.port, pid = self.pid, %status, "redis-server killed");
        Ok(())
    }

    /// Kills the server if it runs, deletes its data (dump and AOF files),
    /// and starts it again on the same port, waiting until it answers
    /// `PING`: a crash-restart without persistence. If the port is briefly
    /// unavailable it retries for a bounded time.
    pub fn restart(&mut self) -> Result<(), ServerError> {
        self.kill()?;
        self.clear_data()?;
        self.launch(Some(self.port))?;
        tracing::debug!(port = self.port, pid = self.pid, "redis-server restarted");
        Ok(())
    }

    fn signal(&self, signal: Signal) -> Result<(), ServerError> {
        let child = self.child.as_ref().ok_or_else(|| ServerError::NotRunning {
            port: self.port,
            log_tail: self.log.tail(ERROR_TAIL_LINES),
        })?;
        child.signal(signal).map_err(|source| ServerError::Signal {
            port: self.port,
            pid: self.pid,
            signal,
            source,
            log_tail: self.log.tail(ERROR_TAIL_LINES),
        })
    }

    fn clear_data(&self) -> Result<(), ServerError> {
        let io_err = |action: String| {
            let log_tail = self.log.tail(ERROR_TAIL_LINES);
            move |source| ServerError::Io {
                action,
                source,
                log_tail,
            }
        };
        match fs::remove_dir_all(&self.data_dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(format!("delete {}", self.data_dir.display()))(e)),
        }
        fs::create_dir(&self.data_dir)
            .map_err(io_err(format!("create {}", self.data_dir.display())))
    }

    /// Starts the process and waits for it, on `fixed_port` or on a free
    /// port, retrying a bounded number of times while the port is taken.
    fn launch(&mut self, fixed_port: Option<u16>) -> Result<(), ServerError> {
        let max_attempts = if fixed_port.is_some() {
            SAME_PORT_ATTEMPTS
        } else {
            NEW_PORT_ATTEMPTS
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = match fixed_port {
                Some(port) => port,
                None => free_port().map_err(|source| ServerError::Io {
                    action: "find a free port on 127.0.0.1".into(),
                    source,
                    log_tail: self.log.tail(ERROR_TAIL_LINES),
                })?,
            };
            match self.start_once(port, attempt) {
                Ok(()) => return Ok(()),
                Err(AttemptError::Failed(e)) => return Err(e),
                Err(AttemptError::PortInUse { log_tail }) => {
                    tracing::debug!(port, attempt, "port in use, trying again");
                    if attempt >= max_attempts {
                        return Err(ServerError::PortInUse {
                            port,
                            attempts: attempt,
                            log_tail,
                        });
                    }
                    if fixed_port.is_some() {
                        thread::sleep(SAME_PORT_BACKOFF);
                    }
                }
            }
        }
    }

    fn start_once(&mut self, port: u16, attempt: u32) -> Result<(), AttemptError> {
        let io_err = |action: &str| {
            let action = action.to_string();
            let log_tail = self.log.tail(ERROR_TAIL_LINES);
            move |source| ServerError::Io {
                action,
                source,
                log_tail,
            }
        };
        let (offset, stdout, stderr) = self
            .log
            .begin(&format!(
                "starting redis-server on 127.0.0.1:{port} (attempt {attempt})"
            ))
            .map_err(io_err("open the redis-server log"))?;
        let mut cmd = Command::new(&self.binary);
        cmd.args(self.args(port))
            .current_dir(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        if let Some(clock) = &self.clock {
            cmd.envs(clock.env());
        }
        let child = spawn_guarded(cmd).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                ServerError::BinaryNotFound {
                    detail: format!("{} could not be run: {source}", self.binary.display()),
                }
            } else {
                ServerError::Spawn {
                    binary: self.binary.display().to_string(),
                    source,
                }
            }
        })?;
        self.port = port;
        self.pid = child.pid();
        self.child = Some(child);
        tracing::debug!(port, pid = self.pid, "redis-server started");
        self.wait_ready(offset)?;
        self.check_clock_shim().map_err(AttemptError::Failed)
    }

    /// The command line: the lab's settings first, then the config's extra
    /// arguments (so they win).
    fn args(&self, port: u16) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "--port".into(),
            port.to_string().into(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--dir".into(),
            self.data_dir.clone().into(),
            "--daemonize".into(),
            "no".into(),
            "--logfile".into(),
            "".into(),
            "--save".into(),
            "".into(),
            "--appendonly".into(),
            if self.config.appendonly { "yes" } else { "no" }.into(),
        ];
        if let Some((host, master_port)) = &self.config.replica_of {
            args.extend([
                "--replicaof".into(),
                host.into(),
                master_port.to_string().into(),
            ]);
        }
        args.extend(self.config.extra_args.iter().cloned());
        args
    }

    /// Polls with `PING` until the server answers (and is ours), exits, or
    /// the deadline passes (then it is killed).
    fn wait_ready(&mut self, log_offset: u64) -> Result<(), AttemptError> {
        let started = Instant::now();
        let deadline = started + self.config.ready_timeout;
        let mut last_error;
        loop {
            if let Some(status) = self.reap_if_exited()? {
                let output = self.log.read_since(log_offset).unwrap_or_default();
                let log_tail = self.log.tail_since(log_offset, ERROR_TAIL_LINES);
                if log_says_port_in_use(&output) {
                    return Err(AttemptError::PortInUse { log_tail });
                }
                return Err(ServerError::Exited {
                    port: self.port,
                    status,
                    reason: last_message(&output),
                    log_tail,
                }
                .into());
            }
            let probe_timeout =
                PROBE_TIMEOUT.min(deadline.saturating_duration_since(Instant::now()));
            match probe::ping_and_pid(self.port, probe_timeout) {
                Ok(pid) if pid == self.pid => return Ok(()),
                Ok(pid) => {
                    last_error = format!(
                        "port {} is answered by another redis-server (pid {pid})",
                        self.port
                    )
                }
                Err(e) => last_error = e.to_string(),
            }
            if Instant::now() >= deadline {
                // Killed before reading the log, so that the tail is final.
                let _ = self.kill();
                return Err(ServerError::NotReady {
                    port: self.port,
                    waited: started.elapsed(),
                    last_error,
                    log_tail: self.log.tail_since(log_offset, ERROR_TAIL_LINES),
                }
                .into());
            }
            thread::sleep(PROBE_INTERVAL);
        }
    }

    /// The exit status if the process has exited (it is then dropped).
    fn reap_if_exited(&mut self) -> Result<Option<std::process::ExitStatus>, ServerError> {
        let Some(child) = self.child.as_mut() else {
            return Ok(None);
        };
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Ok(Some(status))
            }
            Ok(None) => Ok(None),
            Err(source) => Err(ServerError::Io {
                action: format!("wait for redis-server (pid {})", self.pid),
                source,
                log_tail: self.log.tail(ERROR_TAIL_LINES),
            }),
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Err(e) = self.kill() {
            tracing::warn!(port = self.port, error = %e, "could not kill redis-server");
        }
    }
}
