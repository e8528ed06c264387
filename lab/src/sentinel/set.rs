//! [`SentinelSet`]: a primary, its replicas (each replicating through a lab
//! proxy) and three Sentinels, started together and ready only once every
//! Sentinel agrees on the topology and every replica has caught up.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};

use super::options::{HOLD_FAILOVER_TIMEOUT, QUORUM, SENTINELS, SENTINEL_TIMINGS, SERVICE};
use super::query::{expect_ok, troubled, Link, NodeInfo, SentinelView};
use super::resolve::PrimaryResolver;
use super::wait::{Expired, Wait};
use super::{SentinelError, SentinelOptions, SentinelProcess};
use crate::proxy::Proxy;
use crate::server::{RedisServer, ServerConfig};

/// How often the set's waits look again.
pub(crate) const POLL: Duration = Duration::from_millis(10);

/// How many lines of each Sentinel's log go into an error.
const SENTINEL_TAIL_LINES: usize = 12;

/// A primary, 1 or 2 replicas and three `redis-sentinel`s monitoring them
/// as [`SERVICE`], all on free loopback ports, each process in its own
/// temporary directory with its own log.
///
/// Node 0 is the first primary; nodes 1 and 2 its replicas. Each replica
/// replicates through a [`Proxy`] of its own in front of the primary, so
/// that the lab can hold one replica's replication stream
/// ([`lag`](Self::lag)) while the primary goes on. The proxies run on a
/// runtime of the set's own (one thread), so that replication does not
/// depend on how busy the caller's runtime is. Clients find the primary
/// through the Sentinels ([`resolver`](Self::resolver), [`url`](Self::url)).
///
/// Dropping the set kills every process (Sentinels first, so that none
/// reacts to the nodes dying) and deletes their directories; they also die
/// with the lab, SIGKILL included ([`crate::process`]).
///
/// Its methods are async and bounded: each wait has a deadline from
/// [`SentinelOptions`], and a state never reached is a
/// [`SentinelError::NotAgreed`] carrying the Sentinels' log tails.
pub struct SentinelSet {
    pub(super) options: SentinelOptions,
    /// Declared (and dropped) before the nodes.
    pub(super) sentinels: Vec<SentinelProcess>,
    pub(super) nodes: Vec<RedisServer>,
    /// Per node, the proxy in front of the first primary that its
    /// replication goes through (none for node 0).
    pub(super) proxies: Vec<Option<Proxy>>,
    pub(super) sentinel_links: Vec<Link>,
    pub(super) node_links: Vec<Link>,
    /// The node every Sentinel last agreed is the primary.
    pub(super) primary: usize,
    /// Set by the first failover: from then on Sentinel points the replicas
    /// at the primary itself, and the proxies carry nothing.
    pub(super) failed_over: bool,
    /// Runs the proxies; last, so that their tasks are gone before it
    /// shuts down.
    _runtime: ProxyRuntime,
}

impl std::fmt::Debug for SentinelSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelSet")
            .field("primary", &self.primary_addr())
            .field(
                "nodes",
                &self.nodes.iter().map(RedisServer::addr).collect::<Vec<_>>(),
            )
            .field("sentinels", &self.sentinel_addrs())
            .field("failed_over", &self.failed_over)
            .finish_non_exhaustive()
    }
}

