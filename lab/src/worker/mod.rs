//! Lab clients, in process or as worker processes — and [`LabLock`], the
//! trait through which the lab drives any lock (*bring your own lock*).
//!
//! A client of the lab can run as a separate process, a *worker*, so that a
//! pause is SIGSTOP of the whole process — everything in it stops, as in a
//! GC pause, lease watchdog included — and a crash is SIGKILL. The worker is
//! the hidden subcommand `locklab worker --protocol P --redis URL --lock-key
//! K --resource-key R --ttl-ms T --name c1 [--response-timeout-ms N]`,
//! serving one request per stdin line with one reply per stdout line
//! ([`wire`]). The lab starts and drives it with a [`WorkerHandle`].
//!
//! - [`lock`]: the trait [`LabLock`], its outcomes ([`LabAttempt`],
//!   [`LabRelease`], [`LabWrite`]), and [`ImplLock`], its implementation for
//!   the four locks of `locklab-impl`; [`open`] opens any of them by name.
//! - `rslock` (feature `rslock`): `RslockLock`, the `rslock` crate as a
//!   lab client, protocol name `rslock`.
//! - [`wire`]: the worker's line protocol ([`Request`], [`Reply`]).
//! - [`serve`]: the worker process itself ([`WorkerArgs`], [`serve::run`]).
//! - [`handle`]: the lab's side ([`WorkerHandle`], [`WorkerSpec`],
//!   [`locklab_binary`]).

pub mod handle;
pub mod lock;
#[cfg(feature = "rslock")]
pub mod rslock;
pub mod serve;
pub mod wire;

pub use handle::{locklab_binary, WorkerError, WorkerHandle, WorkerSpec, LOCKLAB_BIN_ENV};
pub use lock::{
    known_protocols, open, ClientSpec, ImplLock, LabAttempt, LabFuture, LabLock, LabRelease,
    LabWrite, OpenError,
};
#[cfg(feature = "rslock")]
pub use rslock::RslockLock;
pub use serve::WorkerArgs;
pub use wire::{Done, Reply, Request};
