//! The conductor: plays a model path against real Redis, one step at a
//! time, each client doing exactly the step it is told, and records the
//! history.
//!
//! - A tick is a fixed real duration; the lease is `ttl` ticks. Time is kept
//!   relative to the moment the current lease was granted, so after `k`
//!   ticks the conductor has waited `k` ticks since the grant.
//! - "The lease runs out" is observed on Redis (the key is gone), not
//!   assumed from a sleep: the tick that ends a lease waits until Redis has
//!   expired the key.
//! - A pause is the conductor withholding the client's next step.
//! - A delayed reply is a request sent whose reply is not read until the
//!   `deliver` step; the conductor waits until Redis has executed it (the
//!   key exists) before going on.
//!
//! Alongside, the conductor follows the same path in the model and compares
//! what Redis did at each step with what the model expected (a grant, a
//! removal, an accepted write); the first difference is reported as a
//! divergence.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use locklab_impl::{
    connect, AnyLock, Attempt, Conn, ConnectOptions, FencedResource, Grant, LockError,
    PlainResource, Protocol as ImplProtocol, Ttl,
};
use locklab_model::path::Taken;
use locklab_model::{LockModel, Scenario, Step, World};
use tokio::task::JoinHandle;

use super::keys::{KeySpace, ReplayKeys};
use crate::history::{self, AcquireOutcome, History, Op, Recorder, ReleaseOutcome, WriteOutcome};
use crate::server::RedisServer;

/// Where and how replays play.
#[derive(Clone, Debug)]
pub struct Stage {
    /// The Redis server.
    pub url: String,
    /// Whether the lab started that server (and may start more): a schedule
    /// that restarts Redis then gets a server of its own for the lock, so
    /// the restart touches nothing else; the resource stays on `url`, as
    /// another system would.
    pub embedded: bool,
    /// One model tick, in real time.
    pub tick: Duration,
    /// Timeouts of the clients' connections.
    pub connect: ConnectOptions,
    /// The run's key prefix.
    pub keys: KeySpace,
}

/// A replay that could not be played.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// Redis was unusable.
    #[error("redis: {0}")]
    Redis(#[from] LockError),
    /// The lab could not set the replay up.
    #[error("replay set-up: {0}")]
    Setup(String),
    /// The schedule restarts Redis, and the server is not the lab's.
    #[error(
        "the schedule restarts Redis, which the lab does only to servers it started (drop --redis)"
    )]
    CannotRestart,
    /// A server the lab needed could not be started or restarted.
    #[error("redis-server: {0}")]
    Server(#[from] crate::server::ServerError),
    /// Redis did not expire a lease in time.
    #[error("the lease of {key} did not run out on Redis within {waited:?}")]
    LeaseStuck {
        /// The lock key.
        key: String,
        /// How long the conductor waited.
        waited: Duration,
    },
}

/// One replay, played.
#[derive(Clone, Debug)]
pub struct Played {
    /// What was played.
    pub scenario: Scenario,
    /// The steps.
    pub steps: Vec<Step>,
    /// The model's states along the path (initial state first).
    pub states: Vec<World>,
    /// How the model took each step (the schedule may come from another
    /// protocol, which lets clients in where this one makes them wait).
    pub taken: Vec<Taken>,
    /// What Redis did.
    pub history: History,
    /// The first step where Redis did not do what the model expected.
    pub divergence: Option<String>,
    /// The first step the conductor played later than its tick allows: the
    /// run's timing no longer matches the model's, so it is not judged.
    pub overrun: Option<String>,
}

/// An acquire whose reply is still in flight: its event, and the task that
/// will read the reply.
type InFlight = (usize, JoinHandle<Result<Attempt, LockError>>);

struct Client {
    name: String,
    lock: AnyLock,
    grant: Option<Grant>,
    in_flight: Option<InFlight>,
    writes: u32,
}

