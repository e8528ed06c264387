//! What opening a lab client takes and how it fails, and the names a
//! build knows (its protocols and peer crates): apart from
//! [`super::open`], which every client module would otherwise import from
//! while it imports them.

use std::time::Duration;

use locklab_impl::{ConnectOptions, RedlockOptions, Wait};
use locklab_model::Protocol;

use super::{error_line, Keys};

/// How a client waits in [`LabClient::acquire_within`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    /// The lock's default (polling for `locklab-impl`'s, the crate's
    /// default retry for a peer).
    #[default]
    Default,
    /// A waiting strategy of `locklab-impl`.
    Wait(Wait),
    /// A peer crate's retry delay (a random sleep up to it between tries).
    Retry(Duration),
}

/// Everything needed to open a lab client.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    /// The protocol's name, or a peer crate's (see [`known_clients`]).
    pub lock: String,
    /// The Redis URL of each master the lock runs on (the lab's proxies,
    /// to inject message faults); one for a single-instance lock.
    pub redis: Vec<String>,
    /// The Redis URL of the protected resource; `None`: the first master.
    pub resource_redis: Option<String>,
    /// The keys.
    pub keys: Keys,
    /// The lease of each grant.
    pub ttl: Duration,
    /// Connect and response timeouts of the client's connections.
    pub connect: ConnectOptions,
    /// How it waits.
    pub strategy: Strategy,
    /// A quorum lock's drift allowance and per-master timeout (`None`:
    /// `locklab-impl`'s defaults).
    pub redlock: Option<RedlockOptions>,
}

impl ClientSpec {
    /// The resource's URL.
    pub fn resource_url(&self) -> &str {
        self.resource_redis
            .as_deref()
            .or(self.redis.first().map(String::as_str))
            .unwrap_or_default()
    }
}

/// Why a client could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A name this build does not know.
    #[error("unknown lock {name:?}: known locks are {}{}", known_clients().join(", "), peer_hint(name))]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// A key, TTL or URL was refused, or Redis could not be reached.
    #[error("{0}")]
    Lock(#[from] locklab_impl::LockError),
    /// A sync worker refused its keys (a key of another type: left
    /// untouched), or Redis could not be reached.
    #[error("{0}")]
    Sync(#[from] locklab_impl::sync::SyncError),
    /// A peer crate refused.
    #[error("{0}")]
    Peer(String),
}

/// The peer crates this build has.
pub fn peers() -> Vec<&'static str> {
    let mut peers = Vec::new();
    if cfg!(feature = "rslock") {
        peers.push("rslock");
    }
    if cfg!(feature = "redlock") {
        peers.push(REDLOCK_RS);
    }
    peers
}

/// Every name [`open`] knows in this build: the protocols of
/// `locklab-impl`, then the peer crates.
pub fn known_clients() -> Vec<&'static str> {
    Protocol::all()
        .iter()
        .map(|p| p.name())
        .chain(peers())
        .collect()
}

/// The `redlock` crate's name as a lab client: `redlock` is the protocol
/// (the crate is the Rust port of it known as redlock-rs).
pub const REDLOCK_RS: &str = "redlock-rs";

fn peer_hint(name: &str) -> String {
    let feature = match name {
        "rslock" => "rslock",
        REDLOCK_RS => "redlock",
        _ => return String::new(),
    };
    if peers().contains(&name) {
        String::new()
    } else {
        format!(" ({name} needs a build with `--features {feature}`)")
    }
}

/// A peer's error, on one line.
#[allow(dead_code)]
pub(crate) fn peer_error(peer: &str, e: &(dyn std::error::Error + 'static)) -> OpenError {
    OpenError::Peer(format!("{peer}: {}", error_line(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_list_the_known_ones() {
        let e = OpenError::Unknown {
            name: "nope".into(),
        };
        let s = e.to_string();
        assert!(
            s.contains("naive-unchecked") && s.contains("reentrant"),
            "{s}"
        );
        assert!(!s.contains('\n'), "{s}");
    }
}
