//! How a run ended, which every command returns and `cli` maps to an exit
//! code: apart from `cli`, which imports every command, so that a command
//! (or the failover bench, or a worker) can name it without a circle.

/// How a run ended, when it ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Everything agrees with the claims.
    Agrees,
    /// A claim is broken, or the model and Redis disagree.
    Broken,
    /// Nothing is broken, but a budget ran out before a claim was settled:
    /// nothing was proven either way.
    Inconclusive,
    /// Stopped by this signal, after a partial summary.
    Interrupted(i32),
}
