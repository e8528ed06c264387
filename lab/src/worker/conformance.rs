//! The conformance script of `locklab worker-check`: an adapter is started
//! and driven through every part of the worker protocol against a real
//! Redis, and each check says, in one line, what the adapter did wrong.
//!
//! The script: start-up and `ready`; ping; an acquire of a free lock (the
//! key must appear on Redis, under the name the lab gave); a second worker
//! finds it busy; a write is answered with a token (`write-with`) and the
//! lab's write is accepted; release (the key is gone); a release without a
//! grant is a definite error; a grant whose lease ran out is released as
//! `not-held` (on a worker of its own with a short lease: every other check
//! runs with a lease none outlasts, however slow the machine); reset to new keys; `acquire-within` and the retry fault's
//! `acquire-lost` and `acquire-resent` (each either done, or refused with a
//! definite error: the lab then polls, or skips the retry fault); a
//! non-JSON line and an unknown op each get an error and the worker goes
//! on; three requests sent at once are answered in order; no line comes
//! that nobody asked for; an adapter that says it renews (version 2)
//! reports renewals of its own grant only ([`renewals`]); a start-up
//! message of another version is
//! refused; closing stdin ends the worker; `quit` says bye. Every wait has
//! the deadline given, and every worker is killed at the end.
//!
//! A worker that cannot even start (no such command, it exits, it prints
//! something else than `ready`, it speaks another version, it stays silent)
//! is one [`Fatal`] line; the rest is a list of [`Check`]s.

use std::time::Duration;

mod renewals;

use locklab_impl::{connect, Conn, ConnectOptions};
use locklab_model::{Call, ClientOp, Outcome};
use serde::Serialize;

use super::external::LockCommand;
use super::handle::{WorkerError, WorkerHandle, WorkerSpec};
use super::handshake::cut;
use super::wire::{Control, Request};
use crate::client::support::PROBED;
use crate::client::{Keys, LabClient, OpError};

/// The lease of every check but the one that waits a lease out.
pub const LONG_LEASE: Duration = Duration::from_secs(60);

/// How a check went: `Ok(what the adapter did)` or `Err(what is wrong)`.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What is checked.
    pub name: &'static str,
    /// Passed.
    pub ok: bool,
    /// What the adapter did, or what is wrong with it.
    pub detail: String,
}

/// The whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Conformance {
    /// The adapter's command.
    pub command: String,
    /// The lock it said it is (`ready`).
    pub lock: String,
    /// The checks, in order.
    pub checks: Vec<Check>,
}

impl Conformance {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

/// An adapter that could not be started: one line, naming it, with its
/// stderr tail.
#[derive(Debug, thiserror::Error)]
#[error("adapter {command:?}: {error}")]
pub struct Fatal {
    command: String,
    error: String,
}

/// What the script runs against.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The adapter.
    pub command: LockCommand,
    /// The Redis it locks on.
    pub redis: String,
    /// The lease of the one check that waits a lease out (the others run
    /// with [`LONG_LEASE`], so that no lease runs out under them however
    /// slow the machine).
    pub lease: Duration,
    /// How long any answer may take.
    pub deadline: Duration,
    /// The renewal period of the renewal check (version 2), below
    /// [`lease`](Self::lease).
    pub renew_every: Duration,
    /// A prefix for its keys (deleted afterwards).
    pub prefix: String,
}

struct Script<'a> {
    plan: &'a Plan,
    lab: Conn,
    checks: Vec<Check>,
    keys: Vec<String>,
}

/// The error of a worker, with the last line of its stderr when the error
/// does not carry it already.
fn told(w: &WorkerHandle, e: impl std::fmt::Display) -> String {
    let e = e.to_string();
    match w.stderr_tail().lines().rev().find(|l| !l.trim().is_empty()) {
        Some(line) if !e.contains("stderr") => format!("{e}; its stderr ends: {}", line.trim()),
        _ => e,
    }
}

