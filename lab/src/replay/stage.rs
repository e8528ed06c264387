//! The stage: where and how the replays of one run play (the servers, the
//! tick, the clients' seats, the Sentinel sets), shared by `reproduce` and
//! `chaos`, and read by the conductor and the topology alike.

use std::time::Duration;

use locklab_impl::ConnectOptions;

use super::keys::KeySpace;
use super::seat::Clients;
use super::sentinel_pool::SentinelPool;

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
    /// The lab's Sentinel sets, for the replays whose scenario has
    /// replicas (started on demand, shared by the stage's replays).
    pub sentinels: SentinelPool,
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
