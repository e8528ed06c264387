//! The conductor: plays a model path against real Redis, one step at a
//! time, each client doing exactly the step it is told, and records the
//! history.
//!
//! - A tick is a fixed real duration; the lease is `ttl` ticks. Time is kept
//!   relative to the moment the current lease was granted, so after `k`
//!   ticks the conductor has waited `k` ticks since the grant, and every
//!   step must happen within the tick the model is in (a run that falls
//!   behind is marked late and not judged).
//! - "The lease runs out" is observed on Redis (the key is gone), not
//!   assumed from a sleep: the tick that ends a lease waits until Redis has
//!   expired the key.
//! - Clients sit in the lab's process or in worker processes
//!   ([`super::seat`]): a pause is withholding steps, or SIGSTOP; a delayed
//!   reply is read late, or held by the proxy; a crash drops the client, or
//!   SIGKILLs it. The conductor waits until Redis has run a delayed acquire
//!   (the key exists) before going on.
//!
//! Alongside, the conductor follows the same path in the model and compares
//! what Redis did at each step with what the model expected (a grant, a
//! removal, an accepted write); the first difference is reported as a
//! divergence.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use locklab_impl::{connect, Conn, ConnectOptions, LockError, Protocol as ImplProtocol, Ttl};
use locklab_model::path::Taken;
use locklab_model::protocol::Release;
use locklab_model::{LockModel, Scenario, Step, World};

use super::keys::{KeySpace, ReplayKeys};
use super::seat::{Clients, Seat, SeatSpec};
use crate::history::{AcquireOutcome, History, Op, Recorder, ReleaseOutcome, WriteOutcome};
use crate::server::RedisServer;
use crate::worker::{LabAttempt, LabRelease, LabWrite};

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
    /// Where the clients run.
    pub clients: Clients,
    /// Play this lock instead of the scenario's protocol (a peer such as
    /// `rslock`, judged against the model of the protocol it claims to
    /// follow); `None`: the scenario's own.
    pub lock: Option<String>,
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

/// A client of the replay: its seat, and what the conductor remembers of
/// it for the history.
struct Client {
    name: String,
    seat: Seat,
    /// The fencing token of its current grant, for the history.
    fence: Option<u64>,
    /// The event of its delayed acquire, while the reply is in flight.
    in_flight: Option<usize>,
    /// Paused (a worker is SIGSTOPped: it answers nothing until resumed).
    paused: bool,
    /// Redis restarted while the client could not answer (paused, or
    /// waiting for a reply), so its connection could not be made usable
    /// then: it is, as soon as the client can act again.
    needs_warm: bool,
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

/// The conductor of one replay.
struct Conductor<'a> {
    stage: &'a Stage,
    keys: ReplayKeys,
    protocol: ImplProtocol,
    /// The lock's own server, when the schedule restarts Redis.
    server: Option<Arc<Mutex<RedisServer>>>,
    /// The lab's connection to the lock's server (to observe the key).
    lab: Conn,
    /// The lab's connection to the resource's server.
    resource_conn: Conn,
    clients: Vec<Client>,
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
    let protocol = impl_protocol(&scenario);
    let lock_name = stage
        .lock
        .clone()
        .unwrap_or_else(|| scenario.protocol.name().to_owned());
    // A held reply must be the command's, never a NOSCRIPT that keeps the
    // real command from running.
    locklab_impl::scripts::preload(&lab).await?;
    let lock_addr = lock_addr(&lock_url)?;
    let ttl = Ttl::new(stage.tick * u32::from(scenario.ttl))?;
    let mut clients = Vec::new();
    for i in 0..scenario.clients {
        let name = format!("c{}", i + 1);
        let seat = Seat::open(
            &stage.clients,
            SeatSpec {
                name: name.clone(),
                lock: &lock_name,
                lock_url: &lock_url,
                lock_addr,
                resource_url: &stage.url,
                lock_key: &keys.lock,
                resource_key: &keys.resource,
                ttl,
                connect: &stage.connect,
            },
        )
        .await
        .map_err(ReplayError::Setup)?;
        let mut seat = seat;
        seat.warm().await;
        clients.push(Client {
            name,
            seat,
            fence: None,
            in_flight: None,
            paused: false,
            needs_warm: false,
            writes: 0,
        });
    }
    let mut conductor = Conductor {
        stage,
        keys,
        protocol,
        server: private,
        lab,
        resource_conn,
        clients,
        rec: Recorder::new(),
        lease_granted: None,
        divergence: None,
        overrun: None,
    };
    let played = conductor
        .run(&model, steps, &walk.states, &walk.taken)
        .await;
    for client in std::mem::take(&mut conductor.clients) {
        client.seat.close().await;
    }
    let cleanup = stage
        .keys
        .delete(&conductor.resource_conn, &conductor.keys.pattern)
        .await;
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

/// The socket address of a `redis://host:port/…` URL (the proxy's upstream).
fn lock_addr(url: &str) -> Result<std::net::SocketAddr, ReplayError> {
    let info: redis::ConnectionInfo = redis::IntoConnectionInfo::into_connection_info(url)
        .map_err(|e| ReplayError::Setup(format!("{url}: {e}")))?;
    let (host, port) = match info.addr() {
        redis::ConnectionAddr::Tcp(host, port) => (host.clone(), *port),
        other => {
            return Err(ReplayError::Setup(format!(
                "{url}: not a TCP address ({other})"
            )))
        }
    };
    std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .map_err(|e| ReplayError::Setup(format!("{url}: {e}")))?
        .next()
        .ok_or_else(|| ReplayError::Setup(format!("{url}: no address")))
}

impl Conductor<'_> {
    async fn run(
        &mut self,
        model: &LockModel,
        steps: &[Step],
        states: &[World],
        taken: &[Taken],
    ) -> Result<(), ReplayError> {
        let ttl = model.scenario().ttl;
        for (i, &step) in steps.iter().enumerate() {
            let (before, after) = (&states[i], &states[i + 1]);
            let clock = self.lease_granted;
            self.step(model, i, step, taken[i], before, after).await?;
            // A tick keeps time itself; a restart takes the lease with it
            // whenever it lands (and restarting a server takes a while).
            if taken[i] != Taken::Skipped && !matches!(step, Step::Tick | Step::Restart) {
                self.check_on_time(i, step, before, ttl, clock);
            }
        }
        Ok(())
    }

