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
//! - A step with an operation and no client (a sync scenario's `produce`)
//!   is the environment's: the lab performs it through a client of its
//!   own, `lab`, in its own process and never faulted.
//! - After every step the conductor looks at each key the model says can
//!   carry a lease ([`Script::observed`]: the lock key, a marker, a claim)
//!   until it has a lease exactly when the model's clocks say so. A lease
//!   no key shows (a Stream entry's idle time) is clocked only: the tick
//!   that ends it waits until it has surely run out on Redis.
//! - At the end, the lab reads every reply still in flight (what Redis did,
//!   which the client never read) and, through its own client, what the
//!   protected resource holds (a sink's effects) — evidence of its own for
//!   the history checker.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use locklab_impl::{Conn, Ttl};
use locklab_model::{
    Call, ClientFault, ClientId, ClientOp, KeyRole, LeaseClock, NodeFault, NodeId, Outcome, Reply,
    Script, Scripted, Step, Taken,
};

use super::error::ReplayError;
use super::keys::{role_key, ReplayKeys};
use super::seat::{Clients, Seat, SeatSpec};
use super::stage::Stage;
use super::standing::{Death, Divergence, Lateness, Overrun, Standing};
use super::topology::{tick_for, Topology};
use crate::client::{connect_any, OpError};
use crate::history::{History, Op, Recorder};

/// One replay, played.
#[derive(Clone, Debug)]
pub struct Played {
    /// What was played, as the model walked it.
    pub script: Script,
    /// What Redis did.
    pub history: History,
    /// Whether the run is judged, and if not, why.
    pub standing: Standing,
    /// The tick this run was played at: the stage's (or a multiple of it
    /// when a run at a shorter tick was late), or longer where restarting a
    /// server would take a good part of one (see `Topology::tick_for`).
    pub tick: Duration,
    /// Why each earlier, faster run of this script was late (or fell
    /// behind after it diverged).
    pub slowed: Vec<Overrun>,
    /// The run's first overrun, whatever came first: a run that diverged
    /// and later fell behind is played again slower, in case the machine
    /// was already behind at its divergence in a way no step showed.
    pub overran: Option<Overrun>,
}

/// A client of the replay: its seat, and what the conductor remembers of
/// it for the history.
struct Client {
    name: String,
    seat: Seat,
    /// The fencing token of its latest grant, for the history.
    fence: Option<u64>,
    /// The event and operation of its delayed request, while the reply is
    /// in flight.
    in_flight: Option<(usize, ClientOp)>,
    /// Paused (a worker is SIGSTOPped: it answers nothing until resumed).
    paused: bool,
    /// Redis restarted while the client could not answer (paused, or
    /// waiting for a reply), so its connection could not be made usable
    /// then: it is, as soon as the client can act again.
    needs_warm: bool,
    /// Operations that carried data so far (numbers their data).
    carried: u32,
    /// What its last failed operation said: a worker that died said it
    /// instead of a reply.
    last_error: Option<String>,
}

/// The conductor of one replay.
struct Conductor {
    /// One model tick, in real time, for this replay.
    tick: Duration,
    keys: ReplayKeys,
    nodes: Topology,
    /// The lab's connection to the resource's server.
    resource_conn: Conn,
    clients: Vec<Client>,
    /// The lab's own client (the last of `clients`), when the script has
    /// steps of the environment.
    lab: Option<usize>,
    rec: Recorder,
    /// When each lease's clock started.
    anchors: HashMap<(NodeId, KeyRole), Instant>,
    /// When the step that started each lease's clock ended (a lease no key
    /// shows has surely started by then).
    anchor_ends: HashMap<(NodeId, KeyRole), Instant>,
    /// Ticks played so far: a lease with `L` ticks left ends at model time
    /// `ticks + L`, on every node that has a copy of it.
    ticks: u32,
    /// For each model time a lease ends at, when that lease's clock
    /// started: a copy that appears elsewhere later (a replica catching up,
    /// a failover) runs out with the original.
    expiries: HashMap<u32, Instant>,
    /// A renewing holder's own deadline, by client: when the request of the
    /// grant or renewal it last read was sent, and the ticks played then.
    /// The holder counts a whole lease from there by its own clock, across
    /// a restart that took the key with it.
    deadlines: HashMap<usize, (Instant, u32)>,
    /// The same for the request each client has out, until it is read.
    sent: HashMap<usize, (Instant, u32)>,
    /// The step being played (0-based) and what it is.
    at: (usize, Step),
    /// What the client read at this step, if it read a reply.
    replied: Option<Outcome>,
    divergence: Option<Divergence>,
    overrun: Option<Overrun>,
    death: Option<Death>,
}

/// How many times the stage's tick a late replay is slowed to, at most.
pub const SLOWEST: u32 = 4;