fn impl_protocol(scenario: &Scenario) -> ImplProtocol {
    match scenario.protocol {
        locklab_model::Protocol::Naive => ImplProtocol::Naive,
        locklab_model::Protocol::NaiveUnchecked => ImplProtocol::NaiveUnchecked,
        locklab_model::Protocol::Token => ImplProtocol::Token,
        locklab_model::Protocol::Fenced => ImplProtocol::Fenced,
    }
}

enum Resource {
    Fenced(FencedResource),
    Plain(PlainResource),
}

/// The conductor of one replay.
struct Conductor<'a> {
    stage: &'a Stage,
    keys: ReplayKeys,
    /// The lock's own server, when the schedule restarts Redis.
    server: Option<Arc<Mutex<RedisServer>>>,
    /// The lab's connection to the lock's server (to observe the key).
    lab: Conn,
    /// The lab's connection to the resource's server.
    resource_conn: Conn,
    clients: Vec<Client>,
    resource: Resource,
    rec: Recorder,
    lease_granted: Option<Instant>,
    divergence: Option<String>,
    overrun: Option<String>,
}

/// Plays `steps` of `scenario` against the stage's Redis as replay number
/// `n` (which picks its keys), and deletes its keys afterwards.
pub async fn play(
    stage: &Stage,
    n: usize,
    scenario: Scenario,
    steps: &[Step],
) -> Result<Played, ReplayError> {
    let model = LockModel::new(scenario);
    let walk = model.walk(steps);
    let keys = stage.keys.replay(n)?;
    // A private server for the lock when the schedule restarts Redis.
    let private = if steps.contains(&Step::Restart) {
        if !stage.embedded {
            return Err(ReplayError::CannotRestart);
        }
        let server = tokio::task::spawn_blocking(RedisServer::start)
            .await
            .map_err(|e| ReplayError::Setup(e.to_string()))??;
        Some(Arc::new(Mutex::new(server)))
    } else {
        None
    };
    let lock_url = match &private {
        Some(server) => server
            .lock()
            .map_err(|e| ReplayError::Setup(e.to_string()))?
            .url(),
        None => stage.url.clone(),
    };
    let lab = connect(&lock_url, &stage.connect).await?;
    let resource_conn = connect(&stage.url, &stage.connect).await?;
    let ttl = Ttl::new(stage.tick * u32::from(scenario.ttl))?;
    let mut clients = Vec::new();
    for i in 0..scenario.clients {
        let conn = connect(&lock_url, &stage.connect).await?;
        clients.push(Client {
            name: format!("c{}", i + 1),
            lock: AnyLock::new(impl_protocol(&scenario), conn, keys.lock.clone(), ttl),
            grant: None,
            in_flight: None,
            writes: 0,
        });
    }
    let resource = if scenario.protocol.rules().fencing {
        Resource::Fenced(FencedResource::new(
            resource_conn.clone(),
            keys.resource.clone(),
        ))
    } else {
        Resource::Plain(PlainResource::new(
            resource_conn.clone(),
            keys.resource.clone(),
        ))
    };
    let mut conductor = Conductor {
        stage,
        keys,
        server: private,
        lab,
        resource_conn,
        clients,
        resource,
        rec: Recorder::new(),
        lease_granted: None,
        divergence: None,
        overrun: None,
    };
    let played = conductor
        .run(&model, steps, &walk.states, &walk.taken)
        .await;
    let cleanup = stage
        .keys
        .delete(&conductor.resource_conn, &conductor.keys.pattern)
        .await;
    for c in &mut conductor.clients {
        if let Some((_, task)) = c.in_flight.take() {
            task.abort();
        }
    }
    played?;
    cleanup?;
    Ok(Played {
        scenario,
        steps: steps.to_vec(),
        states: walk.states,
        taken: walk.taken,
        history: conductor.rec.finish(),
        divergence: conductor.divergence,
        overrun: conductor.overrun,
    })
}

