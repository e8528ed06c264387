//! The Redis nodes one replay plays on, and the faults done to them.
//!
//! A scenario names how many lock nodes it has (one for a single-instance
//! lock, N for a quorum lock). A replay whose script does something to a
//! node — restarts it, keeps it down a lease and brings it back empty, or
//! jumps its clock — gets servers of its own, started for it and killed
//! with it, so the fault touches nothing else (with a skewable clock when
//! the script jumps one); any other replay plays on the stage's servers,
//! under keys of its own. The protected resource always stays on the
//! stage's first server, as another system would.
//! A replay whose scenario has replicas plays on the lab's Sentinel set
//! instead ([`sentinel`](self::sentinel): replication held, `replicate`
//! and `failover` played on it).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use locklab_impl::{connect, Conn};
use locklab_model::{KeyRole, NodeFault, NodeId, Script, Step};

use super::error::ReplayError;
use super::stage::Stage;
use super::KeySpace;
use crate::client::connect_any;
use crate::sentinel::RedisTarget;
use crate::server::{ClockOffset, RedisServer, ServerConfig};

#[path = "topology_sentinel.rs"]
pub mod sentinel;

pub use sentinel::tick_for;

/// One Redis node of a replay.
pub struct Node {
    /// Where clients connect to it.
    pub url: String,
    /// Its socket address (a worker's proxy's upstream).
    pub addr: SocketAddr,
    /// The lab's own connection to it (to observe its keys).
    pub conn: Conn,
    /// Its server, when the lab started one for this replay.
    server: Option<Arc<Mutex<RedisServer>>>,
    /// Whether each observed key had a lease, as last recorded.
    pub seen: HashMap<KeyRole, bool>,
    /// Crashed and kept down (a delayed restart), until it rejoins.
    pub down: bool,
    /// How far its clock was moved ahead.
    pub offset: Duration,
}

/// The nodes of one replay.
pub struct Topology {
    nodes: Vec<Node>,
    /// How long starting the replay's own servers took.
    started_in: Option<Duration>,
    /// The Sentinel set's side, for a scenario with replicas.
    sentinel: Option<sentinel::SentinelNodes>,
}

/// Whether a step does something to a node that other replays must not
/// see.
fn touches_a_node(step: &Step) -> bool {
    matches!(
        step,
        Step::Node {
            fault: NodeFault::Restart
                | NodeFault::DelayedRestart
                | NodeFault::Rejoin
                | NodeFault::ClockJump,
            ..
        }
    )
}

impl Topology {
    /// The nodes `script` plays on: servers of its own when it does
    /// something to a node, else the stage's.
    pub async fn open(stage: &Stage, script: &Script) -> Result<Topology, ReplayError> {
        if script.scenario.replicas > 0 {
            return sentinel::open(stage, script).await;
        }
        let count = usize::from(script.scenario.nodes());
        let private = script.steps.iter().any(|s| touches_a_node(&s.step));
        let skewed = script.steps.iter().any(|s| {
            matches!(
                s.step,
                Step::Node {
                    fault: NodeFault::ClockJump,
                    ..
                }
            )
        });
        let mut nodes = Vec::with_capacity(count);
        let mut started_in = None;
        if private {
            if !stage.embedded {
                return Err(ReplayError::CannotRestart);
            }
            let config = ServerConfig::new().skewable_clock(skewed);
            let started = std::time::Instant::now();
            let servers =
                tokio::task::spawn_blocking(move || RedisServer::start_many_with(count, &config))
                    .await
                    .map_err(|e| ReplayError::Setup(e.to_string()))??;
            started_in = Some(started.elapsed());
            for server in servers {
                let (url, addr) = (server.url(), server.addr());
                let conn = connect(&url, &stage.connect).await?;
                nodes.push(Node {
                    url,
                    addr,
                    conn,
                    server: Some(Arc::new(Mutex::new(server))),
                    seen: HashMap::new(),
                    down: false,
                    offset: Duration::ZERO,
                });
            }
        } else {
            let urls = stage.node_urls();
            if urls.len() < count {
                return Err(ReplayError::Setup(format!(
                    "the scenario has {count} nodes, and {} Redis servers were given",
                    urls.len()
                )));
            }
            for url in urls.into_iter().take(count) {
                let conn = connect_any(&url, &stage.connect).await?;
                nodes.push(Node {
                    addr: node_addr(&url).await?,
                    url,
                    conn,
                    server: None,
                    seen: HashMap::new(),
                    down: false,
                    offset: Duration::ZERO,
                });
            }
        }
        for node in &nodes {
            // A held reply must be the command's, never a NOSCRIPT that
            // keeps the real command from running.
            locklab_impl::scripts::preload(&node.conn).await?;
        }
        Ok(Topology {
            nodes,
            started_in,
            sentinel: None,
        })
    }

