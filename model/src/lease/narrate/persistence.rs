//! A restart of the primary told as its persistence setting makes it, and
//! an fsync of its append-only file.

use super::Narrator;
use crate::lease::world::{NodeData, Pc, World};
use crate::system::System;
use locklab_spec::persistence::Persistence;

impl Narrator<'_> {
    /// What went with the restart: `c1's lock and the fencing counter (at
    /// 1)`, or `nothing`.
    fn lost(&self, had: &NodeData, kept: &NodeData) -> String {
        let mut lost = Vec::new();
        if let Some(l) = had.lease.filter(|l| kept.lease != Some(*l)) {
            lost.push(format!("{}'s lock", l.owner));
        }
        if self.model.caps.fencing && kept.fence_counter < had.fence_counter {
            lost.push(format!("the fencing counter (at {})", had.fence_counter));
        }
        if lost.is_empty() {
            "nothing".to_owned()
        } else {
            lost.join(" and ")
        }
    }

    pub(super) fn restart(&self, before: &World, after: &World) -> String {
        let s = self.model.scenario();
        let (had, kept) = (Self::primary_data(before), Self::primary_data(after));
        let lost = self.lost(&had, &kept);
        let mut says = if s.replicas == 0 && s.persistence == Persistence::None {
            let lock = match before.lease {
                Some(l) => format!("{}'s lock", l.owner),
                None => "no lock".to_owned(),
            };
            let counter = if self.model.caps.fencing {
                format!(" and the fencing counter (at {})", before.fence_counter)
            } else {
                String::new()
            };
            format!("Redis crashes and restarts without persistence: {lock}{counter} gone with it")
        } else {
            let who = if s.replicas == 0 {
                "Redis crashes and restarts".to_owned()
            } else {
                format!(
                    "the primary {} crashes and its supervisor restarts it at once, before Sentinel notices —",
                    before.primary
                )
            };
            let back = match s.persistence {
                Persistence::None => format!("without persistence, empty: {lost} gone with it"),
                Persistence::Everysec if lost == "nothing" => format!(
                    "from its append-only file (appendfsync everysec), fsynced since the last write: back with {}",
                    self.holding(&kept)
                ),
                Persistence::Everysec => format!(
                    "from its append-only file (appendfsync everysec), not fsynced since: {lost} gone, back with {}",
                    self.holding(&kept)
                ),
                Persistence::Always => format!(
                    "from its append-only file (appendfsync always), every write fsynced before its reply: back with {}",
                    self.holding(&kept)
                ),
            };
            format!("{who} {back}")
        };
        if s.replicas > 0 {
            says.push_str(&format!(
                "; it is still the primary, and its replicas resync to what it has ({})",
                self.holding(&kept)
            ));
        }
        let closed: Vec<String> = after
            .roster
            .ids()
            .filter(|c| {
                before.roster.client(*c).pc == Pc::Unconfirmed
                    && after.roster.client(*c).pc == Pc::Orphaned
            })
            .map(|c| c.to_string())
            .collect();
        if !closed.is_empty() {
            says.push_str(&format!(
                "; {}'s connection closed, so {} WAIT confirms nothing",
                closed.join(" and "),
                if closed.len() == 1 { "its" } else { "their" }
            ));
        }
        says
    }

    pub(super) fn fsync(&self, after: &World) -> String {
        format!(
            "the primary's append-only file is fsynced: {} is on disk",
            self.holding(&after.file)
        )
    }
}
