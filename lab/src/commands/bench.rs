//! `locklab bench`: every lock variant and the peer crates side by side —
//! latency, throughput, fairness and hand-off time, each latency also as a
//! ratio to the Redis round trip measured in the same run (see
//! [`crate::bench`]).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use locklab_impl::{connect, ConnectOptions, Protocol, Ttl, Wait};
use locklab_model::{Faults, PropertyName};

use crate::bench::report::{Report, Row};
use crate::bench::run::{measure, RunSpec};
use crate::bench::sync::{measure_sync, SyncSpec};
use crate::bench::sync_report::{self, SyncRow};
use crate::bench::{rtt, svg, Peer, Variant};
use crate::output::Status;
use crate::output::{print_command_json, progress};
use crate::sentinel::{SentinelOptions, SentinelSet};
use crate::server::RedisServer;

/// The most clients one run may have (each holds one or two connections).
pub const MAX_CLIENTS: usize = 512;

/// The most masters a run may have.
pub const MAX_MASTERS: usize = 9;

/// The longest run accepted, seconds.
pub const MAX_DURATION_SECS: f64 = 600.0;

/// Flags of `locklab bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A protocol to measure (repeatable): naive, token, fenced (also
    /// naive-unchecked, with `--wait poll` only), reentrant, token-wait
    /// (which needs a replica: without `--redis` the lab then runs every
    /// variant on a primary of its own Sentinel set), or a sync protocol.
    /// Default: naive, token, fenced, reentrant and every sync protocol.
    #[arg(long = "protocol", value_name = "P")]
    pub protocols: Vec<String>,
    /// The key the sync protocols' units pass through (their sink is
    /// `<key>:sink`), instead of keys under the run's own prefix: the key
    /// must not exist yet (one of another type is refused and left
    /// untouched), and the bench deletes it after each run.
    #[arg(long, value_name = "K")]
    pub key: Option<String>,
    /// A waiting strategy to measure the protocols with (repeatable): poll,
    /// notify, fifo. Default: all three.
    #[arg(long = "wait", value_name = "W")]
    pub waits: Vec<String>,
    /// A peer crate to measure (repeatable): rslock, redlock-rs (each needs
    /// its cargo feature), or `none`. Default: every peer in this build.
    #[arg(long = "peer", value_name = "NAME")]
    pub peers: Vec<String>,
    /// Client counts for the contended runs.
    #[arg(long, value_delimiter = ',', value_name = "N,N", default_values_t = [1u64, 8, 64])]
    pub clients: Vec<u64>,
    /// Master counts. More than one runs the quorum locks (redlock,
    /// redlock-fenced: 3 or more) and the peer crates; the single-server
    /// locks and the adapters run on one.
    #[arg(long, value_delimiter = ',', value_name = "N,N", default_values_t = [1u64])]
    pub masters: Vec<u64>,
    /// Seconds each run contends (default 2; 0.3 with --quick).
    #[arg(long, value_name = "S")]
    pub duration_secs: Option<f64>,
    /// The lease of every grant, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub ttl_ms: u64,
    /// A short run for CI: 0.3 s per run, fewer PINGs.
    #[arg(long)]
    pub quick: bool,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Write SVG plots (latency.svg, handoff.svg, grants.svg) into DIR
    /// (created if missing; checked before anything is measured).
    #[arg(long, value_name = "DIR")]
    pub svg: Option<PathBuf>,
    /// Worker threads of the clients' tokio runtime. Default 1: the
    /// `redis-server` needs a core of its own, and on a small machine a
    /// reply that wakes a task on another thread can cost more than the
    /// round trip itself (measured: PING p50 20 µs on one thread, 30–80 µs
    /// on two).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Bring your own lock, in any language (repeatable): one worker process
    /// per client started from CMD (docs/worker-protocol.md), measured
    /// beside the Rust locks. A no-op adapter (adapters/python/noop.py)
    /// measures what the worker protocol itself costs.
    #[arg(long = "lock-cmd", value_name = "CMD")]
    pub lock_cmds: Vec<String>,
    /// Use these Redis servers (repeatable: one per master) instead of
    /// starting them (`redis+sentinel://host:port[,host:port...]/service`
    /// for a Sentinel service's primary).
    #[arg(long = "redis", value_name = "URL")]
    pub redis: Vec<String>,
    /// Instead of the runs above: fail the primary over this many times
    /// (the lab's Sentinel set, one replica, its primary killed) while
    /// clients contend, and measure what each failover costs them.
    #[arg(long, value_name = "N")]
    pub failovers: Option<usize>,
    /// Replicas of the lab's Sentinel set (1 or 2), for `--failovers` and
    /// for a protocol that needs a replica.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub replicas: usize,
}

