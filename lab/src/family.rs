//! The lab's table of model families: what the lab does differently for
//! each — which client opens one of its protocols, how many masters its
//! locks run on, whether the bench measures it apart, which flags its
//! scenarios take, whether a replay times its client. Every other part of
//! the lab asks a protocol's family [`entry`] instead of matching on the
//! family, so a new family is one row here (and its client), not an edit
//! in every file that branches.

use std::future::Future;
use std::pin::Pin;

use locklab_model::{Family, Protocol};

use crate::client::{ClientSpec, ImplClient, LabClient, OpenError, QuorumClient, SyncClient};

/// Opening a client, boxed: the table holds one opener per family.
pub type Opening<'a> =
    Pin<Box<dyn Future<Output = Result<Box<dyn LabClient>, OpenError>> + Send + 'a>>;

/// How many independent masters a family's locks run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Masters {
    /// One Redis (a primary, possibly with replicas).
    One,
    /// At least this many (a majority of them must agree).
    AtLeast(usize),
}

impl Masters {
    /// Whether `n` masters will do.
    pub fn allow(self, n: usize) -> bool {
        match self {
            Masters::One => n == 1,
            Masters::AtLeast(min) => n >= min,
        }
    }
}

/// One family's row.
pub struct Entry {
    /// The family.
    pub family: Family,
    /// Opens a client of one of the family's protocols.
    pub open: for<'a> fn(Protocol, &'a ClientSpec) -> Opening<'a>,
    /// The masters its locks run on (the bench's `--masters`).
    pub masters: Masters,
    /// The bench measures its rows with the sync runner (units through
    /// workers), not as lock hand-offs.
    pub bench_apart: bool,
    /// Its scenarios take `--nodes` and `--drift`.
    pub quorum_flags: bool,
    /// A lock of the user's (`--lock-cmd`, `--lock`) is judged against this
    /// family's model.
    pub own_locks: bool,
    /// A replay sets its client's drift allowance and per-master timeout
    /// from the tick, so that its decisions fall where the model's do.
    pub timed_client: bool,
}

static TABLE: [Entry; 3] = [
    Entry {
        family: Family::Lease,
        open: |protocol, spec| {
            Box::pin(async move {
                let client = ImplClient::open(protocol, spec).await?;
                Ok(Box::new(client) as Box<dyn LabClient>)
            })
        },
        masters: Masters::One,
        bench_apart: false,
        quorum_flags: false,
        own_locks: true,
        timed_client: false,
    },
    Entry {
        family: Family::Sync,
        open: |protocol, spec| {
            Box::pin(async move {
                let client = SyncClient::open(protocol, spec).await?;
                Ok(Box::new(client) as Box<dyn LabClient>)
            })
        },
        masters: Masters::One,
        bench_apart: true,
        quorum_flags: false,
        own_locks: false,
        timed_client: false,
    },
    Entry {
        family: Family::Quorum,
        open: |protocol, spec| {
            Box::pin(async move {
                let options = spec.redlock.unwrap_or_default();
                let client = QuorumClient::open(protocol, spec, options).await?;
                Ok(Box::new(client) as Box<dyn LabClient>)
            })
        },
        masters: Masters::AtLeast(3),
        bench_apart: false,
        quorum_flags: true,
        own_locks: false,
        timed_client: true,
    },
];

/// The row of `protocol`'s family.
pub fn entry(protocol: Protocol) -> &'static Entry {
    of(protocol.family())
}

/// The row of `family`.
pub fn of(family: Family) -> &'static Entry {
    TABLE
        .iter()
        .find(|e| e.family == family)
        .unwrap_or_else(|| panic!("lab/src/family.rs has no row for {family:?}"))
}

/// The protocol a lock of the user's is judged as when none is named: of
/// the family that judges such locks, the token lock (a value unique to the
/// holder, compare-and-delete — the least a lock library promises).
pub fn own_lock_default() -> Protocol {
    Protocol::all()
        .iter()
        .copied()
        .find(|p| entry(*p).own_locks && p.caps() == locklab_model::Capabilities::TOKEN)
        .unwrap_or_else(|| panic!("no protocol has the token lock's capabilities"))
}

/// The protocols `locklab bench` measures when none is named, for runs on
/// these numbers of masters: of each family whose locks run on one of
/// them, every protocol that needs no replica and whose client reads the
/// acquire's reply, one per lock type (the first declared: the others of
/// that type show a model's break, not another cost).
pub fn default_bench_rows(masters: &[usize]) -> Vec<Protocol> {
    let mut rows: Vec<Protocol> = Vec::new();
    for p in Protocol::all().iter().copied() {
        let fits = masters.iter().any(|&m| entry(p).masters.allow(m));
        let lock_type = locklab_impl::LockType::of(&p.caps());
        let seen = lock_type.is_some()
            && rows.iter().any(|r| {
                r.family() == p.family() && locklab_impl::LockType::of(&r.caps()) == lock_type
            });
        if fits && p.shape().replicas == 0 && p.caps().checks_reply && !seen {
            rows.push(p);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use locklab_model::Protocol;

    #[test]
    fn every_protocol_has_its_family_row() {
        for p in Protocol::all() {
            assert_eq!(super::entry(*p).family, p.family(), "{p}");
        }
    }

    #[test]
    fn the_default_bench_is_one_row_per_lock_type_that_fits() {
        let names = |masters: &[usize]| -> Vec<&str> {
            super::default_bench_rows(masters)
                .iter()
                .map(|p| p.name())
                .collect()
        };
        assert_eq!(
            names(&[1]),
            [
                "naive",
                "token",
                "fenced",
                "reentrant",
                "sync-naive",
                "sync-cas",
                "sync-cas-dedup",
                "sync-stream",
                "sync-stream-dedup"
            ]
        );
        assert_eq!(names(&[3, 5]), ["redlock", "redlock-fenced"]);
        assert_eq!(names(&[2]), Vec::<&str>::new());
    }
}
