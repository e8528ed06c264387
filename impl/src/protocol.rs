//! The protocols, as `locklab-spec` declares them: this crate asks a
//! protocol's [`Capabilities`](locklab_spec::Capabilities) what its client
//! does (reads the reply, stores a token, fences, re-enters), never which
//! protocol it is.

pub use locklab_spec::Protocol;

/// The protocol a lock type of this crate implements by default.
pub(crate) fn declared(name: &str) -> Protocol {
    Protocol::named(name).unwrap_or_else(|e| panic!("locklab-spec declares {name}: {e}"))
}
