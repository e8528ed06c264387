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
use tokio::time::Instant;

use locklab_model::{Call, ClientOp, Outcome};

use super::event::{EventError, WorkerEvent};
use super::external::LockCommand;
use super::handshake::{
    cut, QuorumTiming, Ready, SentinelSet, Start, BASE_VERSION, PROTOCOL_VERSION,
};
use super::lines::{Line, Lines};
use super::resource::LabResource;
use super::serve::{DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RESPONSE_TIMEOUT_MS};
use super::wire::{renewed_token, said, Control, Reply, Request, MAX_LINE};
use crate::client::{poll_acquire, ClientFuture, Keys, LabClient, OpError};
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
/// The most event lines a handle keeps unread.
const EVENTS_MAX: usize = 4096;

/// The most `said` notes a handle keeps.
const SAID_MAX: usize = 100;

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

/// What a worker is started as (its command, its start-up message, and how
/// long the lab waits for it).
#[derive(Clone, Debug)]
pub struct WorkerSpec {
    /// The client's name (`c1`, …).
    pub name: String,
    /// The protocol, for the lab's own worker (`locklab worker --protocol
    /// P`); not used with [`command`](Self::command).
    pub protocol: String,
    /// Run this command instead of the lab's own worker (`--lock-cmd`).
    pub command: Option<LockCommand>,
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
    /// Version 2: the period at which a lock that renews is to renew by
    /// itself, reporting its renewals as events (`None`: the lab times the
    /// renewals with `renew` requests, or none are made).
    pub renew_every: Option<Duration>,
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
            command: None,
            redis: redis.into(),
            masters: Vec::new(),
            redlock: None,
            resource_redis: None,
            lock_key: lock_key.into(),
            resource_key: resource_key.into(),
            ttl,
            renew_every: None,
            response_timeout: Duration::from_millis(DEFAULT_RESPONSE_TIMEOUT_MS),
            connect_timeout: Duration::from_millis(DEFAULT_CONNECT_TIMEOUT_MS),
            ready_timeout: DEFAULT_READY_TIMEOUT,
        }
    }

    /// The arguments of `locklab` that start the lab's own worker for
    /// this protocol (the rest comes in [`start`](Self::start)).
    pub fn args(&self) -> Vec<OsString> {
        vec![
            "worker".into(),
            "--protocol".into(),
            self.protocol.clone().into(),
        ]
    }

    /// The command that starts this worker: [`command`](Self::command), or
    /// the lab's own worker from `binary`.
    pub fn command_for(&self, binary: &Path) -> LockCommand {
        self.command
            .clone()
            .unwrap_or_else(|| LockCommand::locklab(binary, &self.protocol))
    }

    /// The start-up message the lab sends it.
    pub fn start(&self) -> Start {
        Start {
            version: BASE_VERSION,
            max_version: Some(PROTOCOL_VERSION),
            client: self.name.clone(),
            redis: self.redis.clone(),
            lock_key: self.lock_key.clone(),
            resource_key: self.resource_key.clone(),
            lease_ms: self.ttl.as_millis() as u64,
            connect_timeout_ms: self.connect_timeout.as_millis() as u64,
            response_timeout_ms: self.response_timeout.as_millis() as u64,
            masters: self.masters.clone(),
            resource_redis: self.resource_redis.clone(),
            quorum: self.redlock.as_ref().map(QuorumTiming::of),
            sentinel: SentinelSet::of_url(&self.redis),
            renew_every_ms: self
                .renew_every
                .map(|p| u64::try_from(p.as_millis()).unwrap_or(u64::MAX)),
        }
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
        "worker {name} (pid {pid}) did not say ready within {waited:.1?}{}",
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
    /// It answered the start-up message with an error (and was killed).
    #[error(
        "worker {name} (pid {pid}) refused to start: {err}{}",
        last_line(stderr_tail)
    )]
    Refused {
        /// The worker's name.
        name: String,
        /// Its pid.
        pid: u32,
        /// What it said.
        err: String,
        /// Its last stderr lines.
        stderr_tail: String,
    },
    /// It said `ready` for another protocol version (and was killed).
    #[error("worker {name} (pid {pid}) speaks worker protocol version {version}; this lab speaks {BASE_VERSION} to {PROTOCOL_VERSION} (docs/worker-protocol.md)")]
    Version {
        /// The worker's name.
        name: String,
        /// Its pid.
        pid: u32,
        /// The version it said (0: none).
        version: u32,
    },
    /// The lab could not reach the protected resource it writes for it.
    #[error("worker {name}: the protected resource: {reason}")]
    Resource {
        /// The worker's name.
        name: String,
        /// Why.
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
            WorkerError::NotReady { stderr_tail, .. }
            | WorkerError::Exited { stderr_tail, .. }
            | WorkerError::Refused { stderr_tail, .. } => Some(stderr_tail),
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

/// How a worker that exited by itself ended.
#[derive(Clone, Debug)]
pub struct Exit {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its last stderr lines.
    pub stderr_tail: String,
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
/// alike: a write is answered by the worker with its fencing token and
/// made by the lab ([`LabResource`]).
pub struct WorkerHandle {
    /// For messages: the client's name, and the adapter's when it is not
    /// the lab's own worker (`c1 · redis_py_lock.py`).
    who: String,
    name: String,
    protocol: String,
    resource: Option<LabResource>,
    said: VecDeque<String>,
    /// The worker answered `acquire-within` with a definite error (it
    /// cannot wait by itself): the lab polls its `acquire` instead.
    polls: bool,
    /// Its `ready` said it follows a Sentinel failover.
    follows_failover: bool,
    /// The protocol version its `ready` said.
    version: u32,
    /// Its `ready` said its library renews by itself (version 2).
    renews: bool,
    /// Event lines it sent (version 2), as the lab read them, oldest first.
    events: VecDeque<(std::time::Instant, Result<WorkerEvent, EventError>)>,
    /// The `token` of the last reply to a renewal.
    extended: Option<String>,
    pid: u32,
    child: GuardedChild,
    /// `None` once closed.
    stdin: Option<tokio::process::ChildStdin>,
    lines: Lines<tokio::process::ChildStdout>,
    stderr: Tail,
    stderr_reader: Option<JoinHandle<()>>,
    pending: usize,
    reply_timeout: Duration,
    paused: bool,
    /// The lab killed it (a crash step, the end of its run): an exit the
    /// lab caused is no death of the worker's own.
    killed: bool,
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("name", &self.who)
            .field("protocol", &self.protocol)
            .field("pid", &self.pid)
            .field("pending", &self.pending)
            .field("paused", &self.paused)
            .finish_non_exhaustive()
    }
}

impl WorkerHandle {
    /// Starts the worker `spec` describes — [`WorkerSpec::command`], or
    /// `binary worker --protocol P` —, sends it the start-up message, waits
    /// until it says `ready` (at most `spec.ready_timeout`) in this protocol
    /// version, and connects to the protected resource it writes to through
    /// the lab. A worker that exits, stays silent, refuses or speaks another
    /// version is killed, and the error carries the tail of its stderr.
    pub async fn spawn(binary: &Path, spec: &WorkerSpec) -> Result<WorkerHandle, WorkerError> {
        let command = spec.command_for(binary);
        let mut handle = Self::start(&command, spec).await?;
        handle.reply_timeout = spec.reply_timeout();
        let resource_url = spec.resource_redis.as_deref().unwrap_or(&spec.redis);
        let options = locklab_impl::ConnectOptions::new()
            .with_connect_timeout(spec.connect_timeout)
            .and_then(|o| o.with_response_timeout(spec.response_timeout))
            .map_err(|e| e.to_string());
        let resource = match options {
            Ok(options) => LabResource::open(resource_url, &spec.resource_key, &options)
                .await
                .map_err(|e| e.message),
            Err(e) => Err(e),
        };
        match resource {
            Ok(resource) => handle.resource = Some(resource),
            Err(reason) => {
                let _ = handle.kill();
                return Err(WorkerError::Resource {
                    name: handle.who.clone(),
                    reason,
                });
            }
        }
        Ok(handle)
    }

    /// Starts `command`, sends it `spec`'s start-up message and waits for
    /// `ready`, without connecting to the resource: what
    /// [`spawn`](Self::spawn) does first, and all a conformance check needs.
    pub async fn start(
        command: &LockCommand,
        spec: &WorkerSpec,
    ) -> Result<WorkerHandle, WorkerError> {
        Self::start_with(command, spec, &spec.start()).await
    }

    /// [`start`](Self::start) with this start-up message (a conformance
    /// check sends one of another version).
    pub async fn start_with(
        command: &LockCommand,
        spec: &WorkerSpec,
        start: &Start,
    ) -> Result<WorkerHandle, WorkerError> {
        let mut cmd = Command::new(command.program());
        cmd.args(command.args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let client = spec.name.as_str();
        let name = match &spec.command {
            Some(c) => format!("{client} · {}", c.label()),
            None => client.to_owned(),
        };
        let spawn_error = |source| WorkerError::Spawn {
            name: name.clone(),
            binary: command.text().to_owned(),
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
        let stderr_reader = read_stderr(stderr, tail.clone(), client);
        let lines = Lines::new(tokio::process::ChildStdout::from_std(stdout).map_err(spawn_error)?);
        let mut handle = WorkerHandle {
            who: name,
            name: client.to_owned(),
            protocol: String::new(),
            resource: None,
            said: VecDeque::new(),
            polls: false,
            follows_failover: false,
            version: 0,
            renews: false,
            events: VecDeque::new(),
            extended: None,
            pid,
            child,
            stdin: Some(stdin),
            lines,
            stderr: tail,
            stderr_reader,
            pending: 0,
            reply_timeout: Duration::from_secs(
                (DEFAULT_RESPONSE_TIMEOUT_MS + DEFAULT_CONNECT_TIMEOUT_MS) * 3 / 1000 + 5,
            ),
            paused: false,
            killed: false,
        };
        let started = Instant::now();
        if let Err(e) = handle.write_line(start.to_line()).await {
            let _ = handle.kill();
            return Err(e);
        }
        let left = spec.ready_timeout.saturating_sub(started.elapsed());
        if let Err(e) = handle
            .wait_ready(left, start.max_version.unwrap_or(start.version))
            .await
        {
            let _ = handle.kill();
            return Err(e);
        }
        tracing::debug!(name = %handle.who, pid, protocol = %handle.protocol, "worker ready");
        Ok(handle)
    }

    async fn wait_ready(&mut self, timeout: Duration, offered: u32) -> Result<(), WorkerError> {
        let started = Instant::now();
        match tokio::time::timeout(timeout, self.lines.next()).await {
            Err(_) => {
                let _ = self.kill_group();
                Err(WorkerError::NotReady {
                    name: self.who.clone(),
                    pid: self.pid,
                    waited: started.elapsed(),
                    stderr_tail: self.final_stderr().await,
                })
            }
            Ok(None) => Err(self.exited().await),
            Ok(Some(Line::TooLong)) => Err(self.bad_line("(a line over 1 MiB)", "too long")),
            Ok(Some(Line::Text(line))) => {
                if let Ok(Reply::Err { err, .. }) = Reply::parse(&line) {
                    let _ = self.kill_group();
                    return Err(WorkerError::Refused {
                        name: self.who.clone(),
                        pid: self.pid,
                        err,
                        stderr_tail: self.final_stderr().await,
                    });
                }
                let ready = serde_json::from_str::<Ready>(&line)
                    .map_err(|e| self.bad_line(&line, &format!("not a ready line ({e})")))?;
                if !(BASE_VERSION..=offered).contains(&ready.version) {
                    return Err(WorkerError::Version {
                        name: self.who.clone(),
                        pid: self.pid,
                        version: ready.version,
                    });
                }
                self.protocol = ready.ready;
                self.follows_failover = ready.follows_failover;
                self.version = ready.version;
                self.renews = ready.renews && ready.version >= 2;
                Ok(())
            }
        }
    }

    /// Its client name (`c1`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the library told its caller, as the worker's replies said
    /// (`"said"`) since the last call, oldest first, joined by `; `; taken,
    /// so the next call starts afresh.
    pub fn take_said(&mut self) -> Option<String> {
        let notes: Vec<String> = self.said.drain(..).collect();
        (!notes.is_empty()).then(|| notes.join("; "))
    }

    /// Whether its `ready` said it follows a Sentinel failover.
    pub fn follows_failover(&self) -> bool {
        self.follows_failover
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

    /// If it exited by itself (the lab did not kill it): how, and its last
    /// stderr lines, once the reader has them all (bounded wait). A worker
    /// that dies in the middle of a run is the lock failing, not the lab,
    /// and the user needs to see what it said.
    pub async fn exit(&mut self) -> Option<Exit> {
        if self.killed {
            return None;
        }
        let status = self.child.try_wait().ok()??;
        Some(Exit {
            status,
            stderr_tail: self.final_stderr().await,
        })
    }

    /// Sends one request (it is carried out when the worker gets to it:
    /// at once, or after its earlier requests, or after a pause).
    pub async fn send(&mut self, request: &Request) -> Result<(), WorkerError> {
        self.write_line(request.to_line()).await?;
        self.pending += 1;
        Ok(())
    }

    /// Sends one line as it is, as a request (a conformance check's bad
    /// lines): its answer is received like a reply.
    pub async fn send_line(&mut self, line: &str) -> Result<(), WorkerError> {
        self.write_line(line.to_owned()).await?;
        self.pending += 1;
        Ok(())
    }

    /// Writes one line to its stdin (bounded wait).
    async fn write_line(&mut self, mut line: String) -> Result<(), WorkerError> {
        line.push('\n');
        let write = async {
            let stdin = self
                .stdin
                .as_mut()
                .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "stdin closed"))?;
            stdin.write_all(line.as_bytes()).await?;
            stdin.flush().await
        };
        match tokio::time::timeout(SEND_TIMEOUT, write).await {
            Ok(Ok(())) => Ok(()),
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
                name: self.who.clone(),
            });
        }
        let deadline = tokio::time::Instant::now() + timeout;
        // Bounded: each pass reads one line, and the deadline ends it.
        loop {
            match tokio::time::timeout_at(deadline, self.lines.next()).await {
                Err(_) => {
                    return Err(WorkerError::NoReply {
                        name: self.who.clone(),
                        pid: self.pid,
                        waited: timeout,
                    })
                }
                Ok(None) => {
                    self.pending = 0;
                    return Err(self.exited().await);
                }
                Ok(Some(Line::Text(text))) if self.set_aside(&text) => continue,
                Ok(Some(line)) => {
                    self.pending -= 1;
                    return match line {
                        Line::TooLong => Err(self.bad_line("(a line over 1 MiB)", "too long")),
                        Line::Text(text) => {
                            if let Some(note) = said(&text) {
                                if self.said.len() == SAID_MAX {
                                    self.said.pop_front();
                                }
                                self.said.push_back(note);
                            }
                            self.extended = renewed_token(&text);
                            Reply::parse(&text).map_err(|e| self.bad_line(&text, &e.to_string()))
                        }
                    };
                }
            }
        }
    }

    /// Keeps `line` as an event, if it is one (a worker of version 2): an
    /// event is never a reply.
    fn set_aside(&mut self, line: &str) -> bool {
        if self.version < 2 {
            return false;
        }
        match WorkerEvent::parse(line) {
            Some(event) => {
                if self.events.len() == EVENTS_MAX {
                    self.events.pop_front();
                }
                self.events.push_back((std::time::Instant::now(), event));
                true
            }
            None => false,
        }
    }

    /// The event lines read so far (version 2), oldest first, with when
    /// the lab read each; taken.
    pub fn take_events(&mut self) -> Vec<(std::time::Instant, Result<WorkerEvent, EventError>)> {
        self.events.drain(..).collect()
    }

    /// Reads the event lines the worker sends while no request waits for a
    /// reply, for `wait`: how many events are kept unread then, or the
    /// first line that is no event (none should come unasked).
    pub async fn gather_events(&mut self, wait: Duration) -> Result<usize, String> {
        if self.pending > 0 || self.version < 2 {
            return Ok(self.events.len());
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.next()).await {
                Ok(Some(Line::Text(text))) if self.set_aside(&text) => continue,
                Ok(Some(Line::Text(text))) => return Err(text),
                Ok(Some(Line::TooLong)) => return Err("(a line over 1 MiB)".to_owned()),
                Ok(None) | Err(_) => return Ok(self.events.len()),
            }
        }
    }

    /// The protocol version its `ready` said.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Whether its `ready` said its library renews by itself.
    pub fn renews_by_itself(&self) -> bool {
        self.renews
    }

    /// A line the worker printed with no request waiting for it, if one
    /// comes within `wait` (none should: every line is a reply, or in
    /// version 2 an event, which is kept).
    pub async fn unsolicited(&mut self, wait: Duration) -> Option<String> {
        if self.pending > 0 {
            return None;
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.next()).await {
                Ok(Some(Line::Text(text))) if self.set_aside(&text) => continue,
                Ok(Some(Line::Text(text))) => return Some(text),
                Ok(Some(Line::TooLong)) => return Some("(a line over 1 MiB)".to_owned()),
                Ok(None) | Err(_) => return None,
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
        let _ = self.child.signal_group(Signal::SIGSTOP);
        self.wait_stopped(true).await?;
        self.paused = true;
        Ok(())
    }

    /// Lets a paused worker go on (SIGCONT) and waits until it runs.
    pub async fn resume(&mut self) -> Result<(), WorkerError> {
        let _ = self.child.signal_group(Signal::SIGCONT);
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
            .kill_group()
            .map_err(|source| self.io_error("SIGKILL and reap", source))?;
        tracing::debug!(name = %self.who, pid = self.pid, %status, "worker killed");
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
        self.stdin = None;
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

    /// SIGKILL to its process group (it, and any helper it started), then
    /// to it, and reap it.
    fn kill_group(&mut self) -> io::Result<ExitStatus> {
        self.killed = true;
        let _ = self.child.signal_group(Signal::SIGKILL);
        self.child.kill_and_wait()
    }

    /// Closes its stdin, as a lab that ends does, and waits up to `wait`
    /// for it to exit; `None` if it is still running then (it is killed
    /// when dropped).
    pub async fn close_stdin(&mut self, wait: Duration) -> Option<ExitStatus> {
        self.stdin = None;
        let deadline = Instant::now() + wait;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
                _ => return None,
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
            name: self.who.clone(),
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
        WorkerError::BadLine {
            name: self.who.clone(),
            pid: self.pid,
            line: cut(line, 200),
            reason: reason.to_owned(),
        }
    }

    fn io_error(&self, action: &str, source: io::Error) -> WorkerError {
        WorkerError::Io {
            name: self.who.clone(),
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
                self.who, self.pending
            )));
        }
        self.request(&request)
            .await
            .map_err(|e| OpError::indefinite(e.to_string()))
    }

    /// A renewal request needs version 2.
    fn speaks_renewals(&self) -> Result<(), OpError> {
        if self.version >= 2 {
            return Ok(());
        }
        Err(OpError::definite(format!(
            "worker {} speaks worker protocol version {}, which has no renewal requests",
            self.who, self.version
        )))
    }

    /// Asks the worker for the fencing token it holds and writes with it,
    /// as [`LabResource`] explains.
    async fn write_with_token(&mut self, data: &str) -> Result<Outcome, OpError> {
        let reply = self
            .op(Request::of(Call::now(ClientOp::Write), data)?)
            .await?;
        // Its library knows it lost the lock: no write is made.
        if reply == Reply::Done(Outcome::Lost) {
            return Ok(Outcome::Lost);
        }
        let fence = reply.into_write_with()?;
        let resource = self.resource.as_ref().ok_or_else(|| {
            OpError::definite(format!(
                "worker {}: no resource to write to (started without one)",
                self.who
            ))
        })?;
        resource.write(fence, data.as_bytes()).await
    }
}