impl SentinelSet {
    /// Starts the set and returns once it is ready: every Sentinel names
    /// node 0 as the primary without a down flag, knows the two other
    /// Sentinels and every replica (link up, not down), every replica's
    /// link is up with everything the primary had when the lab last looked,
    /// and the primary takes writes (with `min-replicas-to-write`, it
    /// counts its replicas as good).
    pub async fn start(options: &SentinelOptions) -> Result<SentinelSet, SentinelError> {
        options.validate()?;
        let runtime = ProxyRuntime::new()?;
        let handle = runtime.handle();
        let node_args = {
            let mut args = options.node_args();
            // A replica's first full sync starts at once rather than after
            // Redis's 5 s wait for more replicas to join.
            args.extend(["--repl-diskless-sync-delay".into(), "0".into()]);
            args
        };
        let primary = {
            let config = ServerConfig::new().args(node_args.clone());
            blocking(&handle, move || RedisServer::start_with(config)).await?
        };
        let mut proxies = vec![None];
        for _ in 0..options.replicas {
            let upstream = primary.addr();
            let proxy = handle
                .spawn(Proxy::start(upstream))
                .await
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
                .map_err(|source| SentinelError::Io {
                    action: "start a proxy in front of the primary".into(),
                    source,
                })?;
            proxies.push(Some(proxy));
        }
        let mut nodes = vec![primary];
        let replica_starts: Vec<_> = proxies
            .iter()
            .flatten()
            .map(|proxy| {
                let config = ServerConfig::new()
                    .replica_of("127.0.0.1", proxy.addr().port())
                    .args(node_args.clone());
                handle.spawn_blocking(move || RedisServer::start_with(config))
            })
            .collect();
        for start in replica_starts {
            nodes.push(join(start).await?);
        }
        let monitor = monitor_config(options, nodes[0].addr());
        let sentinel_starts: Vec<_> = (0..SENTINELS)
            .map(|_| {
                let monitor = monitor.clone();
                let timeout = options.ready_timeout;
                handle.spawn_blocking(move || SentinelProcess::start(&monitor, timeout))
            })
            .collect();
        let mut sentinels = Vec::new();
        for start in sentinel_starts {
            sentinels.push(join(start).await?);
        }
        let set = SentinelSet {
            options: options.clone(),
            sentinel_links: sentinels.iter().map(|s| Link::new(s.addr())).collect(),
            node_links: nodes.iter().map(|n| Link::new(n.addr())).collect(),
            sentinels,
            nodes,
            proxies,
            primary: 0,
            failed_over: false,
            _runtime: runtime,
        };
        set.tune_sentinels().await?;
        set.wait_ready().await?;
        tracing::debug!(set = ?set, "sentinel set ready");
        Ok(set)
    }

    /// The node every Sentinel last agreed is the primary (node 0 until a
    /// failover).
    pub fn primary(&self) -> usize {
        self.primary
    }

    /// That node's address.
    pub fn primary_addr(&self) -> SocketAddr {
        self.nodes[self.primary].addr()
    }

    /// `redis://127.0.0.1:PORT/` of that node.
    pub fn primary_url(&self) -> String {
        self.nodes[self.primary].url()
    }

