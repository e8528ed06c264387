//! The nodes of a replay whose scenario has replicas: the lab's Sentinel
//! set (a primary, its replicas, three Sentinels), with every replica's
//! replication stream held by default, so that a replica has exactly what
//! the model's `replicate` steps gave it.
//!
//! - Clients find the primary through the Sentinels (node 0's URL is the
//!   set's `redis+sentinel://` URL) and follow it after a failover: the
//!   conductor has each one re-resolve before the next step, as the
//!   model's failover is atomic (see `locklab_model::lease::replication`).
//! - `replicate nN`: the replica's stream is released until it has
//!   everything and the primary has counted its acknowledgement (a `WAIT`
//!   of the lab's own, so that a client's `WAIT` counts it too), then held
//!   again.
//! - `failover nN`: Sentinel promotes it (`SENTINEL FAILOVER`; the replica
//!   was made the only candidate when the replay opened), the lab demotes
//!   the old primary as soon as every Sentinel names the new one, and waits
//!   until every node has its new role and the new primary counts a
//!   replica's acknowledgement (the model's replicas keep up from then
//!   on). Each wait has a deadline;
//!   one that passes is an environment error that carries the Sentinels'
//!   log tails.
//! - The conductor looks at the lock key on the primary, and on each
//!   replica while the model keeps the replicas' copies (while a failover
//!   may still come); only the primary's is recorded in the history.
//!
//! A set takes about a second to start, and one that failed over cannot
//! hold a replica again (replication no longer goes through the lab), so a
//! stage keeps a few ([`SentinelPool`]): a replay that did not fail over
//! gives its set back; the next replay takes it once its replicas have
//! caught up (every key of the last replay deleted there too) and are held
//! again — the state a fresh set starts in.

use std::time::Duration;

use locklab_impl::{connect, Conn};
use locklab_model::{Fault, NodeFault, NodeId, Reply, Script, Step};
use tokio::sync::OwnedSemaphorePermit;

use super::{Node, Topology};
use crate::replay::error::ReplayError;
use crate::replay::seat::Clients;
use crate::replay::sentinel_pool::SentinelPool;
use crate::replay::stage::Stage;
use crate::replay::KeySpace;
use crate::sentinel::{MinReplicas, SentinelOptions, SentinelSet};

/// The shortest tick of a replay that fails over: a failover takes from
/// under a second to about two (every Sentinel agreeing, the old primary
/// demoted, resynced and acknowledging; measured 0.75–1.9 s on a loaded
/// 2-core machine), and must fit within the tick it happens in, or the
/// lease it should keep runs out under it.
pub const FAILOVER_TICK: Duration = Duration::from_millis(3000);

/// The shortest tick of a replay with replicas: a `replicate` step (a
/// stream released, caught up, acknowledged, held again) takes a few
/// milliseconds to tens of them, and a `WAIT` no replica answers waits a
/// tenth of the lease.
pub const REPLICA_TICK: Duration = Duration::from_millis(200);

/// `min-replicas-max-lag` of a scenario with `min-replicas-to-write`.
const MIN_REPLICAS_MAX_LAG: Duration = Duration::from_secs(10);

/// How often the lab's own `WAIT` is repeated, at most, for a replica
/// that does not acknowledge in time (each waits a second).
const ACK_TRIES: usize = 20;

/// The Sentinel side of a [`Topology`].
pub(super) struct SentinelNodes {
    set: Option<SentinelSet>,
    pool: SentinelPool,
    _permit: OwnedSemaphorePermit,
    /// Failovers left in the scenario's budget: the model keeps the
    /// replicas' copies, and the lab looks at them, while any is.
    failovers_left: u8,
    /// The set may serve another replay (it did not fail over, nor was it
    /// prepared for one, and nothing went wrong).
    reusable: bool,
    /// The key of the lab's own write before its `WAIT`.
    ack_key: String,
}

/// The tick a replay of `script` plays at: the stage's, or longer when the
/// scenario has replicas (see [`REPLICA_TICK`], [`FAILOVER_TICK`]).
pub fn tick_for(stage: &Stage, script: &Script) -> Duration {
    let fails_over = script.steps.iter().any(|s| {
        matches!(
            s.step,
            Step::Node {
                fault: NodeFault::Failover,
                ..
            }
        )
    });
    match (script.scenario.replicas, fails_over) {
        (0, _) => stage.tick,
        (_, false) => stage.tick.max(REPLICA_TICK),
        (_, true) => stage.tick.max(FAILOVER_TICK),
    }
}

