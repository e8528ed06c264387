//! One module per subcommand: each turns its arguments into a plan (or a
//! one-line error), runs it, and reports.

pub mod bench;
pub mod chaos;
pub mod check;
pub mod explore;
pub mod list;
pub mod model_cache;
pub mod names;
pub mod report;
pub mod reproduce;
pub mod scope;
pub mod target;
pub mod worker_check;
