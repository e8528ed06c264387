//! [`SentinelProcess`]: one `redis-sentinel` the lab owns, started and
//! stopped like the lab's `redis-server`s ([`crate::server::RedisServer`]):
//! a free loopback port, its own temporary directory (its config file, which
//! Sentinel rewrites as it learns, and its log), guarded by
//! [`spawn_guarded`] so that it never outlives the lab.

use std::env;
use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::SentinelError;
use crate::process::{spawn_guarded, GuardedChild};
use crate::server::log::{last_message, LogFile, ERROR_TAIL_LINES};
use crate::server::port::{free_port, log_says_port_in_use};
use crate::server::probe::ping_and_pid;

/// The environment variable that names the `redis-sentinel` binary to run
/// instead of the one on `PATH`.
pub const REDIS_SENTINEL_ENV: &str = "LOCKLAB_REDIS_SENTINEL";

/// Attempts with a new free port when the chosen one was taken meanwhile.
const PORT_ATTEMPTS: u32 = 5;
/// The longest single readiness probe; the deadline cuts it shorter.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// The pause between readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(10);

/// A `redis-sentinel` the lab started. Dropping it kills the process
/// (SIGKILL), reaps it and deletes its directory; it also dies with the lab
/// (see [`crate::process`]).
#[derive(Debug)]
pub struct SentinelProcess {
    /// Declared first so that it goes before the directory.
    child: Option<GuardedChild>,
    pid: u32,
    port: u16,
    binary: PathBuf,
    log: LogFile,
    conf: PathBuf,
    dir: TempDir,
}

impl SentinelProcess {
    /// Starts a Sentinel whose config file ends with `monitor` (the
    /// `sentinel monitor …` lines) and waits until it answers `PING`. Blocks,
    /// for at most about `ready_timeout` per port tried.
    pub(crate) fn start(monitor: &str, ready_timeout: Duration) -> Result<Self, SentinelError> {
        let binary = resolve_binary(
            env::var_os(REDIS_SENTINEL_ENV).as_deref(),
            env::var_os("PATH").as_deref(),
        )?;
        let dir = crate::session::scratch::dir("sentinel").map_err(|source| SentinelError::Io {
            action: "create a temporary directory for redis-sentinel".into(),
            source,
        })?;
        let mut sentinel = SentinelProcess {
            child: None,
            pid: 0,
            port: 0,
            binary,
            log: LogFile::new(dir.path().join("sentinel.log")),
            conf: dir.path().join("sentinel.conf"),
            dir,
        };
        for attempt in 1..=PORT_ATTEMPTS {
            let port = free_port().map_err(|source| SentinelError::Io {
                action: "find a free port on 127.0.0.1".into(),
                source,
            })?;
            match sentinel.start_once(port, attempt, monitor, ready_timeout)? {
                Started::Ready => return Ok(sentinel),
                Started::PortInUse { log_tail } if attempt == PORT_ATTEMPTS => {
                    return Err(SentinelError::PortInUse {
                        port,
                        attempts: attempt,
                        log_tail,
                    })
                }
                Started::PortInUse { .. } => {
                    tracing::debug!(port, attempt, "sentinel port in use, trying another")
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// 127.0.0.1:PORT.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Its temporary directory (config file and log; deleted on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its log: everything it wrote, each start introduced by a
    /// `=== locklab: … ===` line.
    pub fn log_path(&self) -> &Path {
        self.log.path()
    }

    /// The last `n` lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        self.log.tail(n)
    }

    /// Whether the process is alive. Reaps it if it exited on its own.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Kills it (SIGKILL) and reaps it. Does nothing if it is not running.
    pub fn kill(&mut self) -> Result<(), SentinelError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        child
            .kill_and_wait()
            .map_err(|source| SentinelError::Io {
                action: format!("kill redis-sentinel (pid {})", self.pid),
                source,
            })
            .map(drop)
    }

    fn start_once(
        &mut self,
        port: u16,
        attempt: u32,
        monitor: &str,
        ready_timeout: Duration,
    ) -> Result<Started, SentinelError> {
        let io_err = |action: String| move |source| SentinelError::Io { action, source };
        fs::write(&self.conf, self.config(port, monitor))
            .map_err(io_err(format!("write {}", self.conf.display())))?;
        let (offset, stdout, stderr) = self
            .log
            .begin(&format!(
                "starting redis-sentinel on 127.0.0.1:{port} (attempt {attempt})"
            ))
            .map_err(io_err("open the redis-sentinel log".into()))?;
        let mut cmd = Command::new(&self.binary);
        cmd.arg(&self.conf)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let child = spawn_guarded(cmd).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                SentinelError::BinaryNotFound {
                    detail: format!("{} could not be run: {source}", self.binary.display()),
                }
            } else {
                SentinelError::Io {
                    action: format!("start {}", self.binary.display()),
                    source,
                }
            }
        })?;
        self.port = port;
        self.pid = child.pid();
        self.child = Some(child);
        tracing::debug!(port, pid = self.pid, "redis-sentinel started");
        self.wait_ready(offset, ready_timeout)
    }

    /// The config file: where to listen and log, then what to monitor.
    fn config(&self, port: u16, monitor: &str) -> String {
        format!(
            "port {port}\nbind 127.0.0.1\ndaemonize no\nlogfile \"\"\ndir \"{}\"\n{monitor}",
            self.dir.path().display()
        )
    }

    /// Polls with `PING` until the Sentinel answers (and is ours), exits, or
    /// the deadline passes (then it is killed).
    fn wait_ready(&mut self, log_offset: u64, timeout: Duration) -> Result<Started, SentinelError> {
        let started = Instant::now();
        let deadline = started + timeout;
        loop {
            if let Some(status) = self.reap_if_exited()? {
                let output = self.log.read_since(log_offset).unwrap_or_default();
                let log_tail = self.log.tail_since(log_offset, ERROR_TAIL_LINES);
                if log_says_port_in_use(&output) {
                    return Ok(Started::PortInUse { log_tail });
                }
                return Err(SentinelError::Exited {
                    port: self.port,
                    status,
                    reason: last_message(&output),
                    log_tail,
                });
            }
            let probe_timeout =
                PROBE_TIMEOUT.min(deadline.saturating_duration_since(Instant::now()));
            let last_error = match ping_and_pid(self.port, probe_timeout) {
                Ok(pid) if pid == self.pid => return Ok(Started::Ready),
                Ok(pid) => format!("port {} is answered by another process ({pid})", self.port),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                let _ = self.kill();
                return Err(SentinelError::NotReady {
                    port: self.port,
                    waited: started.elapsed(),
                    last_error,
                    log_tail: self.log.tail_since(log_offset, ERROR_TAIL_LINES),
                });
            }
            thread::sleep(PROBE_INTERVAL);
        }
    }

    fn reap_if_exited(&mut self) -> Result<Option<ExitStatus>, SentinelError> {
        let Some(child) = self.child.as_mut() else {
            return Ok(None);
        };
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Ok(Some(status))
            }
            Ok(None) => Ok(None),
            Err(source) => Err(SentinelError::Io {
                action: format!("wait for redis-sentinel (pid {})", self.pid),
                source,
            }),
        }
    }
}

