//! The lab's side of a worker process: [`WorkerHandle`].

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use locklab_model::{ClientOp, Outcome};

use super::serve::{DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RESPONSE_TIMEOUT_MS};
use super::wire::Control;
use super::wire::{Ready, Reply, Request, MAX_LINE};
use crate::client::{ClientFuture, Keys, LabClient, OpError};
use crate::process::{spawn_guarded, GuardedChild, Signal};

/// The environment variable naming the `locklab` binary that runs workers.
pub const LOCKLAB_BIN_ENV: &str = "LOCKLAB_BIN";

/// How long a new worker may take to connect and say `ready`, by default.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long writing a request to a worker's stdin may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a SIGSTOP or SIGCONT may take to show in `/proc`.
const SIGNAL_TIMEOUT: Duration = Duration::from_secs(2);
/// How often `/proc` is looked at meanwhile.
const SIGNAL_POLL: Duration = Duration::from_millis(1);
/// How long the lab waits for a worker whose stdout closed to exit.
const EXIT_WAIT: Duration = Duration::from_secs(1);
/// Lines of a worker's stderr kept for error messages.
const STDERR_TAIL_LINES: usize = 20;
/// The longest stderr line kept (longer ones are cut).
const STDERR_LINE_MAX: usize = 500;
/// Reply lines buffered between the reader thread and the lab.
const REPLY_BUFFER: usize = 64;

/// The `locklab` binary to run workers with: `$LOCKLAB_BIN` if set, else the
/// running executable (the lab runs workers from its own binary), else
/// `locklab` from `PATH`. Integration tests pass
/// `env!("CARGO_BIN_EXE_locklab")` instead: their executable is the test.
pub fn locklab_binary() -> PathBuf {
    std::env::var_os(LOCKLAB_BIN_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::current_exe().ok())
        .unwrap_or_else(|| PathBuf::from("locklab"))
}

/// What a worker is started as (its `locklab worker` flags, and how long the
/// lab waits for it).
#[derive(Clone, Debug)]
pub struct WorkerSpec {
    /// The client's name (`c1`, …).
    pub name: String,
    /// The protocol.
    pub protocol: String,
    /// The Redis URL of the lock (the proxy's, for message faults).
    pub redis: String,
    /// The URLs of a quorum lock's other masters, after `redis`.
    pub masters: Vec<String>,
    /// A quorum lock's drift and per-master timeout (`None`: the defaults).
    pub redlock: Option<locklab_impl::RedlockOptions>,
    /// The Redis URL of the protected resource; `None`: the lock's.
    pub resource_redis: Option<String>,
    /// The lock key.
    pub lock_key: String,
    /// The resource key.
    pub resource_key: String,
    /// The lease of each grant.
    pub ttl: Duration,
    /// The response timeout of the worker's connections.
    pub response_timeout: Duration,
    /// The connect timeout of the worker's connections.
    pub connect_timeout: Duration,
    /// How long the lab waits for `ready`.
    pub ready_timeout: Duration,
}

impl WorkerSpec {
    /// A worker with the default timeouts.
    pub fn new(
        name: impl Into<String>,
        protocol: impl Into<String>,
        redis: impl Into<String>,
        lock_key: impl Into<String>,
        resource_key: impl Into<String>,
        ttl: Duration,
    ) -> Self {
        Self {
            name: name.into(),
            protocol: protocol.into(),
            redis: redis.into(),
            masters: Vec::new(),
            redlock: None,
            resource_redis: None,
            lock_key: lock_key.into(),
            resource_key: resource_key.into(),
            ttl,
            response_timeout: Duration::from_millis(DEFAULT_RESPONSE_TIMEOUT_MS),
            connect_timeout: Duration::from_millis(DEFAULT_CONNECT_TIMEOUT_MS),
            ready_timeout: DEFAULT_READY_TIMEOUT,
        }
    }

