//! What one owner of a re-entrant lock believes it holds — shared by every
//! task of that owner, so two tasks may re-enter and release at once.
//!
//! The hold is a level count. An acquire sent while the owner believes it
//! holds is a re-entry (which the acquire script grants only if the
//! owner's hold is still there). The count is the owner's belief, not
//! what keeps the lock safe: each release names its grant's fencing token,
//! and the release script gives a level back only to the hold of that
//! grant, so a release that lost a race with another task of the owner
//! cannot give back a level of a later tenure. The loom tests
//! (`impl/tests/loom_reentrant.rs`) check every interleaving of two tasks
//! of one owner against an in-memory store; they found the race that made
//! the fencing token part of the release.

use crate::watchdog::sync::{lock, Mutex};

/// An owner's hold, shared by its tasks.
#[derive(Debug, Default)]
pub struct Holds {
    depth: Mutex<u32>,
}

/// What a release's reply said, for the hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    /// The last level: the key is gone.
    Released,
    /// Levels are left.
    StillHeld,
    /// The hold of that grant was not there (its lease ran out, or the
    /// owner's tenure it belonged to ended).
    NotHeld,
}

impl Holds {
    /// Nothing held.
    pub fn new() -> Self {
        Self::default()
    }

    /// The levels the owner believes it holds.
    pub fn depth(&self) -> u32 {
        *lock(&self.depth)
    }

    /// Before an acquire is sent: whether it is a re-entry.
    pub fn reentering(&self) -> bool {
        *lock(&self.depth) > 0
    }

    /// A grant came back: one level more.
    pub fn granted(&self) {
        *lock(&self.depth) += 1;
    }

    /// A re-entry found the hold gone: nothing is held.
    pub fn lost(&self) {
        *lock(&self.depth) = 0;
    }

    /// A release's reply came back.
    pub fn released(&self, left: Left) {
        let mut depth = lock(&self.depth);
        *depth = match left {
            Left::StillHeld => depth.saturating_sub(1),
            Left::Released | Left::NotHeld => 0,
        };
    }
}
