//! What a Redis primary keeps on disk, and so what a restart gives back:
//! the setting a scenario runs its primary with.
//!
//! The Redis persistence page: with no persistence a restarted server is
//! empty; the append-only file with `appendfsync everysec` fsyncs once a
//! second, so a crash of the machine loses what was written since; with
//! `appendfsync always` every write is fsynced before its reply. The
//! replication page adds what this does to a primary's replicas: one
//! restarted empty (by a supervisor, faster than Sentinel declares it down)
//! is still their primary, and they resync to its empty data set.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A primary's persistence setting.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Persistence {
    /// No RDB, no AOF: a restart comes back empty (the lab's default).
    #[default]
    None,
    /// `appendonly yes`, `appendfsync everysec`: a restart gives back what
    /// was fsynced, and the last second may not have been.
    Everysec,
    /// `appendonly yes`, `appendfsync always`: every write is on disk
    /// before its reply; a restart gives back everything.
    Always,
}

impl Persistence {
    /// Every setting, from none to the most durable.
    pub const ALL: [Persistence; 3] = [
        Persistence::None,
        Persistence::Everysec,
        Persistence::Always,
    ];

    /// The setting's name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Persistence::None => "none",
            Persistence::Everysec => "everysec",
            Persistence::Always => "always",
        }
    }

    /// Whether it is the default (no persistence).
    pub fn is_none(&self) -> bool {
        *self == Persistence::None
    }
}

impl fmt::Display for Persistence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A persistence setting that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown persistence `{0}`: give none, everysec or always")]
pub struct UnknownPersistence(pub String);

impl FromStr for Persistence {
    type Err = UnknownPersistence;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Persistence::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownPersistence(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_its_names() {
        for p in Persistence::ALL {
            assert_eq!(p.name().parse(), Ok(p));
        }
        assert_eq!(
            "fsync".parse::<Persistence>(),
            Err(UnknownPersistence("fsync".into()))
        );
        assert_eq!(
            serde_json::to_string(&Persistence::Everysec).unwrap(),
            r#""everysec""#
        );
    }
}