/// Plays `script` against the stage's Redis as replay number `n` (which
/// picks its keys), and deletes its keys afterwards.
///
/// A late run proves nothing, and a model's verdict does not depend on
/// how long a tick is: a run the machine could not keep up with is played
/// again with time running twice as slow (up to [`SLOWEST`] times the
/// stage's tick), where the machine's delays are a smaller share of a tick.
/// So is a run that diverged and then fell behind: a divergence that
/// persists at the slowest tick is the lock's. The run kept is the first
/// on time, or the slowest; it says which.
pub async fn play(stage: &Stage, n: usize, script: Script) -> Result<Played, ReplayError> {
    let mut slowed = Vec::new();
    let mut scale = 1;
    loop {
        let mut at = stage.clone();
        at.tick = tick_for(stage, &script) * scale;
        let mut played = play_at(&at, n, script.clone()).await?;
        match (&played.standing, played.overran.take()) {
            (Standing::Late(_) | Standing::Diverged(_), Some(late)) if scale < SLOWEST => {
                slowed.push(late);
                scale *= 2;
            }
            (_, overran) => {
                played.overran = overran;
                played.slowed = slowed;
                return Ok(played);
            }
        }
    }
}

async fn play_at(stage: &Stage, n: usize, script: Script) -> Result<Played, ReplayError> {
    let keys = stage.keys.replay(n)?;
    let scenario = script.scenario;
    let nodes = Topology::open(stage, &script).await?;
    let resource_conn = connect_any(&stage.url, &stage.connect).await?;
    let lock_name = stage
        .lock
        .clone()
        .unwrap_or_else(|| scenario.protocol.name().to_owned());
    let tick = nodes.tick_for(stage.tick, &script);
    let ttl = Ttl::new(tick * u32::from(scenario.ttl))?;
    let urls: Vec<String> = nodes.nodes().iter().map(|n| n.url.clone()).collect();
    let addrs: Vec<std::net::SocketAddr> = nodes.nodes().iter().map(|n| n.addr).collect();
    let redlock = quorum_timing(tick, &scenario)?;
    let environment = script
        .steps
        .iter()
        .any(|s| s.step.client().is_none() && s.step.call().is_some());
    // The environment's steps are played by the protocol's own client,
    // whatever lock stands in for the protocol's clients.
    let names: Vec<(String, &Clients, &str)> = (0..scenario.clients)
        .map(|i| (format!("c{}", i + 1), &stage.clients, lock_name.as_str()))
        .chain(environment.then(|| {
            (
                "lab".to_owned(),
                &Clients::InProcess,
                scenario.protocol.name(),
            )
        }))
        .collect();
    let mut clients = Vec::new();
    for (name, seats, lock) in names {
        let mut seat = Seat::open(
            seats,
            SeatSpec {
                name: name.clone(),
                lock,
                lock_urls: &urls,
                lock_addrs: &addrs,
                resource_url: &stage.url,
                lock_key: &keys.lock,
                resource_key: &keys.resource,
                ttl,
                connect: &stage.connect,
                redlock,
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
            carried: 0,
            last_error: None,
        });
    }
    let lab = environment.then(|| clients.len() - 1);
    let mut conductor = Conductor {
        tick,
        keys,
        nodes,
        resource_conn,
        clients,
        lab,
        rec: Recorder::new(),
        anchors: HashMap::new(),
        anchor_ends: HashMap::new(),
        ticks: 0,
        expiries: HashMap::new(),
        deadlines: HashMap::new(),
        sent: HashMap::new(),
        at: (0, Step::Tick),
        replied: None,
        divergence: None,
        overrun: None,
        death: None,
    };
    let played = conductor.run(&script).await;
    for client in std::mem::take(&mut conductor.clients) {
        client.seat.close().await;
    }
    let closed = conductor
        .nodes
        .close(&stage.keys, &conductor.keys.pattern)
        .await;
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
    closed?;
    cleanup?;
    Ok(Played {
        script,
        history: conductor.rec.finish(),
        overran: conductor.overrun.clone(),
        standing: Standing::of(conductor.divergence, conductor.overrun, conductor.death),
        tick,
        slowed: Vec::new(),
    })
}

/// Whether the model has a lease of `role` on `node` in these clocks.
fn present(clocks: &[LeaseClock], node: NodeId, role: KeyRole) -> bool {
    clocks.iter().any(|c| c.node == node && c.key == role)
}

/// A key's name in messages.
fn role_name(role: KeyRole) -> &'static str {
    match role {
        KeyRole::Lock => "the lock key",
        KeyRole::Marker => "the marker",
        KeyRole::Claim => "the claim",
        KeyRole::Pending { .. } => "the pending entry",
        KeyRole::Attempt { .. } => "an attempt's clock",
        KeyRole::Down => "a master's downtime",
    }
}

