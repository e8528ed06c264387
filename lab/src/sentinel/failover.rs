//! The real side of the `failover` fault: a replica made to lag
//! deterministically, then promoted with whatever it has.
//!
//! # Lag
//!
//! [`lag`](SentinelSet::lag) holds the replication stream from the primary
//! to one replica in that replica's proxy. The replica's connection stays
//! open and it keeps acknowledging the offset it has, so neither it nor
//! Sentinel sees anything wrong: `master_link_status` stays `up` and
//! Sentinel's `master-link-down-time` stays 0, which keeps the replica
//! eligible for promotion (Sentinel skips a replica whose link has been down
//! longer than ten `down-after` periods, plus however long the primary has
//! been down). What does end a lag is the replica's own `repl-timeout`
//! (60 s): it hears nothing from the primary, not even its pings, and drops
//! the link. Measured: the link stays up for 60 s of lag; after that it is
//! down, and Sentinel refuses the replica once it has been down for ten
//! `down-after` periods (10 s by default), so keep a lag under a minute.
//!
//! # Choosing the replica
//!
//! Sentinel promotes, among the replicas it finds fit (not down, link not
//! down too long, recent INFO, `replica-priority` not 0), the one with the
//! lowest `replica-priority`, then the highest replication offset, then the
//! lowest run id. A lagging replica has the lower offset, so to promote it
//! the lab sets `replica-priority 0` (never promote) on every other replica
//! and waits until the Sentinels have read that from INFO (within an
//! `info-period`), and restores 100 once the failover is over.
//!
//! # Two ways to fail over
//!
//! - [`failover_to`](SentinelSet::failover_to): `SENTINEL FAILOVER`, with
//!   the primary alive. One Sentinel promotes the replica without an
//!   election; the old primary goes on taking writes until a Sentinel
//!   demotes it (`+convert-to-slave`, four `publish-period`s after it
//!   learns the new configuration), and then resyncs from the new primary,
//!   losing what it alone had.
//! - [`kill_primary`](SentinelSet::kill_primary): SIGKILL, and Sentinel does
//!   the rest on its own: subjective down after `down-after`, objective down
//!   once a quorum agrees, an election, the promotion.
//!
//! Either way, once every Sentinel names the new primary, the proxies are
//! cut (what they held is dropped: writes the new primary never got) and
//! `failover-timeout` is set to
//! [`SentinelOptions::failover_timeout`](super::SentinelOptions::failover_timeout); from
//! then on Sentinel points every replica at the primary directly.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::query::{expect_ok, NodeInfo, SentinelView};
use super::set::POLL;
use super::wait::Wait;
use super::{SentinelError, SentinelSet, SERVICE};
use crate::proxy::Direction;

/// A replica's `replica-priority` when it may be promoted (Redis's default).
const ELIGIBLE: i64 = 100;
/// A replica's `replica-priority` when it must not be.
const NEVER: i64 = 0;

/// How a failover was brought about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailoverKind {
    /// `SENTINEL FAILOVER`, the old primary alive.
    Forced,
    /// The primary was killed; Sentinel failed over on its own.
    PrimaryKilled,
}

/// What a failover did and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct FailoverReport {
    /// How it was brought about.
    pub kind: FailoverKind,
    /// The node that was the primary.
    pub old_primary: usize,
    /// Its address.
    pub old_primary_addr: SocketAddr,
    /// The node promoted.
    pub new_primary: usize,
    /// Its address.
    pub new_primary_addr: SocketAddr,
    /// From the request (`SENTINEL FAILOVER` sent) or the primary's death
    /// (SIGKILL sent) until every Sentinel named the new primary.
    pub agreed_after: Duration,
    /// From the same moment until every live node had its new role: the
    /// other replicas (and a live old primary) replicating from the new
    /// primary, link up.
    pub settled_after: Duration,
    /// Replication bytes the lab's proxies still held when the failover was
    /// agreed, and dropped: the part of the old primary's stream a lagging
    /// replica never received.
    pub dropped_stream_bytes: usize,
    /// The moment both durations count from.
    #[serde(skip)]
    pub started_at: std::time::Instant,
}

