//! What the bench measures: a protocol of `locklab-impl` with a waiting
//! strategy, a peer crate with a retry setting, or a lock brought with
//! `--lock-cmd` (one worker process per client, waiting by its library's
//! own strategy — or polled by the lab where the adapter cannot wait).

use std::fmt;
use std::time::Duration;

use locklab_impl::{ConnectOptions, Protocol, Ttl, Wait};

use crate::client::{open, ClientSpec, Keys, LabClient, Strategy};
use crate::worker::{LockCommand, WorkerHandle, WorkerSpec};

/// A peer lock crate the bench can drive (each behind its cargo feature).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Peer {
    /// `rslock` 0.10 (async, Redlock on `redis` 1.8): feature `rslock`.
    Rslock,
    /// `redlock` 2.0 (blocking, Redlock on `redis` 0.23, a new connection
    /// per command): feature `redlock`.
    Redlock,
}

impl Peer {
    /// Every peer, compiled in or not.
    pub const ALL: [Peer; 2] = [Peer::Rslock, Peer::Redlock];

    /// The crate's name.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Rslock => "rslock",
            Peer::Redlock => crate::client::spec::REDLOCK_RS,
        }
    }

    /// Whether this build has it.
    pub fn compiled(self) -> bool {
        match self {
            Peer::Rslock => cfg!(feature = "rslock"),
            Peer::Redlock => cfg!(feature = "redlock"),
        }
    }

    /// The peers this build has.
    pub fn available() -> Vec<Peer> {
        Peer::ALL.into_iter().filter(|p| p.compiled()).collect()
    }

    /// The retry delays measured: the crate's default (200 ms for both,
    /// with 3 tries per call) and, for rslock, a fast 2 ms. (redlock opens
    /// a new TCP connection per command, so a fast retry loop would churn
    /// through the machine's ephemeral ports; it runs at its default only.)
    pub fn retries(self) -> &'static [Duration] {
        const DEFAULT: Duration = Duration::from_millis(200);
        const BOTH: [Duration; 2] = [DEFAULT, Duration::from_millis(2)];
        const ONE: [Duration; 1] = [DEFAULT];
        match self {
            Peer::Rslock => &BOTH,
            Peer::Redlock => &ONE,
        }
    }

    /// Parses a name, saying what is known (and which feature a known but
    /// absent peer needs).
    pub fn parse(name: &str) -> Result<Peer, String> {
        let peer = Peer::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| format!("unknown peer {name:?}: known peers are rslock, redlock-rs"))?;
        if !peer.compiled() {
            let feature = match peer {
                Peer::Rslock => "rslock",
                Peer::Redlock => "redlock",
            };
            return Err(format!(
                "peer {name} is not in this build; rebuild with `--features {feature}`"
            ));
        }
        Ok(peer)
    }
}

/// One row family of the bench.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Variant {
    /// A lock of `locklab-impl` with a waiting strategy.
    Impl {
        /// The protocol.
        protocol: Protocol,
        /// The waiting strategy.
        wait: Wait,
    },
    /// A peer crate with a retry delay.
    Peer {
        /// The crate.
        peer: Peer,
        /// Its retry delay (a random sleep up to this between tries).
        retry: Duration,
    },
    /// A lock brought with `--lock-cmd`: one worker process per client.
    Worker {
        /// The adapter's command.
        command: LockCommand,
        /// Its name in the table (the adapter's file name).
        label: String,
    },
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name(), self.wait_name())
    }
}

impl Variant {
    /// The protocol's or the peer's name (`token`, `rslock`), or the
    /// adapter's (`redis_py_lock.py`).
    pub fn name(&self) -> &str {
        match self {
            Variant::Impl { protocol, .. } => protocol.name(),
            Variant::Peer { peer, .. } => peer.name(),
            Variant::Worker { label, .. } => label,
        }
    }

    /// How it waits: `poll`, `notify`, `fifo`, `retry=200ms`, or `worker`
    /// (the adapter's own waiting).
    pub fn wait_name(&self) -> String {
        match self {
            Variant::Impl { wait, .. } => wait.name().to_owned(),
            Variant::Peer { retry, .. } => format!("retry={}ms", retry.as_millis()),
            Variant::Worker { .. } => "worker".to_owned(),
        }
    }

