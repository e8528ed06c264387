//! The conductor: plays a model [`Script`] against real Redis, one step at
//! a time, each client doing exactly the step it is told, and records the
//! history.
//!
//! The model is the one source of truth for what a step does: the script
//! says, for every step, the outcome the client must read and the leases
//! there are before and after it. The conductor plays the step, compares
//! the real outcome with the predicted one (the first difference is
//! reported as a divergence), and looks at Redis until the lock key is
//! there or gone as the model says. It never re-derives a transition.
//!
//! - A tick is a fixed real duration; a lease is `ttl` ticks. Each lease's
//!   clock starts when the step that granted (or renewed) it started, so
//!   after `k` ticks of a lease the conductor has waited `k` ticks since
//!   its grant, and every step must end within the tick the model is in (a
//!   run that falls behind is marked late and not judged).
//! - "The lease runs out" is observed on Redis (the key is gone), not
//!   assumed from a sleep.
//! - Clients sit in the lab's process or in worker processes
//!   ([`super::seat`]): a pause is withholding steps, or SIGSTOP; a delayed
//!   reply is read late, or held by the proxy; a crash drops the client, or
//!   SIGKILLs it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use locklab_impl::{connect, Conn, ConnectOptions, LockError, Ttl};
use locklab_model::{
    ClientOp, KeyRole, LeaseClock, NodeId, Outcome, Script, Scripted, Step, Taken,
};

use super::keys::{KeySpace, ReplayKeys};
use super::seat::{Clients, Seat, SeatSpec};
use super::topology::Topology;
use crate::client::OpError;
use crate::history::{History, Op, Recorder};