impl SentinelSet {
    /// Holds the replication stream from the primary to `replica` in its
    /// proxy, from now until [`catch_up`](Self::catch_up) or a failover:
    /// every write the primary makes after this returns is missing on that
    /// replica. The replica's link stays up (see the module docs for how
    /// long that lasts). Only before the first failover: after it,
    /// replication no longer goes through the lab.
    pub fn lag(&self, replica: usize) -> Result<(), SentinelError> {
        self.proxied(replica)?.hold(Direction::ToClient);
        tracing::debug!(replica, "replication stream held");
        Ok(())
    }

    /// Whether `replica`'s stream is held.
    pub fn is_lagging(&self, replica: usize) -> bool {
        self.proxy(replica)
            .is_some_and(|p| p.is_held(Direction::ToClient))
    }

    /// Ends a [`lag`](Self::lag): releases what the proxy held and waits
    /// until the replica has everything the primary had when it was
    /// released (each step within
    /// [`SentinelOptions::failover_deadline`](super::SentinelOptions::failover_deadline)).
    pub async fn catch_up(&self, replica: usize) -> Result<(), SentinelError> {
        self.proxied(replica)?.release(Direction::ToClient);
        let wait = Wait::new(self.options.failover_deadline, POLL);
        let target = loop {
            match wait
                .probe(NodeInfo::read(&self.node_links[self.primary]))
                .await
            {
                Ok(primary) => break primary.offset,
                Err(why) => wait
                    .again(why)
                    .await
                    .map_err(|e| self.expired("read the primary's offset", e))?,
            }
        };
        loop {
            let caught_up = async {
                let info = NodeInfo::read(&self.node_links[replica]).await?;
                if info.link_up && info.offset >= target {
                    Ok(())
                } else {
                    Err(format!(
                        "replica {} is at offset {} (link {}), not yet {target}",
                        self.nodes[replica].addr(),
                        info.offset,
                        if info.link_up { "up" } else { "down" },
                    ))
                }
            };
            match wait.probe(caught_up).await {
                Ok(()) => return Ok(()),
                Err(why) => wait
                    .again(why)
                    .await
                    .map_err(|e| self.expired("catch up a replica", e))?,
            }
        }
    }

    /// Makes the Sentinels promote `replica` with `SENTINEL FAILOVER` while
    /// the primary runs, with whatever the replica has (a lagging replica's
    /// missing writes stay missing), and waits until every Sentinel names
    /// it, then until the old primary has been demoted by Sentinel and
    /// every other replica follows the new primary.
    pub async fn failover_to(&mut self, replica: usize) -> Result<FailoverReport, SentinelError> {
        self.force_failover(replica, false).await
    }

    /// As [`failover_to`](Self::failover_to), but the lab demotes the old
    /// primary itself (`REPLICAOF` the new one) as soon as every Sentinel
    /// names the new primary, instead of leaving it a primary, taking
    /// writes, until a Sentinel demotes it (about two seconds later): a
    /// failover with no window in which clients can still write to the old
    /// primary, as the model's is. Sentinel then finds the old primary
    /// already configured as it would configure it.
    pub async fn failover_to_at_once(
        &mut self,
        replica: usize,
    ) -> Result<FailoverReport, SentinelError> {
        self.force_failover(replica, true).await
    }

    /// Makes `replica` the only candidate of a forced failover ahead of
    /// time (priorities, and the asked Sentinel seeing them: up to an
    /// `info-period`), so that the failover itself is quicker.
    pub async fn prepare_failover_to(&mut self, replica: usize) -> Result<(), SentinelError> {
        self.check_candidate(replica)?;
        self.make_only_candidate(replica, &[0]).await
    }

    async fn force_failover(
        &mut self,
        replica: usize,
        demote_at_once: bool,
    ) -> Result<FailoverReport, SentinelError> {
        self.check_candidate(replica)?;
        let old = self.primary;
        // Only the Sentinel asked picks the replica.
        self.make_only_candidate(replica, &[0]).await?;
        let asked = &self.sentinel_links[0];
        let started = Instant::now();
        let reply = asked
            .query::<redis::Value>(redis::cmd("SENTINEL").arg("FAILOVER").arg(SERVICE))
            .await
            .and_then(expect_ok);
        if let Err(reply) = reply {
            return Err(SentinelError::Refused {
                target: format!("redis-sentinel {}", asked.addr()),
                command: format!("SENTINEL FAILOVER {SERVICE}"),
                reply,
                log_tail: self.sentinel_log_tails(),
            });
        }
        tracing::debug!(old, replica, "SENTINEL FAILOVER sent");
        self.finish_failover(
            FailoverKind::Forced,
            old,
            Some(replica),
            started,
            demote_at_once,
        )
        .await
    }

