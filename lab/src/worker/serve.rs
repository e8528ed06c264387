//! The worker process: `locklab worker …` (hidden), one lab client serving
//! the [line protocol](super::wire) on stdin/stdout.
//!
//! It runs a current-thread tokio runtime for its whole life, so that
//! anything the client runs in the background (a lease watchdog) keeps
//! running between requests, and so that a SIGSTOP stops all of it. A
//! thread of its own reads stdin (a blocking read that the runtime must not
//! wait on) and hands each line over a bounded channel.

use std::io::{self, BufRead, Read, Write};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use locklab_impl::{ConnectOptions, RedlockOptions};
use tokio::sync::mpsc;

use locklab_model::{ClientOp, NodeId};

use super::wire::{Control, Ready, Reply, Request, MAX_LINE};
use crate::cli::Status;
use crate::client::{open, ClientSpec, Keys, LabClient, OpError, Strategy};

/// The default response timeout of a worker's connections: long, so that a
/// reply the proxy holds for seconds is late, not lost.
pub const DEFAULT_RESPONSE_TIMEOUT_MS: u64 = 30_000;

/// The default connect timeout of a worker's connections.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 2_000;

/// Flags of `locklab worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// The lock: a protocol of locklab-impl, or a peer crate of this build
    /// (rslock, redlock).
    #[arg(long, value_name = "P")]
    pub protocol: String,
    /// The Redis URL to lock on (the lab's proxy, to inject message
    /// faults); repeated, one per master of a quorum lock.
    #[arg(long = "redis", value_name = "URL", required = true)]
    pub redis: Vec<String>,
    /// The Redis URL of the protected resource. Default: --redis.
    #[arg(long, value_name = "URL")]
    pub resource_redis: Option<String>,
    /// The lock key.
    #[arg(long, value_name = "K")]
    pub lock_key: String,
    /// The protected resource's key.
    #[arg(long, value_name = "R")]
    pub resource_key: String,
    /// The lease of each grant, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub ttl_ms: u64,
    /// The client's name, for messages.
    #[arg(long, default_value = "worker")]
    pub name: String,
    /// How long one Redis command may wait for its reply, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_RESPONSE_TIMEOUT_MS)]
    pub response_timeout_ms: u64,
    /// How long connecting to Redis may take, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_CONNECT_TIMEOUT_MS)]
    pub connect_timeout_ms: u64,
    /// A quorum lock's drift allowance, as a share of the lease.
    #[arg(long, value_name = "F")]
    pub drift_factor: Option<f64>,
    /// A quorum lock's drift allowance beyond that share, in microseconds.
    #[arg(long, value_name = "US")]
    pub drift_floor_us: Option<u64>,
    /// A quorum lock's timeout per master and request, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub master_timeout_ms: Option<u64>,
}

impl WorkerArgs {
    fn spec(&self) -> anyhow::Result<ClientSpec> {
        let connect = ConnectOptions::new()
            .with_connect_timeout(Duration::from_millis(self.connect_timeout_ms))?
            .with_response_timeout(Duration::from_millis(self.response_timeout_ms))?;
        Ok(ClientSpec {
            lock: self.protocol.clone(),
            redis: self.redis.clone(),
            resource_redis: self.resource_redis.clone(),
            keys: Keys {
                lock: self.lock_key.clone(),
                resource: self.resource_key.clone(),
            },
            ttl: Duration::from_millis(self.ttl_ms),
            connect,
            strategy: Strategy::Default,
            redlock: self.redlock()?,
        })
    }

    /// The quorum settings the flags give, if any.
    fn redlock(&self) -> anyhow::Result<Option<RedlockOptions>> {
        if self.drift_factor.is_none()
            && self.drift_floor_us.is_none()
            && self.master_timeout_ms.is_none()
        {
            return Ok(None);
        }
        let mut options = RedlockOptions::default();
        if let Some(f) = self.drift_factor {
            options = options.with_drift_factor(f)?;
        }
        if let Some(us) = self.drift_floor_us {
            options = options.with_drift_floor(Duration::from_micros(us));
        }
        if let Some(ms) = self.master_timeout_ms {
            options = options.with_master_timeout(Duration::from_millis(ms))?;
        }
        Ok(Some(options))
    }
}

/// One line from stdin, or why there is none.
enum Line {
    Text(String),
    TooLong,
}

/// Runs the worker until stdin closes or a `quit`. An error (unknown
/// protocol, bad key or TTL, Redis unreachable) ends it before `ready`,
/// with exit code 2.
pub fn run(args: &WorkerArgs) -> anyhow::Result<Status> {
    let spec = args.spec()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the worker's tokio runtime")?;
    runtime.block_on(serve(args, spec))
}