/// A validated bench: what to run and how.
#[derive(Clone, Debug)]
pub struct BenchPlan {
    /// The variants, in table order.
    pub variants: Vec<Variant>,
    /// Client counts of the contended runs.
    pub clients: Vec<usize>,
    /// Master counts.
    pub masters: Vec<usize>,
    /// Seconds per run.
    pub duration: Duration,
    /// The lease.
    pub ttl: Ttl,
    /// `--quick`.
    pub quick: bool,
    /// JSON instead of tables.
    pub json: bool,
    /// Where to write the plots.
    pub svg: Option<PathBuf>,
    /// Servers given by the user (empty: start them).
    pub redis: Vec<String>,
    /// `PING`s for the RTT.
    pub pings: u32,
    /// Worker threads of the clients' runtime.
    pub threads: usize,
    /// The sync protocols, in table order.
    pub sync: Vec<Protocol>,
    /// The sync runs' key, when the user names it.
    pub key: Option<locklab_impl::sync::SyncKey>,
    /// Failovers to measure instead of the runs (`--failovers`).
    pub failovers: Option<usize>,
    /// Replicas of the lab's Sentinel set.
    pub replicas: usize,
}

impl BenchPlan {
    /// The runs, in order: (variant, masters, clients). The one-client run
    /// of each variant and master count is the uncontended one, always run.
    pub fn runs(&self) -> Vec<(Variant, usize, usize)> {
        let mut clients = vec![1];
        clients.extend(self.clients.iter().copied().filter(|&c| c != 1));
        let mut runs = Vec::new();
        for v in &self.variants {
            for &m in &self.masters {
                if v.supports_masters(m) {
                    runs.extend(clients.iter().map(|&c| (v.clone(), m, c)));
                }
            }
        }
        runs
    }

    /// The sync runs, in order: (protocol, workers), one worker first.
    pub fn sync_runs(&self) -> Vec<(Protocol, usize)> {
        let mut workers = vec![1];
        workers.extend(self.clients.iter().copied().filter(|&c| c != 1));
        self.sync
            .iter()
            .flat_map(|p| workers.iter().map(move |&w| (*p, w)))
            .collect()
    }
}

fn dedup<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