impl LabClient for WorkerHandle {
    fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Every call goes over the wire as its request (the worker's client
    /// has the operations); a write is the lab's, with the worker's token.
    fn perform<'a>(&'a mut self, call: Call, data: &'a str) -> ClientFuture<'a, Outcome> {
        Box::pin(async move {
            if call == Call::now(ClientOp::Write) {
                return self.write_with_token(data).await;
            }
            if call == Call::now(ClientOp::Renew) {
                return self.renew().await;
            }
            let request = Request::of(call, data)?;
            self.op(request).await?.into_outcome(call.op)
        })
    }

    /// `acquire-within`, the worker waiting by its lock's own strategy; a
    /// worker that answers it with a definite error (it cannot) is polled
    /// with `acquire` by the lab from then on.
    fn acquire_within(&mut self, deadline: Duration) -> ClientFuture<'_, Outcome> {
        Box::pin(async move {
            if !self.polls {
                let deadline_ms = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX);
                match self
                    .op(Request::AcquireWithin { deadline_ms })
                    .await?
                    .into_outcome(ClientOp::Acquire)
                {
                    Err(e) if e.definite => self.polls = true,
                    answered => return answered,
                }
            }
            poll_acquire(self, deadline).await
        })
    }

    fn reset<'a>(&'a mut self, keys: &'a Keys) -> ClientFuture<'a, ()> {
        Box::pin(async move {
            if let Some(resource) = &self.resource {
                self.resource = Some(resource.with_key(&keys.resource)?);
            }
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

    /// `renew`, the lab timing the renewal (version 2).
    fn renew(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(async move {
            self.speaks_renewals()?;
            self.extended = None;
            self.op(Request::Renew).await?.into_outcome(ClientOp::Renew)
        })
    }

    fn extended(&self) -> Option<String> {
        self.extended.clone()
    }

    fn send_renewal(&mut self) -> ClientFuture<'_, ()> {
        Box::pin(async move {
            self.speaks_renewals()?;
            self.op(Request::RenewHeld)
                .await?
                .into_control(Control::Held)
        })
    }

    fn deliver_renewal(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(async move {
            self.speaks_renewals()?;
            self.extended = None;
            self.op(Request::RenewRead)
                .await?
                .into_outcome(ClientOp::Renew)
        })
    }
}

impl Drop for WorkerHandle {
    /// Its whole process group goes with it; the [`GuardedChild`] then
    /// kills and reaps the worker itself.
    fn drop(&mut self) {
        let _ = self.child.signal_group(Signal::SIGKILL);
    }
}

/// The state letter of `/proc/<pid>/stat` (`R`, `S`, `T`, `Z`, …); `None`
/// if there is no such process.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.rfind(')')?;
    stat[close + 1..].split_whitespace().next()?.chars().next()
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
