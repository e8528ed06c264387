//! The protected resource a lock guards, and the ghost that judges
//! `fenced-resource` on it.
//!
//! With fencing, the resource's script refuses a token lower than the
//! highest it accepted; without, it accepts every write. Either way the
//! model labels each write with the number of the grant its writer acted
//! under — a ghost, which unlike a fencing counter on Redis survives a
//! restart — and `fenced-resource` is broken once the resource accepts a
//! write under an older grant than one it already accepted.

use crate::outcome::Outcome;
use crate::world::ClientId;
use locklab_spec::property::PropertyName;

use super::{Core, Told};

/// The protected resource's rules in a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Writes carry the writer's fencing token, and the resource refuses a
    /// token lower than the highest it accepted.
    pub fenced: bool,
    /// The model numbers grants and judges `fenced-resource` (only when it
    /// checks it: the numbers are state).
    pub tracks_grants: bool,
}

/// What the resource holds, and the ghost of grant order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResourceGhost {
    /// Grants numbered so far (a ghost: Redis forgets its counter, this
    /// does not).
    pub grants: u8,
    /// The highest fencing token the resource has accepted.
    pub highest: u8,
    /// The highest grant number among the writes the resource accepted (a
    /// ghost: what `fenced-resource` is judged by).
    pub highest_grant: u8,
    /// The resource accepted a write made under an older grant than one it
    /// had accepted before.
    pub stale_accepted: bool,
}

impl Resource {
    /// The resource of a model with this core: grants are numbered only
    /// when it checks `fenced-resource`.
    pub fn new(fenced: bool, core: &Core) -> Resource {
        Resource {
            fenced,
            tracks_grants: core.checks(PropertyName::FencedResource),
        }
    }

    /// Numbers a new grant (0 when grants are not tracked).
    pub fn issue(self, g: &mut ResourceGhost) -> u8 {
        if !self.tracks_grants {
            return 0;
        }
        g.grants += 1;
        g.grants
    }

    /// Gives a grant's number back: it was never held, and counting it
    /// would let a client refused again and again count forever.
    pub fn give_back(self, g: &mut ResourceGhost, grant: u8) {
        if grant != 0 && grant == g.grants {
            g.grants -= 1;
        }
    }

    /// A write carrying `fence` (0 for none) by a client acting under grant
    /// `grant` (0 for none).
    pub fn write(self, g: &mut ResourceGhost, fence: u8, grant: u8) -> Outcome {
        if self.fenced && fence < g.highest {
            return Outcome::Refused {
                highest: u64::from(g.highest),
            };
        }
        g.highest = g.highest.max(fence);
        if self.tracks_grants {
            if grant < g.highest_grant {
                g.stale_accepted = true;
            }
            g.highest_grant = g.highest_grant.max(grant);
        }
        Outcome::Accepted
    }

    /// The write of client `c`, carrying `fence` under grant `grant`, told.
    pub fn tell_write(
        self,
        before: &ResourceGhost,
        after: &ResourceGhost,
        c: ClientId,
        fence: u8,
        grant: u8,
    ) -> Told {
        let stale = if after.stale_accepted && !before.stale_accepted {
            let made = if grant == 0 {
                "without any grant".to_owned()
            } else {
                format!("under grant {grant}")
            };
            format!(
                " — a stale write, made {made} yet accepted after grant {}'s",
                before.highest_grant
            )
        } else {
            String::new()
        };
        if !self.fenced {
            return (
                Some(format!("SET resource <{c}'s data>")),
                Some("OK".to_owned()),
                format!("{c} writes to the resource{stale}"),
            );
        }
        let command = format!(
            "EVALSHA fenced-write 3 resource resource:highest resource:log {fence} <{c}'s data>"
        );
        if fence >= before.highest {
            (
                Some(command),
                Some("accepted".to_owned()),
                format!("{c} writes to the resource with token {fence}: accepted{stale}"),
            )
        } else {
            (
                Some(command),
                Some("refused".to_owned()),
                format!(
                    "{c} writes with token {fence}: the resource refuses it, having accepted token {}",
                    before.highest
                ),
            )
        }
    }
}