impl BenchArgs {
    /// Turns the flags into a plan, or says in one line what is wrong.
    pub fn plan(&self) -> anyhow::Result<BenchPlan> {
        let named_by_user = !self.protocols.is_empty();
        let named: Vec<Protocol> = if self.protocols.is_empty() {
            let masters: Vec<usize> = self.masters.iter().map(|&m| m as usize).collect();
            crate::family::default_bench_rows(&masters)
        } else {
            dedup(
                self.protocols
                    .iter()
                    .map(|p| super::names::protocol(p))
                    .collect::<anyhow::Result<Vec<_>>>()?,
            )
        };
        let (sync, protocols): (Vec<Protocol>, Vec<Protocol>) = named
            .into_iter()
            .partition(|p| crate::family::entry(*p).bench_apart);
        let key = match &self.key {
            Some(k) => Some(
                locklab_impl::sync::SyncKey::new(k.as_str())
                    .map_err(|e| anyhow::anyhow!("--key: {e}"))?,
            ),
            None => None,
        };
        let waits = if self.waits.is_empty() {
            vec![
                Wait::named("poll")?,
                Wait::named("notify")?,
                Wait::named("fifo")?,
            ]
        } else {
            dedup(
                self.waits
                    .iter()
                    .map(|w| Wait::named(w))
                    .collect::<Result<Vec<_>, _>>()?,
            )
        };
        let peers = if self.peers.is_empty() {
            Peer::available()
        } else if self.peers.iter().all(|p| p == "none") {
            Vec::new()
        } else {
            dedup(
                self.peers
                    .iter()
                    .filter(|p| *p != "none")
                    .map(|p| {
                        Peer::parse(p).map_err(|e| {
                            let known = Peer::ALL.map(Peer::name);
                            anyhow::anyhow!(crate::output::suggest::with_hint(e, p, known))
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?,
            )
        };
        let mut variants = Vec::new();
        for &protocol in &protocols {
            let fitting: Vec<Wait> = waits
                .iter()
                .copied()
                .filter(|w| w.fits(protocol).is_ok())
                .collect();
            if fitting.is_empty() {
                let why = waits
                    .first()
                    .and_then(|w| w.fits(protocol).err())
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                bail!("--protocol {protocol}: no --wait given fits it ({why})");
            }
            variants.extend(
                fitting
                    .into_iter()
                    .map(|wait| Variant::Impl { protocol, wait }),
            );
        }
        for peer in peers {
            for &retry in peer.retries() {
                variants.push(Variant::Peer { peer, retry });
            }
        }
        for text in &self.lock_cmds {
            let command = crate::worker::LockCommand::parse(text)?;
            let label = command.label();
            variants.push(Variant::Worker { command, label });
        }
        let clients = dedup(self.clients.iter().copied());
        for &c in &clients {
            if c == 0 || c > MAX_CLIENTS as u64 {
                bail!("--clients {c}: give 1 to {MAX_CLIENTS} clients per run");
            }
        }
        if clients.is_empty() {
            bail!("--clients: give at least one count, e.g. 1,8,64");
        }
        let masters = dedup(self.masters.iter().copied());
        for &m in &masters {
            if m == 0 || m > MAX_MASTERS as u64 {
                bail!("--masters {m}: give 1 to {MAX_MASTERS} masters");
            }
            if !self.redis.is_empty() && m as usize > self.redis.len() {
                bail!(
                    "--masters {m}: only {} --redis server(s) given; give one --redis URL per master",
                    self.redis.len()
                );
            }
        }
        if masters.is_empty() {
            bail!("--masters: give at least one count, e.g. 1,3,5");
        }
        if named_by_user {
            refuse_unmeasured(&variants, &masters)?;
        }
        if let Some(dir) = &self.svg {
            writable(dir).with_context(|| format!("--svg {}", dir.display()))?;
        }
        let secs = self
            .duration_secs
            .unwrap_or(if self.quick { 0.3 } else { 2.0 });
        if !(0.05..=MAX_DURATION_SECS).contains(&secs) {
            bail!("--duration-secs {secs}: give 0.05 to {MAX_DURATION_SECS} seconds");
        }
        let ttl = Ttl::from_millis(self.ttl_ms).context("--ttl-ms")?;
        if self.ttl_ms < 100 {
            bail!("--ttl-ms {}: give at least 100 ms (a lease shorter than a scheduling hiccup makes every figure noise)", self.ttl_ms);
        }
        for url in &self.redis {
            super::target::redis_url(url)?;
        }
        let threads = self.threads;
        if threads == 0 || threads > 64 {
            bail!("--threads {threads}: give 1 to 64");
        }
        let failovers = match self.failovers {
            Some(n) if !(1..=100).contains(&n) => bail!("--failovers {n}: give 1 to 100"),
            Some(_) if !self.redis.is_empty() => {
                bail!("--failovers kills a primary: it runs on the lab's own Sentinel set only (drop --redis)")
            }
            n => n,
        };
        if variants.iter().any(Variant::confirms)
            && self.redis.is_empty()
            && masters.iter().any(|&m| m > 1)
        {
            bail!("--masters above 1 with a protocol that needs a replica: give --masters 1, or --redis");
        }
        if !(1..=2).contains(&self.replicas) {
            bail!("--replicas {}: give 1 or 2", self.replicas);
        }
        let plan = BenchPlan {
            replicas: self.replicas,
            failovers,
            threads,
            variants,
            clients: clients.into_iter().map(|c| c as usize).collect(),
            masters: masters.into_iter().map(|m| m as usize).collect(),
            duration: Duration::from_secs_f64(secs),
            ttl,
            quick: self.quick,
            json: self.json,
            svg: self.svg.clone(),
            redis: self.redis.clone(),
            pings: if self.quick { 300 } else { 2000 },
            sync,
            key,
        };
        if plan.runs().is_empty() && plan.sync.is_empty() {
            let quorum: Vec<&str> = Protocol::all()
                .iter()
                .filter(|p| crate::family::entry(**p).masters != crate::family::Masters::One)
                .map(|p| p.name())
                .collect();
            let peers: Vec<&str> = Peer::ALL.iter().map(|p| p.name()).collect();
            bail!(
                "nothing to run: more than one master needs a quorum lock (--protocol {}) or a peer crate (--peer {}); add --masters 1",
                quorum.join(", "),
                peers.join(", ")
            );
        }
        Ok(plan)
    }
}

/// Refuses a protocol the user named that no master count of the run can
/// measure (a quorum lock with `--masters 1`): measuring the others and
/// exiting 0 would answer a question that was not asked.
fn refuse_unmeasured(variants: &[Variant], masters: &[u64]) -> anyhow::Result<()> {
    for v in variants.iter().filter(|v| !v.is_peer()) {
        if masters.iter().any(|&m| v.supports_masters(m as usize)) {
            continue;
        }
        let fits: Vec<usize> = (1..=MAX_MASTERS)
            .filter(|&m| v.supports_masters(m))
            .collect();
        let given: Vec<String> = masters.iter().map(u64::to_string).collect();
        match (fits.first(), fits.len()) {
            (Some(&m), 1) => bail!(
                "--protocol {}: it runs on {m} master{} only, and --masters is {}: give --masters {m}",
                v.name(),
                if m == 1 { "" } else { "s" },
                given.join(",")
            ),
            (Some(&m), _) => bail!(
                "--protocol {}: it runs on {m} or more masters, and --masters is {}: add --masters {m}",
                v.name(),
                given.join(",")
            ),
            (None, _) => bail!("--protocol {}: no master count runs it", v.name()),
        }
    }
    Ok(())
}

/// Makes sure the plots can be written into `dir` before anything is
/// measured: creates it if missing, and writes (then removes) a file.
fn writable(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).context("cannot create the directory")?;
    tempfile::tempfile_in(dir).context("cannot write into the directory")?;
    Ok(())
}

/// Runs `locklab bench`.
pub fn run(args: &BenchArgs) -> anyhow::Result<Status> {
    let plan = args.plan()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(plan.threads)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    if let Some(failovers) = plan.failovers {
        let failover = crate::bench::failover::FailoverPlan {
            variants: plan.variants.clone(),
            clients: plan.clients.iter().copied().find(|&c| c > 1).unwrap_or(1),
            replicas: plan.replicas,
            ttl: plan.ttl,
            failovers,
            json: plan.json,
        };
        return crate::bench::failover::run(&failover, &runtime);
    }
    let most = plan.masters.iter().copied().max().unwrap_or(1);
    let mut replicated = None;
    let (_servers, urls) = if !plan.redis.is_empty() {
        (Vec::new(), plan.redis.clone())
    } else if plan.variants.iter().any(Variant::confirms) {
        // A lock that waits for a replica: every variant on the primary of
        // a set with one, so that the rows compare on the same server.
        let set = runtime
            .block_on(SentinelSet::start(&SentinelOptions {
                replicas: plan.replicas,
                ..SentinelOptions::default()
            }))
            .map_err(|e| {
                crate::output::Tailed::new(format!("starting a Sentinel set: {e}"), e.log_tail())
            })?;
        let urls = vec![set.primary_url()];
        replicated = Some(set);
        (Vec::new(), urls)
    } else {
        let servers = RedisServer::start_many(most).context("starting redis-server")?;
        let urls = servers.iter().map(RedisServer::url).collect();
        (servers, urls)
    };
    let mut report = runtime.block_on(run_plan(&plan, &urls))?;
    if replicated.is_some() {
        report.servers = "embedded primary with a replica";
    }
    drop(replicated);
    if plan.json {
        print_command_json("bench", &report)?;
    } else {
        print!("{}", report.render());
    }
    if let Some(dir) = &plan.svg {
        let written = svg::write(&report, dir)
            .with_context(|| format!("--svg {}: cannot write the plots", dir.display()))?;
        if !plan.json {
            for path in written {
                println!("wrote {}", path.display());
            }
        }
    }
    Ok(if !report.broken.is_empty() {
        Status::Broken
    } else if !report.not_judged.is_empty() {
        Status::Inconclusive
    } else {
        Status::Agrees
    })
}

/// Measures the RTT, then every run of the plan, with a progress bar.
pub async fn run_plan(plan: &BenchPlan, urls: &[String]) -> anyhow::Result<Report> {
    let options = ConnectOptions::default();
    let mut conns = Vec::new();
    for url in urls {
        let conn = match crate::client::connect_any(url, &options).await {
            Ok(conn) => conn,
            Err(e) => {
                let masked = crate::output::masked(url);
                if let Some(answer) = super::target::not_redis(url).await {
                    bail!("--redis {masked}: the server there is not Redis: it answered a PING with {answer:?}");
                }
                bail!("--redis {masked}: {}", crate::client::error_line(&e));
            }
        };
        conns.push(conn);
    }
    let Some(conn) = conns.first().cloned() else {
        bail!("no Redis server to measure");
    };
    // Every key of the run lives under its own prefix, and every one of
    // them is deleted at the end, whatever happened.
    let space = crate::replay::KeySpace::new();
    let measured = measure_all(plan, urls, &space, conn).await;
    for conn in &conns {
        space
            .delete(conn, &format!("{}:*", space.prefix()))
            .await
            .map_err(|e| anyhow::anyhow!("deleting the bench's keys: {e}"))?;
    }
    measured
}

async fn measure_all(
    plan: &BenchPlan,
    urls: &[String],
    space: &crate::replay::KeySpace,
    conn: locklab_impl::Conn,
) -> anyhow::Result<Report> {
    let options = ConnectOptions::default();
    // On a worker thread, as the clients run: measured from the runtime's
    // own thread, every reply would cost a cross-thread wake-up more.
    let pings = plan.pings;
    let rtt = tokio::spawn(async move { rtt::measure(&conn, pings).await })
        .await
        .map_err(|e| anyhow::anyhow!("measuring the RTT: {e}"))?
        .map_err(|e| anyhow::anyhow!("measuring the RTT: {e}"))?;
    let runs = plan.runs();
    let bar = progress::bar(runs.len() as u64, "runs");
    let mut report = Report {
        rtt_us: rtt.p50_us,
        rtt_p99_us: rtt.p99_us,
        servers: if plan.redis.is_empty() {
            "embedded"
        } else {
            "given"
        },
        ttl_ms: plan.ttl.as_millis(),
        duration_secs: plan.duration.as_secs_f64(),
        quick: plan.quick,
        uncontended: Vec::new(),
        contended: Vec::new(),
        broken: Vec::new(),
        erred: Vec::new(),
        not_judged: Vec::new(),
        sync: Vec::new(),
        sync_targets: Vec::new(),
    };
    for (n, (variant, masters, clients)) in runs.into_iter().enumerate() {
        bar.set_message(format!("{variant} ×{masters}, {clients} clients"));
        let spec = RunSpec {
            variant: variant.clone(),
            urls: urls[..masters].to_vec(),
            clients,
            duration: plan.duration,
            ttl: plan.ttl,
            key: format!("{}:bench:{n}:{variant}", space.prefix()),
            connect: options,
        };
        let measured = measure(&spec)
            .await
            .map_err(|e| anyhow::anyhow!("{variant} with {clients} clients: {e}"))?;
        if let (0, Some(e)) = (measured.analysis.grants, &measured.first_error) {
            // Nothing was measured: the server refused every operation.
            anyhow::bail!("{variant} with {clients} clients: every operation failed: {e}");
        }
        tracing::debug!(
            %variant, clients, events = measured.events,
            checked_in = ?measured.checked_in, "history checked"
        );
        if clients == 1 {
            let row = Row::new(&variant, 1, masters, &measured, rtt.p50_us, true);
            report.uncontended.push(row);
        }
        if plan.clients.contains(&clients) {
            let row = Row::new(&variant, clients, masters, &measured, rtt.p50_us, false);
            report.contended.push(row);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut broken: Vec<String> = Vec::new();
    let mut erred: Vec<String> = Vec::new();
    let mut not_judged: Vec<String> = Vec::new();
    for row in report.uncontended.iter().chain(&report.contended) {
        if row.is_broken() && !broken.contains(&row.label()) {
            broken.push(row.label());
        }
        if row.errors > 0 && !erred.contains(&row.label()) {
            erred.push(row.label());
        }
        if let Some(why) = row.not_judged().filter(|w| !not_judged.contains(w)) {
            not_judged.push(why);
        }
    }
    measure_sync_rows(plan, urls, space, &mut report, &mut broken, &mut erred).await?;
    not_judged.extend(report.sync.iter().filter(|r| r.errors > 0).map(|r| {
        format!(
            "{} ({} workers): {} errors",
            r.protocol, r.workers, r.errors
        )
    }));
    report.broken = broken;
    report.erred = erred;
    report.not_judged = not_judged;
    Ok(report)
}

/// The sync runs of the plan; a row that breaks what its protocol claims
/// with no fault (a unit applied twice, a unit lost) is broken.
async fn measure_sync_rows(
    plan: &BenchPlan,
    urls: &[String],
    space: &crate::replay::KeySpace,
    report: &mut Report,
    broken: &mut Vec<String>,
    erred: &mut Vec<String>,
) -> anyhow::Result<()> {
    let runs = plan.sync_runs();
    if runs.is_empty() {
        return Ok(());
    }
    let url = urls.first().cloned().unwrap_or_default();
    let options = ConnectOptions::default();
    let conn = connect(&url, &options)
        .await
        .map_err(|e| anyhow::anyhow!("{}", crate::client::error_line(&e)))?;
    if let Some(key) = &plan.key {
        preflight(&conn, key, &plan.sync).await?;
    }
    let bar = progress::bar(runs.len() as u64, "sync runs");
    for (n, (protocol, workers)) in runs.into_iter().enumerate() {
        bar.set_message(format!("{protocol}, {workers} workers"));
        let key = match &plan.key {
            Some(k) => k.as_str().to_owned(),
            None => format!("{}:sync:{n}:{protocol}", space.prefix()),
        };
        let spec = SyncSpec {
            protocol,
            url: url.clone(),
            workers,
            duration: plan.duration,
            ttl: plan.ttl,
            sink: format!("{key}:sink"),
            key,
            connect: options,
        };
        let measured = measure_sync(&spec).await;
        if plan.key.is_some() {
            delete_run_keys(&conn, &spec).await?;
        }
        let measured =
            measured.map_err(|e| anyhow::anyhow!("{protocol} with {workers} workers: {e}"))?;
        let row = SyncRow::new(protocol.name(), workers, &measured, report.rtt_us);
        let label = format!("{protocol} ({workers} workers)");
        if row.errors > 0 {
            erred.push(label);
        } else {
            let claims = |p: PropertyName| protocol.claims(p, Faults::NONE);
            if (claims(PropertyName::NoDoubleProcessing) && row.doubled > 0)
                || (claims(PropertyName::NoLostUpdate) && row.lost > 0)
            {
                broken.push(label);
            }
        }
        report.sync.push(row);
        bar.inc(1);
    }
    bar.finish_and_clear();
    report.sync_targets = sync_report::targets(&report.sync);
    Ok(())
}

/// The keys one sync run writes under a user's `--key`.
fn run_keys(spec: &SyncSpec) -> [String; 4] {
    [
        spec.key.clone(),
        locklab_impl::sync::claim_key(&spec.key),
        spec.sink.clone(),
        format!("{}:seen", spec.sink),
    ]
}

/// Refuses a user's key that holds another type than a protocol stores
/// there, or that exists at all, before anything is written.
async fn preflight(
    conn: &locklab_impl::Conn,
    key: &locklab_impl::sync::SyncKey,
    protocols: &[Protocol],
) -> anyhow::Result<()> {
    let sink = locklab_impl::sync::SinkKey::new(format!("{key}:sink"))
        .map_err(|e| anyhow::anyhow!("--key: {e}"))?;
    for protocol in protocols {
        let caps = locklab_impl::sync::caps_of(*protocol)?;
        locklab_impl::sync::check_types(caps, conn, conn, key, &sink)
            .await
            .map_err(|e| anyhow::anyhow!("--key {key}: {e}"))?;
    }
    let keys = run_keys(&SyncSpec {
        protocol: protocols[0],
        url: String::new(),
        workers: 0,
        duration: Duration::ZERO,
        ttl: Ttl::from_millis(1)?,
        key: key.as_str().to_owned(),
        sink: sink.as_str().to_owned(),
        connect: ConnectOptions::default(),
    });
    let existing: u64 = conn
        .query(redis::cmd("EXISTS").arg(&keys[..]))
        .await
        .map_err(|e| anyhow::anyhow!("{}", crate::client::error_line(&e)))?;
    if existing > 0 {
        bail!(
            "--key {key}: {} already exist on the server; the bench writes units there and deletes them after each run, so it needs keys nobody uses (it left them untouched)",
            keys.join(", ")
        );
    }
    Ok(())
}

async fn delete_run_keys(conn: &locklab_impl::Conn, spec: &SyncSpec) -> anyhow::Result<()> {
    let _: u64 = conn
        .query(redis::cmd("DEL").arg(&run_keys(spec)[..]))
        .await
        .map_err(|e| {
            anyhow::anyhow!("deleting the run's keys: {}", crate::client::error_line(&e))
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn plan(args: &[&str]) -> anyhow::Result<BenchPlan> {
        let mut argv = vec!["locklab", "bench"];
        argv.extend_from_slice(args);
        match crate::cli::Cli::try_parse_from(argv)?.command {
            crate::cli::Command::Bench(a) => a.plan(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_default_plan_is_three_locks_by_three_strategies_reentrant_polling_and_the_peers() {
        let p = plan(&[]).unwrap();
        let impl_rows = p.variants.iter().filter(|v| !v.is_peer()).count();
        assert_eq!(impl_rows, 3 * 3 + 1);
        assert_eq!(p.clients, [1, 8, 64]);
        assert_eq!(p.masters, [1]);
        assert_eq!(p.duration, Duration::from_secs(2));
        // Uncontended (1 client) is shared with the 1-client contended run.
        assert_eq!(p.runs().len(), p.variants.len() * 3);
    }

    #[test]
    fn masters_beyond_one_only_run_peers_and_the_one_client_run_is_always_there() {
        let p = plan(&["--clients", "8", "--masters", "1,3", "--peer", "none"]).unwrap();
        let (one, three): (Vec<_>, Vec<_>) = p.runs().into_iter().partition(|(_, m, _)| *m == 1);
        assert_eq!(one.len(), 10 * 2, "1 (uncontended) and 8 clients");
        assert!(!three.is_empty());
        assert!(
            three
                .iter()
                .all(|(v, _, _)| v.supports_masters(3) && !v.supports_masters(1)),
            "on three masters only the quorum locks: {three:?}"
        );
        // A protocol named on purpose that no master count runs is refused
        // (it would measure nothing of it and exit 0).
        let e = plan(&["--masters", "3", "--peer", "none", "--protocol", "token"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--protocol token: it runs on 1 master only, and --masters is 3: give --masters 1"
        );
        let e = plan(&["--protocol", "redlock"]).unwrap_err();
        assert!(e.to_string().contains("add --masters 3"), "{e}");
    }

    #[test]
    fn bad_input_is_one_line() {
        for args in [
            &["--clients", "0"][..],
            &["--clients", "100000"],
            &["--protocol", "paxos"],
            &["--peer", "zookeeper"],
            &["--wait", "spin"],
            &["--masters", "0"],
            &["--duration-secs", "0"],
            &["--ttl-ms", "5"],
            &["--redis", "not a url"],
            &["--redis", "redis://127.0.0.1:1/", "--masters", "3"],
            &["--protocol", "naive-unchecked", "--wait", "fifo"],
        ] {
            let e = plan(args).unwrap_err();
            let s = format!("{e:#}");
            assert!(!s.contains('\n'), "{args:?}: {s}");
        }
    }

    #[test]
    fn quick_is_short() {
        let p = plan(&["--quick"]).unwrap();
        assert_eq!(p.duration, Duration::from_millis(300));
        let p = plan(&["--quick", "--duration-secs", "0.1"]).unwrap();
        assert_eq!(p.duration, Duration::from_millis(100));
    }
}
