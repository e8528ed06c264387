//! A renewing lock's watchdog in words: its renewal with the Redis command
//! the protocol's renewal stands for, its starvation, and the moment a
//! holder learns — or does not learn — that its lease was lost.

use locklab_spec::declaration::Renewal;

use super::Narrator;
use crate::narrate::Told;
use crate::op::Reply;
use crate::outcome::Outcome;
use crate::step::{ClientFault, Step};
use crate::world::ClientId;

use super::super::World;

impl Narrator<'_> {
    fn renew_command(&self, c: ClientId) -> String {
        let ttl = self.ttl();
        match self.model.caps.renewal {
            Some(Renewal { checked: false, .. }) => format!("PEXPIRE lock <{ttl} ticks>"),
            Some(Renewal {
                reacquire: true, ..
            }) => format!("EVALSHA renew-reacquire 1 lock <{c}'s token> <{ttl} ticks>"),
            _ => format!("EVALSHA renew 1 lock <{c}'s token> <{ttl} ticks>"),
        }
    }

    /// A renewal of `c`'s watchdog, its reply read (`Now`) or held.
    pub(super) fn renew(
        &self,
        before: &World,
        after: &World,
        c: ClientId,
        reply: Reply,
        outcome: Option<&Outcome>,
    ) -> Told {
        let command = self.renew_command(c);
        let ttl = self.ttl();
        let whose = before.lease.map(|l| l.owner);
        let bare = self.model.caps.renewal.is_some_and(|r| !r.checked);
        let (answer, says) = match (whose, after.lease) {
            (Some(owner), Some(_)) if owner == c => (
                "1",
                format!("{c}'s watchdog renews its lease: `lock` has {ttl} ticks again"),
            ),
            (Some(owner), Some(_)) if bare => (
                "1",
                format!(
                    "{c}'s watchdog renews with a bare PEXPIRE — and extends {owner}'s lease, not its own: {c} reads it as renewed"
                ),
            ),
            (Some(owner), _) => (
                "0",
                format!("{c}'s watchdog finds `lock` holding {owner}'s token: nothing of {c}'s to renew"),
            ),
            (None, Some(l)) if l.owner == c => (
                "OK",
                format!(
                    "{c}'s watchdog finds `lock` gone and creates it again with SET NX: it reads as renewed, and {c} never learns it lost the lock"
                ),
            ),
            (None, _) => ("0", format!("{c}'s watchdog finds `lock` gone: nothing to renew")),
        };
        let says = match (reply, outcome) {
            (Reply::Held, _) => {
                format!("{says}, but the reply is delayed in flight: {c}'s watchdog waits for it")
            }
            (_, Some(Outcome::NotHeld)) => format!(
                "{says}; the watchdog stops and tells {c}, which abandons its round without writing"
            ),
            _ => says,
        };
        (Some(command), Some(answer.to_owned()), says)
    }
}

/// A renewal reply held in flight reaches the watchdog: what Redis did
/// when the request ran, read now.
pub(super) fn delivered(after: &World, c: ClientId, outcome: Option<&Outcome>) -> String {
    let head = format!("the delayed renewal reply reaches {c}'s watchdog");
    match outcome {
        Some(Outcome::NotHeld) => format!(
            "{head}: nothing of {c}'s was there to renew; the watchdog stops and tells {c}, which abandons its round"
        ),
        Some(Outcome::Reacquired) => format!(
            "{head}: the key had been created again — {c} reads it as renewed, never learning it lost the lock"
        ),
        _ => {
            let left = after.roster.client(c).watchdog.deadline;
            let plural = if left == 1 { "" } else { "s" };
            format!("{head}: renewed when it ran; {c}'s deadline is what is left of that lease, {left} tick{plural}")
        }
    }
}

/// A holder's deadline check before a write, failed.
pub(super) fn deadline_passed(c: ClientId) -> String {
    format!(
        "{c} checks its lease deadline before writing: it has passed, so {c} learns it lost the lock and abandons its round"
    )
}

/// A watchdog starved, or running again.
pub(super) fn starved(c: ClientId, fault: ClientFault) -> String {
    if fault == ClientFault::Stall {
        format!("{c}'s watchdog is starved (a thread that gets no CPU): it renews nothing while {c} works on")
    } else {
        format!("{c}'s watchdog runs again")
    }
}

/// What a step that broke `loss-told` adds to its words.
pub(super) fn tell_untold(before: &World, after: &World, step: Step) -> String {
    match step.client() {
        Some(c) if after.renewal.untold && !before.renewal.untold => {
            format!(" — yet {c}'s lease was lost since its grant, and {c} was never told")
        }
        _ => String::new(),
    }
}