/// Where and how replays play.
#[derive(Clone, Debug)]
pub struct Stage {
    /// The Redis server of the protected resource, and the first lock node.
    pub url: String,
    /// The lock nodes of a scenario with several (the first is `url`);
    /// empty: `url` alone.
    pub nodes: Vec<String>,
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

impl Stage {
    /// The lock nodes' URLs.
    pub fn node_urls(&self) -> Vec<String> {
        if self.nodes.is_empty() {
            vec![self.url.clone()]
        } else {
            self.nodes.clone()
        }
    }
}

/// A replay that could not be played: the environment, never a verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// Redis was unusable.
    #[error("redis: {0}")]
    Redis(#[from] LockError),
    /// Redis refused a client's command for a reason of its own (out of
    /// memory, scripting disabled, a read-only replica, NOAUTH, …).
    #[error("Redis refused {client}'s {op}: {message}")]
    Refused {
        /// The client.
        client: String,
        /// The operation.
        op: ClientOp,
        /// What Redis said.
        message: String,
    },
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
}

impl ReplayError {
    /// Whether the error is the environment's (the server, the machine),
    /// so that nothing measured on it can stand as a verdict.
    pub fn is_environment(&self) -> bool {
        !matches!(self, ReplayError::CannotRestart)
    }
}

/// One replay, played.
#[derive(Clone, Debug)]
pub struct Played {
    /// What was played, as the model walked it.
    pub script: Script,
    /// What Redis did.
    pub history: History,
    /// The first step where Redis did not do what the model said.
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
    /// The fencing token of its latest grant, for the history.
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

/// The conductor of one replay.
struct Conductor<'a> {
    stage: &'a Stage,
    keys: ReplayKeys,
    nodes: Topology,
    /// The lab's connection to the resource's server.
    resource_conn: Conn,
    clients: Vec<Client>,
    rec: Recorder,
    /// When each lease's clock started.
    anchors: HashMap<(NodeId, KeyRole), Instant>,
    divergence: Option<String>,
    overrun: Option<String>,
}

/// Plays `script` against the stage's Redis as replay number `n` (which
/// picks its keys), and deletes its keys afterwards.
pub async fn play(stage: &Stage, n: usize, script: Script) -> Result<Played, ReplayError> {
    let keys = stage.keys.replay(n)?;
    let scenario = script.scenario;
    let nodes = Topology::open(stage, &script).await?;
    let resource_conn = connect(&stage.url, &stage.connect).await?;
    let lock_name = stage
        .lock
        .clone()
        .unwrap_or_else(|| scenario.protocol.name().to_owned());
    let ttl = Ttl::new(stage.tick * u32::from(scenario.ttl))?;
    let first = &nodes.nodes()[0];
    let mut clients = Vec::new();
    for i in 0..scenario.clients {
        let name = format!("c{}", i + 1);
        let mut seat = Seat::open(
            &stage.clients,
            SeatSpec {
                name: name.clone(),
                lock: &lock_name,
                lock_url: &first.url,
                lock_addr: first.addr,
                resource_url: &stage.url,
                lock_key: &keys.lock,
                resource_key: &keys.resource,
                ttl,
                connect: &stage.connect,
            },
        )
        .await
        .map_err(ReplayError::Setup)?;
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
        nodes,
        resource_conn,
        clients,
        rec: Recorder::new(),
        anchors: HashMap::new(),
        divergence: None,
        overrun: None,
    };
    let played = conductor.run(&script).await;
    for client in std::mem::take(&mut conductor.clients) {
        client.seat.close().await;
    }
    // The resource's keys live on the stage's server, and so do the lock's
    // unless the replay had servers of its own (killed with it).
    let mut cleanup = stage
        .keys
        .delete(&conductor.resource_conn, &conductor.keys.pattern)
        .await;
    if !conductor.nodes.is_private() {
        for node in conductor.nodes.nodes().iter().skip(1) {
            if let Err(e) = stage.keys.delete(&node.conn, &conductor.keys.pattern).await {
                cleanup = Err(e);
            }
        }
    }
    played?;
    cleanup?;
    Ok(Played {
        script,
        history: conductor.rec.finish(),
        divergence: conductor.divergence,
        overrun: conductor.overrun,
    })
}

/// Whether the model has the lock key on `node` in these leases.
fn present(clocks: &[LeaseClock], node: NodeId) -> bool {
    clocks
        .iter()
        .any(|c| c.node == node && c.key == KeyRole::Lock)
}

impl Conductor<'_> {
    async fn run(&mut self, script: &Script) -> Result<(), ReplayError> {
        for (i, s) in script.steps.iter().enumerate() {
            let started = Instant::now();
            let anchors = self.anchors.clone();
            self.step(i, s).await?;
            if s.taken == Taken::Skipped {
                continue;
            }
            // A restart takes the lease with it whenever it lands (and
            // restarting a server takes a while). A tick must leave every
            // lease that lives on with the time the model gives it.
            match s.step {
                Step::Restart { .. } => {}
                Step::Tick => self.check_on_time(i, s.step, &s.after, &self.anchors.clone()),
                _ => {
                    self.check_on_time(i, s.step, &s.before, &anchors);
                    self.restart_clocks(s, started);
                }
            }
            self.observe(i, s).await?;
        }
        Ok(())
    }

    /// Plays one step and compares what Redis did with what the model says.
    async fn step(&mut self, i: usize, s: &Scripted) -> Result<(), ReplayError> {
        if s.taken == Taken::Skipped {
            return Ok(());
        }
        match s.step {
            Step::Retry { client } => {
                // The first run's reply is lost: recorded as never read.
                let lost = self.rec.events().len();
                self.perform(client.index(), ClientOp::AcquireLost).await?;
                self.rec.unread(lost);
                let real = self
                    .perform(client.index(), ClientOp::AcquireResent)
                    .await?;
                self.expect(i, s, real.as_ref());
            }
            Step::Acquire { client } | Step::Write { client } | Step::Release { client } => {
                let op = s.step.op().expect("a client's operation");
                let real = self.perform(client.index(), op).await?;
                self.expect(i, s, real.as_ref());
            }
            Step::AcquireDelayed { client } => self.send_delayed(client.index()).await,
            Step::Deliver { client } => {
                let real = self.deliver(client.index()).await?;
                self.expect(i, s, real.as_ref());
            }
            Step::Tick => self.tick(s).await?,
            Step::Pause { client } => {
                let c = &mut self.clients[client.index()];
                c.paused = true;
                let paused = c.seat.pause().await;
                let name = c.name.clone();
                self.rec.instant(&name, Op::Pause);
                self.diverge_if(i, s.step, paused.err(), "could not pause");
            }
            Step::Resume { client } => {
                let c = &mut self.clients[client.index()];
                c.paused = false;
                let resumed = c.seat.resume().await;
                let name = c.name.clone();
                self.rec.instant(&name, Op::Resume);
                self.warm_if_needed(client.index()).await;
                self.diverge_if(i, s.step, resumed.err(), "could not resume");
            }
            Step::Crash { client } => {
                let c = &mut self.clients[client.index()];
                c.seat.crash();
                c.in_flight = None;
                c.fence = None;
                let name = c.name.clone();
                self.rec.instant(&name, Op::Crash);
            }
            Step::Restart { node } => self.restart(node).await?,
        }
        Ok(())
    }

