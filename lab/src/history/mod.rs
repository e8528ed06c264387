//! Recorded histories and the checker that reads them.
//!
//! Every real run — a replayed counterexample, a chaos schedule, a bench —
//! records one event per operation (client, operation, token, fencing token,
//! outcome, start and end on one monotonic clock), plus the faults the lab
//! injected and what it observed. The checker evaluates the model's
//! properties on that record, so "the model says violated" can be compared
//! with "Redis did it".

pub mod checker;
pub mod event;
pub mod finding;
pub mod renewal;
pub mod reported;
pub mod timeline;
pub mod work;

pub use checker::{check, finding};
pub use event::{Event, History, Op, Recorder};
pub use finding::Finding;

#[cfg(test)]
mod tests;
