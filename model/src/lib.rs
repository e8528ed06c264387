//! Stateright models of Redis lock protocols and the patterns around them,
//! checked exhaustively against mutual exclusion and the other properties
//! locklab names.
//!
//! A popular article presents a Redis lock — `SET key 1 NX PX ttl`, released
//! by `DEL key` — whose release can delete another client's lock, whose
//! `SET NX` reply is never read, and which it claims is re-entrant. This
//! crate models that lock, its fixes (the token lock, the fenced lock, the
//! re-entrant lock done right) and computes on every run which property
//! holds under which fault, with the shortest counterexample of every break,
//! told step by step.
//!
//! The crate does no I/O: the lab (`locklab`) prints, serializes, and plays
//! the counterexamples against real Redis.
//!
//! # Layout
//!
//! - [`declaration`], [`protocol`], [`protocols`], [`fault`], [`property`]:
//!   re-exported from `locklab-spec`, where each protocol is declared once.
//! - [`scenario`]: protocol, clients, rounds, lease, depth, faults; input
//!   checks; which cells a protocol claims.
//! - [`world`], [`step`], [`op`] and [`outcome`]: the vocabulary every
//!   model shares with the lab — clients and nodes, steps, the operations
//!   and what becomes of their replies, and what an operation did.
//! - [`system`]: what every model family provides ([`System`]); [`family`]:
//!   the choice of family by protocol ([`family::visit`]).
//! - [`kit`]: what every family is built from — the one Stateright model
//!   ([`Checked`]), the client roster and fault budget, the protected
//!   resource and its ghost.
//! - [`lease`]: the lease family — one key on one Redis — as a Stateright
//!   [`stateright::Model`], its narration and its symmetry.
//! - [`sync`]: the sync family — units of work from a producer to workers
//!   through one key or a Stream, their effects applied to a sink.
//! - [`quorum`]: the quorum family — one key on N masters, Redlock — with
//!   symmetry over clients and masters.
//! - [`check`] and [`matrix`]: running the checker; the verdict matrix.
//! - [`narrate`]: the shapes of a counterexample told in words.
//! - [`path`]: a given path walked through a model: the [`Script`] the
//!   lab's conductor plays, and the [`path::Walker`] chaos draws from.
//! - [`verdict`]: verdicts and outcome rows.
//!
//! # Example
//!
//! ```
//! use locklab_model::{check, CheckOptions, Fault, Faults, PropertyName, Protocol, Scenario, Verdict};
//!
//! let naive: Protocol = "naive".parse().unwrap();
//! let scenario = Scenario::new(naive, Faults::one(Fault::Pause));
//! let outcome = check(scenario, &CheckOptions::default(), &|_| {});
//! let me = outcome.verdict(PropertyName::MutualExclusion).unwrap();
//! assert_eq!(me.verdict, Verdict::Violated);
//! assert!(!me.claimed); // the naive lock never promised to survive a pause
//! ```

pub mod check;
pub mod family;
pub mod kit;
pub mod lease;
pub mod matrix;
pub mod narrate;
pub mod op;
pub mod outcome;
pub mod path;
pub mod quorum;
pub mod scenario;
pub mod side;
pub mod step;
pub mod sync;
pub mod system;
pub mod verdict;
pub mod world;

pub use check::{check, CheckOptions};
pub use kit::Checked;
pub use lease::LeaseModel;
pub use locklab_spec::{
    declaration, fault, persistence, property, protocol, protocols, Capabilities, Declaration,
    Family, Fault, Faults, Kind, Persistence, PropertyName, Protocol, SyncCaps, Take,
};
pub use narrate::{KeyRole, LeaseClock, NarratedStep, NodeView};
pub use op::{Call, ClientOp, Reply};
pub use outcome::Outcome;
pub use path::{Script, Scripted};
pub use quorum::QuorumModel;
pub use scenario::Scenario;
pub use side::Side;
pub use step::{ClientFault, NodeFault, Step};
pub use sync::SyncModel;
pub use system::{System, Taken};
pub use verdict::{PropertyVerdict, ScenarioOutcome, Verdict};
pub use world::{ClientId, NodeId};