impl Script<'_> {
    fn pass(&mut self, name: &'static str, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            ok: true,
            detail: detail.into(),
        });
    }

    fn fail(&mut self, name: &'static str, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            ok: false,
            detail: detail.into(),
        });
    }

    fn spec(&mut self, client: &str, n: usize) -> WorkerSpec {
        self.spec_with(client, n, LONG_LEASE)
    }

    fn spec_with(&mut self, client: &str, n: usize, lease: Duration) -> WorkerSpec {
        let lock_key = format!("{}:{n}:lock", self.plan.prefix);
        let resource_key = format!("{}:{n}:resource", self.plan.prefix);
        self.keys.extend([
            lock_key.clone(),
            resource_key.clone(),
            format!("{resource_key}:log"),
            format!("{resource_key}:highest"),
        ]);
        let mut spec = WorkerSpec::new(
            client,
            "",
            self.plan.redis.clone(),
            lock_key,
            resource_key,
            lease,
        );
        spec.command = Some(self.plan.command.clone());
        spec.ready_timeout = self.plan.deadline;
        spec.connect_timeout = self.plan.deadline.min(Duration::from_secs(2));
        spec
    }

    async fn spawn(&self, spec: &WorkerSpec) -> Result<WorkerHandle, WorkerError> {
        let mut w = WorkerHandle::spawn(std::path::Path::new(""), spec).await?;
        w.set_reply_timeout(self.plan.deadline);
        Ok(w)
    }

    async fn exists(&self, key: &str) -> Result<bool, String> {
        self.lab
            .query::<bool>(redis::cmd("EXISTS").arg(key))
            .await
            .map_err(|e| e.to_string())
    }

    /// The key's time to live in ms: -1 for a key without one, -2 for none.
    async fn pttl(&self, key: &str) -> Result<i64, String> {
        self.lab
            .query::<i64>(redis::cmd("PTTL").arg(key))
            .await
            .map_err(|e| e.to_string())
    }

    /// Waits (at most three leases and a bit) until `key` is gone; `false`
    /// if it outlived that: the lock renews its lease.
    async fn until_gone(&self, key: &str) -> Result<bool, String> {
        let deadline =
            tokio::time::Instant::now() + self.plan.lease * 3 + Duration::from_millis(100);
        loop {
            if !self.exists(key).await? {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Runs the script. `Err` when the adapter cannot start at all.
pub async fn run(plan: &Plan) -> Result<Conformance, Fatal> {
    let fatal = |error: String| Fatal {
        command: plan.command.text().to_owned(),
        error,
    };
    let lab = connect(&plan.redis, &ConnectOptions::default())
        .await
        .map_err(|e| {
            fatal(format!(
                "could not be checked: Redis at {}: {e}",
                plan.redis
            ))
        })?;
    let mut s = Script {
        plan,
        lab,
        checks: Vec::new(),
        keys: Vec::new(),
    };
    let spec_a = s.spec("c1", 1);
    let mut a = s.spawn(&spec_a).await.map_err(|e| fatal(e.to_string()))?;
    let lock = a.protocol_name().to_owned();
    s.pass(
        "start-up",
        format!("said ready as {lock:?} (pid {})", a.pid()),
    );
    script(&mut s, &mut a, &spec_a).await;
    let cleanup = redis::cmd("DEL").arg(&s.keys).clone();
    let _ = s.lab.query::<u64>(&cleanup).await;
    Ok(Conformance {
        command: plan.command.text().to_owned(),
        lock,
        checks: s.checks,
    })
}

fn keys_of(spec: &WorkerSpec) -> Keys {
    Keys {
        lock: spec.lock_key.clone(),
        resource: spec.resource_key.clone(),
    }
}

async fn script(s: &mut Script<'_>, a: &mut WorkerHandle, spec_a: &WorkerSpec) {
    match a.ping().await {
        Ok(()) => s.pass("ping", "pong"),
        Err(e) => s.fail("ping", told(a, e)),
    }
    free_and_held(s, a, spec_a).await;
    write_and_release(s, a, &spec_a.lock_key).await;
    lease_runs_out(s).await;
    let spec_c = s.spec("c1", 2);
    reset(s, a, &spec_c).await;
    acquire_within(s, a, &spec_c.lock_key).await;
    let spec_r = s.spec("c1", 3);
    retry_ops(s, a, &spec_r).await;
    if !bad_lines(s, a).await {
        return;
    }
    let spec_o = s.spec("c1", 5);
    ordering(s, a, &spec_o).await;
    renewals::renewals(s).await;
    another_version(s).await;
    quit(s, a).await;
}

/// A free lock, then a held one (by a second worker, which then sees its
/// stdin close).
async fn free_and_held(s: &mut Script<'_>, a: &mut WorkerHandle, spec_a: &WorkerSpec) {
    let key = spec_a.lock_key.clone();
    match a.perform(Call::now(ClientOp::Acquire), "").await {
        Ok(Outcome::Granted { token, .. }) => match s.exists(&key).await {
            Ok(true) => s.pass(
                "acquire a free lock",
                format!("granted (token {})", token.as_deref().unwrap_or("none")),
            ),
            Ok(false) => s.fail(
                "acquire a free lock",
                format!("granted, but the key {key} the lab gave is not on Redis: the lock must use exactly that key"),
            ),
            Err(e) => s.fail("acquire a free lock", e),
        },
        Ok(other) => s.fail(
            "acquire a free lock",
            format!("answered {other} for a lock nobody holds (want granted)"),
        ),
        Err(e) => s.fail("acquire a free lock", told(a, e)),
    }
    let mut spec_b = s.spec("c2", 1);
    spec_b.lock_key = key;
    match s.spawn(&spec_b).await {
        Ok(mut b) => {
            match b.perform(Call::now(ClientOp::Acquire), "").await {
                Ok(Outcome::Busy) => s.pass("acquire a held lock", "busy"),
                Ok(Outcome::Believed) => s.pass(
                    "acquire a held lock",
                    "refused, and believed anyway (a lock that ignores the reply)",
                ),
                Ok(other) => s.fail(
                    "acquire a held lock",
                    format!("answered {other} while another client holds it (want busy)"),
                ),
                Err(e) => s.fail("acquire a held lock", told(&b, e)),
            }
            match b.close_stdin(s.plan.deadline).await {
                Some(status) if status.success() => s.pass("stdin closing", "exited 0"),
                Some(status) => s.fail("stdin closing", format!("exited with {status} (want 0)")),
                None => s.fail(
                    "stdin closing",
                    format!(
                        "still running {:?} after its stdin closed: a worker must exit at end of input",
                        s.plan.deadline
                    ),
                ),
            }
        }
        Err(e) => s.fail("acquire a held lock", e.to_string()),
    }
}

/// Write, release, release again.
async fn write_and_release(s: &mut Script<'_>, a: &mut WorkerHandle, key: &str) {
    match a.perform(Call::now(ClientOp::Write), "c1 write 1").await {
        Ok(Outcome::Accepted) => s.pass(
            "write",
            "answered with its token (write-with); the lab's write was accepted",
        ),
        Ok(other) => s.fail("write", format!("the lab's write was {other}")),
        Err(e) => s.fail("write", told(a, e)),
    }
    match a.perform(Call::now(ClientOp::Release), "").await {
        Ok(o @ (Outcome::Released | Outcome::Deleted)) => match s.exists(key).await {
            Ok(false) => s.pass("release", format!("{o}; the key is gone")),
            Ok(true) => s.fail(
                "release",
                "answered released, but the key is still on Redis",
            ),
            Err(e) => s.fail("release", e),
        },
        Ok(other) => s.fail(
            "release",
            format!(
                "answered {other} for a lock it holds (want released, or deleted for a plain DEL)"
            ),
        ),
        Err(e) => s.fail("release", told(a, e)),
    }
    match a.perform(Call::now(ClientOp::Release), "").await {
        Err(OpError { definite: true, .. }) => {
            s.pass("release without a grant", "a definite error")
        }
        Err(e) => s.fail(
            "release without a grant",
            format!(
                "an error ({}), but not definite: nothing was sent, so say \"definite\":true",
                e.message
            ),
        ),
        Ok(other) => s.fail(
            "release without a grant",
            format!("answered {other} for a lock it does not hold (want a definite error)"),
        ),
    }
}

/// A grant whose lease ran out is released as `not-held` — unless the lock
/// renews its lease while its holder lives (a watchdog thread), which is
/// not wrong: its key then outlives the lease. A key with no expiry at all
/// is refused: its lease can never run out on Redis, so a crashed holder
/// blocks everyone for good, and the lab's models (a lease of `ttl` ticks)
/// do not describe it. Renewing locks are judged by a later model.
async fn lease_runs_out(s: &mut Script<'_>) {
    const NAME: &str = "release after the lease ran out";
    let spec = s.spec_with("c4", 6, s.plan.lease);
    let key = spec.lock_key.clone();
    let mut w = match s.spawn(&spec).await {
        Ok(w) => w,
        Err(e) => return s.fail(NAME, e.to_string()),
    };
    let a = &mut w;
    match a.perform(Call::now(ClientOp::Acquire), "").await {
        Ok(Outcome::Granted { .. }) => {}
        Ok(other) => return s.fail(NAME, format!("the acquire answered {other}")),
        Err(e) => return s.fail(NAME, told(a, e)),
    }
    match s.pttl(&key).await {
        Ok(-1) => {
            return s.fail(
                NAME,
                format!(
                    "the lock set no expiry on its key (PTTL -1, asked for a lease of {:?}): its lease never runs out on Redis, which no model of the lab describes",
                    s.plan.lease
                ),
            )
        }
        Ok(_) => {}
        Err(e) => return s.fail(NAME, e),
    }
    let renews = match s.until_gone(&key).await {
        Ok(gone) => !gone,
        Err(e) => return s.fail(NAME, e),
    };
    match (renews, a.perform(Call::now(ClientOp::Release), "").await) {
        (false, Ok(o @ (Outcome::NotHeld | Outcome::NothingToDelete))) => s.pass(NAME, o.to_string()),
        (false, Ok(other)) => s.fail(
            NAME,
            format!("answered {other}; the key had expired, so nothing was ours (want not-held)"),
        ),
        (true, Ok(Outcome::Released)) => s.pass(
            NAME,
            format!(
                "the lease never ran out: the lock renews it (the key outlived three leases of {:?}); released",
                s.plan.lease
            ),
        ),
        (true, Ok(other)) => s.fail(
            NAME,
            format!("the lock kept its key past three leases, yet its release answered {other} (want released)"),
        ),
        (_, Err(e)) => s.fail(NAME, told(a, e)),
    }
}

async fn reset(s: &mut Script<'_>, a: &mut WorkerHandle, spec: &WorkerSpec) {
    if let Err(e) = a.reset(&keys_of(spec)).await {
        return s.fail("reset", told(a, e));
    }
    match a.perform(Call::now(ClientOp::Acquire), "").await {
        Ok(Outcome::Granted { .. }) if s.exists(&spec.lock_key).await == Ok(true) => {
            let _ = a.perform(Call::now(ClientOp::Release), "").await;
            s.pass("reset", "the next grant is on the new key")
        }
        Ok(other) => s.fail(
            "reset",
            format!("after a reset the acquire answered {other}, or used the old key"),
        ),
        Err(e) => s.fail("reset", told(a, e)),
    }
}

/// `acquire-within`: the lock's own waiting. A definite error is allowed
/// (the lab then polls `acquire`).
async fn acquire_within(s: &mut Script<'_>, a: &mut WorkerHandle, key: &str) {
    const NAME: &str = "acquire-within";
    let answered = match a
        .request(&Request::AcquireWithin { deadline_ms: 100 })
        .await
    {
        Ok(reply) => reply.into_outcome(ClientOp::Acquire),
        Err(e) => return s.fail(NAME, told(a, e)),
    };
    match answered {
        Ok(Outcome::Granted { .. }) => match s.exists(key).await {
            Ok(true) => {
                let _ = a.perform(Call::now(ClientOp::Release), "").await;
                s.pass(NAME, "granted a free lock")
            }
            Ok(false) => s.fail(NAME, format!("granted, but the key {key} is not on Redis")),
            Err(e) => s.fail(NAME, e),
        },
        Err(OpError {
            definite: true,
            message,
            ..
        }) => s.pass(
            NAME,
            format!(
                "not supported ({}): the lab polls acquire instead",
                cut(&message, 120)
            ),
        ),
        Ok(other) => s.fail(
            NAME,
            format!("answered {other} for a free lock (want granted)"),
        ),
        Err(e) => s.fail(NAME, told(a, e)),
    }
}

/// The retry fault's two operations: a lost acquire must run on Redis (the
/// key appears) while the client keeps nothing of it, and its resend is
/// answered as an acquire. A definite error to both is allowed: the lab
/// then skips the retry fault for this lock.
async fn retry_ops(s: &mut Script<'_>, a: &mut WorkerHandle, spec: &WorkerSpec) {
    const NAME: &str = "acquire-lost, acquire-resent";
    if let Err(e) = a.reset(&keys_of(spec)).await {
        return s.fail(NAME, told(a, e));
    }
    let key = &spec.lock_key;
    match a.perform(PROBED[0], "").await {
        Err(OpError {
            definite: true,
            message,
            ..
        }) => {
            return s.pass(
                NAME,
                format!(
                    "not supported ({}): the retry fault is skipped for this lock",
                    cut(&message, 120)
                ),
            )
        }
        Ok(Outcome::Granted { .. }) if s.exists(key).await == Ok(true) => {}
        Ok(other) => {
            return s.fail(
                NAME,
                format!("acquire-lost answered {other} on a free lock, or set no key (want granted, the key on Redis)"),
            )
        }
        Err(e) => return s.fail(NAME, told(a, e)),
    }
    let resent = a.perform(PROBED[1], "").await;
    let detail = match &resent {
        Ok(o @ Outcome::Granted { .. }) => {
            format!("the resend was {o}: the lock knows its own request")
        }
        Ok(o) => format!("the resend was {o}: the lock does not know its own request"),
        Err(e) => return s.fail(NAME, format!("acquire-resent: {}", told(a, e))),
    };
    if resent.as_ref().is_ok_and(Outcome::gives_belief) {
        let _ = a.perform(Call::now(ClientOp::Release), "").await;
    }
    s.pass(NAME, detail);
}

/// A line that is not JSON and an unknown op: each an error, and the
/// worker goes on. `false` if the worker is gone.
async fn bad_lines(s: &mut Script<'_>, a: &mut WorkerHandle) -> bool {
    for (name, line) in [
        ("a line that is not JSON", "this is not json"),
        ("an unknown op", r#"{"op":"frobnicate"}"#),
    ] {
        let answered = async {
            a.send_line(line).await?;
            a.recv().await
        }
        .await;
        match answered {
            Ok(reply) if reply.failure().is_some() => match a.ping().await {
                Ok(()) => s.pass(name, "an error, and the worker goes on"),
                Err(e) => s.fail(name, format!("answered an error, then: {}", told(a, e))),
            },
            Ok(reply) => s.fail(
                name,
                format!("answered {} (want an err line)", reply.to_line()),
            ),
            Err(e) => {
                s.fail(name, told(a, e));
                return false;
            }
        }
    }
    true
}

/// Three requests at once, on fresh keys: answered in order, and nothing
/// more.
async fn ordering(s: &mut Script<'_>, a: &mut WorkerHandle, spec: &WorkerSpec) {
    const NAME: &str = "three requests at once";
    if let Err(e) = a.reset(&keys_of(spec)).await {
        return s.fail(NAME, told(a, e));
    }
    let sent = async {
        for r in [Request::Acquire, Request::Ping, Request::Release] {
            a.send(&r).await?;
        }
        let first = a.recv().await?;
        let second = a.recv().await?;
        let third = a.recv().await?;
        Ok::<_, WorkerError>((first, second, third))
    }
    .await;
    match sent {
        Ok((acq, ping, rel)) => {
            let acq = acq.into_outcome(ClientOp::Acquire);
            let ping = ping.into_control(Control::Pong);
            let rel = rel.into_outcome(ClientOp::Release);
            match (&acq, &ping, &rel) {
                (
                    Ok(Outcome::Granted { .. }),
                    Ok(()),
                    Ok(Outcome::Released | Outcome::Deleted),
                ) => {
                    s.pass(NAME, "answered in order")
                }
                _ => s.fail(
                    NAME,
                    format!("answers out of order or wrong: acquire → {acq:?}, ping → {ping:?}, release → {rel:?}"),
                ),
            }
        }
        Err(e) => s.fail(NAME, told(a, e)),
    }
    match a.unsolicited(Duration::from_millis(200)).await {
        None => s.pass("nothing unasked", "no line without a request"),
        Some(line) => s.fail(
            "nothing unasked",
            format!("printed {:?} with no request pending: stdout is for replies only, logs go to stderr", cut(&line, 120)),
        ),
    }
}

async fn another_version(s: &mut Script<'_>) {
    const NAME: &str = "another protocol version";
    let spec_d = s.spec("c3", 4);
    let mut newer = spec_d.start();
    newer.version = super::PROTOCOL_VERSION + 1;
    newer.max_version = Some(newer.version);
    match WorkerHandle::start_with(&s.plan.command, &spec_d, &newer).await {
        Ok(w) => s.fail(
            NAME,
            format!(
                "said ready (pid {}) to a start-up message of version {}: it must refuse it",
                w.pid(),
                newer.version
            ),
        ),
        Err(WorkerError::NotReady { .. }) => s.fail(
            NAME,
            format!("said nothing within {:?} to a start-up message of version {}: refuse it with an err line and exit", s.plan.deadline, newer.version),
        ),
        Err(e) => s.pass(NAME, format!("refused: {}", cut(&e.to_string(), 160))),
    }
}

async fn quit(s: &mut Script<'_>, a: &mut WorkerHandle) {
    match a
        .request(&Request::Quit)
        .await
        .map(|r| r.into_control(Control::Bye))
    {
        Ok(Ok(())) => match a.close_stdin(s.plan.deadline).await {
            Some(status) if status.success() => s.pass("quit", "bye, and exited 0"),
            Some(status) => s.fail("quit", format!("said bye, then exited with {status}")),
            None => s.fail(
                "quit",
                format!(
                    "said bye, but was still running {:?} later",
                    s.plan.deadline
                ),
            ),
        },
        Ok(Err(e)) => s.fail("quit", format!("answered quit with {e}")),
        Err(e) => s.fail("quit", told(a, e)),
    }
}
