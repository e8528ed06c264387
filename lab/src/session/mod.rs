//! The run session: what every long command shares about ending. A run
//! that is stopped by SIGINT or SIGTERM still ends on the lab's terms —
//! a line (or a summary marked partial) saying what was done, exit 130 or
//! 143, every process it started stopped by pid and every temporary
//! directory it made removed — and a run cleans up after an earlier one
//! that was SIGKILLed and could not.
//!
//! Three parts, one reason each:
//!
//! - [`children`]: the pids of the live guarded children, so that an
//!   interrupted run can stop them itself rather than leave it to the
//!   kernel's death signal, which fires only after the lab is gone (too
//!   late to remove a directory the child still writes into).
//! - [`scratch`]: temporary directories named after their owner's pid
//!   (`locklab-redis-<pid>-…`), so that a run can tell its own from a live
//!   run's and from a dead run's, which it sweeps.
//! - [`signals`]: the one handler of SIGINT and SIGTERM, which either stops
//!   the process at once (after the two above) or, for a command that can
//!   finish the work in hand and print a partial summary, asks it to.

pub mod children;
pub mod scratch;
pub mod signals;

pub use signals::{begin, caught, note, settle, stop_gracefully};