impl Conductor<'_> {
    async fn run(
        &mut self,
        model: &LockModel,
        steps: &[Step],
        states: &[World],
        taken: &[Taken],
    ) -> Result<(), ReplayError> {
        let rules = model.scenario().protocol.rules();
        let ttl = model.scenario().ttl;
        for (i, &step) in steps.iter().enumerate() {
            let (before, after) = (&states[i], &states[i + 1]);
            if taken[i] != Taken::Skipped && step != Step::Tick {
                self.check_on_time(i, step, before, ttl);
            }
            match (taken[i], step) {
                (Taken::Skipped, _) => continue,
                (Taken::Waits, Step::Acquire { client }) => {
                    let c = client.index();
                    let started = Instant::now();
                    let idx = self.rec.invoke(&self.clients[c].name, pending_acquire());
                    let attempt = self.clients[c].lock.try_acquire().await;
                    let attempt = attempt.map_err(|e| e.to_string());
                    let granted = self.settle_acquire(c, idx, Some(started), attempt);
                    self.expect(i, step, !granted, || {
                        "model expected the lock to be busy".to_owned()
                    });
                    continue;
                }
                _ => {}
            }
            match step {
                Step::Acquire { client } => {
                    let c = client.index();
                    let started = Instant::now();
                    let idx = self.rec.invoke(&self.clients[c].name, pending_acquire());
                    let attempt = self.clients[c].lock.try_acquire().await;
                    let attempt = attempt.map_err(|e| e.to_string());
                    let granted = self.settle_acquire(c, idx, Some(started), attempt);
                    let expected = before.lease.is_none();
                    self.expect(i, step, expected == granted, || {
                        format!("model expected the SET NX to {}", grant_word(expected))
                    });
                }
                Step::AcquireDelayed { client } => {
                    let c = client.index();
                    let started = Instant::now();
                    let idx = self.rec.invoke(&self.clients[c].name, pending_acquire());
                    let lock = self.clients[c].lock.clone();
                    let task = tokio::spawn(async move { lock.try_acquire().await });
                    self.clients[c].in_flight = Some((idx, task));
                    // Redis must have run it before anything else happens.
                    let present = self.wait_for_key(true, self.stage.tick * 10).await?;
                    self.expect(i, step, present, || {
                        "the delayed acquire never set the key".to_owned()
                    });
                    if present {
                        // Granted on Redis; the client does not know yet.
                        self.rec.observe(
                            idx,
                            Op::Acquire {
                                outcome: AcquireOutcome::Granted,
                                token: None,
                                fence: None,
                            },
                        );
                    }
                    self.lease_granted = Some(started);
                }
                Step::Deliver { client } => {
                    let c = client.index();
                    if let Some((idx, task)) = self.clients[c].in_flight.take() {
                        let attempt = match task.await {
                            Ok(attempt) => attempt.map_err(|e| e.to_string()),
                            Err(join) => Err(join.to_string()),
                        };
                        self.settle_acquire(c, idx, None, attempt);
                    }
                }
                Step::Write { client } => {
                    let accepted = self.write(client.index()).await;
                    let expected =
                        !rules.fencing || before.client(client).fence >= before.resource_max;
                    self.expect(i, step, accepted == Some(expected), || {
                        format!(
                            "model expected the resource to {} the write",
                            if expected { "accept" } else { "refuse" }
                        )
                    });
                }
                Step::Release { client } => {
                    let removed = self.release(client.index()).await;
                    let expected = before.lease.is_some()
                        && (rules.release == locklab_model::protocol::Release::Del
                            || before.lease.is_some_and(|l| l.owner == client));
                    self.expect(i, step, removed == Some(expected), || {
                        format!(
                            "model expected the release to {}",
                            if expected {
                                "remove the key"
                            } else {
                                "leave Redis as it was"
                            }
                        )
                    });
                }
                Step::Tick => self.tick(before, after, ttl).await?,
                Step::Pause { client } => self
                    .rec
                    .instant(&self.clients[client.index()].name, Op::Pause),
                Step::Resume { client } => self
                    .rec
                    .instant(&self.clients[client.index()].name, Op::Resume),
                Step::Crash { client } => {
                    let c = &mut self.clients[client.index()];
                    if let Some((_, task)) = c.in_flight.take() {
                        task.abort();
                    }
                    c.grant = None;
                    let name = c.name.clone();
                    self.rec.instant(&name, Op::Crash);
                }
                Step::Restart => self.restart().await?,
            }
        }
        Ok(())
    }

    /// Records an acquire's outcome; returns whether Redis set the key.
    /// `started` is when the request was sent, which starts the lease's
    /// clock for an acquire read at once (`Some`); a delayed reply's lease
    /// clock started when Redis ran it (`None` here).
    fn settle_acquire(
        &mut self,
        c: usize,
        idx: usize,
        started: Option<Instant>,
        attempt: Result<Attempt, String>,
    ) -> bool {
        let (outcome, token, fence, server_granted) = match attempt {
            Ok(Attempt::Granted(grant)) => {
                let server = grant.server_granted();
                let outcome = if server {
                    AcquireOutcome::Granted
                } else {
                    AcquireOutcome::Believed
                };
                let token = grant.token().map(|t| t.to_string());
                let fence = grant.fence();
                self.clients[c].grant = Some(grant);
                (outcome, token, fence, server)
            }
            Ok(Attempt::Busy) => (AcquireOutcome::Busy, None, None, false),
            Err(e) => (AcquireOutcome::Failed(e), None, None, false),
        };
        if let (true, Some(started)) = (server_granted, started) {
            self.lease_granted = Some(started);
        }
        self.rec.complete(
            idx,
            Op::Acquire {
                outcome,
                token,
                fence,
            },
        );
        server_granted
    }

    /// Writes to the resource; returns whether it was accepted (`None`:
    /// the write failed).
    async fn write(&mut self, c: usize) -> Option<bool> {
        let client = &mut self.clients[c];
        client.writes += 1;
        let data = format!("{} write {}", client.name, client.writes);
        let fence = client.grant.as_ref().and_then(Grant::fence);
        let name = client.name.clone();
        let idx = self.rec.invoke(
            &name,
            Op::Write {
                fence,
                outcome: WriteOutcome::Failed("no reply".into()),
            },
        );
        let result = match (&self.resource, fence) {
            (Resource::Fenced(r), Some(f)) => r.write(f, &data).await,
            (Resource::Fenced(r), None) => r.write(0, &data).await,
            (Resource::Plain(r), _) => r.write(&data).await,
        };
        let (outcome, accepted) = match result {
            Ok(locklab_impl::WriteOutcome::Accepted) => (WriteOutcome::Accepted, Some(true)),
            Ok(locklab_impl::WriteOutcome::Refused { highest }) => {
                (WriteOutcome::Refused { highest }, Some(false))
            }
            Err(e) => (WriteOutcome::Failed(e.to_string()), None),
        };
        self.rec.complete(idx, Op::Write { fence, outcome });
        accepted
    }

    /// Releases; returns whether a key was removed (`None`: failed or no
    /// grant to release).
    async fn release(&mut self, c: usize) -> Option<bool> {
        let name = self.clients[c].name.clone();
        let idx = self.rec.invoke(
            &name,
            Op::Release {
                outcome: ReleaseOutcome::Failed("no reply".into()),
            },
        );
        let grant = self.clients[c].grant.take()?;
        let (outcome, removed) = match self.clients[c].lock.release(&grant).await {
            Ok(o) => {
                let removed = o.removed_a_key();
                let outcome = match o {
                    locklab_impl::ReleaseOutcome::Released => ReleaseOutcome::Released,
                    locklab_impl::ReleaseOutcome::NotHeld => ReleaseOutcome::NotHeld,
                    locklab_impl::ReleaseOutcome::Deleted => ReleaseOutcome::Deleted,
                    locklab_impl::ReleaseOutcome::NothingToDelete => {
                        ReleaseOutcome::NothingToDelete
                    }
                };
                (outcome, Some(removed))
            }
            Err(e) => (ReleaseOutcome::Failed(e.to_string()), None),
        };
        self.rec.complete(idx, Op::Release { outcome });
        removed
    }

    /// One tick of model time. The tick that ends a lease waits until Redis
    /// has expired the key; any other tick waits until that many ticks have
    /// passed since the grant.
    async fn tick(&mut self, before: &World, after: &World, ttl: u8) -> Result<(), ReplayError> {
        let granted = self.lease_granted.unwrap_or_else(Instant::now);
        match (before.lease, after.lease) {
            (Some(_), None) => {
                let budget = self.stage.tick * (u32::from(ttl) + 10);
                let waited_from = Instant::now();
                if !self.wait_for_key(false, budget).await? {
                    return Err(ReplayError::LeaseStuck {
                        key: self.keys.lock.as_str().to_owned(),
                        waited: waited_from.elapsed(),
                    });
                }
                self.lease_granted = None;
                self.rec.instant("lab", Op::Expired);
            }
            (_, Some(lease)) => {
                let elapsed_ticks = u32::from(ttl.saturating_sub(lease.ttl));
                let until = granted + self.stage.tick * elapsed_ticks;
                tokio::time::sleep_until(until.into()).await;
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// Kills the lock's server (SIGKILL) and starts it again on the same
    /// port, empty; then waits until every client's connection works again,
    /// so the next step is not spent reconnecting.
    async fn restart(&mut self) -> Result<(), ReplayError> {
        let server = self.server.clone().ok_or(ReplayError::CannotRestart)?;
        tokio::task::spawn_blocking(move || -> Result<(), ReplayError> {
            let mut server = server
                .lock()
                .map_err(|e| ReplayError::Setup(e.to_string()))?;
            server.kill()?;
            server.restart()?;
            Ok(())
        })
        .await
        .map_err(|e| ReplayError::Setup(e.to_string()))??;
        self.lease_granted = None;
        self.rec.instant("lab", Op::Restart);
        let conns: Vec<Conn> = std::iter::once(self.lab.clone())
            .chain(self.clients.iter().map(|c| c.lock.conn().clone()))
            .collect();
        for conn in conns {
            // The first command on a broken connection fails and replaces
            // it; the next one goes through.
            for _ in 0..5 {
                if conn.ping().await.is_ok() {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Polls Redis until the lock key is (or is not) there, up to `budget`;
    /// returns whether it got there.
    async fn wait_for_key(&self, present: bool, budget: Duration) -> Result<bool, ReplayError> {
        let deadline = Instant::now() + budget;
        loop {
            let exists: bool = self
                .lab
                .query(redis::cmd("EXISTS").arg(self.keys.lock.as_str()))
                .await?;
            if exists == present {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// A step must happen within the tick the model is in: with `L` ticks
    /// of the lease left, that is before `ttl - L + 1` ticks have passed
    /// since the grant. A machine too busy to keep up (a CPU-starved CI
    /// runner) makes the run late, and a late run proves nothing either way:
    /// it is marked, not judged.
    fn check_on_time(&mut self, i: usize, step: Step, before: &World, ttl: u8) {
        let (Some(granted), Some(lease)) = (self.lease_granted, before.lease) else {
            return;
        };
        let window_ends = granted + self.stage.tick * u32::from(ttl - lease.ttl + 1);
        let now = Instant::now();
        if now >= window_ends && self.overrun.is_none() {
            self.overrun = Some(format!(
                "step {} ({step}) ran {:.1} ms past its tick (1 tick = {} ms): the machine did not keep up",
                i + 1,
                (now - window_ends).as_secs_f64() * 1000.0,
                self.stage.tick.as_millis()
            ));
        }
    }

    fn expect(&mut self, i: usize, step: Step, ok: bool, why: impl FnOnce() -> String) {
        if !ok && self.divergence.is_none() {
            self.divergence = Some(format!("step {} ({step}): {}", i + 1, why()));
        }
    }
}

fn pending_acquire() -> Op {
    Op::Acquire {
        outcome: AcquireOutcome::Failed("no reply read".into()),
        token: None,
        fence: None,
    }
}

fn grant_word(granted: bool) -> &'static str {
    if granted {
        "succeed"
    } else {
        "fail"
    }
}

/// The history checker's findings on a played replay.
pub fn findings(played: &Played) -> Vec<history::Finding> {
    history::check(&played.history)
}
