//! What each locklab protocol is, declared once: its name, what it is there
//! to show, its capabilities, the model family that checks it, its claims,
//! its default scenario and fault menu, and the protocols that fix its
//! breaks — with the fault and property names every part of locklab
//! shares.
//!
//! The models (`locklab-model`), the Redis clients (`locklab-impl`) and the
//! lab (`locklab`) all read the same declarations, so that none of them
//! asks which protocol it has, only what it can do; and the models and the
//! clients need not depend on each other.
//!
//! # Layout
//!
//! - [`declaration`]: [`Declaration`], [`Capabilities`] (and a sync
//!   protocol's [`SyncCaps`]), [`Shape`], [`Claim`].
//! - [`family`]: [`Family`], the model that checks a protocol.
//! - [`protocol`]: [`Protocol`], a handle on a declaration, and the one
//!   list of them.
//! - [`protocols`]: one module per protocol, holding its declaration and
//!   the source it follows.
//! - [`fault`]: the fault menu and fault budgets.
//! - [`property`]: property names and kinds.
//!
//! Adding a protocol: see `docs/adding-a-protocol.md`.

pub mod declaration;
pub mod family;
pub mod fault;
pub mod persistence;
pub mod property;
pub mod protocol;
pub mod protocols;

pub use declaration::{
    claim, Capabilities, Claim, Declaration, Reentry, Release, Shape, SyncCaps, Take,
};
pub use family::Family;
pub use fault::{Fault, FaultError, Faults};
pub use persistence::{Persistence, UnknownPersistence};
pub use property::{Kind, PropertyName, UnknownProperty};
pub use protocol::{Protocol, UnknownProtocol};