    /// One operation, its reply read at once, recorded. A refusal of the
    /// server's own (out of memory, no scripting, read-only, NOAUTH) stops
    /// the replay: it is the environment, not the lock.
    async fn perform(&mut self, c: usize, op: ClientOp) -> Result<Option<Outcome>, ReplayError> {
        let client = &mut self.clients[c];
        let data = if op == ClientOp::Write {
            client.writes += 1;
            format!("{} write {}", client.name, client.writes)
        } else {
            String::new()
        };
        let fence = client.fence;
        let name = client.name.clone();
        let idx = self.rec.invoke(&name, Op::Call(op));
        if op == ClientOp::Write {
            self.rec.carry(idx, fence);
        }
        let result = self.clients[c].seat.perform(op, &data).await;
        self.settle(c, idx, op, result)
    }

    /// Records an operation's result; a server refusal is an error.
    fn settle(
        &mut self,
        c: usize,
        idx: usize,
        op: ClientOp,
        result: Result<Outcome, OpError>,
    ) -> Result<Option<Outcome>, ReplayError> {
        if let Err(e) = &result {
            if let Some(message) = server_refusal(&e.message) {
                return Err(ReplayError::Refused {
                    client: self.clients[c].name.clone(),
                    op,
                    message,
                });
            }
        }
        let said = self.clients[c].seat.take_said();
        self.rec.said(idx, said);
        let client = &mut self.clients[c];
        match &result {
            Ok(_) if op == ClientOp::AcquireLost => {}
            Ok(o) if o.gives_belief() => {
                if let Some(f) = o.fence() {
                    client.fence = Some(f);
                }
            }
            Ok(Outcome::Lost) => client.fence = None,
            _ => {}
        }
        let outcome = result.as_ref().ok().cloned();
        self.rec.complete(idx, result);
        Ok(outcome)
    }

    /// Sends an acquire whose reply stays in flight; the observation after
    /// the step waits until Redis has run it.
    async fn send_delayed(&mut self, c: usize) {
        let name = self.clients[c].name.clone();
        let idx = self.rec.invoke(&name, Op::Call(ClientOp::Acquire));
        match self.clients[c].seat.send(ClientOp::Acquire).await {
            Ok(()) => self.clients[c].in_flight = Some(idx),
            Err(e) => self.rec.complete(idx, Err(e)),
        }
    }

    /// The delayed reply reaches the client.
    async fn deliver(&mut self, c: usize) -> Result<Option<Outcome>, ReplayError> {
        let Some(idx) = self.clients[c].in_flight.take() else {
            return Ok(None);
        };
        let result = self.clients[c].seat.deliver(ClientOp::Acquire).await;
        let outcome = self.settle(c, idx, ClientOp::Acquire, result)?;
        self.warm_if_needed(c).await;
        Ok(outcome)
    }

    /// Compares a real outcome with the model's.
    fn expect(&mut self, i: usize, s: &Scripted, real: Option<&Outcome>) {
        let Some(expected) = &s.expect else {
            return;
        };
        let ok = real.is_some_and(|r| expected.matches(r));
        if !ok && self.divergence.is_none() {
            let got = match real {
                Some(r) => format!("Redis said {r}"),
                None => "the command failed (the history has the error)".to_owned(),
            };
            self.divergence = Some(format!(
                "step {} ({}): the model says {expected}, {got}",
                i + 1,
                s.step
            ));
        }
    }

