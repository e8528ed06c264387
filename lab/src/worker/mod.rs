//! Lab clients as worker processes: a client in a process of its own, so
//! that a pause is SIGSTOP of the whole process — everything in it stops,
//! as in a GC pause, lease watchdog included — and a crash is SIGKILL.
//!
//! The worker is the hidden subcommand `locklab worker --protocol P --redis
//! URL --lock-key K --resource-key R --ttl-ms T --name c1
//! [--response-timeout-ms N]`, serving one request per stdin line with one
//! reply per stdout line ([`wire`]) for any [`LabClient`](crate::client::LabClient).
//! The lab starts and drives it with a [`WorkerHandle`], which is itself a
//! `LabClient`.
//!
//! - [`wire`]: the worker's line protocol ([`Request`], [`Reply`]).
//! - [`serve`]: the worker process itself ([`WorkerArgs`], [`serve::run`]).
//! - [`handle`]: the lab's side ([`WorkerHandle`], [`WorkerSpec`],
//!   [`locklab_binary`]).

pub mod handle;
pub mod serve;
pub mod wire;

pub use handle::{locklab_binary, WorkerError, WorkerHandle, WorkerSpec, LOCKLAB_BIN_ENV};
pub use serve::WorkerArgs;
pub use wire::{Control, Reply, Request};
