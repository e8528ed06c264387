//! The steps of a primary with replicas, told: a replica catching up, a
//! failover and what the promoted replica lacks, and a `WAIT`.

use super::Narrator;
use crate::lease::world::{NodeData, Pc, World};
use crate::narrate::Told;
use crate::outcome::Outcome;
use crate::world::{ClientId, NodeId};

impl Narrator<'_> {
    /// What a node keeps for the lock, in words: `c1's lock, fencing
    /// counter 1`.
    pub(super) fn holding(&self, data: &NodeData) -> String {
        let lock = match data.lease {
            Some(l) => format!("{}'s lock", l.owner),
            None => "no lock".to_owned(),
        };
        if self.model.caps.fencing {
            format!("{lock}, fencing counter {}", data.fence_counter)
        } else {
            lock
        }
    }

    pub(super) fn primary_data(w: &World) -> NodeData {
        NodeData {
            lease: w.lease,
            fence_counter: w.fence_counter,
        }
    }

    pub(super) fn replicate(&self, before: &World, after: &World, node: NodeId) -> Told {
        let now = self.holding(&Self::primary_data(before));
        let acked: Vec<String> = after
            .roster
            .ids()
            .filter(|c| {
                after.roster.client(*c).acks & !before.roster.client(*c).acks & (1 << node.0) != 0
            })
            .map(|c| format!("{c}'s grant"))
            .collect();
        let acks = if acked.is_empty() {
            String::new()
        } else {
            format!(" and acknowledges {}", acked.join(" and "))
        };
        (
            None,
            None,
            format!(
                "{node} catches up with the primary {}: it now has {now}{acks}",
                before.primary
            ),
        )
    }

    pub(super) fn failover(&self, before: &World, after: &World, node: NodeId) -> Told {
        let had = Self::primary_data(before);
        let gets = Self::primary_data(after);
        let mut lost = Vec::new();
        if let Some(l) = had.lease.filter(|l| gets.lease != Some(*l)) {
            lost.push(format!("{}'s lock is gone", l.owner));
        }
        if let (Some(l), false) = (gets.lease, gets.lease == had.lease) {
            lost.push(format!("{}'s older lock is back", l.owner));
        }
        if self.model.caps.fencing && gets.fence_counter < had.fence_counter {
            lost.push(format!(
                "the fencing counter goes back from {} to {}",
                had.fence_counter, gets.fence_counter
            ));
        }
        let lost = if lost.is_empty() {
            String::new()
        } else {
            format!(": {}", lost.join(", "))
        };
        (
            Some(format!("SENTINEL FAILOVER locklab (promote {node})")),
            Some("OK".to_owned()),
            format!(
                "Sentinel promotes {node} with what it has — {}{lost}; {} is demoted and every client follows {node}",
                self.holding(&gets),
                before.primary
            ),
        )
    }

    pub(super) fn confirm(&self, before: &World, c: ClientId, outcome: Option<&Outcome>) -> Told {
        let n = self.model.caps.wait_replicas;
        let acked = before.roster.client(c).acks.count_ones();
        let command = Some(format!("WAIT {n} <timeout>"));
        let (reply, says) = match outcome {
            _ if before.roster.client(c).pc == Pc::Orphaned => (
                "connection lost".to_owned(),
                format!(
                    "{c}'s WAIT {n} fails: the primary that granted it closed its connection (demoted, or restarted), so the WAIT confirms nothing; {c} releases what it can and counts the lock as not acquired"
                ),
            ),
            Some(Outcome::Granted { .. }) if acked < u32::from(n) => (
                n.to_string(),
                format!(
                    "{c}'s WAIT {n} is acknowledged: after the failover the replicas follow the new primary as it writes, and {c} holds the lock"
                ),
            ),
            Some(Outcome::Granted { .. }) => (
                acked.to_string(),
                format!(
                    "{c}'s WAIT {n} counts {acked} replica{} with its grant: {c} holds the lock",
                    if acked == 1 { "" } else { "s" }
                ),
            ),
            _ => (
                acked.to_string(),
                format!(
                    "{c}'s WAIT {n} counts {acked}: no replica acknowledged its grant, so {c} releases it and counts the lock as not acquired"
                ),
            ),
        };
        (command, Some(reply), says)
    }

    pub(super) fn pending(&self, before: &World, c: ClientId) -> String {
        format!(
            "{c}'s SET NX succeeds on the primary {}; {c} does not count the lock until a replica acknowledges it",
            before.primary
        )
    }
}
