//! locklab: a model-checked reference implementation and test lab for
//! distributed locks on Redis.
//!
//! The lab runs each scenario three ways — exhaustively in the model
//! checker, step by step against real `redis-server` processes, and as random
//! chaos schedules — and reports where they agree and where a claim breaks.
//!
//! # Layout
//!
//! - [`bench`]: `locklab bench` — every lock variant and the peer crates
//!   side by side, against the Redis round trip.
//! - [`chaos`]: random fault schedules from the model, played on real
//!   Redis, checked, and shrunk.
//! - [`cli`]: the command line: flags parsed, then turned into a validated
//!   plan before any work starts; exit codes.
//! - [`commands`]: one module per subcommand.
//! - [`family`]: what the lab does differently per model family, asked of
//!   the family's row.
//! - [`history`]: recorded histories of real runs and the checker that
//!   evaluates the model's properties on them.
//! - [`replay`]: the conductor that plays model paths on real Redis.
//! - [`output`]: tables, JSON (with its envelope) and progress bars shared
//!   by the subcommands.
//! - [`report`]: `locklab report` — one self-contained HTML page, and the
//!   sequence diagrams the docs embed.
//! - [`process`]: guarded child processes, none of which outlives the lab.
//! - [`session`]: how a run ends when interrupted (children stopped, its
//!   temporary directories removed, exit 130/143) and the sweep of what a
//!   killed run left.
//! - [`server`]: the lab's own `redis-server` processes ([`server::RedisServer`]).
//! - [`sentinel`]: the lab's Sentinel set (a primary, replicas, three
//!   `redis-sentinel`s), forced failovers to a lagging replica, and finding
//!   a primary through Sentinel ([`sentinel::SentinelSet`]).
//! - [`proxy`]: the lab's TCP proxy between a client and Redis, which holds,
//!   delays or drops bytes ([`proxy::Proxy`]).
//! - [`client`]: [`client::LabClient`], the one trait the lab drives every
//!   client through (replays, chaos, bench, workers) — the extension point
//!   for bringing your own lock — and its implementations for
//!   `locklab-impl`'s locks and the peer crates.
//! - [`worker`]: lab clients as worker processes that can be paused and
//!   killed ([`worker::WorkerHandle`]).

pub mod bench;
pub mod chaos;
pub mod cli;
pub mod client;
pub mod commands;
pub mod family;
pub mod history;
pub mod output;
pub mod process;
pub mod proxy;
pub mod replay;
pub mod report;
pub mod sentinel;
pub mod server;
pub mod session;
pub mod worker;