/// A quorum lock's timing in a replay, so that its decisions fall where
/// the model's do: the drift allowance is the scenario's drift in ticks
/// plus a twentieth of a tick — more than the time between a step's start
/// and the client's first request, less than the margin the conductor
/// keeps before a tick ends — and a master may take all but one tick of
/// the lease to answer (a step that slow is late anyway, so a timeout can
/// never be mistaken for the model's "no answer").
fn quorum_timing(
    tick: Duration,
    scenario: &locklab_model::Scenario,
) -> Result<Option<locklab_impl::RedlockOptions>, ReplayError> {
    if !crate::family::entry(scenario.protocol).timed_client {
        return Ok(None);
    }
    let drift = tick * u32::from(scenario.drift) + tick / 20;
    let timeout = (tick * u32::from(scenario.ttl.saturating_sub(1))).max(tick);
    let options = locklab_impl::RedlockOptions::default()
        .with_drift_factor(0.0)?
        .with_drift_floor(drift)
        .with_master_timeout(timeout)?;
    Ok(Some(options))
}

/// A partition's step, which the lab does not play yet: its links do not
/// all go through proxies it can cut, so the replay is not judged.
fn not_cut(step: Step) -> ReplayError {
    ReplayError::Setup(format!(
        "the lab does not play `{step}`: it cannot cut the Sentinel set's links yet, so a partition's schedule is not judged"
    ))
}

impl Conductor {
    async fn run(&mut self, script: &Script) -> Result<(), ReplayError> {
        for (i, s) in script.steps.iter().enumerate() {
            let started = Instant::now();
            let anchors = self.anchors.clone();
            self.at = (i, s.step);
            self.replied = None;
            self.step(i, s).await?;
            self.record_reports(i, s.step);
            if s.taken == Taken::Skipped {
                continue;
            }
            self.keep_deadlines(s, started, script.scenario.protocol.caps().renews());
            // A worker gone means nothing after this step describes the
            // lock: the run ends here, named for it.
            if self.find_death().await {
                break;
            }
            if s.step == Step::Tick {
                self.ticks += 1;
                let now = self.ticks;
                self.expiries.retain(|ends, _| *ends >= now);
            }
            // A restart takes the lease with it whenever it lands (and
            // restarting a server takes a while). A tick must leave every
            // lease that lives on with the time the model gives it.
            match s.step {
                Step::Node {
                    fault: NodeFault::Restart | NodeFault::Rejoin,
                    ..
                } => {}
                // Killing a server is quick, but the step may not be judged
                // by the tick it started in; its down time starts now.
                Step::Node {
                    fault: NodeFault::DelayedRestart,
                    ..
                } => self.restart_clocks(s, started),
                Step::Tick => self.check_on_time(i, s.step, &s.after, &self.anchors.clone()),
                _ => {
                    self.check_on_time(i, s.step, &s.before, &anchors);
                    self.restart_clocks(s, started);
                    // A lease the step itself granted (a retry's lost
                    // acquire, before its resend) must still be running
                    // when the step ends, or Redis may rightly answer what
                    // the model cannot.
                    self.check_on_time(i, s.step, &s.after, &self.anchors.clone());
                }
            }
            self.check_deadlines(i, s, script.scenario.ttl);
            self.observe(i, s, &script.observed).await?;
        }
        if self.death.is_none() {
            self.read_in_flight().await;
        }
        self.inspect().await
    }

    /// Whether a client's worker has died (by now, or earlier): the first
    /// death found is recorded at the step being played, with what its
    /// client's last operation got instead of a reply.
    async fn find_death(&mut self) -> bool {
        if self.death.is_some() {
            return true;
        }
        let (i, step) = self.at;
        for (n, c) in self.clients.iter_mut().enumerate() {
            let Some(exit) = c.seat.exit().await else {
                continue;
            };
            let asked = step.client().is_some_and(|who| who.index() == n);
            let reply = c
                .last_error
                .take()
                .unwrap_or_else(|| format!("it exited ({})", exit.status));
            self.death = Some(Death {
                step: i + 1,
                played: step.to_string(),
                client: c.name.clone(),
                op: step.call().map(|call| call.op).filter(|_| asked),
                reply,
                stderr_tail: exit.stderr_tail,
            });
            return true;
        }
        false
    }

    /// Reads every reply still in flight, so the history has what Redis did
    /// (the client never read it: the event stays without an end).
    async fn read_in_flight(&mut self) {
        for c in 0..self.clients.len() {
            let client = &mut self.clients[c];
            if client.paused {
                continue;
            }
            let Some((idx, op)) = client.in_flight.take() else {
                continue;
            };
            if let Ok(outcome) = client.seat.deliver(op).await {
                self.rec.observe(idx, outcome);
            }
        }
    }