    /// Whether it is not one of `locklab-impl`'s: a peer crate, or a lock
    /// brought with `--lock-cmd`.
    pub fn is_peer(&self) -> bool {
        matches!(self, Variant::Peer { .. } | Variant::Worker { .. })
    }

    /// Whether it runs on `masters` servers: the single-server locks of
    /// `locklab-impl` and the adapters on one; its quorum locks on three or
    /// more; the Redlock peers on any number (quorum N/2+1).
    pub fn supports_masters(&self, masters: usize) -> bool {
        match self {
            Variant::Peer { .. } => true,
            Variant::Worker { .. } => masters == 1,
            Variant::Impl { protocol, .. } => {
                crate::family::entry(*protocol).masters.allow(masters)
            }
        }
    }

    /// Whether a fault-free run must keep mutual exclusion: every variant
    /// whose client reads the acquire's reply (not `naive-unchecked`, which
    /// believes it holds without a grant).
    pub fn keeps_mutual_exclusion(&self) -> bool {
        match self {
            Variant::Impl { protocol, .. } => protocol.caps().checks_reply,
            Variant::Peer { .. } | Variant::Worker { .. } => true,
        }
    }

    /// Whether it counts a grant only once replicas acknowledge it (it
    /// needs a primary with a replica).
    pub fn confirms(&self) -> bool {
        match self {
            Variant::Impl { protocol, .. } => protocol.caps().confirms(),
            Variant::Peer { .. } | Variant::Worker { .. } => false,
        }
    }

    /// Whether its clients re-enter the lock once per round (a re-entrant
    /// lock: the bench measures the re-entry too).
    pub fn reenters(&self) -> bool {
        match self {
            Variant::Impl { protocol, .. } => protocol.caps().reentrant(),
            Variant::Peer { .. } | Variant::Worker { .. } => false,
        }
    }

    /// Opens one client on the servers `urls` (one per master) for `key`.
    pub async fn open(
        &self,
        urls: &[String],
        key: &str,
        ttl: Ttl,
        options: &ConnectOptions,
    ) -> Result<Box<dyn LabClient>, String> {
        let (lock, strategy) = match self {
            Variant::Impl { protocol, wait } => (protocol.name(), Strategy::Wait(*wait)),
            Variant::Peer { peer, retry } => (peer.name(), Strategy::Retry(*retry)),
            Variant::Worker { command, .. } => {
                let url = urls.first().ok_or("no server to connect to")?;
                let mut spec = WorkerSpec::new(
                    "bench",
                    "",
                    url.clone(),
                    key,
                    format!("{key}:resource"),
                    ttl.as_duration(),
                );
                spec.command = Some(command.clone());
                let worker = WorkerHandle::spawn(std::path::Path::new(""), &spec)
                    .await
                    .map_err(|e| format!("adapter {:?}: {e}", command.text()))?;
                return Ok(Box::new(worker));
            }
        };
        let spec = ClientSpec {
            lock: lock.to_owned(),
            redis: urls.to_vec(),
            resource_redis: None,
            keys: Keys {
                lock: key.to_owned(),
                resource: format!("{key}:resource"),
            },
            ttl: ttl.as_duration(),
            connect: *options,
            strategy,
            redlock: None,
        };
        open(&spec).await.map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels() {
        let v = Variant::Impl {
            protocol: Protocol::named("token").unwrap(),
            wait: Wait::default(),
        };
        assert_eq!(v.to_string(), "token/fifo");
        assert!(v.supports_masters(1) && !v.supports_masters(3));
        let p = Variant::Peer {
            peer: Peer::Rslock,
            retry: Duration::from_millis(2),
        };
        assert_eq!(p.to_string(), "rslock/retry=2ms");
        assert!(p.supports_masters(5) && p.is_peer());
    }

    #[test]
    fn unknown_and_absent_peers_say_so_in_one_line() {
        let e = Peer::parse("zookeeper").unwrap_err();
        assert!(e.contains("rslock, redlock") && !e.contains('\n'), "{e}");
        for p in Peer::ALL {
            match Peer::parse(p.name()) {
                Ok(_) => assert!(p.compiled()),
                Err(e) => assert!(e.contains("--features"), "{e}"),
            }
        }
    }
}
