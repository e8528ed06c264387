//! Replay: a model counterexample played step by step against real Redis.
//!
//! The checker's path becomes a schedule; the [`conductor`] plays it, each
//! client doing exactly the step it is told, records the history, and the
//! history checker evaluates the same property on it. The same schedule is
//! played with the fixes too, so the difference shows on real Redis.

pub mod conductor;
pub mod error;
pub mod keys;
pub mod preflight;
pub mod seat;
pub mod sentinel_pool;
pub mod stage;
pub mod standing;
pub mod topology;
pub mod unplayed;

pub use conductor::{play, Played, SLOWEST};
pub use error::ReplayError;
pub use keys::KeySpace;
pub use preflight::preflight;
pub use seat::Clients;
pub use sentinel_pool::SentinelPool;
pub use stage::Stage;
pub use standing::{Death, Divergence, Overrun, Standing};
pub use unplayed::{unplayed_scenario, unplayed_steps};
