//! The lab's integration tests, one binary with a module per area (as
//! ripgrep does): each module drives the real `locklab` binary or the lab's
//! library the way a user or CI would.

mod adapters;
mod bench;
mod book;
mod chaos;
mod check;
mod clients;
mod clock;
mod evidence;
mod exit_codes;
mod explore;
mod failover;
mod jvm_go;
mod proxy;
mod redlock;
mod renewal;
mod report;
mod reproduce;
mod sentinel;
mod server;
mod session;
mod support;
mod sync;
mod verdicts;
mod watchdog;
mod widths;
mod worker;
mod worker_check;
mod worker_v2;