    /// The arguments of `locklab` that start this worker.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "worker".into(),
            "--protocol".into(),
            self.protocol.clone().into(),
            "--redis".into(),
            self.redis.clone().into(),
            "--lock-key".into(),
            self.lock_key.clone().into(),
            "--resource-key".into(),
            self.resource_key.clone().into(),
            "--ttl-ms".into(),
            self.ttl.as_millis().to_string().into(),
            "--name".into(),
            self.name.clone().into(),
            "--response-timeout-ms".into(),
            self.response_timeout.as_millis().to_string().into(),
            "--connect-timeout-ms".into(),
            self.connect_timeout.as_millis().to_string().into(),
        ];
        for url in &self.masters {
            args.extend(["--redis".into(), url.clone().into()]);
        }
        if let Some(o) = &self.redlock {
            args.extend([
                "--drift-factor".into(),
                o.drift_factor().to_string().into(),
                "--drift-floor-us".into(),
                o.drift_floor().as_micros().to_string().into(),
                "--master-timeout-ms".into(),
                o.master_timeout().as_millis().to_string().into(),
            ]);
        }
        if let Some(url) = &self.resource_redis {
            args.extend(["--resource-redis".into(), url.clone().into()]);
        }
        args
    }

    /// How long one request may take in the worker, at most: a request can
    /// make up to three Redis calls (a script load, a read before an
    /// unlock), each bounded by the connect and response timeouts.
    pub fn reply_timeout(&self) -> Duration {
        (self.response_timeout + self.connect_timeout) * 3 + Duration::from_secs(5)
    }
}

/// What can go wrong with a worker. Every message is one line; the worker's
/// last stderr lines are in [`WorkerError::stderr_tail`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The process could not be started.
    #[error("could not start worker {name} ({binary}): {source}")]
    Spawn {
        /// The worker's name.
        name: String,
        /// The binary.
        binary: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// It did not say `ready` in time; it was killed.
    #[error(
        "worker {name} (pid {pid}) did not say ready within {waited:?}{}",
        last_line(stderr_tail)
    )]
    NotReady {
        /// The worker's name.
        name: String,
        /// Its pid.
        pid: u32,
        /// How long the lab waited.
        waited: Duration,
        /// Its last stderr lines.
        stderr_tail: String,
    },
    /// It exited (or closed its stdout), before `ready` or while the lab
    /// was waiting for a reply.
    #[error(
        "worker {name} (pid {pid}) exited{}{}",
        status_text(status),
        last_line(stderr_tail)
    )]
    Exited {
        /// The worker's name.
        name: String,
        /// Its pid.
        pid: u32,
        /// Its exit status, if it was reaped.
        status: Option<ExitStatus>,
        /// Its last stderr lines.
        stderr_tail: String,
    },
    /// No reply came in time. Nothing is lost: a reply that comes later is
    /// returned by the next `recv`.
    #[error("worker {name} (pid {pid}) sent no reply within {waited:?}")]
    NoReply {
        /// The worker's name.
        name: String,
        /// Its pid.
        pid: u32,
        /// How long the lab waited.
        waited: Duration,
    },
    /// `recv` with no request waiting for its reply.
    #[error("worker {name}: no request is waiting for a reply")]
    NothingPending {
        /// The worker's name.
        name: String,
    },
    /// A line on its stdout that is not a reply (or `ready`).
    #[error("worker {name} (pid {pid}) sent {line:?}, which is not a reply: {reason}")]
    BadLine {
        /// The worker's name.
        name: String,
        /// Its pid.
        pid: u32,
        /// The line (cut to 200 bytes).
        line: String,
        /// Why it did not parse.
        reason: String,
    },
    /// Talking to it or signalling it failed.
    #[error("worker {name} (pid {pid}): {action}: {source}")]
    Io {
        /// The worker's name.
        name: String,
        /// Its pid.
        pid: u32,
        /// What the lab was doing.
        action: String,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
}

impl WorkerError {
    /// The worker's last stderr lines, for the errors that carry them.
    pub fn stderr_tail(&self) -> Option<&str> {
        match self {
            WorkerError::NotReady { stderr_tail, .. } | WorkerError::Exited { stderr_tail, .. } => {
                Some(stderr_tail)
            }
            _ => None,
        }
    }
}

