//! The model's integration tests, one binary with a module per area (as the
//! lab's are): each family's verdicts, asserted on what the checker computed
//! and on the counterexamples it found, and every family's pinned state
//! counts.

mod failover;
mod lease;
mod partition;
mod quorum;
mod renewal;
mod restart;
mod state_counts;
mod support;
mod sync;