    /// Kills the primary (SIGKILL) and lets the Sentinels fail over on
    /// their own, then waits until every Sentinel names the same new
    /// primary and every live replica follows it. With `promote`, every
    /// other replica is made ineligible first, so that Sentinel has one
    /// choice. Without, Sentinel chooses by its rules (priority, then
    /// offset, then run id: with one replica lagging, the other); the lab
    /// first waits until every Sentinel has read every live replica's
    /// current offset, so that the choice follows from the state the
    /// replicas are in, not from an INFO read before the last writes.
    pub async fn kill_primary(
        &mut self,
        promote: Option<usize>,
    ) -> Result<FailoverReport, SentinelError> {
        let old = self.primary;
        if let Some(replica) = promote {
            self.check_candidate(replica)?;
            // Whichever Sentinel wins the election picks the replica.
            let all: Vec<usize> = (0..self.sentinels.len()).collect();
            self.make_only_candidate(replica, &all).await?;
        } else {
            self.wait_offsets_seen().await?;
        }
        let started = Instant::now();
        self.nodes[old].kill()?;
        tracing::debug!(old, "primary killed");
        // Now that the primary is gone, a short failover-timeout can no
        // longer route a replica around its proxy to it, and a failed
        // election is retried after twice this rather than after hours.
        self.set_failover_timeout().await?;
        self.finish_failover(FailoverKind::PrimaryKilled, old, promote, started, false)
            .await
    }

    /// The node must be a live replica of the set.
    fn check_candidate(&mut self, replica: usize) -> Result<(), SentinelError> {
        self.check_node(replica)?;
        let bad = |why: &str| {
            Err(SentinelError::BadNode {
                node: replica,
                why: why.to_string(),
            })
        };
        if replica == self.primary {
            return bad("it is the primary already");
        }
        if !self.nodes[replica].is_running() {
            return bad("it is not running");
        }
        Ok(())
    }

    fn proxied(&self, replica: usize) -> Result<&crate::proxy::Proxy, SentinelError> {
        self.check_node(replica)?;
        self.proxy(replica).ok_or_else(|| SentinelError::BadNode {
            node: replica,
            why: if replica == 0 {
                "it is the first primary; it replicates from no proxy".into()
            } else {
                "replication no longer goes through the lab's proxy after a failover".into()
            },
        })
    }

    /// Gives every live replica but `replica` priority 0 (and `replica` the
    /// default), and waits until the Sentinels `asked` report exactly that.
    async fn make_only_candidate(
        &mut self,
        replica: usize,
        asked: &[usize],
    ) -> Result<(), SentinelError> {
        let mut wanted = Vec::new();
        for node in self.replicas() {
            if !self.nodes[node].is_running() {
                continue;
            }
            let priority = if node == replica { ELIGIBLE } else { NEVER };
            self.set_priority(node, priority).await?;
            wanted.push((self.nodes[node].addr(), priority));
        }
        let wait = Wait::new(self.options.failover_deadline, POLL);
        loop {
            let seen = async {
                for &s in asked {
                    let view = SentinelView::read(&self.sentinel_links[s], SERVICE).await?;
                    for &(addr, priority) in &wanted {
                        let got = view.replica(addr).map(|r| r.priority);
                        if got != Some(priority) {
                            return Err(format!(
                                "Sentinel {} sees replica {addr} with priority {got:?}, not {priority}",
                                view.sentinel
                            ));
                        }
                    }
                }
                Ok(())
            };
            match wait.probe(seen).await {
                Ok(()) => return Ok(()),
                Err(why) => wait
                    .again(why)
                    .await
                    .map_err(|e| self.expired("see the replica priorities", e))?,
            }
        }
    }

