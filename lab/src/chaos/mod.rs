//! Chaos: random fault schedules on real Redis, shrunk to the smallest
//! failure — the third way to run a scenario, for schedules nobody wrote
//! down.
//!
//! Schedules are generated from the model itself (it is proptest's
//! reference state machine), so each is a path the model allows and the
//! model's verdict on it is known; the lab plays it on real Redis, records
//! the history and checks it. Where the model says a property breaks, chaos
//! must find the break within its budget; where it says the property holds,
//! no history may break it; on every single schedule the two must agree.

pub mod hunt;
pub mod minimise;
pub mod schedule;

pub use hunt::{
    cell_seed, checked, judge, run_cell, run_one, unplayed, CellPlan, CellReport, CellVerdict,
    Judged,
};
