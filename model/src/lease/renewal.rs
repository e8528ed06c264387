//! Renewal, for the lease family: a holder's watchdog that extends its
//! lease every period while the holder works (`renew`, and the two
//! mistakes `renew-unchecked` and `renew-reacquire`).
//!
//! # The timing assumption, moved to the watchdog
//!
//! A fixed-lease lock assumes that a running holder finishes before its
//! lease runs out, so time may not expire a working owner's lease. With
//! renewal the work may outlast the lease: what keeps the lease is the
//! watchdog, a step of its own (`renew c1`) that must happen within each
//! period. Time may not pass while a *running* watchdog is due (its holder
//! believes, is not paused, the watchdog is not starved and has no reply
//! in flight); otherwise it may, and a lease whose watchdog did not renew
//! runs out. The period is the scenario's ([`Scenario::period`]).
//!
//! # What the holder knows
//!
//! The holder keeps a local deadline: a whole lease from each grant or
//! renewal it read (for a reply held in flight, the lease as Redis has it
//! when the reply arrives: the extension was made when the request ran).
//! Before each write it checks that deadline, as `impl/src/watchdog`
//! does by its local clock; the check and the write are one step here, so
//! a pause *between* them (Kleppmann's point) is not in the model: fencing
//! is what closes that window. A renewal that extends nothing stops the
//! watchdog and tells the holder. A holder told it lost the lock — by its
//! watchdog or by its deadline — abandons the round without writing.
//!
//! # The ghosts
//!
//! A holder's lease is *lost* once, while it believes, Redis holds no key
//! of its; `loss-told` breaks when such a holder writes, or releases a key
//! as its own, without having been told. `no-foreign-extension` breaks when
//! a renewal extends a key another client holds.

use locklab_spec::declaration::Renewal;
use locklab_spec::fault::Fault;

use super::world::{Lease, Pc, Renewed, Watchdog, World};
use super::LeaseModel;
use crate::op::{ClientOp, Reply};
use crate::outcome::Outcome;
use crate::step::{ClientFault, Step};
use crate::system::System;
use crate::world::ClientId;

impl LeaseModel {
    /// How the protocol's watchdog renews, if it has one.
    pub(super) fn renewal(&self) -> Option<Renewal> {
        self.caps.renewal
    }

    /// Whether `c`'s watchdog runs: its holder believes and is not paused,
    /// and it is neither starved nor waiting for a reply.
    fn watchdog_runs(w: &World, c: ClientId) -> bool {
        let client = w.roster.client(c);
        client.believes_it_holds()
            && !client.paused
            && !client.watchdog.stalled
            && client.watchdog.in_flight.is_none()
    }

    /// Whether `c`'s watchdog must renew before time passes: a period has
    /// gone by, by the holder's clock, since its last grant or renewal.
    fn watchdog_due(&self, w: &World, c: ClientId) -> bool {
        let s = self.scenario();
        let since = s.ttl.saturating_sub(w.roster.client(c).watchdog.deadline);
        Self::watchdog_runs(w, c) && since >= s.period()
    }

    /// Whether time may pass: no running watchdog is due.
    pub(super) fn renewals_allow_tick(&self, w: &World) -> bool {
        !w.roster.ids().any(|c| self.watchdog_due(w, c))
    }

    /// The watchdog's steps of client `c` (running, not paused): its
    /// renewal when due (its reply read, or held in flight), the reply
    /// held, and its starvation and waking.
    pub(super) fn renewal_actions(&self, w: &World, c: ClientId, steps: &mut Vec<Step>) {
        let client = w.roster.client(c);
        if !client.believes_it_holds() {
            return;
        }
        if self.watchdog_due(w, c) {
            steps.push(Step::now(c, ClientOp::Renew));
            if w.budget.left(Fault::Delay) > 0 {
                steps.push(Step::Op {
                    client: c,
                    op: ClientOp::Renew,
                    reply: Reply::Held,
                });
            }
        }
        if client.watchdog.in_flight.is_some() {
            steps.push(Step::Deliver { client: c });
        }
        let fault = |fault| Step::Client { client: c, fault };
        if client.watchdog.stalled {
            steps.push(fault(ClientFault::Wake));
        } else if w.budget.left(Fault::Stall) > 0 {
            steps.push(fault(ClientFault::Stall));
        }
    }

    /// Redis runs one renewal of `c`.
    fn run_renew(&self, w: &mut World, c: ClientId, renewal: Renewal) -> Renewed {
        let ttl = self.scenario().ttl;
        match w.lease.as_mut() {
            Some(l) if l.owner == c => {
                l.ttl = ttl;
                w.renewal.renewed = true;
                Renewed::Extended
            }
            Some(l) if !renewal.checked => {
                l.ttl = ttl;
                w.renewal.foreign_extension = true;
                w.renewal.renewed = true;
                Renewed::Extended
            }
            Some(_) => Renewed::NotHeld,
            None if renewal.reacquire => {
                let grant = self.resource.issue(&mut w.resource);
                let client = w.roster.client_mut(c);
                client.grant = grant;
                w.lease = Some(Lease {
                    owner: c,
                    ttl,
                    fence: client.fence,
                    grant,
                    count: 1,
                });
                Renewed::Recreated
            }
            None => Renewed::NotHeld,
        }
    }