    /// One tick for `script`: the stage's, unless the script restarts a
    /// server (or brings one back) while others hold keys whose leases run
    /// on meanwhile, or while a renewing holder's own deadline does — the
    /// model's restart takes no time, a real one as long
    /// as starting a server, so the tick is made four times that long
    /// (measured when this replay's servers started), in whole 10 ms.
    pub fn tick_for(&self, tick: Duration, script: &Script) -> Duration {
        let restarts = script.steps.iter().any(|s| {
            matches!(
                s.step,
                Step::Node {
                    fault: NodeFault::Restart | NodeFault::Rejoin,
                    ..
                }
            )
        });
        // A renewing holder's own deadline runs on across a restart.
        let renews = script.scenario.protocol.caps().renews();
        match self.started_in {
            Some(cost) if restarts && (self.nodes.len() > 1 || renews) => {
                let ten = Duration::from_millis(10);
                let needed = (cost * 4).as_millis().div_ceil(10) as u32;
                tick.max(ten * needed)
            }
            _ => tick,
        }
    }

    /// How many nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are none (never, for a topology that opened).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The nodes, first to last.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// One node, to change.
    pub fn node_mut(&mut self, node: NodeId) -> Result<&mut Node, ReplayError> {
        self.nodes
            .get_mut(node.index())
            .ok_or_else(|| ReplayError::Setup(format!("the replay has no node {node}")))
    }

    /// Whether the lab started these servers for this replay (their keys
    /// go with them).
    pub fn is_private(&self) -> bool {
        self.sentinel.is_some() || self.nodes.iter().any(|n| n.server.is_some())
    }

    /// Whether the conductor looks at `node`'s lock key after a step (a
    /// replica's only while the model keeps its copy).
    pub fn observes(&self, node: NodeId) -> bool {
        self.sentinel.as_ref().is_none_or(|s| s.observes(node))
    }

    /// Whether what is seen on `node` goes into the history: every node's,
    /// but of a primary and its replicas only the primary's (a replica that
    /// lacks the key does not free the lock).
    pub fn records(&self, node: NodeId) -> bool {
        self.sentinel.as_ref().is_none_or(|s| s.primary() == node)
    }

    /// A replica catches up with its primary (a Sentinel topology only).
    pub async fn replicate(&mut self, node: NodeId) -> Result<(), ReplayError> {
        let s = self.sentinel.as_mut().ok_or_else(not_replicated)?;
        s.replicate(node, &self.nodes).await
    }

    /// Sentinel promotes a replica (a Sentinel topology only).
    pub async fn failover(&mut self, node: NodeId) -> Result<(), ReplayError> {
        let s = self.sentinel.as_mut().ok_or_else(not_replicated)?;
        s.failover(node, &self.nodes).await
    }

    /// After the replay: a Sentinel set deletes the replay's keys and goes
    /// back to the stage's pool (or, once it failed over, away).
    pub async fn close(&mut self, keys: &KeySpace, pattern: &str) -> Result<(), ReplayError> {
        match self.sentinel.as_mut() {
            Some(s) => s.close(&self.nodes, keys, pattern).await,
            None => Ok(()),
        }
    }

