//! The worker process: `locklab worker --protocol P` (hidden), one lab
//! client serving the [line protocol](super::wire) on stdin/stdout — the
//! same protocol a worker in any other language speaks, so that one
//! [`WorkerHandle`](super::WorkerHandle) drives both. Everything about the
//! run (Redis, keys, lease, timeouts) comes in the start-up message, as it
//! does for a worker in any language; the flag says only which lock.
//!
//! It runs a current-thread tokio runtime for its whole life, so that
//! anything the client runs in the background (a lease watchdog) keeps
//! running between requests, and so that a SIGSTOP stops all of it. Its
//! stdin, a pipe from the lab, is read on that runtime's reactor too.
//!
//! In version 2, given `renew_every_ms`, a lock that renews runs its
//! watchdog on a timer of that period, between requests (one task: a
//! renewal never interleaves with an operation's Redis calls), and reports
//! each renewal and each loss as an event line — what an adapter's
//! background renewal thread does. Without it, the lab times the renewals
//! itself with `renew` requests, as a replay's script says.

use std::io::{self, BufRead, Read, Write};
use std::os::fd::AsFd;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use locklab_impl::ConnectOptions;
use tokio::net::unix::pipe;
use tokio::sync::mpsc;

use super::event::WorkerEvent;
use super::handshake::{cut, QuorumTiming, Ready, Start, StartError, PROTOCOL_VERSION};
use super::lines::{Line, Lines};
use super::wire::{Control, Reply, Request, MAX_LINE};
use crate::client::{
    known_clients, open, ClientSpec, Keys, LabClient, OpError, OpenError, Strategy,
};
use crate::output::Status;

/// The default response timeout of a worker's connections: long, so that a
/// reply the proxy holds for seconds is late, not lost.
pub const DEFAULT_RESPONSE_TIMEOUT_MS: u64 = 30_000;

/// The default connect timeout of a worker's connections.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 2_000;

/// Flags of `locklab worker`: only which lock to be.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// The lock: a protocol of locklab-impl, or a peer crate of this build
    /// (rslock, redlock).
    #[arg(long, value_name = "P")]
    pub protocol: String,
}

fn spec(protocol: &str, start: &Start) -> anyhow::Result<ClientSpec> {
    let connect = ConnectOptions::new()
        .with_connect_timeout(Duration::from_millis(start.connect_timeout_ms))?
        .with_response_timeout(Duration::from_millis(start.response_timeout_ms))?;
    Ok(ClientSpec {
        lock: protocol.to_owned(),
        redis: std::iter::once(start.redis.clone())
            .chain(start.masters.iter().cloned())
            .collect(),
        resource_redis: start.resource_redis.clone(),
        keys: Keys {
            lock: start.lock_key.clone(),
            resource: start.resource_key.clone(),
        },
        ttl: Duration::from_millis(start.lease_ms),
        connect,
        strategy: Strategy::Default,
        redlock: start
            .quorum
            .as_ref()
            .map(QuorumTiming::options)
            .transpose()?,
    })
}