fn last_line(tail: &str) -> String {
    match tail.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(line) => format!("; its stderr ends: {}", line.trim()),
        None => String::new(),
    }
}

fn status_text(status: &Option<ExitStatus>) -> String {
    match status {
        Some(s) => format!(" ({s})"),
        None => String::new(),
    }
}

/// One line of the worker's stdout.
enum OutLine {
    Text(String),
    TooLong,
}

/// The last lines of a worker's stderr.
#[derive(Clone, Default)]
struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    fn push(&self, mut line: String) {
        if line.len() > STDERR_LINE_MAX {
            let mut end = STDERR_LINE_MAX;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            line.truncate(end);
            line.push('…');
        }
        let mut lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if lines.len() == STDERR_TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    fn text(&self) -> String {
        let lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        lines.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// A worker process the lab started: a lab client in a process of its own,
/// so that a pause stops *all* of it (SIGSTOP) and a crash is SIGKILL.
///
/// Started through [`spawn_guarded`], so it never outlives the lab; killed
/// and reaped when dropped. Requests go one per line on its stdin; replies
/// come back in order. [`send`](Self::send) and [`recv`](Self::recv) are
/// separate so the lab can send an acquire whose reply the proxy holds and
/// read it later; [`request`](Self::request) does both. It also implements
/// [`LabClient`], so the harness can drive in-process clients and workers
/// alike.
pub struct WorkerHandle {
    name: String,
    protocol: String,
    pid: u32,
    child: GuardedChild,
    stdin: tokio::process::ChildStdin,
    lines: mpsc::Receiver<OutLine>,
    stderr: Tail,
    stderr_reader: Option<JoinHandle<()>>,
    pending: usize,
    reply_timeout: Duration,
    paused: bool,
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("name", &self.name)
            .field("protocol", &self.protocol)
            .field("pid", &self.pid)
            .field("pending", &self.pending)
            .field("paused", &self.paused)
            .finish_non_exhaustive()
    }
}

impl WorkerHandle {
    /// Starts `binary worker …` as `spec` says and waits until it is
    /// connected and says `ready` (at most `spec.ready_timeout`). A worker
    /// that exits or stays silent is killed, and the error carries the tail
    /// of its stderr.
    pub async fn spawn(binary: &Path, spec: &WorkerSpec) -> Result<WorkerHandle, WorkerError> {
        let mut handle =
            Self::spawn_with_args(binary, &spec.name, spec.args(), spec.ready_timeout).await?;
        handle.reply_timeout = spec.reply_timeout();
        Ok(handle)
    }

    /// Starts `binary` with these arguments (the first being `worker`) and
    /// waits for `ready`, as [`spawn`](Self::spawn) does.
    pub async fn spawn_with_args<I, S>(
        binary: &Path,
        name: &str,
        args: I,
        ready_timeout: Duration,
    ) -> Result<WorkerHandle, WorkerError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new(binary);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let spawn_error = |source| WorkerError::Spawn {
            name: name.to_owned(),
            binary: binary.display().to_string(),
            source,
        };
        let mut child = spawn_guarded(cmd).map_err(spawn_error)?;
        let pid = child.pid();
        let missing = || spawn_error(io::Error::other("a pipe was not set up"));
        let stdin = child.take_stdin().ok_or_else(missing)?;
        let stdout = child.take_stdout().ok_or_else(missing)?;
        let stderr = child.take_stderr().ok_or_else(missing)?;
        let stdin = tokio::process::ChildStdin::from_std(stdin).map_err(spawn_error)?;
        let tail = Tail::default();
        let stderr_reader = read_stderr(stderr, tail.clone(), name);
        let lines = read_stdout(stdout, name);
        let mut handle = WorkerHandle {
            name: name.to_owned(),
            protocol: String::new(),
            pid,
            child,
            stdin,
            lines,
            stderr: tail,
            stderr_reader,
            pending: 0,
            reply_timeout: Duration::from_secs(
                (DEFAULT_RESPONSE_TIMEOUT_MS + DEFAULT_CONNECT_TIMEOUT_MS) * 3 / 1000 + 5,
            ),
            paused: false,
        };
        handle.wait_ready(ready_timeout).await?;
        tracing::debug!(name, pid, protocol = %handle.protocol, "worker ready");
        Ok(handle)
    }

    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), WorkerError> {
        let started = Instant::now();
        match tokio::time::timeout(timeout, self.lines.recv()).await {
            Err(_) => {
                let _ = self.child.kill_and_wait();
                Err(WorkerError::NotReady {
                    name: self.name.clone(),
                    pid: self.pid,
                    waited: started.elapsed(),
                    stderr_tail: self.final_stderr().await,
                })
            }
            Ok(None) => Err(self.exited().await),
            Ok(Some(OutLine::TooLong)) => Err(self.bad_line("(a line over 1 MiB)", "too long")),
            Ok(Some(OutLine::Text(line))) => match serde_json::from_str::<Ready>(&line) {
                Ok(ready) => {
                    self.protocol = ready.ready;
                    Ok(())
                }
                Err(e) => Err(self.bad_line(&line, &e.to_string())),
            },
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The protocol it said it speaks.
    pub fn protocol_name(&self) -> &str {
        &self.protocol
    }

    /// Its process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Requests sent whose replies have not been received.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// How long [`recv`](Self::recv) waits.
    pub fn reply_timeout(&self) -> Duration {
        self.reply_timeout
    }

    /// Sets how long [`recv`](Self::recv) waits.
    pub fn set_reply_timeout(&mut self, timeout: Duration) {
        self.reply_timeout = timeout;
    }

    /// Whether it was paused (and not resumed) by the lab.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Whether the process is still alive (a paused one is). Reaps it if it
    /// exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its last stderr lines.
    pub fn stderr_tail(&self) -> String {
        self.stderr.text()
    }

    /// Sends one request (it is carried out when the worker gets to it:
    /// at once, or after its earlier requests, or after a pause).
    pub async fn send(&mut self, request: &Request) -> Result<(), WorkerError> {
        let mut line = request.to_line();
        line.push('\n');
        let write = async {
            self.stdin.write_all(line.as_bytes()).await?;
            self.stdin.flush().await
        };
        match tokio::time::timeout(SEND_TIMEOUT, write).await {
            Ok(Ok(())) => {
                self.pending += 1;
                Ok(())
            }
            Ok(Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => Err(self.exited().await),
            Ok(Err(source)) => Err(self.io_error("send a request", source)),
            Err(_) => Err(self.io_error(
                "send a request",
                io::Error::new(io::ErrorKind::TimedOut, "its stdin is full"),
            )),
        }
    }

    /// The reply to the oldest request sent and not yet answered, waiting
    /// at most [`reply_timeout`](Self::reply_timeout).
    pub async fn recv(&mut self) -> Result<Reply, WorkerError> {
        self.recv_timeout(self.reply_timeout).await
    }

    /// The reply to the oldest request sent and not yet answered, waiting
    /// at most `timeout`. On [`WorkerError::NoReply`] nothing is lost: the
    /// reply is returned by a later call.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<Reply, WorkerError> {
        if self.pending == 0 {
            return Err(WorkerError::NothingPending {
                name: self.name.clone(),
            });
        }
        match tokio::time::timeout(timeout, self.lines.recv()).await {
            Err(_) => Err(WorkerError::NoReply {
                name: self.name.clone(),
                pid: self.pid,
                waited: timeout,
            }),
            Ok(None) => {
                self.pending = 0;
                Err(self.exited().await)
            }
            Ok(Some(line)) => {
                self.pending -= 1;
                match line {
                    OutLine::TooLong => Err(self.bad_line("(a line over 1 MiB)", "too long")),
                    OutLine::Text(text) => {
                        Reply::parse(&text).map_err(|e| self.bad_line(&text, &e.to_string()))
                    }
                }
            }
        }
    }

    /// Sends `request` and waits for its reply (after the replies of any
    /// requests still pending, which are returned first — so call this only
    /// with nothing pending).
    pub async fn request(&mut self, request: &Request) -> Result<Reply, WorkerError> {
        self.send(request).await?;
        self.recv().await
    }

    /// Stops the whole process (SIGSTOP) and waits until the kernel says it
    /// is stopped: from then on nothing in it runs — requests, replies,
    /// timers, any watchdog — until [`resume`](Self::resume).
    pub async fn pause(&mut self) -> Result<(), WorkerError> {
        self.signal(Signal::SIGSTOP, "SIGSTOP")?;
        self.wait_stopped(true).await?;
        self.paused = true;
        Ok(())
    }

    /// Lets a paused worker go on (SIGCONT) and waits until it runs.
    pub async fn resume(&mut self) -> Result<(), WorkerError> {
        self.signal(Signal::SIGCONT, "SIGCONT")?;
        self.wait_stopped(false).await?;
        self.paused = false;
        Ok(())
    }

    /// Crashes it: SIGKILL (paused or not) and reap. Replies still pending
    /// are lost. Idempotent.
    pub fn kill(&mut self) -> Result<ExitStatus, WorkerError> {
        self.pending = 0;
        self.paused = false;
        let status = self
            .child
            .kill_and_wait()
            .map_err(|source| self.io_error("SIGKILL and reap", source))?;
        tracing::debug!(name = %self.name, pid = self.pid, %status, "worker killed");
        Ok(status)
    }

    /// Asks it to quit (`quit`, then its stdin closes) and waits (bounded)
    /// for it to exit; kills it if it does not.
    pub async fn quit(mut self) -> Result<ExitStatus, WorkerError> {
        if self.paused {
            self.resume().await?;
        }
        // Earlier replies first; the last one is `bye`.
        let _ = self.send(&Request::Quit).await;
        while self.pending > 0 {
            if self.recv().await.is_err() {
                break;
            }
        }
        let _ = self.stdin.shutdown().await;
        let deadline = Instant::now() + EXIT_WAIT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
                _ => return self.kill(),
            }
        }
    }

    fn signal(&self, signal: Signal, name: &str) -> Result<(), WorkerError> {
        self.child
            .signal(signal)
            .map_err(|source| self.io_error(&format!("send {name}"), source))
    }

    /// Waits until `/proc` shows the process stopped (or running again).
    async fn wait_stopped(&mut self, stopped: bool) -> Result<(), WorkerError> {
        let deadline = Instant::now() + SIGNAL_TIMEOUT;
        loop {
            match proc_state(self.pid) {
                None | Some('Z') | Some('X') => return Err(self.exited().await),
                Some(state) if matches!(state, 'T' | 't') == stopped => return Ok(()),
                Some(state) => {
                    if Instant::now() >= deadline {
                        return Err(self.io_error(
                            if stopped {
                                "wait until stopped"
                            } else {
                                "wait until running"
                            },
                            io::Error::new(
                                io::ErrorKind::TimedOut,
                                format!("its state is still {state:?} after {SIGNAL_TIMEOUT:?}"),
                            ),
                        ));
                    }
                    tokio::time::sleep(SIGNAL_POLL).await;
                }
            }
        }
    }

    /// The error for a worker that is gone: reaps it (bounded) for its exit
    /// status, and waits (bounded) for the rest of its stderr.
    async fn exited(&mut self) -> WorkerError {
        let deadline = Instant::now() + EXIT_WAIT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
                _ => break None,
            }
        };
        WorkerError::Exited {
            name: self.name.clone(),
            pid: self.pid,
            status,
            stderr_tail: self.final_stderr().await,
        }
    }

    /// The stderr tail once the reader has seen the end (bounded wait).
    async fn final_stderr(&mut self) -> String {
        let deadline = Instant::now() + EXIT_WAIT;
        while let Some(reader) = &self.stderr_reader {
            if reader.is_finished() || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.stderr.text()
    }

    fn bad_line(&self, line: &str, reason: &str) -> WorkerError {
        let mut line = line.to_owned();
        if line.len() > 200 {
            let mut end = 200;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            line.truncate(end);
        }
        WorkerError::BadLine {
            name: self.name.clone(),
            pid: self.pid,
            line,
            reason: reason.to_owned(),
        }
    }

    fn io_error(&self, action: &str, source: io::Error) -> WorkerError {
        WorkerError::Io {
            name: self.name.clone(),
            pid: self.pid,
            action: action.to_owned(),
            source,
        }
    }

    /// One request and its reply, for [`LabClient`]: refused while replies
    /// are pending, which would be taken for this one's.
    async fn op(&mut self, request: Request) -> Result<Reply, OpError> {
        if self.pending > 0 {
            return Err(OpError::definite(format!(
                "worker {}: {} earlier replies are pending; receive them first",
                self.name, self.pending
            )));
        }
        self.request(&request)
            .await
            .map_err(|e| OpError::indefinite(e.to_string()))
    }
}