async fn serve(args: &WorkerArgs, spec: ClientSpec) -> anyhow::Result<Status> {
    let mut client = open(&spec).await?;
    let mut out = io::stdout().lock();
    let ready = Ready {
        ready: client.protocol().to_owned(),
        pid: std::process::id(),
        name: args.name.clone(),
    };
    writeln!(out, "{}", serde_json::to_string(&ready)?)?;
    out.flush()?;
    drop(out);

    let mut lines = read_stdin();
    while let Some(line) = lines.recv().await {
        let text = match line {
            Line::Text(text) => text,
            Line::TooLong => {
                reply(
                    &OpError::definite(format!(
                        "request line over {MAX_LINE} bytes; the worker stops"
                    ))
                    .into(),
                )?;
                anyhow::bail!("a request line over {MAX_LINE} bytes");
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        let request = match serde_json::from_str::<Request>(&text) {
            Ok(request) => request,
            Err(e) => {
                reply(
                    &OpError::definite(format!("bad request {:?}: {e}", abbreviate(&text))).into(),
                )?;
                continue;
            }
        };
        let quit = request == Request::Quit;
        reply(&handle(&mut *client, request).await)?;
        if quit {
            break;
        }
    }
    Ok(Status::Agrees)
}

/// Carries out one request.
pub async fn handle(client: &mut dyn LabClient, request: Request) -> Reply {
    let control = |r: Result<(), OpError>, done: Control| match r {
        Ok(()) => Reply::Control(done),
        Err(e) => e.into(),
    };
    match request {
        Request::Acquire => Reply::of(client.perform(ClientOp::Acquire, "").await),
        Request::AcquireLost => Reply::of(client.perform(ClientOp::AcquireLost, "").await),
        Request::AcquireResent => Reply::of(client.perform(ClientOp::AcquireResent, "").await),
        Request::AcquireWithin { deadline_ms } => Reply::of(
            client
                .acquire_within(Duration::from_millis(deadline_ms))
                .await,
        ),
        Request::Write { data } => Reply::of(client.perform(ClientOp::Write, &data).await),
        Request::Release => Reply::of(client.perform(ClientOp::Release, "").await),
        Request::Produce => Reply::of(client.perform(ClientOp::Produce, "").await),
        Request::Read => Reply::of(client.perform(ClientOp::Read, "").await),
        Request::Claim => Reply::of(client.perform(ClientOp::Claim, "").await),
        Request::Process { data } => Reply::of(client.perform(ClientOp::Process, &data).await),
        Request::Mark => Reply::of(client.perform(ClientOp::Mark, "").await),
        Request::Ack => Reply::of(client.perform(ClientOp::Ack, "").await),
        Request::Ask { node } => {
            let op = ClientOp::Ask { node: NodeId(node) };
            Reply::of(client.perform(op, "").await)
        }
        Request::AskLost { node } => {
            let op = ClientOp::AskLost { node: NodeId(node) };
            Reply::of(client.perform(op, "").await)
        }
        Request::Conclude => Reply::of(client.perform(ClientOp::Conclude, "").await),
        Request::Confirm => Reply::of(client.perform(ClientOp::Confirm, "").await),
        Request::Reset {
            lock_key,
            resource_key,
        } => {
            let keys = Keys {
                lock: lock_key,
                resource: resource_key,
            };
            control(client.reset(&keys).await, Control::Reset)
        }
        Request::Ping => control(client.ping().await, Control::Pong),
        Request::Quit => Reply::Control(Control::Bye),
    }
}

fn reply(reply: &Reply) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{}", reply.to_line())?;
    out.flush()
}

fn abbreviate(s: &str) -> String {
    const MAX: usize = 200;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Reads stdin line by line on a thread of its own; the channel closes at
/// end of input (or a read error).
fn read_stdin() -> mpsc::Receiver<Line> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::Builder::new()
        .name("worker-stdin".into())
        .spawn(move || {
            let stdin = io::stdin();
            let mut stdin = stdin.lock();
            loop {
                let mut buf = Vec::new();
                let read = (&mut stdin)
                    .take(MAX_LINE as u64 + 1)
                    .read_until(b'\n', &mut buf);
                let line = match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) if buf.len() > MAX_LINE => Line::TooLong,
                    Ok(_) => Line::Text(String::from_utf8_lossy(&buf).trim_end().to_owned()),
                };
                let too_long = matches!(line, Line::TooLong);
                if tx.blocking_send(line).is_err() || too_long {
                    return;
                }
            }
        })
        .expect("start the worker's stdin thread");
    rx
}