    /// Has the lab's own client read the protected resource, and records
    /// what it saw. A failure is the environment's, never a verdict.
    async fn inspect(&mut self) -> Result<(), ReplayError> {
        let Some(lab) = self.lab else {
            return Ok(());
        };
        let seen = self.clients[lab]
            .seat
            .inspect()
            .await
            .map_err(|e| ReplayError::Setup(format!("reading the sink: {e}")))?;
        if let Some(seen) = seen {
            let e = self.rec.instant("lab", Op::Inspected);
            e.inspected = Some(seen);
        }
        Ok(())
    }

    /// Plays one step and compares what Redis did with what the model says.
    async fn step(&mut self, i: usize, s: &Scripted) -> Result<(), ReplayError> {
        if s.taken == Taken::Skipped {
            return Ok(());
        }
        match s.step {
            Step::Op { client, op, reply } => self.call(i, s, client, op, reply).await?,
            Step::Produce => {
                // The environment's operation, on the lab's own client.
                let seat = self.lab.ok_or_else(|| {
                    ReplayError::Setup(format!("no client of the lab's own to play `{}`", s.step))
                })?;
                let real = self.perform(seat, Call::now(ClientOp::Produce)).await?;
                self.expect(i, s, real.as_ref());
            }
            Step::Deliver { client } => {
                let real = self.deliver(client.index()).await?;
                self.expect(i, s, real.as_ref());
            }
            Step::Tick => self.tick(s).await?,
            Step::Replicate { node } => {
                self.nodes.replicate(node).await?;
                self.rec.instant("lab", Op::Replicate).node = Some(node);
            }
            // Redis fsyncs an `everysec` file on its own clock, and a
            // process the lab kills loses nothing the kernel was handed.
            Step::Fsync => {
                return Err(ReplayError::Setup(
                    "the lab does not play `fsync`: Redis fsyncs on its own clock, and only a machine crash loses what it had not".into(),
                ))
            }
            Step::Client { client, fault } => self.suffer(i, s.step, client, fault).await,
            Step::Node { node, fault } => self.strike(node, fault).await?,
            Step::Partition { .. } | Step::Heal => return Err(not_cut(s.step)),
        }
        Ok(())
    }

    /// A client's operation, played as its reply goes: read at once, held
    /// in flight, lost, or lost and sent again.
    async fn call(
        &mut self,
        i: usize,
        s: &Scripted,
        client: ClientId,
        op: ClientOp,
        reply: Reply,
    ) -> Result<(), ReplayError> {
        let c = client.index();
        let lost = Call {
            op,
            reply: Reply::Lost,
        };
        let real = match reply {
            Reply::Now => self.perform(c, Call::now(op)).await?,
            Reply::Held => {
                self.send_delayed(c, op).await;
                return Ok(());
            }
            // Redis runs it; the client never reads the reply.
            Reply::Lost => {
                let at = self.rec.events().len();
                let real = self.perform(c, lost).await?;
                self.rec.unread(at);
                real
            }
            // The first run's reply is lost: recorded as never read.
            Reply::Resent => {
                let at = self.rec.events().len();
                self.perform(c, lost).await?;
                self.rec.unread(at);
                self.perform(c, Call { op, reply }).await?
            }
        };
        self.expect(i, s, real.as_ref());
        Ok(())
    }

    /// What the workers reported by themselves (version 2's event lines:
    /// renewals on their own timer, losses), into the history; a bad event
    /// line is a divergence, named.
    fn record_reports(&mut self, i: usize, step: Step) {
        for c in 0..self.clients.len() {
            let name = self.clients[c].name.clone();
            for (read, event) in self.clients[c].seat.take_events() {
                match event {
                    Ok(event) => self.rec.reported(&name, read, &event),
                    Err(e) => self.diverge(i, step, format!("{name} sent a bad event line: {e}")),
                }
            }
        }
    }

    /// A fault done to a client: paused, resumed, or crashed.
    async fn suffer(&mut self, i: usize, step: Step, client: ClientId, fault: ClientFault) {
        let c = &mut self.clients[client.index()];
        let name = c.name.clone();
        match fault {
            ClientFault::Pause => {
                c.paused = true;
                let paused = c.seat.pause().await;
                self.rec.instant(&name, Op::Pause);
                self.diverge_if(i, step, paused.err(), "could not pause");
            }
            ClientFault::Resume => {
                c.paused = false;
                let resumed = c.seat.resume().await;
                self.rec.instant(&name, Op::Resume);
                self.warm_if_needed(client.index()).await;
                self.diverge_if(i, step, resumed.err(), "could not resume");
            }
            ClientFault::Crash => {
                c.seat.crash();
                c.in_flight = None;
                c.fence = None;
                self.rec.instant(&name, Op::Crash);
            }
            // In a replay the lab drives the watchdog (each renewal is a
            // `renew` step): a starved watchdog is one given no renewal
            // until it wakes, which the schedule already says.
            ClientFault::Stall => {
                self.rec.instant(&name, Op::Stall);
            }
            ClientFault::Wake => {
                self.rec.instant(&name, Op::Wake);
            }
        }
    }

