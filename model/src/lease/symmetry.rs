//! Symmetry reduction: clients are interchangeable, so two states that
//! differ only by which client is called `c1` and which `c2` behave alike.
//! The representative of a state sorts its clients and renames every client
//! id in it accordingly; the checker then visits one state per class.

use stateright::Representative;

use super::world::{Client, World};
use crate::side::Side;
use crate::world::{ClientId, MAX_CLIENTS};

impl Representative for World {
    fn representative(&self) -> Self {
        let n = usize::from(self.roster.len());
        let owner = self.lease.map(|l| l.owner);
        let releaser = self.foreign_release.map(|f| f.releaser);
        let victim = self.foreign_release.map(|f| f.victim);
        // Sort by the client's own state, then by the roles ids play
        // elsewhere in the state, so that the order is fully determined up to
        // clients that are truly alike.
        // Which replicas' copies (and the append-only file) hold a lease of
        // the client's.
        let copies = |c: ClientId| -> u8 {
            self.copies
                .iter()
                .chain([&self.file])
                .enumerate()
                .filter(|(_, copy)| copy.lease.is_some_and(|l| l.owner == c))
                .fold(0, |bits, (i, _)| bits | 1 << i)
        };
        let old_owner = self.isolated().and_then(|i| i.data.lease).map(|l| l.owner);
        let near = |c: ClientId| self.cut.is_some_and(|cut| cut.side.has_client(c));
        let key = |c: ClientId| -> (Client, bool, bool, bool, u8, bool, bool) {
            (
                *self.roster.client(c),
                owner == Some(c),
                releaser == Some(c),
                victim == Some(c),
                copies(c),
                old_owner == Some(c),
                near(c),
            )
        };
        let mut order: [ClientId; MAX_CLIENTS] = std::array::from_fn(|i| ClientId(i as u8));
        order[..n].sort_unstable_by_key(|c| key(*c));
        // order[new] = old; renamed[old] = new.
        let mut renamed = [ClientId(0); MAX_CLIENTS];
        for (new, old) in order[..n].iter().enumerate() {
            renamed[old.index()] = ClientId(new as u8);
        }
        let mut rep = self.clone();
        for (new, old) in order[..n].iter().enumerate() {
            *rep.roster.client_mut(ClientId(new as u8)) = *self.roster.client(*old);
        }
        if let Some(lease) = rep.lease.as_mut() {
            lease.owner = renamed[lease.owner.index()];
        }
        for copy in rep.copies.iter_mut().chain([&mut rep.file]) {
            if let Some(lease) = copy.lease.as_mut() {
                lease.owner = renamed[lease.owner.index()];
            }
        }
        if let Some(cut) = rep.cut.as_mut() {
            let mut side = Side {
                clients: 0,
                ..cut.side
            };
            for old in order[..n].iter().filter(|c| cut.side.has_client(**c)) {
                side = side.with_client(renamed[old.index()]);
            }
            cut.side = side;
            if let Some(lease) = cut.isolated.as_mut().and_then(|i| i.data.lease.as_mut()) {
                lease.owner = renamed[lease.owner.index()];
            }
        }
        if let Some(f) = rep.foreign_release.as_mut() {
            f.releaser = renamed[f.releaser.index()];
            f.victim = renamed[f.victim.index()];
        }
        rep
    }
}
