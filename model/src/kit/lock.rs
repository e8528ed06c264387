//! The properties every lock family judges alike, read from what the kit
//! keeps: beliefs from the roster, stale writes from the resource ghost.

use super::resource::ResourceGhost;
use super::roster::{Holder, Roster};
use crate::system::{Condition, System};
use locklab_spec::property::PropertyName;

/// A lock family's world, as the shared conditions read it.
pub trait Locked {
    /// The family's client state.
    type Client: Holder;
    /// The clients.
    fn roster(&self) -> &Roster<Self::Client>;
    /// The protected resource.
    fn resource(&self) -> &ResourceGhost;
}

/// The condition of a property every lock family judges alike, if
/// `property` is one.
pub fn lock_condition<S>(property: PropertyName) -> Option<Condition<S>>
where
    S: System,
    S::World: Locked,
{
    let condition: Condition<S> = match property {
        PropertyName::MutualExclusion => |_, w| w.roster().believer_count() <= 1,
        PropertyName::FencedResource => |_, w| !w.resource().stale_accepted,
        PropertyName::EventuallyAcquired => eventually_acquired::<S>,
        PropertyName::SomeoneAcquires => |_, w| w.roster().believer_count() > 0,
        PropertyName::EveryoneFinishes => |_, w| w.roster().clients().iter().all(|c| c.is_done()),
        _ => return None,
    };
    Some(condition)
}

/// Every client that has not crashed has had the lock (or believed it had)
/// at least once.
fn eventually_acquired<S>(m: &S, w: &S::World) -> bool
where
    S: System,
    S::World: Locked,
{
    let rounds = m.scenario().rounds;
    w.roster()
        .clients()
        .iter()
        .all(|c| c.is_crashed() || c.rounds_left() < rounds || c.believes_it_holds())
}