    /// A fault done to a node.
    async fn strike(&mut self, node: NodeId, fault: NodeFault) -> Result<(), ReplayError> {
        match fault {
            NodeFault::Restart => self.restart(node).await?,
            NodeFault::DelayedRestart => {
                self.nodes.crash(node).await?;
                self.anchors.retain(|(n, _), _| *n != node);
                let e = self.rec.instant("lab", Op::Down);
                e.node = Some(node);
            }
            NodeFault::Rejoin => {
                self.nodes.rejoin(node).await?;
                let e = self.rec.instant("lab", Op::Rejoin);
                e.node = Some(node);
                self.warm_all().await;
            }
            NodeFault::ClockJump => {
                let by = self.tick * u32::from(locklab_model::fault::CLOCK_JUMP_TICKS);
                self.nodes.jump(node, by).await?;
                // The node's keys end `by` earlier: their clocks started
                // that much earlier.
                for (key, anchor) in self.anchors.iter_mut() {
                    if key.0 == node && key.1 == KeyRole::Lock {
                        *anchor = anchor.checked_sub(by).unwrap_or(*anchor);
                    }
                }
                let e = self.rec.instant("lab", Op::ClockJump);
                e.node = Some(node);
            }
            NodeFault::Failover => self.failover(node).await?,
            NodeFault::NoReplicas => {
                return Err(not_cut(Step::Node { node, fault }));
            }
        }
        Ok(())
    }

    /// Sentinel promotes the replica; then every client follows the new
    /// primary before the next step (a client that cannot act now —
    /// paused, or waiting for a reply — as soon as it can).
    async fn failover(&mut self, node: NodeId) -> Result<(), ReplayError> {
        let asked = self.rec.now_us();
        self.nodes.failover(node).await?;
        let e = self.rec.instant("lab", Op::Failover);
        e.node = Some(node);
        e.start_us = asked;
        for c in &mut self.clients {
            if c.in_flight.is_some() || c.paused {
                c.needs_warm = true;
            } else {
                c.seat.warm().await;
            }
        }
        Ok(())
    }

    /// One operation, its reply read at once, recorded. A refusal of the
    /// server's own (out of memory, no scripting, read-only, NOAUTH) stops
    /// the replay: it is the environment, not the lock.
    async fn perform(&mut self, c: usize, call: Call) -> Result<Option<Outcome>, ReplayError> {
        let client = &mut self.clients[c];
        let op = call.op;
        let data = if op.carries_data() {
            client.carried += 1;
            format!("{} {op} {}", client.name, client.carried)
        } else {
            String::new()
        };
        let fence = client.fence;
        let name = client.name.clone();
        let idx = self.rec.invoke(&name, Op::Call(call));
        if let Some(node) = op.node() {
            self.rec.at_node(idx, node);
        }
        if op == ClientOp::Write {
            self.rec.carry(idx, fence);
        }
        let result = self.clients[c].seat.perform(call, &data).await;
        self.settle(c, idx, call, result).await
    }

    /// Records an operation's result; a server refusal is an error (but
    /// a worker that died is the lock's failure, named as such by
    /// [`Conductor::find_death`], whatever its last words were).
    async fn settle(
        &mut self,
        c: usize,
        idx: usize,
        call: Call,
        result: Result<Outcome, OpError>,
    ) -> Result<Option<Outcome>, ReplayError> {
        if let Err(e) = &result {
            self.clients[c].last_error = Some(e.message.clone());
            let died = self.clients[c].seat.exit().await.is_some();
            let refusal = if e.refused {
                Some(e.message.clone())
            } else {
                server_refusal(&e.message)
            };
            if let (false, Some(message)) = (died, refusal) {
                return Err(ReplayError::Refused {
                    client: self.clients[c].name.clone(),
                    op: call,
                    message,
                });
            }
        }
        let said = self.clients[c].seat.take_said();
        self.rec.said(idx, said);
        if call.op == ClientOp::Renew {
            let key = self.clients[c].seat.client().and_then(|cl| cl.extended());
            self.rec.extends(idx, key);
        }
        let client = &mut self.clients[c];
        match &result {
            // A reply never read gives no belief; nor does one master's.
            Ok(_) if call.reply == Reply::Lost || call.op.node().is_some() => {}
            Ok(o) if o.gives_belief() => {
                if let Some(f) = o.fence() {
                    client.fence = Some(f);
                }
            }
            Ok(Outcome::Lost | Outcome::NotHeld) if call.op != ClientOp::Release => {
                client.fence = None
            }
            _ => {}
        }
        let outcome = result.as_ref().ok().cloned();
        self.rec.complete(idx, result);
        Ok(outcome)
    }