    /// Kills the node's server (SIGKILL) and starts it again on the same
    /// port, empty, and makes the lab's connection to it usable again.
    pub async fn restart(&mut self, node: NodeId) -> Result<(), ReplayError> {
        if self.sentinel.is_some() {
            return Err(ReplayError::Setup(
                "a restart of a Sentinel-managed node is not played: Sentinel fails over a primary that stays down, and one that comes back at once resyncs its replicas empty".into(),
            ));
        }
        self.on_server(node, |server| {
            server.kill()?;
            server.restart()
        })
        .await?;
        self.reconnect(node).await
    }

    /// Kills the node's server (SIGKILL) and keeps it down, until
    /// [`Topology::rejoin`].
    pub async fn crash(&mut self, node: NodeId) -> Result<(), ReplayError> {
        self.on_server(node, RedisServer::kill).await?;
        self.node_mut(node)?.down = true;
        Ok(())
    }

    /// Starts a node that was kept down again on its port, empty (with the
    /// clock it had: the offset belongs to the machine).
    pub async fn rejoin(&mut self, node: NodeId) -> Result<(), ReplayError> {
        self.on_server(node, RedisServer::restart).await?;
        self.node_mut(node)?.down = false;
        self.reconnect(node).await
    }

    /// Moves the node's clock `by` further ahead: its keys expire that much
    /// earlier, at once.
    pub async fn jump(&mut self, node: NodeId, by: Duration) -> Result<(), ReplayError> {
        let offset = self.node_mut(node)?.offset + by;
        self.on_server(node, move |server| {
            server.set_clock_offset(ClockOffset::ahead(offset))
        })
        .await?;
        self.node_mut(node)?.offset = offset;
        Ok(())
    }

    /// Runs `f` on the node's server, off the async runtime.
    async fn on_server(
        &mut self,
        node: NodeId,
        f: impl FnOnce(&mut RedisServer) -> Result<(), crate::server::ServerError> + Send + 'static,
    ) -> Result<(), ReplayError> {
        let server = self
            .node_mut(node)?
            .server
            .clone()
            .ok_or(ReplayError::CannotRestart)?;
        tokio::task::spawn_blocking(move || -> Result<(), ReplayError> {
            let mut server = server
                .lock()
                .map_err(|e| ReplayError::Setup(e.to_string()))?;
            f(&mut server)?;
            Ok(())
        })
        .await
        .map_err(|e| ReplayError::Setup(e.to_string()))?
    }

    /// Makes the lab's connection to a node that came back usable, and
    /// loads the scripts there.
    async fn reconnect(&mut self, node: NodeId) -> Result<(), ReplayError> {
        let n = self.node_mut(node)?;
        for _ in 0..5 {
            if n.conn.ping().await.is_ok() {
                break;
            }
        }
        locklab_impl::scripts::preload(&n.conn).await?;
        Ok(())
    }
}

fn not_replicated() -> ReplayError {
    ReplayError::Setup("a replica's step in a replay with no replicas".into())
}

/// Where a `--redis` URL's server is now: the URL's own address, or a
/// Sentinel service's current primary.
async fn node_addr(url: &str) -> Result<SocketAddr, ReplayError> {
    match RedisTarget::parse(url) {
        Ok(RedisTarget::Sentinel(sentinel)) => {
            let primary = sentinel
                .primary_url()
                .await
                .map_err(|e| ReplayError::Setup(e.to_string()))?;
            socket_addr(&primary)
        }
        _ => socket_addr(url),
    }
}

/// The socket address of a `redis://host:port/…` URL.
pub fn socket_addr(url: &str) -> Result<SocketAddr, ReplayError> {
    let masked = crate::output::masked(url);
    let info: redis::ConnectionInfo = redis::IntoConnectionInfo::into_connection_info(url)
        .map_err(|e| ReplayError::Setup(format!("{masked}: {e}")))?;
    let (host, port) = match info.addr() {
        redis::ConnectionAddr::Tcp(host, port) => (host.clone(), *port),
        other => {
            return Err(ReplayError::Setup(format!(
                "{masked}: not a TCP address ({other})"
            )))
        }
    };
    std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .map_err(|e| ReplayError::Setup(format!("{masked}: {e}")))?
        .next()
        .ok_or_else(|| ReplayError::Setup(format!("{masked}: no address")))
}
