//! Opening any lab client by name: a protocol of `locklab-impl` (chosen by
//! its declaration's capabilities), or a peer crate compiled into this
//! build.

use std::time::Duration;

use locklab_impl::{ConnectOptions, Wait};
use locklab_model::{Family, Protocol};

use super::{error_line, Keys, LabClient};

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
        peers.push("redlock");
    }
    peers
}

/// Every name [`open`] knows in this build: the lease protocols of
/// `locklab-impl`, then the peer crates.
pub fn known_clients() -> Vec<&'static str> {
    Protocol::all()
        .iter()
        .filter(|p| p.family() == Family::Lease)
        .map(|p| p.name())
        .chain(peers())
        .collect()
}

fn peer_hint(name: &str) -> String {
    if ["rslock", "redlock"].contains(&name) && !peers().contains(&name) {
        format!(" ({name} needs a build with `--features {name}`)")
    } else {
        String::new()
    }
}

/// Opens the client `spec` describes: connects (failing within the connect
/// timeout if it cannot) and returns it ready.
pub async fn open(spec: &ClientSpec) -> Result<Box<dyn LabClient>, OpenError> {
    if spec.redis.is_empty() {
        return Err(OpenError::Peer("no Redis URL to lock on".into()));
    }
    match spec.lock.as_str() {
        #[cfg(feature = "rslock")]
        "rslock" => Ok(Box::new(super::rslock::RslockClient::open(spec).await?)),
        #[cfg(feature = "redlock")]
        "redlock" => Ok(Box::new(super::redlock::RedlockClient::open(spec).await?)),
        name => {
            let protocol = Protocol::named(name)
                .ok()
                .filter(|p| p.family() == Family::Lease)
                .ok_or_else(|| OpenError::Unknown {
                    name: name.to_owned(),
                })?;
            Ok(Box::new(super::ImplClient::open(protocol, spec).await?))
        }
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