    /// Sends an operation whose reply stays in flight, and waits until
    /// Redis has answered it (the reply is held), so that the step is over
    /// on Redis when the next one starts — whatever key shows it, or none.
    async fn send_delayed(&mut self, c: usize, op: ClientOp) {
        let name = self.clients[c].name.clone();
        let idx = self.rec.invoke(&name, Op::call(op));
        match self.clients[c].seat.send(op).await {
            Ok(()) => {
                self.clients[c].in_flight = Some((idx, op));
                // A renewal's reply is kept by the watchdog itself, already.
                if op != ClientOp::Renew {
                    let budget = self.tick * 10;
                    self.clients[c].seat.wait_answered(budget).await;
                }
            }
            Err(e) => self.rec.complete(idx, Err(e)),
        }
    }

    /// The delayed reply reaches the client.
    async fn deliver(&mut self, c: usize) -> Result<Option<Outcome>, ReplayError> {
        let Some((idx, op)) = self.clients[c].in_flight.take() else {
            return Ok(None);
        };
        let result = self.clients[c].seat.deliver(op).await;
        let outcome = self.settle(c, idx, Call::now(op), result).await?;
        self.warm_if_needed(c).await;
        Ok(outcome)
    }

    /// Compares a real outcome with the model's.
    fn expect(&mut self, i: usize, s: &Scripted, real: Option<&Outcome>) {
        self.replied = real.cloned();
        let Some(expected) = &s.expect else {
            return;
        };
        if real.is_some_and(|r| expected.matches(r)) {
            return;
        }
        let got = match real {
            Some(r) => format!("Redis said {r}"),
            None => "the command failed (the history has the error)".to_owned(),
        };
        self.diverge(i, s.step, format!("the model says {expected}, {got}"));
    }

    fn diverge_if(&mut self, i: usize, step: Step, error: Option<OpError>, what: &str) {
        if let Some(e) = error {
            self.diverge(i, step, format!("{what}: {e}"));
        }
    }

    /// Records the first divergence.
    fn diverge(&mut self, i: usize, step: Step, what: String) {
        if self.divergence.is_none() {
            self.divergence = Some(Divergence {
                step: i + 1,
                played: step.to_string(),
                what,
            });
        }
    }

    /// After a step that granted or renewed a lease, its clock starts at
    /// the step's start; a copy of an earlier lease that appears on a node
    /// (a replica catching up, a failover) keeps that lease's clock; a
    /// lease the step removed has no clock any more.
    fn restart_clocks(&mut self, s: &Scripted, started: Instant) {
        let ended = Instant::now();
        for after in &s.after {
            let key = (after.node, after.key);
            let before = s.before.iter().find(|b| (b.node, b.key) == key);
            if before.is_none_or(|b| after.ticks_left > b.ticks_left) {
                let ends = self.ticks + u32::from(after.ticks_left);
                let anchor = match self.expiries.get(&ends) {
                    Some(&granted) if after.ticks_left < after.ttl => granted,
                    _ => {
                        self.expiries.entry(ends).or_insert(started);
                        started
                    }
                };
                self.anchors.insert(key, anchor);
                self.anchor_ends.insert(key, ended);
            }
        }
        self.forget_ended(&s.after);
    }

    /// Drops the clocks of leases that are not in `after`.
    fn forget_ended(&mut self, after: &[LeaseClock]) {
        let live = |(node, role): &(NodeId, KeyRole)| {
            after.iter().any(|a| a.node == *node && a.key == *role)
        };
        self.anchors.retain(|k, _| live(k));
        self.anchor_ends.retain(|k, _| live(k));
    }

    /// One tick of model time. The tick that ends a lease a key shows
    /// waits (in the observation after it) until Redis has expired the
    /// key; the tick that ends a lease no key shows waits until it has
    /// surely run out on Redis (its whole lease after the step that started
    /// it ended, and a millisecond of Redis's clock more); any other tick
    /// waits until that many ticks have passed since each lease's grant.
    async fn tick(&mut self, s: &Scripted) -> Result<(), ReplayError> {
        let mut until = None::<Instant>;
        let mut wait = |at: Instant| until = Some(until.map_or(at, |u: Instant| u.max(at)));
        for after in &s.after {
            if let Some(anchor) = self.anchors.get(&(after.node, after.key)) {
                let elapsed = u32::from(after.ttl.saturating_sub(after.ticks_left));
                wait(*anchor + self.tick * elapsed);
            }
        }
        for before in &s.before {
            let key = (before.node, before.key);
            let ends_now = !present(&s.after, before.node, before.key);
            if let (true, false, Some(end)) =
                (ends_now, key.1.is_a_key(), self.anchor_ends.get(&key))
            {
                wait(*end + self.tick * u32::from(before.ttl) + Duration::from_millis(2));
            }
        }
        if let Some(until) = until {
            tokio::time::sleep_until(until.into()).await;
        }
        self.forget_ended(&s.after);
        Ok(())
    }