    /// Sets `replica-priority` on a node. Idempotent, and repeated (within
    /// the failover deadline) while it fails: Sentinel closes the clients
    /// of any node it reconfigures, and that may be this one at any moment
    /// around a failover.
    /// Waits until every Sentinel's last INFO of every live replica shows
    /// at least the offset the replica has now.
    async fn wait_offsets_seen(&mut self) -> Result<(), SentinelError> {
        let mut now = Vec::new();
        for node in self.replicas() {
            if self.nodes[node].is_running() {
                let info = NodeInfo::read(&self.node_links[node])
                    .await
                    .map_err(|last| {
                        self.not_agreed("read a replica's offset", Duration::ZERO, last)
                    })?;
                now.push((self.nodes[node].addr(), info.offset));
            }
        }
        let wait = Wait::new(self.options.failover_deadline, POLL);
        loop {
            let seen = async {
                for view in self.views().await? {
                    for &(addr, offset) in &now {
                        let got = view.replica(addr).map(|r| r.offset);
                        if got.is_none_or(|got| got < offset) {
                            return Err(format!(
                                "Sentinel {} sees replica {addr} at offset {got:?}, it is at {offset}",
                                view.sentinel
                            ));
                        }
                    }
                }
                Ok(())
            };
            match wait.probe(seen).await {
                Ok(()) => return Ok(()),
                Err(why) => wait
                    .again(why)
                    .await
                    .map_err(|e| self.expired("see the replicas' offsets", e))?,
            }
        }
    }

    async fn set_priority(&self, node: usize, priority: i64) -> Result<(), SentinelError> {
        let link = &self.node_links[node];
        let mut cmd = redis::cmd("CONFIG");
        cmd.arg("SET").arg("replica-priority").arg(priority);
        let wait = Wait::new(self.options.failover_deadline, POLL);
        loop {
            let set = link.query::<redis::Value>(&cmd).await.and_then(expect_ok);
            match set {
                Ok(()) => return Ok(()),
                Err(why) => wait.again(why).await.map_err(|e| SentinelError::Refused {
                    target: format!("redis-server {}", link.addr()),
                    command: format!("CONFIG SET replica-priority {priority}"),
                    reply: e.last,
                    log_tail: String::new(),
                })?,
            }
        }
    }

    /// `REPLICAOF` the new primary on `node`, repeated (within the
    /// failover deadline) while it fails, as [`set_priority`](Self::set_priority).
    async fn demote(&self, node: usize, primary: SocketAddr) -> Result<(), SentinelError> {
        let link = &self.node_links[node];
        let mut cmd = redis::cmd("REPLICAOF");
        cmd.arg(primary.ip().to_string()).arg(primary.port());
        let wait = Wait::new(self.options.failover_deadline, POLL);
        loop {
            // `OK`, or `OK Already connected to specified master`.
            let set = link
                .query::<redis::Value>(&cmd)
                .await
                .and_then(|v| match v {
                    redis::Value::SimpleString(s) if s.starts_with("OK") => Ok(()),
                    other => expect_ok(other),
                });
            match set {
                Ok(()) => return Ok(()),
                Err(why) => wait.again(why).await.map_err(|e| SentinelError::Refused {
                    target: format!("redis-server {}", link.addr()),
                    command: format!("REPLICAOF {primary}"),
                    reply: e.last,
                    log_tail: self.sentinel_log_tails(),
                })?,
            }
        }
    }

    async fn set_failover_timeout(&self) -> Result<(), SentinelError> {
        let ms = self.options.failover_timeout.as_millis().to_string();
        self.tell_sentinels(&["SET".into(), SERVICE.into(), "failover-timeout".into(), ms])
            .await
    }

    /// Waits for agreement on a new primary (`expected`, when the lab chose
    /// it), then takes the proxies out, restores priorities and waits
    /// until the live nodes have their new roles.
    async fn finish_failover(
        &mut self,
        kind: FailoverKind,
        old: usize,
        expected: Option<usize>,
        started: Instant,
        demote_at_once: bool,
    ) -> Result<FailoverReport, SentinelError> {
        let old_addr = self.nodes[old].addr();
        let new_addr = self.wait_new_primary(old_addr, started).await?;
        let agreed_after = started.elapsed();
        let new = match self.nodes.iter().position(|n| n.addr() == new_addr) {
            Some(new) if expected.is_none_or(|e| e == new) => new,
            _ => {
                let expected = expected.unwrap_or(old);
                return Err(SentinelError::WrongPromotion {
                    expected,
                    expected_addr: self.nodes[expected].addr().to_string(),
                    got: new_addr.to_string(),
                    log_tail: self.sentinel_log_tails(),
                });
            }
        };
        self.primary = new;
        let dropped_stream_bytes = self.cut_proxies();
        if kind == FailoverKind::Forced {
            self.set_failover_timeout().await?;
        }
        if demote_at_once && self.nodes[old].is_running() {
            self.demote(old, new_addr).await?;
        }
        self.wait_settled().await?;
        let settled_after = started.elapsed();
        for node in self.replicas() {
            if self.nodes[node].is_running() {
                self.set_priority(node, ELIGIBLE).await?;
            }
        }
        let report = FailoverReport {
            kind,
            old_primary: old,
            old_primary_addr: old_addr,
            new_primary: new,
            new_primary_addr: new_addr,
            agreed_after,
            settled_after,
            dropped_stream_bytes,
            started_at: started.into_std(),
        };
        tracing::debug!(?report, "failover done");
        Ok(report)
    }