    /// Plays one step and compares what Redis did with what the model
    /// expected.
    async fn step(
        &mut self,
        model: &LockModel,
        i: usize,
        step: Step,
        taken: Taken,
        before: &World,
        after: &World,
    ) -> Result<(), ReplayError> {
        let rules = model.scenario().protocol.rules();
        let ttl = model.scenario().ttl;
        {
            match (taken, step) {
                (Taken::Skipped, _) => return Ok(()),
                (Taken::Waits, Step::Acquire { client }) => {
                    let granted = self.acquire(client.index()).await;
                    self.expect(i, step, !granted, || {
                        "model expected the lock to be busy".to_owned()
                    });
                    return Ok(());
                }
                _ => {}
            }
            match step {
                Step::Acquire { client } => {
                    let granted = self.acquire(client.index()).await;
                    let expected = before.lease.is_none();
                    self.expect(i, step, expected == granted, || {
                        format!(
                            "model expected the SET NX to {}",
                            if expected { "succeed" } else { "fail" }
                        )
                    });
                }
                Step::AcquireDelayed { client } => {
                    let present = self.send_delayed_acquire(client.index()).await?;
                    self.expect(i, step, present, || {
                        "the delayed acquire never set the key".to_owned()
                    });
                }
                Step::Deliver { client } => {
                    let believes = self.deliver(client.index()).await;
                    let expected = after.client(client).believes_it_holds();
                    self.expect(i, step, believes == expected, || {
                        format!(
                            "model expected the client to {} the delayed reply",
                            if expected {
                                "take the lock on"
                            } else {
                                "refuse"
                            }
                        )
                    });
                }
                Step::Write { client } => {
                    let accepted = self.write(client.index()).await;
                    let expected =
                        !rules.fencing || before.client(client).fence >= before.resource_max;
                    self.expect(i, step, accepted == Some(expected), || {
                        format!(
                            "model expected the resource to {} the write{}",
                            if expected { "accept" } else { "refuse" },
                            failed_note(accepted)
                        )
                    });
                }
                Step::Release { client } => {
                    let removed = self.release(client.index()).await;
                    let expected = before
                        .lease
                        .is_some_and(|l| rules.release == Release::Del || l.owner == client);
                    self.expect(i, step, removed == Some(expected), || {
                        format!(
                            "model expected the release to {}{}",
                            if expected {
                                "remove the key"
                            } else {
                                "leave Redis as it was"
                            },
                            failed_note(removed)
                        )
                    });
                }
                Step::Tick => self.tick(before, after, ttl).await?,
                Step::Pause { client } => {
                    let c = &mut self.clients[client.index()];
                    c.paused = true;
                    let paused = c.seat.pause().await;
                    let name = c.name.clone();
                    self.rec.instant(&name, Op::Pause);
                    self.expect(i, step, paused.is_ok(), || {
                        format!("could not pause: {}", paused.err().unwrap_or_default())
                    });
                }
                Step::Resume { client } => {
                    let c = &mut self.clients[client.index()];
                    c.paused = false;
                    let resumed = c.seat.resume().await;
                    let name = c.name.clone();
                    self.rec.instant(&name, Op::Resume);
                    self.warm_if_needed(client.index()).await;
                    self.expect(i, step, resumed.is_ok(), || {
                        format!("could not resume: {}", resumed.err().unwrap_or_default())
                    });
                }
                Step::Crash { client } => {
                    let c = &mut self.clients[client.index()];
                    c.seat.crash();
                    c.in_flight = None;
                    c.fence = None;
                    let name = c.name.clone();
                    self.rec.instant(&name, Op::Crash);
                }
                Step::Restart => self.restart().await?,
            }
        }
        Ok(())
    }