    fn diverge_if(&mut self, i: usize, step: Step, error: Option<OpError>, what: &str) {
        if let (Some(e), None) = (error, &self.divergence) {
            self.divergence = Some(format!("step {} ({step}): {what}: {e}", i + 1));
        }
    }

    /// After a step that granted or renewed a lease, its clock starts at
    /// the step's start; a lease the step removed has no clock any more.
    fn restart_clocks(&mut self, s: &Scripted, started: Instant) {
        for after in &s.after {
            let key = (after.node, after.key);
            let before = s.before.iter().find(|b| (b.node, b.key) == key);
            if before.is_none_or(|b| after.ticks_left > b.ticks_left) {
                self.anchors.insert(key, started);
            }
        }
        self.anchors
            .retain(|(node, role), _| s.after.iter().any(|a| a.node == *node && a.key == *role));
    }

    /// One tick of model time. The tick that ends a lease waits (in the
    /// observation after it) until Redis has expired the key; any other
    /// tick waits until that many ticks have passed since each lease's
    /// grant.
    async fn tick(&mut self, s: &Scripted) -> Result<(), ReplayError> {
        let mut until = None::<Instant>;
        for after in &s.after {
            if let Some(anchor) = self.anchors.get(&(after.node, after.key)) {
                let elapsed = u32::from(after.ttl.saturating_sub(after.ticks_left));
                let at = *anchor + self.stage.tick * elapsed;
                until = Some(until.map_or(at, |u| u.max(at)));
            }
        }
        if let Some(until) = until {
            tokio::time::sleep_until(until.into()).await;
        }
        self.anchors
            .retain(|(node, role), _| s.after.iter().any(|a| a.node == *node && a.key == *role));
        Ok(())
    }

    /// Looks at Redis until the lock key is there or gone as the model says
    /// after the step (a tick that ends a lease may wait for the server to
    /// expire it; anything else should show at once); records a change.
    async fn observe(&mut self, i: usize, s: &Scripted) -> Result<(), ReplayError> {
        let ttl = u32::from(self.clocks_ttl(s));
        let budget = if s.step == Step::Tick {
            self.stage.tick * (ttl + 10)
        } else {
            self.stage.tick * 10
        };
        for n in 0..self.nodes.len() {
            let node = NodeId(n as u8);
            let want = present(&s.after, node);
            let conn = self.nodes.nodes()[n].conn.clone();
            let (is, asked) = wait_for_key(&conn, self.keys.lock.as_str(), want, budget).await?;
            if want && !is && self.past_window(&s.after, node, asked) {
                // The machine fell so far behind that the lease ran out on
                // Redis before the lab could look: late, not a divergence.
                if self.overrun.is_none() {
                    self.overrun = Some(format!(
                        "step {} ({}): the lab looked for the lock key only after its lease had run out (1 tick = {} ms): the machine did not keep up",
                        i + 1,
                        s.step,
                        self.stage.tick.as_millis()
                    ));
                }
                continue;
            }
            let slot = self.nodes.node_mut(node)?;
            if slot.seen != Some(is) {
                slot.seen = Some(is);
                let e = self.rec.instant("lab", Op::Observed);
                e.present = Some(is);
                if self.nodes.len() > 1 {
                    e.node = Some(node);
                }
            }
            if is && s.step.op() == Some(ClientOp::Acquire) {
                // A delayed acquire Redis has run: granted, not yet known.
                if let Step::AcquireDelayed { client } = s.step {
                    if let Some(idx) = self.clients[client.index()].in_flight {
                        self.rec.observe(idx, Outcome::GRANTED);
                    }
                }
            }
            if is != want && self.divergence.is_none() {
                let (now, model) = if is {
                    ("still has the lock key", "gone")
                } else {
                    ("has no lock key", "there")
                };
                self.divergence = Some(format!(
                    "step {} ({}): Redis {now} where the model says it is {model}",
                    i + 1,
                    s.step
                ));
            }
        }
        Ok(())
    }

