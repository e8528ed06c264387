//! The model families: which model checks a protocol. A family is a state
//! shape and a set of transitions; its protocols differ only in their
//! capabilities. Apart from the declarations so that property names can
//! say which family they apply to without naming a declaration.

/// Which model checks a protocol. A family is a state shape and a set of
/// transitions; the protocols of one family differ only in their
/// [`Capabilities`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// One lock key on one Redis: the single-instance lease locks.
    Lease,
    /// Units of work handed from a producer to workers through one Redis
    /// key (a string the producer fills, or a Stream), each unit's effect
    /// applied to a sink: the article's "distributed sync" and its fixes.
    Sync,
    /// The same key on N independent Redis masters, held by a majority
    /// within a validity window: Redlock.
    Quorum,
}