    /// One acquire, its reply read at once; returns whether Redis set the
    /// key.
    async fn acquire(&mut self, c: usize) -> bool {
        let started = Instant::now();
        let idx = self.rec.invoke(&self.clients[c].name, pending_acquire());
        let attempt = self.clients[c].seat.acquire().await;
        let granted = self.settle_acquire(c, idx, attempt);
        if granted {
            self.lease_granted = Some(started);
        }
        granted
    }

    /// Sends an acquire whose reply stays in flight, and waits until Redis
    /// has run it; returns whether the key appeared.
    async fn send_delayed_acquire(&mut self, c: usize) -> Result<bool, ReplayError> {
        let started = Instant::now();
        let idx = self.rec.invoke(&self.clients[c].name, pending_acquire());
        if let Err(e) = self.clients[c].seat.send_acquire().await {
            self.rec.complete(idx, failed_acquire(e));
            return Ok(false);
        }
        self.clients[c].in_flight = Some(idx);
        let present = wait_for_key(
            &self.lab,
            self.keys.lock.as_str(),
            true,
            self.stage.tick * 10,
        )
        .await?;
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
            self.lease_granted = Some(started);
        }
        Ok(present)
    }

    /// The delayed reply reaches the client. (The lease's clock started
    /// when Redis ran the acquire, not now.)
    /// Returns whether the client now believes it holds the lock.
    async fn deliver(&mut self, c: usize) -> bool {
        let Some(idx) = self.clients[c].in_flight.take() else {
            return false;
        };
        let attempt = self.clients[c].seat.deliver().await;
        let believes = matches!(
            attempt,
            Ok(LabAttempt::Granted { .. } | LabAttempt::Believed)
        );
        self.settle_acquire(c, idx, attempt);
        self.warm_if_needed(c).await;
        believes
    }

    /// Records an acquire's outcome; returns whether Redis set the key.
    fn settle_acquire(
        &mut self,
        c: usize,
        idx: usize,
        attempt: Result<LabAttempt, String>,
    ) -> bool {
        let (op, server_granted, fence) = match attempt {
            Ok(LabAttempt::Granted { token, fence }) => (
                Op::Acquire {
                    outcome: AcquireOutcome::Granted,
                    token,
                    fence,
                },
                true,
                fence,
            ),
            Ok(LabAttempt::Believed) => (
                Op::Acquire {
                    outcome: AcquireOutcome::Believed,
                    token: None,
                    fence: None,
                },
                false,
                None,
            ),
            Ok(LabAttempt::Busy) => (
                Op::Acquire {
                    outcome: AcquireOutcome::Busy,
                    token: None,
                    fence: None,
                },
                false,
                None,
            ),
            Err(e) => (failed_acquire(e), false, None),
        };
        if matches!(
            op,
            Op::Acquire {
                outcome: AcquireOutcome::Granted | AcquireOutcome::Believed,
                ..
            }
        ) {
            self.clients[c].fence = fence;
        }
        self.rec.complete(idx, op);
        server_granted
    }

    /// Writes to the resource; returns whether it was accepted (`None`:
    /// the write failed).
    async fn write(&mut self, c: usize) -> Option<bool> {
        let client = &mut self.clients[c];
        client.writes += 1;
        let data = format!("{} write {}", client.name, client.writes);
        let fence = if self.protocol == ImplProtocol::Fenced {
            Some(client.fence.unwrap_or(0))
        } else {
            None
        };
        let name = client.name.clone();
        let idx = self.rec.invoke(
            &name,
            Op::Write {
                fence,
                outcome: WriteOutcome::Failed("no reply".into()),
            },
        );
        let (outcome, accepted) = match self.clients[c].seat.write(&data).await {
            Ok(LabWrite::Accepted) => (WriteOutcome::Accepted, Some(true)),
            Ok(LabWrite::Refused { highest }) => (WriteOutcome::Refused { highest }, Some(false)),
            Err(e) => (WriteOutcome::Failed(e), None),
        };
        self.rec.complete(idx, Op::Write { fence, outcome });
        accepted
    }

    /// Releases; returns whether a key was removed (`None`: failed).
    async fn release(&mut self, c: usize) -> Option<bool> {
        let name = self.clients[c].name.clone();
        let idx = self.rec.invoke(
            &name,
            Op::Release {
                outcome: ReleaseOutcome::Failed("no reply".into()),
            },
        );
        let (outcome, removed) = match self.clients[c].seat.release().await {
            Ok(o) => {
                let outcome = match o {
                    LabRelease::Released => ReleaseOutcome::Released,
                    LabRelease::NotHeld => ReleaseOutcome::NotHeld,
                    LabRelease::Deleted => ReleaseOutcome::Deleted,
                    LabRelease::NothingToDelete => ReleaseOutcome::NothingToDelete,
                };
                (outcome, Some(o.removed_a_key()))
            }
            Err(e) => (ReleaseOutcome::Failed(e), None),
        };
        self.clients[c].fence = None;
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
                if !wait_for_key(&self.lab, self.keys.lock.as_str(), false, budget).await? {
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
    /// port, empty; then has every client make sure its connection works
    /// again, so the next step is not spent reconnecting.
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
        for _ in 0..5 {
            if self.lab.ping().await.is_ok() {
                break;
            }
        }
        locklab_impl::scripts::preload(&self.lab).await?;
        for c in &mut self.clients {
            if c.in_flight.is_some() || c.paused {
                c.needs_warm = true;
            } else {
                c.seat.warm().await;
            }
        }
        Ok(())
    }

    /// Makes the client's connection usable if a restart could not.
    async fn warm_if_needed(&mut self, c: usize) {
        let client = &mut self.clients[c];
        if !client.paused && client.in_flight.is_none() && std::mem::take(&mut client.needs_warm) {
            client.seat.warm().await;
        }
    }

    /// A step must be over within the tick the model is in: with `L` ticks
    /// of the lease left, before `ttl - L + 1` ticks have passed since the
    /// grant (`clock`, as it was before the step) — then Redis ran it before
    /// the lease could have run out. A machine too busy to keep up (a
    /// CPU-starved CI runner) makes the run late, and a late run proves
    /// nothing either way: it is marked, not judged.
    fn check_on_time(
        &mut self,
        i: usize,
        step: Step,
        before: &World,
        ttl: u8,
        clock: Option<Instant>,
    ) {
        let (Some(granted), Some(lease)) = (clock, before.lease) else {
            return;
        };
        let window_ends = granted + self.stage.tick * u32::from(ttl - lease.ttl + 1);
        let done = Instant::now();
        if done >= window_ends && self.overrun.is_none() {
            self.overrun = Some(format!(
                "step {} ({step}) ended {:.1} ms past its tick (1 tick = {} ms): the machine did not keep up",
                i + 1,
                (done - window_ends).as_secs_f64() * 1000.0,
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

/// Polls Redis until `key` is (or is not) there, up to `budget`; returns
/// whether it got there. (A free function: the conductor holds clients that
/// are `Send` but not `Sync`, so it cannot be borrowed across an await.)
async fn wait_for_key(
    lab: &Conn,
    key: &str,
    present: bool,
    budget: Duration,
) -> Result<bool, ReplayError> {
    let deadline = Instant::now() + budget;
    loop {
        let exists: bool = lab.query(redis::cmd("EXISTS").arg(key)).await?;
        if exists == present {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// What to add to a divergence when the command did not even complete.
fn failed_note(outcome: Option<bool>) -> &'static str {
    if outcome.is_none() {
        ", but the command failed (the history has the error)"
    } else {
        ""
    }
}

fn pending_acquire() -> Op {
    failed_acquire("no reply read".into())
}

fn failed_acquire(why: String) -> Op {
    Op::Acquire {
        outcome: AcquireOutcome::Failed(why),
        token: None,
        fence: None,
    }
}
