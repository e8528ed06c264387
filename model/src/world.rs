//! Names every model shares: clients and Redis nodes, by index.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The most clients a model can hold. The state space grows roughly as
/// (states per client)^clients; past this, exhaustive checking is no longer
/// the right tool (chaos is).
pub const MAX_CLIENTS: usize = 8;

/// The most Redis nodes a scenario can name.
pub const MAX_NODES: usize = 9;

/// A client, by index: shown as `c1`, `c2`, … .
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(pub u8);

impl ClientId {
    /// The index into a model's clients.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0 + 1)
    }
}

/// A Redis node, by index: shown as `n1`, `n2`, … . A single server is `n1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u8);

impl NodeId {
    /// The first node: the only one of a single server.
    pub const FIRST: NodeId = NodeId(0);

    /// The index into a model's nodes.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0 + 1)
    }
}