    /// The nodes that are not the primary (dead ones included), in order.
    pub fn replicas(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| n != self.primary)
            .collect()
    }

    /// How many nodes the set has: the replicas plus one.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// A node (its address, pid, log…).
    pub fn node(&self, node: usize) -> Result<&RedisServer, SentinelError> {
        self.check_node(node)?;
        Ok(&self.nodes[node])
    }

    /// A node, to pause, kill or restart it. The set does not notice; its
    /// next wait sees what the Sentinels make of it.
    pub fn node_mut(&mut self, node: usize) -> Result<&mut RedisServer, SentinelError> {
        self.check_node(node)?;
        Ok(&mut self.nodes[node])
    }

    /// The proxy a replica replicates through, until the first failover.
    pub fn proxy(&self, node: usize) -> Option<&Proxy> {
        self.proxies
            .get(node)?
            .as_ref()
            .filter(|_| !self.failed_over)
    }

    /// The Sentinels' addresses.
    pub fn sentinel_addrs(&self) -> Vec<SocketAddr> {
        self.sentinels.iter().map(SentinelProcess::addr).collect()
    }

    /// The Sentinel processes.
    pub fn sentinels(&self) -> &[SentinelProcess] {
        &self.sentinels
    }

    /// The name the Sentinels monitor the primary under.
    pub fn service(&self) -> &str {
        SERVICE
    }

    /// The options the set was started with.
    pub fn options(&self) -> &SentinelOptions {
        &self.options
    }

    /// `redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/locklab`:
    /// the set as a `--redis` URL (see [`super::SentinelUrl`]).
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinel_addrs()
            .iter()
            .map(ToString::to_string)
            .collect();
        format!("redis+sentinel://{}/{SERVICE}", hosts.join(","))
    }

    /// A resolver that asks the set's Sentinels for the current primary,
    /// as a production client does.
    pub fn resolver(&self) -> PrimaryResolver {
        PrimaryResolver::new(&self.sentinel_addrs(), SERVICE)
            .expect("the Sentinels' own addresses make a valid resolver")
    }

    /// The primary every Sentinel names now, if they agree (one round of
    /// questions, no waiting).
    pub async fn agreed_primary(&self) -> Result<SocketAddr, SentinelError> {
        let views = self
            .views()
            .await
            .map_err(|last| self.not_agreed("agree", Duration::ZERO, last))?;
        let first = views[0].primary;
        match views.iter().find(|v| v.primary != first) {
            None => Ok(first),
            Some(other) => Err(self.not_agreed(
                "agree on the primary",
                Duration::ZERO,
                format!("Sentinels name both {first} and {}", other.primary),
            )),
        }
    }

    /// The last lines of every Sentinel's log, each under a header.
    pub fn sentinel_log_tails(&self) -> String {
        self.sentinels
            .iter()
            .map(|s| {
                format!(
                    "--- redis-sentinel {} ({}) ---\n{}",
                    s.addr(),
                    s.log_path().display(),
                    s.log_tail(SENTINEL_TAIL_LINES)
                )
            })
            .collect::<Vec<_>>()
            .join("")
    }

    pub(super) fn check_node(&self, node: usize) -> Result<(), SentinelError> {
        if node < self.nodes.len() {
            Ok(())
        } else {
            Err(SentinelError::BadNode {
                node,
                why: format!("the set has nodes 0 to {}", self.nodes.len() - 1),
            })
        }
    }

    pub(super) fn not_agreed(&self, goal: &str, waited: Duration, last: String) -> SentinelError {
        SentinelError::NotAgreed {
            goal: goal.to_string(),
            waited,
            last,
            log_tail: self.sentinel_log_tails(),
        }
    }

    pub(super) fn expired(&self, goal: &str, e: Expired) -> SentinelError {
        self.not_agreed(goal, e.waited, e.last)
    }

    /// Every Sentinel's view, or why one could not be read.
    pub(super) async fn views(&self) -> Result<Vec<SentinelView>, String> {
        let mut views = Vec::with_capacity(self.sentinel_links.len());
        for link in &self.sentinel_links {
            views.push(SentinelView::read(link, SERVICE).await?);
        }
        Ok(views)
    }

    /// Sends `SENTINEL <args>` to every Sentinel, expecting `OK`.
    pub(super) async fn tell_sentinels(&self, args: &[String]) -> Result<(), SentinelError> {
        let mut cmd = redis::cmd("SENTINEL");
        cmd.arg(args);
        for link in &self.sentinel_links {
            let reply = link.query::<redis::Value>(&cmd).await;
            if let Err(reply) = reply.and_then(expect_ok) {
                return Err(SentinelError::Refused {
                    target: format!("redis-sentinel {}", link.addr()),
                    command: format!("SENTINEL {}", args.join(" ")),
                    reply,
                    log_tail: self.sentinel_log_tails(),
                });
            }
        }
        Ok(())
    }

    /// Puts the lab's Sentinel timings in force ([`SENTINEL_TIMINGS`]).
    async fn tune_sentinels(&self) -> Result<(), SentinelError> {
        let mut args = vec!["DEBUG".to_string()];
        for (name, ms) in SENTINEL_TIMINGS {
            args.extend([name.to_string(), ms.to_string()]);
        }
        self.tell_sentinels(&args).await
    }

    async fn wait_ready(&self) -> Result<(), SentinelError> {
        let wait = Wait::new(self.options.ready_timeout, POLL);
        loop {
            match wait.probe(self.check_ready()).await {
                Ok(()) => return Ok(()),
                Err(why) => wait
                    .again(why)
                    .await
                    .map_err(|e| self.expired("become ready", e))?,
            }
        }
    }

    /// Whether the set is ready (see [`start`](Self::start)); if not, why.
    async fn check_ready(&self) -> Result<(), String> {
        let primary = self.primary_addr();
        for view in self.views().await? {
            let sentinel = view.sentinel;
            if view.primary != primary {
                return Err(format!(
                    "Sentinel {sentinel} names {} as the primary, not {primary}",
                    view.primary
                ));
            }
            if let Some(flag) = troubled(&view.primary_flags) {
                return Err(format!("Sentinel {sentinel} flags the primary {flag}"));
            }
            if view.other_sentinels != SENTINELS - 1 {
                return Err(format!(
                    "Sentinel {sentinel} knows {} of the {} other Sentinels",
                    view.other_sentinels,
                    SENTINELS - 1
                ));
            }
            for node in self.replicas() {
                let addr = self.nodes[node].addr();
                let Some(replica) = view.replica(addr) else {
                    return Err(format!(
                        "Sentinel {sentinel} does not know replica {addr} yet"
                    ));
                };
                if let Some(flag) = troubled(&replica.flags) {
                    return Err(format!("Sentinel {sentinel} flags replica {addr} {flag}"));
                }
                if !replica.link_ok {
                    return Err(format!(
                        "Sentinel {sentinel} sees replica {addr}'s link down"
                    ));
                }
            }
        }
        self.check_in_sync().await
    }

    /// With `min-replicas-to-write`: whether the primary (what it says in
    /// `primary`) counts enough of its `live` replicas as good to take
    /// writes — all it asks for, or every live one when fewer are left. A
    /// replica's link is up a moment before its primary counts it (it puts
    /// the replica online when it reaps the sync's child, and refreshes
    /// the count on its cron): a write in between is refused
    /// (`NOREPLICAS`).
    pub(super) fn check_counted(&self, primary: &NodeInfo, live: usize) -> Result<(), String> {
        let Some(min) = self.options.min_replicas_to_write else {
            return Ok(());
        };
        let needed = u64::from(min.replicas).min(live as u64);
        let good = primary.good_replicas.unwrap_or(0);
        if good < needed {
            return Err(format!(
                "the primary counts {good} good replicas, {needed} needed for min-replicas-to-write {}",
                min.replicas
            ));
        }
        Ok(())
    }

    /// Every live replica's link is up and it has everything the primary
    /// had a moment ago, and the primary counts them as good replicas.
    pub(super) async fn check_in_sync(&self) -> Result<(), String> {
        let primary = NodeInfo::read(&self.node_links[self.primary]).await?;
        if !primary.is_primary {
            return Err(format!("{} is not a primary", self.primary_addr()));
        }
        for node in self.replicas() {
            let link = &self.node_links[node];
            let info = NodeInfo::read(link).await?;
            if info.is_primary {
                return Err(format!("replica {} says it is a primary", link.addr()));
            }
            if !info.link_up {
                return Err(format!(
                    "replica {}'s link to its primary is down",
                    link.addr()
                ));
            }
            if info.offset < primary.offset {
                return Err(format!(
                    "replica {} is at offset {}, the primary at {}",
                    link.addr(),
                    info.offset,
                    primary.offset
                ));
            }
        }
        self.check_counted(&primary, self.replicas().len())
    }
}