impl LabClient for WorkerHandle {
    fn protocol(&self) -> &str {
        &self.protocol
    }

    fn perform<'a>(&'a mut self, op: ClientOp, data: &'a str) -> ClientFuture<'a, Outcome> {
        Box::pin(async move { self.op(Request::of(op, data)).await?.into_outcome(op) })
    }

    fn acquire_within(&mut self, deadline: Duration) -> ClientFuture<'_, Outcome> {
        Box::pin(async move {
            let deadline_ms = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX);
            self.op(Request::AcquireWithin { deadline_ms })
                .await?
                .into_outcome(ClientOp::Acquire)
        })
    }

    fn reset<'a>(&'a mut self, keys: &'a Keys) -> ClientFuture<'a, ()> {
        Box::pin(async move {
            self.op(Request::Reset {
                lock_key: keys.lock.clone(),
                resource_key: keys.resource.clone(),
            })
            .await?
            .into_control(Control::Reset)
        })
    }

    fn ping(&mut self) -> ClientFuture<'_, ()> {
        Box::pin(async move { self.op(Request::Ping).await?.into_control(Control::Pong) })
    }
}

/// The state letter of `/proc/<pid>/stat` (`R`, `S`, `T`, `Z`, …); `None`
/// if there is no such process.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.rfind(')')?;
    stat[close + 1..].split_whitespace().next()?.chars().next()
}

