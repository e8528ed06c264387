//! The protocols, as `locklab-spec` declares them: this crate asks a
//! protocol's [`Capabilities`](locklab_spec::Capabilities) what its client
//! does (reads the reply, stores a token, fences, re-enters), never which
//! protocol it is.
//!
//! Each lock type starts out as the protocol it was written for, named
//! here by its declaration (a typed reference: a renamed or removed
//! protocol fails to compile, not to run); [`crate::AnyLock`] then sets the
//! protocol it was chosen for.

pub use locklab_spec::Protocol;

use locklab_spec::protocols;

pub(crate) static NAIVE: Protocol = Protocol::of(&protocols::naive::DECLARATION);
pub(crate) static NAIVE_UNCHECKED: Protocol =
    Protocol::of(&protocols::naive_unchecked::DECLARATION);
pub(crate) static TOKEN: Protocol = Protocol::of(&protocols::token::DECLARATION);
pub(crate) static FENCED: Protocol = Protocol::of(&protocols::fenced::DECLARATION);
pub(crate) static REENTRANT: Protocol = Protocol::of(&protocols::reentrant::DECLARATION);
pub(crate) static TOKEN_WAIT: Protocol = Protocol::of(&protocols::token_wait::DECLARATION);
