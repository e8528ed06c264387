//! Stateright models of Redis lock protocols, checked exhaustively against
//! mutual exclusion and the other properties locklab names.
//!
//! A popular article presents a Redis lock — `SET key 1 NX PX ttl`, released
//! by `DEL key` — whose release can delete another client's lock and whose
//! `SET NX` reply is never read. This crate models that lock, the token lock
//! that fixes the release, and the fenced lock that keeps the protected
//! resource safe even when mutual exclusion is lost, and computes on every
//! run which property holds under which fault, with the shortest
//! counterexample of every break, told step by step.
//!
//! The crate does no I/O: the lab (`locklab`) prints, serializes, and plays
//! the counterexamples against real Redis.
//!
//! # Layout
//!
//! - [`protocol`] and [`protocols`]: the protocols and the rules that tell
//!   them apart, one module per protocol with its source.
//! - [`fault`]: the fault menu and fault budgets.
//! - [`property`]: property names and kinds.
//! - [`scenario`]: protocol, clients, rounds, lease, faults; input checks.
//! - [`world`] and [`step`]: the state and the step vocabulary shared with
//!   the lab's replay.
//! - [`model`]: the transitions, as a Stateright [`stateright::Model`].
//! - [`symmetry`]: the representative used for symmetry reduction.
//! - [`claims`]: what each protocol promises.
//! - [`check`] and [`matrix`]: running the checker; the verdict matrix.
//! - [`narrate`]: counterexamples in plain words, with Redis commands.
//! - [`path`]: following a given path, for replays on other protocols.
//! - [`verdict`]: verdicts and outcome rows.
//!
//! # Example
//!
//! ```
//! use locklab_model::{check, CheckOptions, Fault, Faults, PropertyName, Protocol, Scenario, Verdict};
//!
//! let scenario = Scenario::new(Protocol::Naive, Faults::one(Fault::Pause));
//! let outcome = check(scenario, &CheckOptions::default(), &|_| {});
//! let me = outcome.verdict(PropertyName::MutualExclusion).unwrap();
//! assert_eq!(me.verdict, Verdict::Violated);
//! assert!(!me.claimed); // the naive lock never promised to survive a pause
//! ```

pub mod check;
pub mod claims;
pub mod fault;
pub mod matrix;
pub mod model;
pub mod narrate;
pub mod path;
pub mod property;
pub mod protocol;
pub mod protocols;
pub mod scenario;
pub mod step;
pub mod symmetry;
pub mod verdict;
pub mod world;

pub use check::{check, CheckOptions};
pub use fault::{Fault, Faults};
pub use model::LockModel;
pub use narrate::{NarratedStep, Narrator};
pub use property::{Kind, PropertyName};
pub use protocol::Protocol;
pub use scenario::Scenario;
pub use step::Step;
pub use verdict::{PropertyVerdict, ScenarioOutcome, Verdict};
pub use world::{ClientId, World};
