//! The protected resource a lock guards, and the ghost that judges
//! `fenced-resource` on it — one definition for every lock family.
//!
//! What the resource promises is Kleppmann's fencing: with a fencing lock,
//! its script refuses a token lower than the highest it accepted (without
//! one, it accepts every write). It can order writes only as their tokens
//! do, so the property judges its history in the order it can see:
//!
//! > `fenced-resource`: the resource never accepts a write older than one
//! > it already accepted — older by fencing token, and where tokens cannot
//! > tell two grants apart (a lock without fencing, or one token handed out
//! > twice), by grant.
//!
//! A token-2 write after a token-1 write is therefore in order, whichever
//! client was granted first: that is what fencing allows. What it cannot
//! absorb is a token that does not name one grant: a counter Redis forgot
//! in a restart, or a quorum's counters that drifted apart, hand the same
//! token to two grants, and the older one's write then lands after the
//! newer one's.
//!
//! Grants are numbered when the lock becomes the client's, as its protocol
//! defines holding: on one Redis, the `SET` that creates the key (for a
//! lock that confirms its grants too — its `WAIT` decides whether the
//! client acts on a grant Redis made, and one given back unconfirmed
//! returns its number, or a client refused again and again would count
//! forever); on a quorum, the client's conclusion that a majority granted
//! with validity left (one master's `SET` grants only a share). The numbers
//! are a ghost: unlike a fencing counter on Redis they survive a restart.
//! The lab's history checker judges real runs by the same order
//! (`lab/src/history/checker.rs`).

use crate::outcome::Outcome;
use crate::world::ClientId;
use locklab_spec::property::PropertyName;

use super::core::Core;
use crate::narrate::Told;

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
    /// The grant of the accepted write latest in the resource's order
    /// (fencing token, then grant): a ghost, with `highest` what
    /// `fenced-resource` is judged by.
    pub highest_grant: u8,
    /// The resource accepted a write that comes before one it had
    /// accepted.
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
    /// would let a client refused again and again count forever. Grants
    /// numbered after it move down one, so the numbers stay dense and in
    /// order (the family moves the numbers it keeps elsewhere, its
    /// clients' and its keys', with [`renumbered`]): with two primaries
    /// across a partition, the grant given back need not be the last.
    pub fn give_back(self, g: &mut ResourceGhost, grant: u8) {
        if grant == 0 || grant > g.grants {
            return;
        }
        g.grants -= 1;
        g.highest_grant = renumbered(g.highest_grant, grant);
    }
}

/// Grant number `n` once grant `withdrawn` was given back.
pub fn renumbered(n: u8, withdrawn: u8) -> u8 {
    if withdrawn != 0 && n > withdrawn {
        n - 1
    } else {
        n
    }
}

impl Resource {
    /// A write by a client holding fencing token `fence` (0 for none) and
    /// acting under grant `grant` (0 for none).
    pub fn write(self, g: &mut ResourceGhost, fence: u8, grant: u8) -> Outcome {
        let token = if self.fenced { fence } else { 0 };
        if token < g.highest {
            return Outcome::Refused {
                highest: u64::from(g.highest),
            };
        }
        if !self.tracks_grants {
            g.highest = token;
            return Outcome::Accepted;
        }
        let latest = (g.highest, g.highest_grant);
        if (token, grant) < latest {
            g.stale_accepted = true;
        } else {
            (g.highest, g.highest_grant) = (token, grant);
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
            let tie = if self.fenced {
                " with the same token"
            } else {
                ""
            };
            format!(
                " — a stale write, made {made} yet accepted after grant {}'s{tie}",
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

#[cfg(test)]
mod tests {
    use super::*;

    fn writes(fenced: bool, writes: &[(u8, u8)]) -> ResourceGhost {
        let resource = Resource {
            fenced,
            tracks_grants: true,
        };
        let mut g = ResourceGhost::default();
        for &(fence, grant) in writes {
            resource.write(&mut g, fence, grant);
        }
        g
    }

    #[test]
    fn writes_are_ordered_by_token_then_grant() {
        // A higher token is in order, whichever grant came first.
        assert!(!writes(true, &[(1, 2), (2, 1)]).stale_accepted);
        // The same token twice: the older grant after the newer is stale.
        assert!(writes(true, &[(1, 2), (1, 1)]).stale_accepted);
        assert!(!writes(true, &[(1, 1), (1, 2), (1, 2)]).stale_accepted);
        // Without fencing there is no token: grant order alone.
        assert!(writes(false, &[(0, 2), (0, 1)]).stale_accepted);
        assert!(writes(false, &[(3, 2), (0, 1)]).stale_accepted);
    }

    #[test]
    fn a_lower_token_is_refused_and_judged_no_further() {
        let resource = Resource {
            fenced: true,
            tracks_grants: true,
        };
        let mut g = writes(true, &[(2, 1)]);
        assert_eq!(
            resource.write(&mut g, 1, 2),
            Outcome::Refused { highest: 2 }
        );
        assert!(!g.stale_accepted);
    }
}
