//! The clients of a scenario and its fault budget, as every family keeps
//! them: a fixed-size array of the family's own client state (a
//! [`Member`]), the count in use, and what is left of each fault — with the
//! transitions of the faults done to a client, and the order in which
//! clients offer their steps.

use std::fmt;
use std::hash::Hash;

use crate::step::{ClientFault, Step};
use crate::world::{ClientId, MAX_CLIENTS};
use locklab_spec::fault::{Fault, Faults};

/// A client's state, as the roster needs to know it.
pub trait Member: Copy + Default + Eq + Hash + Ord + fmt::Debug {
    /// The client after a crash: stopped for good.
    fn crashed() -> Self;
    /// Takes no step until resumed.
    fn is_paused(&self) -> bool;
    /// Pauses or resumes it.
    fn set_paused(&mut self, paused: bool);
    /// Takes no step of its own any more (finished, or crashed).
    fn is_finished(&self) -> bool;
    /// Whether pausing it now can change anything: elsewhere the scheduler
    /// lets it idle anyway.
    fn pause_matters(&self) -> bool;
}

/// A lock client: one that believes it holds the lock or not, and does a
/// number of rounds.
pub trait Holder: Member {
    /// Believes it holds the lock, paused or not.
    fn believes_it_holds(&self) -> bool;
    /// Rounds still to do.
    fn rounds_left(&self) -> u8;
    /// Has finished all its rounds.
    fn is_done(&self) -> bool;
    /// Has crashed.
    fn is_crashed(&self) -> bool;
}

/// Implements [`Member`] and [`Holder`] for a lock family's client — a
/// struct with `pc` (of an enum with `Done` and `Crashed`), `paused` and
/// `rounds_left`, and a `believes_it_holds` method of its own — and
/// [`Locked`](super::Locked) for its world, with `roster` and `resource`
/// fields: `lock_client!(World, Client, Pc)`. A pause
/// matters only while it believes it holds: anywhere else the scheduler
/// already lets it idle (and a quorum client's asking time counts against
/// its validity anyway).
macro_rules! lock_client {
    ($world:ident, $client:ident, $pc:ident) => {
        impl $crate::kit::Locked for $world {
            type Client = $client;

            fn roster(&self) -> &$crate::kit::Roster<$client> {
                &self.roster
            }

            fn resource(&self) -> &$crate::kit::ResourceGhost {
                &self.resource
            }
        }

        impl $crate::kit::Member for $client {
            fn crashed() -> $client {
                $client {
                    pc: $pc::Crashed,
                    ..$client::default()
                }
            }

            fn is_paused(&self) -> bool {
                self.paused
            }

            fn set_paused(&mut self, paused: bool) {
                self.paused = paused;
            }

            fn is_finished(&self) -> bool {
                matches!(self.pc, $pc::Done | $pc::Crashed)
            }

            fn pause_matters(&self) -> bool {
                $client::believes_it_holds(self)
            }
        }

        impl $crate::kit::Holder for $client {
            fn believes_it_holds(&self) -> bool {
                $client::believes_it_holds(self)
            }

            fn rounds_left(&self) -> u8 {
                self.rounds_left
            }

            fn is_done(&self) -> bool {
                self.pc == $pc::Done
            }

            fn is_crashed(&self) -> bool {
                self.pc == $pc::Crashed
            }
        }
    };
}
pub(crate) use lock_client;

/// The clients of a scenario: only the first `n` are in use.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Roster<C> {
    clients: [C; MAX_CLIENTS],
    n: u8,
}

impl<C: Member> Roster<C> {
    /// `n` clients, each starting as `each`.
    pub fn new(n: u8, each: C) -> Roster<C> {
        let mut clients = [C::default(); MAX_CLIENTS];
        for c in clients.iter_mut().take(usize::from(n)) {
            *c = each;
        }
        Roster { clients, n }
    }

    /// How many clients are in use.
    pub fn len(&self) -> u8 {
        self.n
    }

    /// Whether no client is in use.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The clients in use.
    pub fn clients(&self) -> &[C] {
        &self.clients[..usize::from(self.n)]
    }