impl Drop for SentinelProcess {
    fn drop(&mut self) {
        if let Err(e) = self.kill() {
            tracing::warn!(port = self.port, error = %e, "could not kill redis-sentinel");
        }
    }
}

/// How one start attempt ended, when it did not fail outright.
enum Started {
    Ready,
    /// Sentinel could not bind the port; a new port may do better.
    PortInUse {
        log_tail: String,
    },
}

/// `$LOCKLAB_REDIS_SENTINEL` if set (and non-empty), else `redis-sentinel`
/// from `PATH`.
fn resolve_binary(
    env_override: Option<&std::ffi::OsStr>,
    path_var: Option<&std::ffi::OsStr>,
) -> Result<PathBuf, SentinelError> {
    if let Some(path) = env_override.filter(|v| !v.is_empty()).map(Path::new) {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(SentinelError::BinaryNotFound {
                detail: format!("{REDIS_SENTINEL_ENV}={} does not exist", path.display()),
            })
        };
    }
    path_var
        .into_iter()
        .flat_map(env::split_paths)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join("redis-sentinel"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| SentinelError::BinaryNotFound {
            detail: "not on PATH".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn binary_from_env_then_path() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("redis-sentinel");
        fs::write(&bin, "").unwrap();
        let path = env::join_paths([dir.path()]).unwrap();
        assert_eq!(resolve_binary(None, Some(&path)).unwrap(), bin);
        assert_eq!(
            resolve_binary(Some(OsStr::new("")), Some(&path)).unwrap(),
            bin
        );
        assert_eq!(
            resolve_binary(Some(bin.as_os_str()), None).unwrap(),
            bin,
            "the override needs no PATH"
        );
    }

    #[test]
    fn a_missing_binary_says_to_run_setup_in_one_line() {
        let empty = tempfile::tempdir().unwrap();
        for err in [
            resolve_binary(None, Some(empty.path().as_os_str())).unwrap_err(),
            resolve_binary(Some(OsStr::new("/no/such/sentinel")), None).unwrap_err(),
        ] {
            let msg = err.to_string();
            assert!(
                matches!(err, SentinelError::BinaryNotFound { .. }),
                "{err:?}"
            );
            assert!(msg.contains("bash scripts/setup.sh"), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }
}