    /// Whether `at` is past the real end of the tick the model is in, for
    /// the lease on `node`: after it, Redis may rightly have expired a key
    /// the model still has.
    fn past_window(&self, leases: &[LeaseClock], node: NodeId, at: Instant) -> bool {
        leases
            .iter()
            .filter(|l| l.node == node)
            .any(|l| match self.anchors.get(&(l.node, l.key)) {
                Some(anchor) => at >= self.window_end(*anchor, l),
                None => false,
            })
    }

    /// When the tick the model is in ends for a lease granted at `anchor`,
    /// less a margin: Redis counts a lease in whole milliseconds of its
    /// own clock from when it ran the command, so the real end can come a
    /// little before `anchor + ttl` ticks.
    fn window_end(&self, anchor: Instant, lease: &LeaseClock) -> Instant {
        let margin = (self.stage.tick / 10).max(Duration::from_millis(2));
        anchor + self.stage.tick * u32::from(lease.ttl - lease.ticks_left + 1) - margin
    }

    fn clocks_ttl(&self, s: &Scripted) -> u8 {
        s.before
            .iter()
            .chain(&s.after)
            .map(|c| c.ttl)
            .max()
            .unwrap_or(0)
    }

    /// Kills the node's server (SIGKILL) and starts it again on the same
    /// port, empty; then has every client make sure its connection works
    /// again, so the next step is not spent reconnecting.
    async fn restart(&mut self, node: NodeId) -> Result<(), ReplayError> {
        self.nodes.restart(node).await?;
        self.anchors.retain(|(n, _), _| *n != node);
        let e = self.rec.instant("lab", Op::Restart);
        if self.nodes.len() > 1 {
            e.node = Some(node);
        }
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

    /// A step must be over within the tick the model is in: for each lease
    /// with `L` ticks left, before `ttl - L + 1` ticks have passed since its
    /// grant — then Redis ran it before the lease could have run out. A
    /// machine too busy to keep up (a CPU-starved CI runner) makes the run
    /// late, and a late run proves nothing either way: it is marked, not
    /// judged.
    fn check_on_time(
        &mut self,
        i: usize,
        step: Step,
        leases: &[LeaseClock],
        anchors: &HashMap<(NodeId, KeyRole), Instant>,
    ) {
        if self.overrun.is_some() {
            return;
        }
        let done = Instant::now();
        for lease in leases {
            let Some(granted) = anchors.get(&(lease.node, lease.key)) else {
                continue;
            };
            let window_ends = self.window_end(*granted, lease);
            if done >= window_ends {
                self.overrun = Some(format!(
                    "step {} ({}) ended {:.1} ms past its tick (1 tick = {} ms): the machine did not keep up",
                    i + 1,
                    step,
                    (done - window_ends).as_secs_f64() * 1000.0,
                    self.stage.tick.as_millis()
                ));
                return;
            }
        }
    }
}

/// An error line that is the server refusing the command for a reason of
/// its own (rather than a lost connection or a timeout): the server's own
/// words.
fn server_refusal(message: &str) -> Option<String> {
    const CODES: [&str; 9] = [
        "OOM",
        "NOSCRIPT",
        "NOAUTH",
        "WRONGPASS",
        "NOPERM",
        "READONLY",
        "MISCONF",
        "ERR unknown command",
        "ERR Error running script",
    ];
    CODES
        .iter()
        .find(|code| message.contains(*code))
        .map(|_| message.to_owned())
}

/// Polls Redis until `key` is (or is not) there, up to `budget`; returns
/// what it saw first when that differs from `present` at the deadline, or
/// what it saw last, with when the first look was sent. (A free function:
/// the conductor holds clients that are `Send` but not `Sync`, so it
/// cannot be borrowed across an await.)
async fn wait_for_key(
    lab: &Conn,
    key: &str,
    present: bool,
    budget: Duration,
) -> Result<(bool, Instant), ReplayError> {
    let first = Instant::now();
    let deadline = first + budget;
    loop {
        let exists: bool = lab.query(redis::cmd("EXISTS").arg(key)).await?;
        if exists == present || Instant::now() >= deadline {
            return Ok((exists, first));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