impl Drop for SentinelSet {
    fn drop(&mut self) {
        // Sentinels first: none may start a failover as the nodes go.
        self.sentinels.clear();
        self.nodes.clear();
        self.proxies.clear();
    }
}

/// The `sentinel monitor` lines every Sentinel of the set starts with.
fn monitor_config(options: &SentinelOptions, primary: SocketAddr) -> String {
    let ms = |d: Duration| d.as_millis();
    format!(
        "sentinel monitor {SERVICE} {} {} {QUORUM}\n\
         sentinel down-after-milliseconds {SERVICE} {}\n\
         sentinel failover-timeout {SERVICE} {}\n\
         sentinel parallel-syncs {SERVICE} 1\n",
        primary.ip(),
        primary.port(),
        ms(options.down_after),
        ms(HOLD_FAILOVER_TIMEOUT),
    )
}

/// Runs a blocking start on the set's runtime's blocking threads.
async fn blocking<T: Send + 'static>(
    handle: &Handle,
    f: impl FnOnce() -> Result<T, crate::server::ServerError> + Send + 'static,
) -> Result<T, SentinelError> {
    join(handle.spawn_blocking(f)).await
}

async fn join<T, E>(task: tokio::task::JoinHandle<Result<T, E>>) -> Result<T, SentinelError>
where
    SentinelError: From<E>,
{
    task.await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
        .map_err(SentinelError::from)
}

/// The runtime the proxies run on. Dropping a tokio runtime blocks, which
/// tokio forbids inside async code, so this one is shut down in the
/// background (its proxies were aborted first).
struct ProxyRuntime(Option<Runtime>);

impl ProxyRuntime {
    fn new() -> Result<Self, SentinelError> {
        // One worker thread: a proxy's reader and writer then never run at
        // the same moment, so bytes that reach the proxy after `hold`
        // returns are held (see `SentinelSet::lag`).
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("locklab-sentinel-proxy")
            .enable_all()
            .build()
            .map(|rt| Self(Some(rt)))
            .map_err(|source| SentinelError::Io {
                action: "start the Sentinel set's proxy runtime".into(),
                source,
            })
    }

    fn handle(&self) -> Handle {
        self.0
            .as_ref()
            .expect("the runtime lives as long as the set")
            .handle()
            .clone()
    }
}

impl Drop for ProxyRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The set can live in a spawned task: it and its futures are `Send`.
    #[allow(dead_code)]
    fn futures_are_send(set: &mut SentinelSet) {
        fn send<T: Send + Sync>(_: &T) {}
        fn send_future<T: Send>(_: T) {}
        send(set);
        send_future(SentinelSet::start(&SentinelOptions::default()));
        send_future(set.catch_up(1));
        send_future(set.failover_to(1));
        send_future(set.kill_primary(None));
    }
}