    /// Polls every Sentinel until all name one primary other than `old`.
    async fn wait_new_primary(
        &self,
        old: SocketAddr,
        started: Instant,
    ) -> Result<SocketAddr, SentinelError> {
        let wait = Wait::new(
            self.options
                .failover_deadline
                .saturating_sub(started.elapsed()),
            POLL,
        );
        loop {
            let agreed = async {
                let mut named = Vec::new();
                for link in &self.sentinel_links {
                    let addr: Option<(String, u16)> = link
                        .query(
                            redis::cmd("SENTINEL")
                                .arg("GET-MASTER-ADDR-BY-NAME")
                                .arg(SERVICE),
                        )
                        .await?;
                    let addr = addr
                        .and_then(|(ip, port)| Some(SocketAddr::new(ip.parse().ok()?, port)))
                        .ok_or_else(|| format!("Sentinel {} names no primary", link.addr()))?;
                    if addr == old {
                        return Err(format!("Sentinel {} still names {old}", link.addr()));
                    }
                    named.push(addr);
                }
                match named.iter().find(|a| **a != named[0]) {
                    None => Ok(named[0]),
                    Some(other) => Err(format!("Sentinels name both {} and {other}", named[0])),
                }
            };
            match wait.probe(agreed).await {
                Ok(addr) => return Ok(addr),
                Err(why) => wait
                    .again(why)
                    .await
                    .map_err(|e| self.expired("agree on a new primary", e))?,
            }
        }
    }

    /// Partitions every proxy (dropping what it held); returns how many
    /// bytes were held.
    fn cut_proxies(&mut self) -> usize {
        self.failed_over = true;
        self.proxies
            .iter()
            .flatten()
            .map(|proxy| {
                let held = proxy.held_bytes(Direction::ToClient);
                proxy.partition();
                held
            })
            .sum()
    }

    /// Waits until the primary says it is one, every live replica
    /// replicates from it with its link up, and (with
    /// `min-replicas-to-write`) the primary counts them as good.
    async fn wait_settled(&mut self) -> Result<(), SentinelError> {
        let live: Vec<usize> = self
            .replicas()
            .into_iter()
            .filter(|&n| self.nodes[n].is_running())
            .collect();
        let primary_addr = self.primary_addr();
        let wait = Wait::new(self.options.failover_deadline, POLL);
        loop {
            let settled = async {
                let primary = NodeInfo::read(&self.node_links[self.primary]).await?;
                if !primary.is_primary {
                    return Err(format!("{primary_addr} does not say it is the primary yet"));
                }
                for &node in &live {
                    let link = &self.node_links[node];
                    let info = NodeInfo::read(link).await?;
                    if info.is_primary || info.primary != Some(primary_addr) || !info.link_up {
                        return Err(format!(
                            "{} does not replicate from {primary_addr} yet ({})",
                            link.addr(),
                            if info.is_primary {
                                "it says it is a primary".to_string()
                            } else {
                                format!(
                                    "it follows {:?}, link {}",
                                    info.primary,
                                    if info.link_up { "up" } else { "down" }
                                )
                            }
                        ));
                    }
                }
                self.check_counted(&primary, live.len())
            };
            match wait.probe(settled).await {
                Ok(()) => return Ok(()),
                Err(why) => wait
                    .again(why)
                    .await
                    .map_err(|e| self.expired("settle after the failover", e))?,
            }
        }
    }
}