    /// A renewal step of `c` (its reply read now or held), or the delivery
    /// of a held renewal reply: the outcome the watchdog reads, if now.
    pub(super) fn apply_renewal(&self, w: &mut World, step: Step) -> Option<Option<Outcome>> {
        let renewal = self.renewal()?;
        match step {
            Step::Op {
                client,
                op: ClientOp::Renew,
                reply: Reply::Now,
            } => {
                let ran = self.run_renew(w, client, renewal);
                Some(Some(self.read_renewal(w, client, ran, false)))
            }
            Step::Op {
                client,
                op: ClientOp::Renew,
                reply: Reply::Held,
            } => {
                w.budget.spend(Fault::Delay);
                let ran = self.run_renew(w, client, renewal);
                w.roster.client_mut(client).watchdog.in_flight = Some(ran);
                Some(None)
            }
            Step::Deliver { client } => {
                let ran = w.roster.client_mut(client).watchdog.in_flight.take()?;
                Some(Some(self.read_renewal(w, client, ran, true)))
            }
            Step::Client {
                client,
                fault: fault @ (ClientFault::Stall | ClientFault::Wake),
            } => {
                let stall = fault == ClientFault::Stall;
                if stall {
                    w.budget.spend(Fault::Stall);
                }
                w.roster.client_mut(client).watchdog.stalled = stall;
                Some(None)
            }
            _ => None,
        }
    }

    /// The watchdog reads what its renewal did — at once (`held`: false),
    /// or late: a renewal (or a silent re-acquire) sets the holder's
    /// deadline; one that extended nothing stops the watchdog and tells
    /// the holder.
    fn read_renewal(&self, w: &mut World, c: ClientId, ran: Renewed, held: bool) -> Outcome {
        let outcome = match ran {
            Renewed::NotHeld => {
                self.told_lost(w, c);
                return Outcome::NotHeld;
            }
            Renewed::Extended => Outcome::Renewed,
            Renewed::Recreated => Outcome::Reacquired,
        };
        let deadline = if held {
            Self::extended_ticks(w, c, self.renewal())
        } else {
            self.scenario().ttl
        };
        w.roster.client_mut(c).watchdog.deadline = deadline;
        outcome
    }

    /// What is left, when a held reply arrives, of the lease the request
    /// extended to a whole one when it ran: the key's lease as Redis has it
    /// now — the holder's own key, or for a bare `PEXPIRE`, whoever's key
    /// it extended (0 when the key is gone).
    fn extended_ticks(w: &World, c: ClientId, renewal: Option<Renewal>) -> u8 {
        let bare = renewal.is_some_and(|r| !r.checked);
        w.lease
            .filter(|l| l.owner == c || bare)
            .map_or(0, |l| l.ttl)
    }

    /// What is left of `c`'s own lease on Redis (0 when it has none): the
    /// holder's deadline when it reads a held grant, which Redis made a
    /// whole lease when it ran.
    pub(super) fn own_ticks(w: &World, c: ClientId) -> u8 {
        w.lease.filter(|l| l.owner == c).map_or(0, |l| l.ttl)
    }

    /// The holder learns it lost the lock: it abandons the round, without
    /// writing, and its watchdog stops.
    pub(super) fn told_lost(&self, w: &mut World, c: ClientId) {
        let client = w.roster.client_mut(c);
        client.rounds_left -= 1;
        client.depth = 0;
        client.fence = 0;
        client.grant = 0;
        client.waiting = false;
        client.watchdog = Watchdog::default();
        client.pc = if client.rounds_left == 0 {
            Pc::Done
        } else {
            Pc::Idle
        };
    }

    /// Before a write: a holder whose local deadline has passed learns it
    /// lost the lock instead of writing.
    pub(super) fn deadline_passed(&self, w: &mut World, c: ClientId) -> Option<Outcome> {
        self.renewal()?;
        if w.roster.client(c).watchdog.deadline > 0 {
            return None;
        }
        self.told_lost(w, c);
        Some(Outcome::Lost)
    }

    /// After a holder's write or release: had its lease been lost, and did
    /// it go on untold?
    pub(super) fn judge_told(&self, w: &mut World, lost: bool, outcome: &Outcome) {
        let told = matches!(outcome, Outcome::Lost | Outcome::NotHeld);
        if self.renewal().is_some() && lost && !told {
            w.renewal.untold = true;
        }
    }

    /// After every step of a renewing lock: time counts down each
    /// holder's deadline (`ticked`), and a believer with no key of its own
    /// on Redis has lost its lease.
    pub(super) fn track_renewal(&self, w: &mut World, ticked: bool) {
        if self.renewal().is_none() {
            return;
        }
        let lease = w.lease;
        for c in w.roster.ids() {
            let client = w.roster.client_mut(c);
            if ticked {
                client.watchdog.deadline = client.watchdog.deadline.saturating_sub(1);
            }
            if client.believes_it_holds() && lease.is_none_or(|l| l.owner != c) {
                client.watchdog.lost = true;
            }
        }
    }
}
