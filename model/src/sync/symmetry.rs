//! Symmetry reduction: workers are interchangeable, so two states that
//! differ only by which worker is called `c1` behave alike. The
//! representative sorts the workers and renames every worker id in the
//! state (the claim's owner, pending entries' owners) to match.

use stateright::Representative;

use super::world::{Entry, Worker, World, MAX_UNITS};
use crate::world::{ClientId, MAX_CLIENTS};

impl Representative for World {
    fn representative(&self) -> Self {
        let n = usize::from(self.roster.len());
        // A worker's own state, then the roles its id plays elsewhere: the
        // claim, and which units are pending for it.
        let key = |c: ClientId| -> (Worker, bool, [bool; MAX_UNITS]) {
            let pending = std::array::from_fn(
                |i| matches!(self.entries[i], Entry::Pending { owner, .. } if owner == c),
            );
            (
                *self.roster.client(c),
                self.claim.is_some_and(|claim| claim.owner == c),
                pending,
            )
        };
        let mut order: [ClientId; MAX_CLIENTS] = std::array::from_fn(|i| ClientId(i as u8));
        order[..n].sort_unstable_by_key(|c| key(*c));
        // order[new] = old; renamed[old] = new.
        let mut renamed = [ClientId(0); MAX_CLIENTS];
        for (new, old) in order[..n].iter().enumerate() {
            renamed[old.index()] = ClientId(new as u8);
        }
        let mut rep = *self;
        for (new, old) in order[..n].iter().enumerate() {
            *rep.roster.client_mut(ClientId(new as u8)) = *self.roster.client(*old);
        }
        if let Some(claim) = rep.claim.as_mut() {
            claim.owner = renamed[claim.owner.index()];
        }
        for entry in &mut rep.entries {
            if let Entry::Pending { owner, .. } = entry {
                *owner = renamed[owner.index()];
            }
        }
        rep
    }
}