/// The nodes of a replay with replicas: a set from the stage's pool.
pub(super) async fn open(stage: &Stage, script: &Script) -> Result<Topology, ReplayError> {
    let scenario = &script.scenario;
    if !stage.embedded {
        return Err(ReplayError::NeedsOwnSentinel);
    }
    let failovers: Vec<NodeId> = script
        .steps
        .iter()
        .filter_map(|s| match s.step {
            Step::Node {
                node,
                fault: NodeFault::Failover,
            } => Some(node),
            _ => None,
        })
        .collect();
    if failovers.len() > 1 {
        return Err(ReplayError::Setup(
            "the lab's Sentinel set makes a replica lag only until its first failover; play one failover per schedule".into(),
        ));
    }
    let delayed = script
        .steps
        .iter()
        .any(|s| s.step.call().is_some_and(|c| c.reply == Reply::Held));
    if delayed && matches!(stage.clients, Clients::Workers { .. }) {
        return Err(ReplayError::Setup(
            "a delayed reply on a Sentinel set is played with clients in the lab's process (--in-process): a worker resolves the primary itself, with no lab proxy in its path".into(),
        ));
    }
    let options = SentinelOptions {
        replicas: usize::from(scenario.replicas),
        min_replicas_to_write: (scenario.min_replicas_to_write > 0).then_some(MinReplicas {
            replicas: u32::from(scenario.min_replicas_to_write),
            max_lag: MIN_REPLICAS_MAX_LAG,
        }),
        ..SentinelOptions::default()
    };
    let (mut set, permit) = stage.sentinels.take(&options).await?;
    if let Some(target) = failovers.first() {
        set.prepare_failover_to(target.index()).await?;
    }
    let mut nodes = Vec::with_capacity(set.node_count());
    for i in 0..set.node_count() {
        let server = set.node(i)?;
        let direct = server.url();
        let conn = connect(&direct, &stage.connect).await?;
        nodes.push(Node {
            url: if i == set.primary() {
                set.url()
            } else {
                direct
            },
            addr: server.addr(),
            conn,
            server: None,
            seen: std::collections::HashMap::new(),
            down: false,
            offset: std::time::Duration::ZERO,
        });
    }
    locklab_impl::scripts::preload(&nodes[set.primary()].conn).await?;
    let sentinel = SentinelNodes {
        set: Some(set),
        pool: stage.sentinels.clone(),
        _permit: permit,
        failovers_left: scenario.faults.budget(Fault::Failover),
        reusable: failovers.is_empty(),
        ack_key: format!("{}:sentinel-ack", stage.keys.prefix()),
    };
    Ok(Topology {
        nodes,
        started_in: None,
        sentinel: Some(sentinel),
    })
}

impl SentinelNodes {
    fn set(&self) -> Result<&SentinelSet, ReplayError> {
        self.set
            .as_ref()
            .ok_or_else(|| ReplayError::Setup("the replay's Sentinel set is gone".into()))
    }

    /// The node that is the primary now.
    pub(super) fn primary(&self) -> NodeId {
        NodeId(self.set.as_ref().map_or(0, |s| s.primary() as u8))
    }

    /// Whether the conductor looks at `node`'s lock key: the primary's
    /// always, a replica's while the model keeps its copy.
    pub(super) fn observes(&self, node: NodeId) -> bool {
        node == self.primary() || self.failovers_left > 0
    }

    /// Replica `node` catches up with everything the primary has, the
    /// primary counts its acknowledgement, and its stream is held again.
    pub(super) async fn replicate(
        &mut self,
        node: NodeId,
        nodes: &[Node],
    ) -> Result<(), ReplayError> {
        let result = self.try_replicate(node, nodes).await;
        self.reusable &= result.is_ok();
        result
    }

    async fn try_replicate(&self, node: NodeId, nodes: &[Node]) -> Result<(), ReplayError> {
        let set = self.set()?;
        let replica = node.index();
        set.catch_up(replica).await?;
        let primary = &nodes[set.primary()].conn;
        acknowledged(primary, &self.ack_key).await?;
        set.lag(replica)?;
        Ok(())
    }

    /// Sentinel promotes `node`; the old primary is demoted at once; the
    /// lab's own connections are made usable again (every node Sentinel
    /// reconfigured closed them).
    pub(super) async fn failover(
        &mut self,
        node: NodeId,
        nodes: &[Node],
    ) -> Result<(), ReplayError> {
        self.reusable = false;
        let set = self
            .set
            .as_mut()
            .ok_or_else(|| ReplayError::Setup("the replay's Sentinel set is gone".into()))?;
        let report = set.failover_to_at_once(node.index()).await?;
        tracing::debug!(?report, "replay failover");
        self.failovers_left = self.failovers_left.saturating_sub(1);
        for n in nodes {
            warm(&n.conn).await;
        }
        let primary = &nodes[report.new_primary].conn;
        locklab_impl::scripts::preload(primary).await?;
        // The model lets the replicas keep up from the last failover on: a
        // replica must be online and acknowledging the new primary's
        // writes before the next step (a demoted primary's full resync
        // ends on the replica's side a moment before the primary counts
        // it).
        acknowledged(primary, &self.ack_key).await?;
        Ok(())
    }

    /// After the replay: deletes its keys on the primary (the replicas
    /// lose them when they next catch up) and gives the set back if it can
    /// serve another replay.
    pub(super) async fn close(
        &mut self,
        nodes: &[Node],
        keys: &KeySpace,
        pattern: &str,
    ) -> Result<(), ReplayError> {
        let Some(set) = self.set.take() else {
            return Ok(());
        };
        let primary = &nodes[set.primary()].conn;
        let deleted = async {
            keys.delete(primary, pattern).await?;
            primary
                .query::<usize>(redis::cmd("DEL").arg(&self.ack_key))
                .await
        }
        .await;
        if deleted.is_ok() && self.reusable {
            self.pool.give_back(set);
        }
        deleted.map(|_| ()).map_err(ReplayError::from)
    }
}

/// A write of the lab's own, and `WAIT 1` for it: once it returns 1, the
/// primary has counted a replica's acknowledgement of everything before
/// it (the only replica whose stream is not held).
async fn acknowledged(primary: &Conn, key: &str) -> Result<(), ReplayError> {
    for _ in 0..ACK_TRIES {
        let _: () = primary.query(redis::cmd("INCR").arg(key)).await?;
        let acked: i64 = primary.query(redis::cmd("WAIT").arg(1).arg(1000)).await?;
        if acked >= 1 {
            return Ok(());
        }
    }
    Err(ReplayError::Setup(format!(
        "no replica acknowledged the primary's writes within {ACK_TRIES} s after it caught up"
    )))
}

/// Makes a connection usable again after its server closed it: the first
/// command on it fails and replaces it.
async fn warm(conn: &Conn) {
    for _ in 0..3 {
        if conn.ping().await.is_ok() {
            return;
        }
    }
}