    /// Looks at Redis until each observed key has a lease or none as the
    /// model says after the step (a tick that ends a lease may wait for the
    /// server to expire it; anything else should show at once); records a
    /// change.
    async fn observe(
        &mut self,
        i: usize,
        s: &Scripted,
        roles: &[KeyRole],
    ) -> Result<(), ReplayError> {
        let ttl = u32::from(self.clocks_ttl(s));
        // Once the run has diverged, its timing proves nothing more: one
        // look records what Redis holds, without waiting for the model.
        let budget = if self.divergence.is_some() {
            Duration::ZERO
        } else if s.step == Step::Tick {
            self.tick * (ttl + 10)
        } else {
            self.tick * 10
        };
        for n in 0..self.nodes.len() {
            let node = NodeId(n as u8);
            if self.nodes.nodes()[n].down || !self.nodes.observes(node) {
                continue;
            }
            for &role in roles {
                let Some(key) = role_key(&self.keys, role) else {
                    continue;
                };
                self.observe_key(i, s, node, role, &key, budget).await?;
            }
        }
        Ok(())
    }

    async fn observe_key(
        &mut self,
        i: usize,
        s: &Scripted,
        node: NodeId,
        role: KeyRole,
        key: &str,
        budget: Duration,
    ) -> Result<(), ReplayError> {
        let want = present(&s.after, node, role);
        let conn = self.nodes.nodes()[node.index()].conn.clone();
        let (is, asked) = wait_for_lease(&conn, key, want, budget).await?;
        if let (true, false, Some(by)) = (want, is, self.past_window(&s.after, node, role, asked)) {
            // The machine fell so far behind that the lease ran out on
            // Redis before the lab could look: late, not a divergence.
            if self.overrun.is_none() {
                self.overrun = Some(self.overrun_at(
                    i,
                    s.step,
                    by,
                    Lateness::Look {
                        key: role_name(role),
                    },
                ));
            }
            return Ok(());
        }
        let several = self.nodes.len() > 1;
        let records = self.nodes.records(node);
        let slot = self.nodes.node_mut(node)?;
        if records && slot.seen.get(&role) != Some(&is) {
            slot.seen.insert(role, is);
            let e = self.rec.instant("lab", Op::Observed);
            e.present = Some(is);
            if several {
                e.node = Some(node);
            }
            if role != KeyRole::Lock {
                e.key = Some(role);
            }
        }
        let delayed_acquire = |step| match step {
            Step::Op {
                client,
                op: ClientOp::Acquire,
                reply: Reply::Held,
            } => Some(client),
            _ => None,
        };
        if let (true, KeyRole::Lock, Some(client)) = (is, role, delayed_acquire(s.step)) {
            // A delayed acquire Redis has run: granted, not yet known.
            if let Some((idx, _)) = self.clients[client.index()].in_flight {
                self.rec.observe(idx, Outcome::GRANTED);
            }
        }
        if is != want {
            let (now, model) = if is {
                ("still has", "gone")
            } else {
                ("has no", "there")
            };
            let answered = match &self.replied {
                Some(reply) => format!("the lock answered {reply}, but "),
                None => String::new(),
            };
            self.diverge(
                i,
                s.step,
                format!(
                    "{answered}Redis {now} {} where the model says it is {model}",
                    role_name(role).trim_start_matches("the ")
                ),
            );
        }
        Ok(())
    }

    /// How far `at` is past the real end of the tick the model is in, for
    /// the lease on `node`, if it is: after it, Redis may rightly have
    /// expired a key the model still has.
    fn past_window(
        &self,
        leases: &[LeaseClock],
        node: NodeId,
        role: KeyRole,
        at: Instant,
    ) -> Option<Duration> {
        leases
            .iter()
            .filter(|l| l.node == node && l.key == role)
            .filter_map(|l| {
                let anchor = self.anchors.get(&(l.node, l.key))?;
                let end = self.window_end(*anchor, l);
                (at >= end).then(|| at - end)
            })
            .max()
    }

    /// When the tick the model is in ends for a lease granted at `anchor`,
    /// less a margin: Redis counts a lease in whole milliseconds of its
    /// own clock from when it ran the command, so the real end can come a
    /// little before `anchor + ttl` ticks.
    fn window_end(&self, anchor: Instant, lease: &LeaseClock) -> Instant {
        let margin = (self.tick / 10).max(Duration::from_millis(2));
        anchor + self.tick * u32::from(lease.ttl - lease.ticks_left + 1) - margin
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
        self.anchor_ends.retain(|(n, _), _| *n != node);
        let e = self.rec.instant("lab", Op::Restart);
        if self.nodes.len() > 1 {
            e.node = Some(node);
        }
        self.warm_all().await;
        Ok(())
    }