/// Reads the worker's stdout lines on a thread of its own into a bounded
/// channel, which closes when the worker's stdout does.
fn read_stdout(stdout: impl Read + Send + 'static, name: &str) -> mpsc::Receiver<OutLine> {
    let (tx, rx) = mpsc::channel(REPLY_BUFFER);
    let spawned = std::thread::Builder::new()
        .name(format!("worker-{name}-out"))
        .spawn(move || {
            let mut stdout = BufReader::new(stdout);
            loop {
                let mut buf = Vec::new();
                let read = (&mut stdout)
                    .take(MAX_LINE as u64 + 1)
                    .read_until(b'\n', &mut buf);
                let line = match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) if buf.len() > MAX_LINE => OutLine::TooLong,
                    Ok(_) => OutLine::Text(String::from_utf8_lossy(&buf).trim_end().to_owned()),
                };
                let too_long = matches!(line, OutLine::TooLong);
                if tx.blocking_send(line).is_err() || too_long {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start a worker's stdout reader");
    }
    rx
}

/// Keeps the last lines of the worker's stderr, on a thread of its own.
fn read_stderr(
    stderr: impl Read + Send + 'static,
    tail: Tail,
    name: &str,
) -> Option<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("worker-{name}-err"))
        .spawn(move || {
            let mut stderr = BufReader::new(stderr);
            loop {
                let mut buf = Vec::new();
                match (&mut stderr)
                    .take(MAX_LINE as u64)
                    .read_until(b'\n', &mut buf)
                {
                    Ok(0) | Err(_) => return,
                    Ok(_) => tail.push(String::from_utf8_lossy(&buf).trim_end().to_owned()),
                }
            }
        })
        .ok()
}