/// Runs the worker until stdin closes or a `quit`. An error (unknown lock,
/// a first line that is not the start-up message or is of another version,
/// bad key or TTL, Redis unreachable) ends it before `ready`, with exit
/// code 2.
pub fn run(args: &WorkerArgs) -> anyhow::Result<Status> {
    if !known_clients().contains(&args.protocol.as_str()) {
        return Err(OpenError::Unknown {
            name: args.protocol.clone(),
        }
        .into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the worker's tokio runtime")?;
    runtime.block_on(serve(args))
}

/// The first line that is not blank; `None` if stdin ends first.
async fn first_line(lines: &mut Input) -> anyhow::Result<Option<String>> {
    while let Some(line) = lines.next().await {
        match line {
            Line::Text(text) if text.trim().is_empty() => continue,
            Line::Text(text) => return Ok(Some(text)),
            Line::TooLong => too_long()?,
        }
    }
    Ok(None)
}

fn too_long() -> anyhow::Result<()> {
    reply(
        &OpError::definite(format!(
            "request line over {MAX_LINE} bytes; the worker stops"
        ))
        .into(),
    )?;
    anyhow::bail!("a request line over {MAX_LINE} bytes")
}

async fn serve(args: &WorkerArgs) -> anyhow::Result<Status> {
    let mut lines = Input::stdin();
    let Some(first) = first_line(&mut lines).await? else {
        anyhow::bail!("stdin closed before the start-up message");
    };
    let start = match StartError::check(&first) {
        Ok(start) => start,
        Err(e) => {
            reply(&OpError::definite(e.to_string()).into())?;
            return Err(e.into());
        }
    };
    let mut client = match open(&spec(&args.protocol, &start)?).await {
        Ok(client) => client,
        Err(e) => {
            reply(&OpError::definite(e.to_string()).into())?;
            return Err(e.into());
        }
    };
    let version = start.agreed(PROTOCOL_VERSION);
    let period = match start.renew_every()? {
        Some(period) if version >= 2 && client.renews() => Some(period),
        _ => None,
    };
    let ready = Ready {
        ready: client.protocol().to_owned(),
        version,
        pid: std::process::id(),
        name: start.client.clone(),
        // A Sentinel URL's client resolves the primary again after an
        // error (client::follow).
        follows_failover: true,
        renews: period.is_some(),
    };
    let mut out = io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&ready)?)?;
    out.flush()?;
    drop(out);

    let mut watchdog = period.map(|p| {
        let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + p, p);
        // After a pause, one renewal, not a burst of the missed ones.
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        timer
    });
    loop {
        let line = tokio::select! {
            line = lines.next() => line,
            _ = tick(&mut watchdog) => {
                renew_by_timer(&mut *client).await?;
                continue;
            }
        };
        let Some(line) = line else { break };
        let text = match line {
            Line::Text(text) => text,
            Line::TooLong => {
                too_long()?;
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        let request = match serde_json::from_str::<Request>(&text) {
            Ok(request) => request,
            Err(e) => {
                reply(
                    &OpError::definite(format!("bad request {:?}: {e}", cut(&text, 200))).into(),
                )?;
                continue;
            }
        };
        let quit = request == Request::Quit;
        let renewal = matches!(request, Request::Renew | Request::RenewRead);
        let answer = handle(&mut *client, request).await;
        match client
            .extended()
            .filter(|_| renewal && answer.failure().is_none())
        {
            Some(token) => reply_with_token(&answer, &token)?,
            None => reply(&answer)?,
        }
        if quit {
            break;
        }
    }
    Ok(Status::Agrees)
}

/// The watchdog's next tick; never, without one.
async fn tick(watchdog: &mut Option<tokio::time::Interval>) {
    match watchdog {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// One renewal by the timer, if a lease is held, reported as its event;
/// a renewal that found the lock gone is also the library telling its
/// caller so (`lost`).
async fn renew_by_timer(client: &mut dyn LabClient) -> io::Result<()> {
    if !client.has_lease_to_renew() {
        return Ok(());
    }
    let result = client.renew().await;
    event(&WorkerEvent::renewal(&result, client.extended()))?;
    if matches!(result, Ok(locklab_model::Outcome::NotHeld)) {
        event(&WorkerEvent::Lost {
            said: Some("the watchdog's renewal found the lock no longer ours".into()),
        })?;
    }
    Ok(())
}

fn event(event: &WorkerEvent) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{}", event.to_line())?;
    out.flush()
}

/// Carries out one request. A write is not made here: the worker answers
/// with the fencing token it would write with, and the lab writes.
pub async fn handle(client: &mut dyn LabClient, request: Request) -> Reply {
    let control = |r: Result<(), OpError>, done: Control| match r {
        Ok(()) => Reply::Control(done),
        Err(e) => e.into(),
    };
    match request {
        Request::AcquireWithin { deadline_ms } => Reply::of(
            client
                .acquire_within(Duration::from_millis(deadline_ms))
                .await,
        ),
        Request::Write { .. } if client.knows_lost() => Reply::Done(locklab_model::Outcome::Lost),
        Request::Write { .. } => Reply::Control(Control::WriteWith {
            fence: client.write_fence(),
        }),
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
        Request::RenewHeld => control(client.send_renewal().await, Control::Held),
        Request::RenewRead => Reply::of(client.deliver_renewal().await),
        operation => match operation.call() {
            Some((call, data)) => Reply::of(client.perform(call, data).await),
            None => OpError::definite("not an operation").into(),
        },
    }
}

/// A renewal's reply, with the token of the key it extended.
fn reply_with_token(reply: &Reply, token: &str) -> io::Result<()> {
    let mut line = serde_json::to_value(reply).map_err(io::Error::other)?;
    if let Some(fields) = line.as_object_mut() {
        fields.insert("token".into(), token.into());
    }
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

fn reply(reply: &Reply) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{}", reply.to_line())?;
    out.flush()
}

/// The worker's stdin, line by line: a pipe (as the lab gives it) is read
/// on the runtime's reactor ([`Lines`]), so that a request wakes the task
/// that serves it directly; anything else (a terminal, a file) by a thread
/// of its own, over a bounded channel.
enum Input {
    Pipe(Lines<pipe::Receiver>),
    Thread(mpsc::Receiver<Line>),
}

impl Input {
    fn stdin() -> Input {
        let pipe = io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .and_then(pipe::Receiver::from_owned_fd);
        match pipe {
            Ok(pipe) => Input::Pipe(Lines::new(pipe)),
            Err(_) => Input::Thread(read_stdin()),
        }
    }

    async fn next(&mut self) -> Option<Line> {
        match self {
            Input::Pipe(lines) => lines.next().await,
            Input::Thread(lines) => lines.recv().await,
        }
    }
}

/// Reads stdin line by line on a thread of its own; the channel closes at
/// end of input (or a read error).
fn read_stdin() -> mpsc::Receiver<Line> {
    let (tx, rx) = mpsc::channel(16);
    let spawned = std::thread::Builder::new()
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
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the worker's stdin reader");
    }
    rx
}