    /// After a node came back: every client that can act makes sure its
    /// connection works again, so its next step is not spent reconnecting;
    /// the others do so as soon as they can.
    async fn warm_all(&mut self) {
        for c in &mut self.clients {
            if c.in_flight.is_some() || c.paused {
                c.needs_warm = true;
            } else {
                c.seat.warm().await;
            }
        }
    }

    /// Makes the client's connection usable if a restart could not.
    async fn warm_if_needed(&mut self, c: usize) {
        let client = &mut self.clients[c];
        if !client.paused && client.in_flight.is_none() && std::mem::take(&mut client.needs_warm) {
            client.seat.warm().await;
        }
    }

    /// Starts a renewing holder's deadline clock when it reads a grant or a
    /// renewal, from when it sent that request.
    fn keep_deadlines(&mut self, s: &Scripted, started: Instant, renews: bool) {
        if !renews {
            return;
        }
        let client = match s.step {
            Step::Op { client, .. } => {
                self.sent.insert(client.index(), (started, self.ticks));
                client
            }
            Step::Deliver { client } => client,
            _ => return,
        };
        let read_a_lease = matches!(
            s.expect,
            Some(Outcome::Granted { .. } | Outcome::Renewed | Outcome::Reacquired)
        );
        if let (true, Some(sent)) = (read_a_lease, self.sent.remove(&client.index())) {
            self.deadlines.insert(client.index(), sent);
        }
    }

    /// A step must be over before a renewing holder's own deadline could
    /// have passed where the model's has not: its lease counted by its own
    /// clock, which no restart of Redis resets. Late otherwise, as with a
    /// key's lease.
    fn check_deadlines(&mut self, i: usize, s: &Scripted, ttl: u8) {
        if self.overrun.is_some() || self.deadlines.is_empty() {
            return;
        }
        let done = Instant::now();
        for (c, &(sent, at_ticks)) in &self.deadlines {
            if !s.told.holders.contains(&self.clients[*c].name) {
                continue;
            }
            let passed = self.ticks.saturating_sub(at_ticks);
            if passed >= u32::from(ttl) {
                continue;
            }
            let lease = LeaseClock {
                node: NodeId::FIRST,
                key: KeyRole::Lock,
                ticks_left: ttl - u8::try_from(passed).unwrap_or(ttl),
                ttl,
            };
            let window_ends = self.window_end(sent, &lease);
            if done >= window_ends {
                let what = Lateness::Deadline { holder: *c + 1 };
                self.overrun = Some(self.overrun_at(i, s.step, done - window_ends, what));
                return;
            }
        }
    }

    /// Step `i` ended `by` past its window, for the reason `what`.
    fn overrun_at(&self, i: usize, step: Step, by: Duration, what: Lateness) -> Overrun {
        Overrun {
            step: i + 1,
            played: step.to_string(),
            by,
            tick: self.tick,
            what,
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
                self.overrun = Some(self.overrun_at(i, step, done - window_ends, Lateness::Step));
                return;
            }
        }
    }
}

/// An error line that is the server refusing the command for a reason of
/// its own (rather than a lost connection or a timeout): the server's own
/// words.
fn server_refusal(message: &str) -> Option<String> {
    const CODES: [&str; 10] = [
        "OOM",
        "NOSCRIPT",
        "NOAUTH",
        "WRONGPASS",
        "NOPERM",
        "READONLY",
        "ReadOnly",
        "MISCONF",
        "unknown command",
        "Error running script",
    ];
    CODES
        .iter()
        .find(|code| message.contains(*code))
        .map(|_| message.to_owned())
}

/// Polls Redis until `key` has (or has not) a lease — a TTL: `PTTL` is
/// -2 for no key and -1 for a key without one — up to `budget`; returns
/// what it saw first when that differs from `leased` at the deadline, or
/// what it saw last, with when the first look's reply came back: the
/// latest moment Redis can have looked, which is what judging a look
/// "early enough" must go by (the lab's own task may be held up between
/// taking the time and sending the command). (A free function: the
/// conductor holds clients that are `Send` but not `Sync`, so it cannot be
/// borrowed across an await.)
async fn wait_for_lease(
    lab: &Conn,
    key: &str,
    leased: bool,
    budget: Duration,
) -> Result<(bool, Instant), ReplayError> {
    let deadline = Instant::now() + budget;
    let mut first = None;
    loop {
        let pttl: i64 = lab.query(redis::cmd("PTTL").arg(key)).await?;
        let answered = *first.get_or_insert_with(Instant::now);
        let has = pttl >= 0;
        if has == leased || Instant::now() >= deadline {
            return Ok((has, answered));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