    /// The clients in use, to change.
    pub fn clients_mut(&mut self) -> &mut [C] {
        &mut self.clients[..usize::from(self.n)]
    }

    /// One client's state.
    pub fn client(&self, c: ClientId) -> &C {
        &self.clients[c.index()]
    }

    /// One client's state, to change.
    pub fn client_mut(&mut self, c: ClientId) -> &mut C {
        &mut self.clients[c.index()]
    }

    /// The ids of the clients in use.
    pub fn ids(&self) -> impl Iterator<Item = ClientId> + use<C> {
        (0..self.n).map(ClientId)
    }

    /// The steps of every client that has any: a paused client's resume,
    /// a running one's own steps (`own`) and a pause where it matters, and
    /// a crash of any client while the budget allows — in client order, so
    /// that every family lists its steps alike.
    pub fn offer(
        &self,
        budget: &Budget,
        steps: &mut Vec<Step>,
        mut own: impl FnMut(ClientId, &C, &mut Vec<Step>),
    ) {
        for client in self.ids() {
            let c = self.client(client);
            if c.is_finished() {
                continue;
            }
            let fault = |fault| Step::Client { client, fault };
            if c.is_paused() {
                steps.push(fault(ClientFault::Resume));
            } else {
                own(client, c, steps);
                if budget.left(Fault::Pause) > 0 && c.pause_matters() {
                    steps.push(fault(ClientFault::Pause));
                }
            }
            if budget.left(Fault::Crash) > 0 {
                steps.push(fault(ClientFault::Crash));
            }
        }
    }

    /// A fault done to client `c`: a pause (it takes no steps), its end,
    /// or a crash (it stops for good, forgetting everything it believed).
    pub fn suffer(&mut self, c: ClientId, fault: ClientFault, budget: &mut Budget) {
        let client = self.client_mut(c);
        match fault {
            ClientFault::Pause => {
                budget.spend(Fault::Pause);
                client.set_paused(true);
            }
            ClientFault::Resume => client.set_paused(false),
            ClientFault::Crash => {
                budget.spend(Fault::Crash);
                *client = C::crashed();
            }
            // A watchdog is its family's (the lease family's renewal):
            // the roster keeps no watchdog to starve.
            ClientFault::Stall | ClientFault::Wake => {}
        }
    }
}

/// A pause of client `c`, told.
pub fn tell_pause(c: ClientId) -> String {
    format!("{c} pauses (GC, swap, SIGSTOP): it takes no steps while time passes")
}

impl<C: Holder> Roster<C> {
    /// The clients that believe they hold the lock right now.
    pub fn believers(&self) -> Vec<ClientId> {
        self.ids()
            .filter(|c| self.client(*c).believes_it_holds())
            .collect()
    }

    /// How many clients believe they hold the lock right now.
    pub fn believer_count(&self) -> usize {
        self.clients()
            .iter()
            .filter(|c| c.believes_it_holds())
            .count()
    }

    /// What a step that made more clients believe they hold the lock than
    /// `before` did adds to its words: ` — c1 and c2 both believe they hold
    /// the lock`.
    pub fn tell_believers(&self, before: &Roster<C>) -> String {
        let holders = self.believers();
        if holders.len() < 2 || holders.len() <= before.believer_count() {
            return String::new();
        }
        let all = if holders.len() == 2 { "both" } else { "all" };
        let names: Vec<String> = holders.iter().map(ToString::to_string).collect();
        let names = match names.as_slice() {
            [a, b] => format!("{a} and {b}"),
            _ => names.join(", "),
        };
        format!(" — {names} {all} believe they hold the lock")
    }
}

impl<C: Member> fmt::Debug for Roster<C> {
    /// Only the clients in use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clients()).finish()
    }
}

/// What is left of a scenario's fault budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Budget(Faults);

impl Budget {
    /// The whole budget of a scenario.
    pub fn new(faults: Faults) -> Budget {
        Budget(faults)
    }

    /// Faults of this kind still allowed.
    pub fn left(&self, fault: Fault) -> u8 {
        self.0.budget(fault)
    }

    /// Uses one fault of this kind.
    pub fn spend(&mut self, fault: Fault) {
        self.0 = self.0.with(fault, self.left(fault) - 1);
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
