//! Symmetry reduction over clients *and* masters: two states that differ
//! only by which client is `c1` or which master is `n1` behave alike.
//!
//! Client ids appear in the masters' keys and master ids in the clients'
//! request sets, so neither can be sorted alone. The representative sorts
//! the clients by what they are regardless of master names, renames them,
//! sorts the masters by their state and by which (renamed) clients asked
//! them, then sorts the clients once more with their request sets in the
//! masters' new order to break ties, and sorts the masters again. The
//! result is always a renaming of the state (which is what soundness
//! needs); it is canonical for all but a few states with many ties, which
//! then cost a few states more, never a wrong verdict.
//!
//! It runs for every state the checker generates, so every sort key is
//! packed into one integer, computed once per element.

use stateright::Representative;

use super::world::{Client, NodeSet, World, MAX_NODES};
use crate::world::{ClientId, MAX_CLIENTS};

/// A node set with its masters renamed: bit `old` becomes bit `to[old]`.
fn rename_set(set: NodeSet, to: &[u8; MAX_NODES], m: usize) -> NodeSet {
    let mut out = 0;
    for (k, &new) in to.iter().enumerate().take(m) {
        if set & (1 << k) != 0 {
            out |= 1 << new;
        }
    }
    out
}

/// The indices `0..len`, sorted by `keys` (stable: equal keys keep their
/// order). Insertion sort: there are at most eight.
fn order<const N: usize>(keys: &[u128; N], len: usize) -> [u8; N] {
    let mut order: [u8; N] = std::array::from_fn(|i| i as u8);
    for i in 1..len {
        let mut j = i;
        while j > 0 && keys[usize::from(order[j - 1])] > keys[usize::from(order[j])] {
            order.swap(j - 1, j);
            j -= 1;
        }
    }
    order
}

/// `new → old` into `old → new`.
fn inverse<const N: usize>(order: &[u8; N], len: usize) -> [u8; N] {
    let mut to = [0u8; N];
    for (new, &old) in order[..len].iter().enumerate() {
        to[usize::from(old)] = new as u8;
    }
    to
}

/// A state's place in the canonical order: its clients', then its masters'.
type Rank = ([u64; MAX_CLIENTS], [u32; MAX_NODES]);

impl World {
    /// What each client is, without the names of the masters: its own
    /// state with its request sets as counts, and how many keys it owns.
    fn client_shapes(&self) -> [u128; MAX_CLIENTS] {
        let mut owned = [0u32; MAX_CLIENTS];
        for node in self.nodes() {
            if let Some(key) = node.key {
                owned[key.owner.index()] += 1;
            }
        }
        let mut shapes = [0u128; MAX_CLIENTS];
        for (c, client) in self.roster.clients().iter().enumerate() {
            let anonymous = Client {
                asked: client.asked.count_ones() as u8,
                got: client.got.count_ones() as u8,
                ..*client
            };
            shapes[c] = u128::from(anonymous.packed()) << 8 | u128::from(owned[c]);
        }
        shapes
    }

    /// The masters in order, given the clients' new names.
    fn order_nodes(&self, client_to: &[u8; MAX_CLIENTS]) -> [u8; MAX_NODES] {
        let mut keys = [0u128; MAX_NODES];
        for (k, node) in self.nodes().iter().enumerate() {
            let mut incidence = 0u32;
            for (c, client) in self.roster.clients().iter().enumerate() {
                let to = client_to[c];
                if client.asked & (1 << k) != 0 {
                    incidence |= 1 << to;
                }
                if client.got & (1 << k) != 0 {
                    incidence |= 1 << (to + 8);
                }
            }
            let own = node.packed(|c| client_to[c.index()]);
            keys[k] = u128::from(own) << 32 | u128::from(incidence);
        }
        order(&keys, usize::from(self.m))
    }
}

/// The clients' orders to try: `first` (sorted by shape), with the clients
/// of equal shape in every order among themselves.
fn candidates(
    first: &[u8; MAX_CLIENTS],
    shapes: &[u128; MAX_CLIENTS],
    n: usize,
) -> Vec<[u8; MAX_CLIENTS]> {
    let mut out = vec![*first];
    let mut start = 0;
    while start < n {
        let shape = shapes[usize::from(first[start])];
        let mut end = start + 1;
        while end < n && shapes[usize::from(first[end])] == shape {
            end += 1;
        }
        if end - start > 1 {
            let mut grown = Vec::new();
            for order in &out {
                permute(&mut order.clone(), end, start, &mut grown);
            }
            out = grown;
        }
        start = end;
    }
    out
}

/// Every order of `order[at..to]`.
fn permute(order: &mut [u8; MAX_CLIENTS], to: usize, at: usize, out: &mut Vec<[u8; MAX_CLIENTS]>) {
    if at + 1 >= to {
        out.push(*order);
        return;
    }
    for i in at..to {
        order.swap(at, i);
        permute(order, to, at + 1, out);
        order.swap(at, i);
    }
}

impl World {
    /// The state renamed by these orders (`new → old`).
    fn renamed(&self, clients: &[u8; MAX_CLIENTS], nodes: &[u8; MAX_NODES]) -> World {
        let n = usize::from(self.roster.len());
        let m = usize::from(self.m);
        let client_to = inverse(clients, n);
        let node_to = inverse(nodes, m);
        let mut rep = self.clone();
        for (new, &old) in clients[..n].iter().enumerate() {
            let mut c = *self.roster.client(ClientId(old));
            c.asked = rename_set(c.asked, &node_to, m);
            c.got = rename_set(c.got, &node_to, m);
            *rep.roster.client_mut(ClientId(new as u8)) = c;
        }
        for (new, &old) in nodes[..m].iter().enumerate() {
            let mut node = self.nodes[usize::from(old)];
            if let Some(key) = node.key.as_mut() {
                key.owner = ClientId(client_to[key.owner.index()]);
            }
            rep.nodes[new] = node;
        }
        rep
    }

    /// A total order on states of one scenario, to pick the least renaming.
    fn rank(&self) -> ([u64; MAX_CLIENTS], [u32; MAX_NODES]) {
        let mut clients = [0u64; MAX_CLIENTS];
        for (i, c) in self.roster.clients().iter().enumerate() {
            clients[i] = c.packed();
        }
        let mut nodes = [0u32; MAX_NODES];
        for (i, node) in self.nodes().iter().enumerate() {
            nodes[i] = node.packed(|c| c.0);
        }
        (clients, nodes)
    }
}

impl Representative for World {
    /// Clients sorted by what they are regardless of master names; among
    /// clients alike in that, every order is tried, the masters sorted by
    /// their state and by which (renamed) clients asked them, and the least
    /// result kept: a canonical form.
    fn representative(&self) -> Self {
        let n = usize::from(self.roster.len());
        let shapes = self.client_shapes();
        let first = order(&shapes, n);
        let mut best: Option<(Rank, World)> = None;
        for clients in candidates(&first, &shapes, n) {
            let nodes = self.order_nodes(&inverse(&clients, n));
            let rep = self.renamed(&clients, &nodes);
            let rank = rep.rank();
            if best.as_ref().is_none_or(|(r, _)| rank < *r) {
                best = Some((rank, rep));
            }
        }
        best.map_or_else(|| self.clone(), |(_, rep)| rep)
    }
}
