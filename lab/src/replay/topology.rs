//! The Redis nodes one replay plays on, and the faults done to them.
//!
//! A scenario names how many lock nodes it has (one for a single-instance
//! lock). A replay whose script does something to a node (restarts it)
//! gets servers of its own, started for it and killed with it, so the
//! fault touches nothing else; any other replay plays on the stage's
//! servers, under keys of its own. The protected resource always stays on
//! the stage's first server, as another system would. A replay whose
//! scenario has replicas plays on the lab's Sentinel set instead
//! ([`sentinel`](self::sentinel): replication held, `replicate` and
//! `failover` played on it).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use locklab_impl::{connect, Conn};
use locklab_model::{NodeId, Script, Step};

use super::conductor::{ReplayError, Stage};
use super::KeySpace;
use crate::client::connect_any;
use crate::sentinel::RedisTarget;
use crate::server::RedisServer;

#[path = "topology_sentinel.rs"]
pub mod sentinel;

pub use sentinel::{tick_for, SentinelPool};

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
    /// The lock key's presence as last recorded.
    pub seen: Option<bool>,
}

/// The nodes of one replay.
pub struct Topology {
    nodes: Vec<Node>,
    /// The Sentinel set's side, for a scenario with replicas.
    sentinel: Option<sentinel::SentinelNodes>,
}

/// Whether a step does something to a node that other replays must not
/// see.
fn touches_a_node(step: &Step) -> bool {
    matches!(step, Step::Restart { .. })
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
        let mut nodes = Vec::with_capacity(count);
        if private {
            if !stage.embedded {
                return Err(ReplayError::CannotRestart);
            }
            for _ in 0..count {
                let server = tokio::task::spawn_blocking(RedisServer::start)
                    .await
                    .map_err(|e| ReplayError::Setup(e.to_string()))??;
                let (url, addr) = (server.url(), server.addr());
                let conn = connect(&url, &stage.connect).await?;
                nodes.push(Node {
                    url,
                    addr,
                    conn,
                    server: Some(Arc::new(Mutex::new(server))),
                    seen: None,
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
                    seen: None,
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
            sentinel: None,
        })
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
        let n = self.node_mut(node)?;
        let server = n.server.clone().ok_or(ReplayError::CannotRestart)?;
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
