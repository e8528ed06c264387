//! The model kit: what every model family is built from, so that a family
//! is its transitions and nothing else.
//!
//! - [`Checked`]: the one Stateright [`stateright::Model`], for any
//!   [`System`](crate::System) — a family never implements Stateright's
//!   trait itself.
//! - [`Core`]: what every family's model holds besides its capabilities —
//!   the scenario, the properties it checks, the flag that halts a search.
//! - [`Roster`] and [`Budget`]: the clients (a [`Member`] each) and the
//!   fault budget, with the client faults' transitions (pause, resume,
//!   crash) and the order in which a family's clients offer their steps.
//! - [`Resource`] and [`ResourceGhost`]: the protected resource — its write,
//!   fenced or plain, the ghost that judges `fenced-resource`, and the
//!   write told in words.
//! - [`lock_condition`]: the properties every lock family judges alike,
//!   from its roster and its resource ghost ([`Locked`]).
//!
//! The components own their state and each family's world embeds them, so
//! the kit depends on no family and no family on another.

mod checked;
pub(crate) mod core;
mod lock;
mod resource;
mod roster;

pub use self::core::{Core, Halt};
pub use checked::Checked;
pub use lock::{lock_condition, Locked};
pub use resource::{renumbered, Resource, ResourceGhost};
pub(crate) use roster::lock_client;
pub use roster::{tell_pause, Budget, Holder, Member, Roster};
