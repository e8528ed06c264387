//! Lab clients as worker processes — and the worker protocol through which
//! a lock in any language is brought to the lab (*bring your own lock*).
//!
//! A worker is a client in a process of its own, so that a pause is
//! SIGSTOP of the whole process — everything in it stops, as in a GC
//! pause, lease watchdog included — and a crash is SIGKILL. A worker is any
//! program that speaks the worker protocol ([`wire`], [`handshake`],
//! docs/worker-protocol.md): the hidden subcommand `locklab worker
//! --protocol P`, which serves any [`LabClient`](crate::client::LabClient),
//! or an adapter in any language brought with `--lock-cmd` ([`external`]).
//! The lab starts and drives both with a [`WorkerHandle`], itself a
//! `LabClient`, and writes the protected resource for them ([`resource`]);
//! `locklab worker-check` checks an adapter ([`conformance`]).
//!
//! - [`wire`]: the requests and replies ([`Request`], [`Reply`]).
//! - [`handshake`]: the start-up message and `ready` ([`Start`], [`Ready`],
//!   [`PROTOCOL_VERSION`]).
//! - [`external`]: the command a worker runs ([`LockCommand`]).
//! - [`event`]: version 2's unsolicited lines: renewals and losses
//!   ([`WorkerEvent`]).
//! - [`lines`]: lines read from a pipe on the runtime's reactor.
//! - [`resource`]: the resource the lab writes for a worker ([`LabResource`]).
//! - [`conformance`]: the conformance script of `locklab worker-check`.
//! - [`serve`]: the worker process itself ([`WorkerArgs`], [`serve::run`]).
//! - [`handle`]: the lab's side ([`WorkerHandle`], [`WorkerSpec`],
//!   [`locklab_binary`]).

pub mod conformance;
pub mod event;
pub mod external;
pub mod handle;
pub mod handshake;
pub mod lines;
pub mod resource;
pub mod serve;
pub mod wire;

pub use event::WorkerEvent;
pub use external::{LockCommand, LockCommandError};
pub use handle::{locklab_binary, Exit, WorkerError, WorkerHandle, WorkerSpec, LOCKLAB_BIN_ENV};
pub use handshake::{Ready, SentinelSet, Start, BASE_VERSION, PROTOCOL_VERSION};
pub use resource::LabResource;
pub use serve::WorkerArgs;
pub use wire::{Control, Reply, Request};
