//! A partition told: the cut and who is on which side, the far side's
//! promotion, the old primary's refusal under `min-replicas-to-write`, and
//! the heal that demotes it.

use super::Narrator;
use crate::lease::world::World;
use crate::narrate::Told;
use crate::side::Side;
use crate::system::System;
use crate::world::{ClientId, NodeId};

impl Narrator<'_> {
    pub(super) fn partition(&self, before: &World, side: Side) -> String {
        let far_nodes: Vec<String> = (0..=self.model.scenario().replicas)
            .map(NodeId)
            .filter(|n| !side.has_node(*n))
            .map(|n| n.to_string())
            .collect();
        let far_clients: Vec<String> = before
            .roster
            .ids()
            .filter(|c| !side.has_client(*c))
            .map(|c: ClientId| c.to_string())
            .collect();
        let far: Vec<String> = far_nodes.into_iter().chain(far_clients).collect();
        let near: Vec<String> = side
            .to_string()
            .split('+')
            .filter(|m| *m != before.primary.to_string())
            .map(str::to_owned)
            .collect();
        let with = if near.is_empty() {
            "alone".to_owned()
        } else {
            format!("with {}", near.join(", "))
        };
        format!(
            "the network is cut in two: the primary {} {with} on one side; {} and a majority of the Sentinels on the other",
            before.primary,
            far.join(", ")
        )
    }

    pub(super) fn promote_across(&self, before: &World, after: &World, node: NodeId) -> Told {
        let (command, reply, says) = self.failover(before, after, node);
        let says = says.replace(
            &format!("{} is demoted and every client follows {node}", before.primary),
            &format!(
                "the Sentinels cannot reach {}, which goes on as a primary for the clients on its side; the clients on this side follow {node}",
                before.primary
            ),
        );
        (command, reply, says)
    }

    pub(super) fn noreplicas(&self, node: NodeId) -> String {
        let min = self.model.scenario().min_replicas_to_write;
        format!(
            "{node} has heard from fewer than {min} replica{} within min-replicas-max-lag: it refuses writes from now on (NOREPLICAS)",
            if min == 1 { "" } else { "s" }
        )
    }

    pub(super) fn heal(&self, before: &World) -> String {
        match before.isolated() {
            Some(old) => format!(
                "the cut heals: Sentinel demotes the old primary {}, which resyncs from {} and loses what only it had ({}); its clients follow {}",
                old.node,
                before.primary,
                self.holding(&old.data),
                before.primary
            ),
            None => "the cut heals: every link works again, and nothing was promoted".to_owned(),
        }
    }
}
