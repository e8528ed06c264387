//! One side of a network partition: the Redis nodes and clients on it,
//! written `n1+c1+c3`. A `partition` step names the side of the primary it
//! isolates; everything it does not name — and a majority of the Sentinels
//! — is on the other.

use std::fmt;
use std::str::FromStr;

use crate::world::{ClientId, NodeId, MAX_CLIENTS, MAX_NODES};

/// The nodes and clients on one side of a cut, a bit each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Side {
    /// The nodes on it, a bit per [`NodeId`].
    pub nodes: u16,
    /// The clients on it, a bit per [`ClientId`].
    pub clients: u8,
}

impl Side {
    /// Whether node `n` is on this side.
    pub fn has_node(self, n: NodeId) -> bool {
        self.nodes & 1 << n.0 != 0
    }

    /// Whether client `c` is on this side.
    pub fn has_client(self, c: ClientId) -> bool {
        self.clients & 1 << c.0 != 0
    }

    /// This side with node `n` on it too.
    pub fn with_node(self, n: NodeId) -> Side {
        Side {
            nodes: self.nodes | 1 << n.0,
            ..self
        }
    }

    /// This side with client `c` on it too.
    pub fn with_client(self, c: ClientId) -> Side {
        Side {
            clients: self.clients | 1 << c.0,
            ..self
        }
    }
}

impl fmt::Display for Side {
    /// `n1+c1+c3`: the nodes, then the clients.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes = (0..MAX_NODES as u8)
            .map(NodeId)
            .filter(|n| self.has_node(*n))
            .map(|n| n.to_string());
        let clients = (0..MAX_CLIENTS as u8)
            .map(ClientId)
            .filter(|c| self.has_client(*c))
            .map(|c| c.to_string());
        f.write_str(&nodes.chain(clients).collect::<Vec<_>>().join("+"))
    }
}

impl FromStr for Side {
    type Err = String;

    /// Reads `n1+c1+c3` (at least one node: the side a partition names is
    /// the primary's).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut side = Side::default();
        for word in s.split('+') {
            let number = |prefix: char, max: usize| -> Option<u8> {
                let n: usize = word.strip_prefix(prefix)?.parse().ok()?;
                (1..=max).contains(&n).then(|| (n - 1) as u8)
            };
            if let Some(n) = number('n', MAX_NODES) {
                side = side.with_node(NodeId(n));
            } else if let Some(c) = number('c', MAX_CLIENTS) {
                side = side.with_client(ClientId(c));
            } else {
                return Err(format!(
                    "`{word}` is neither a node (n1 to n{MAX_NODES}) nor a client (c1 to c{MAX_CLIENTS})"
                ));
            }
        }
        if side.nodes == 0 {
            return Err(format!(
                "`{s}` names no node: a partition names the primary's side, the primary first (`n1+c1`)"
            ));
        }
        Ok(side)
    }
}
