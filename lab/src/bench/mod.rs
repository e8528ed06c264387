//! `locklab bench`: every lock variant and the peer crates side by side,
//! each latency also as a ratio to the Redis round trip measured first.
//!
//! One run starts its own `redis-server`s (or uses `--redis` URLs),
//! measures the round trip (`PING`), then, per variant — a protocol of
//! `locklab-impl` (`naive`, `token`, `fenced`) with a waiting strategy
//! (`poll`, `notify`, `fifo`), or a peer crate (`rslock`, `redlock`, each
//! behind its cargo feature) with a retry setting — and per number of
//! masters the variant supports, runs `clients` tokio tasks (each with its
//! own connections) that acquire and release one key as fast as they can
//! for a fixed time. Every acquire and release is recorded in a history
//! ([`crate::history::Recorder`]); the figures are read from it, and the
//! history checker runs on it, so a row that broke mutual exclusion says so.
//!
//! # Layout
//!
//! - [`variant`]: what is measured — [`Variant`], its name and how to open
//!   a client of it: a [`LabClient`](crate::client::LabClient), the one
//!   client trait of the lab, waiting by its own strategy.
//! - [`latency`]: percentiles from an `hdrhistogram`, [`Latency`].
//! - [`analysis`]: what a history says — grants per client, fairness,
//!   hand-offs, overlaps ([`Analysis`]).
//! - [`rtt`]: the `PING` round trip.
//! - [`run`]: one measured run of one variant ([`run::measure`]).
//! - [`report`]: the rows, the table and the JSON ([`Report`]).
//! - [`svg`]: the plots.
//! - [`sync`] and [`sync_report`]: the sync protocols — units processed
//!   exactly once per second, CAS retries per unit, produce→processed
//!   latency — and the targets checked on them.
//! - [`failover`]: `--failovers N`, what a failover costs the lock's
//!   users ([`failover::FailoverCost`]).

pub mod analysis;
pub mod failover;
pub mod latency;
pub mod report;
pub mod rtt;
pub mod run;
pub mod svg;
pub mod sync;
pub mod sync_report;
pub mod variant;

pub use analysis::Analysis;
pub use latency::Latency;
pub use report::{Report, Row};
pub use variant::{Peer, Variant};
