//! The lock system as a Stateright [`Model`]: every client's possible next
//! step, time passing, and every fault the budget still allows, from every
//! state.
//!
//! The one timing assumption every lease lock makes is built in: a holder
//! that is *running* finishes its critical section before its lease runs
//! out, so time may not expire the lease of a working, unpaused owner. Only a
//! fault breaks that assumption: a pause, a delayed grant reply, a crash.
//! That is why "holds with no fault, violated under `pause`" is a meaningful
//! verdict rather than an artefact of an unfair scheduler.
//!
//! The protected resource is modelled for every protocol: with fencing it
//! refuses tokens lower than the highest it accepted; without fencing it
//! accepts every write. The model labels each write with the number of the
//! grant its writer holds (a ghost that, unlike Redis's fencing counter,
//! survives a restart), so `fenced-resource` judges the resource's history
//! by real grant order: it shows what goes wrong without fencing, what
//! fencing prevents, and what a fencing counter that Redis forgot lets
//! through.

use stateright::{Model, Property};

use crate::property::{Kind, PropertyName};
use crate::protocol::{Release, Rules};
use crate::scenario::Scenario;
use crate::step::Step;
use crate::world::{Client, ClientId, ForeignRelease, Lease, Pc, World, MAX_CLIENTS};

/// A scenario, ready for the checker.
#[derive(Clone, Debug)]
pub struct LockModel {
    scenario: Scenario,
    rules: Rules,
    properties: Vec<PropertyName>,
    tracks_grants: bool,
}

impl LockModel {
    /// The model of a scenario, checking every property.
    pub fn new(scenario: Scenario) -> LockModel {
        LockModel::checking(scenario, &PropertyName::ALL)
    }

    /// The model of a scenario, checking only the given properties. Without
    /// `fenced-resource`, writes are not labelled with grant numbers (a
    /// ghost), which keeps the state space smaller.
    pub fn checking(scenario: Scenario, properties: &[PropertyName]) -> LockModel {
        let rules = scenario.protocol.rules();
        let properties: Vec<PropertyName> = PropertyName::ALL
            .into_iter()
            .filter(|p| properties.contains(p) && p.applies_to(scenario.protocol))
            .collect();
        let tracks_grants = properties.contains(&PropertyName::FencedResource);
        LockModel {
            scenario,
            rules,
            properties,
            tracks_grants,
        }
    }

    /// The scenario this model checks.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The properties this model checks.
    pub fn checked(&self) -> &[PropertyName] {
        &self.properties
    }

    /// The state every run starts from: all clients idle, no key.
    pub fn initial(&self) -> World {
        let s = &self.scenario;
        let mut clients = [Client::default(); MAX_CLIENTS];
        for c in clients.iter_mut().take(usize::from(s.clients)) {
            c.rounds_left = s.rounds;
        }
        World {
            clients,
            n: s.clients,
            lease: None,
            fence_counter: 0,
            grants: 0,
            resource_max: 0,
            resource_grant: 0,
            pauses_left: s.faults.pause,
            delays_left: s.faults.delay,
            crashes_left: s.faults.crash,
            restarts_left: s.faults.restart,
            foreign_release: None,
            stale_accepted: false,
        }
    }

    /// Whether a client has had the lock (or believed it had) at least once.
    fn has_acquired(&self, c: &Client) -> bool {
        c.rounds_left < self.scenario.rounds || c.believes_it_holds()
    }

    /// Redis runs the acquire: the key is set when absent. Returns the
    /// fencing token and grant number the client goes on with: the new ones
    /// when granted, zeros when refused.
    fn run_acquire(&self, w: &mut World, c: ClientId) -> (u8, u8) {
        if w.lease.is_some() {
            return (0, 0);
        }
        let fence = if self.rules.fencing {
            w.fence_counter += 1;
            w.fence_counter
        } else {
            0
        };
        let grant = if self.tracks_grants {
            w.grants += 1;
            w.grants
        } else {
            0
        };
        w.lease = Some(Lease {
            owner: c,
            ttl: self.scenario.ttl,
            fence,
            grant,
        });
        (fence, grant)
    }

    /// The client writes to the resource. With fencing, the resource's
    /// script refuses a token lower than the highest it accepted; without,
    /// it accepts everything. Either way the ghost notes an accepted write
    /// made under an older grant than one already accepted.
    fn run_write(&self, w: &mut World, c: ClientId) {
        if !self.tracks_grants {
            return;
        }
        let Client { fence, grant, .. } = *w.client(c);
        let accepted = !self.rules.fencing || fence >= w.resource_max;
        if accepted {
            w.resource_max = w.resource_max.max(fence);
            if grant < w.resource_grant {
                w.stale_accepted = true;
            }
            w.resource_grant = w.resource_grant.max(grant);
        }
    }

    fn run_release(&self, w: &mut World, c: ClientId) {
        if let Some(lease) = w.lease {
            let removes = match self.rules.release {
                Release::Del => true,
                Release::CompareAndDelete => lease.owner == c,
            };
            if removes {
                if lease.owner != c && w.foreign_release.is_none() {
                    w.foreign_release = Some(ForeignRelease {
                        releaser: c,
                        victim: lease.owner,
                    });
                }
                w.lease = None;
            }
        }
        let client = w.client_mut(c);
        client.rounds_left -= 1;
        client.fence = 0;
        client.grant = 0;
        client.pc = if client.rounds_left == 0 {
            Pc::Done
        } else {
            Pc::Idle
        };
    }
}

impl Model for LockModel {
    type State = World;
    type Action = Step;

    fn init_states(&self) -> Vec<World> {
        vec![self.initial()]
    }

    fn actions(&self, w: &World, actions: &mut Vec<Step>) {
        for client in w.ids() {
            let c = w.client(client);
            if matches!(c.pc, Pc::Done | Pc::Crashed) {
                continue;
            }
            if c.paused {
                actions.push(Step::Resume { client });
            } else {
                match c.pc {
                    Pc::Idle => {
                        let free = w.lease.is_none();
                        if free || !self.rules.checks_reply {
                            actions.push(Step::Acquire { client });
                        }
                        if free && w.delays_left > 0 {
                            actions.push(Step::AcquireDelayed { client });
                        }
                    }
                    Pc::Awaiting => actions.push(Step::Deliver { client }),
                    Pc::Holding => actions.push(Step::Write { client }),
                    Pc::Wrote => actions.push(Step::Release { client }),
                    Pc::Done | Pc::Crashed => {}
                }
                // A pause matters only while the client believes it holds:
                // anywhere else the scheduler already lets it idle.
                if w.pauses_left > 0 && c.believes_it_holds() {
                    actions.push(Step::Pause { client });
                }
            }
            if w.crashes_left > 0 {
                actions.push(Step::Crash { client });
            }
        }
        if let Some(lease) = w.lease {
            if lease.ttl > 1 || !w.owner_is_working() {
                actions.push(Step::Tick);
            }
        }
        // A restart matters only when Redis has something to forget.
        if w.restarts_left > 0 && (w.lease.is_some() || w.fence_counter > 0) {
            actions.push(Step::Restart);
        }
    }

    fn next_state(&self, w: &World, step: Step) -> Option<World> {
        let mut next = w.clone();
        match step {
            Step::Acquire { client } => {
                let (fence, grant) = self.run_acquire(&mut next, client);
                let c = next.client_mut(client);
                c.fence = fence;
                c.grant = grant;
                c.pc = Pc::Holding;
            }
            Step::AcquireDelayed { client } => {
                let (fence, grant) = self.run_acquire(&mut next, client);
                next.delays_left -= 1;
                let c = next.client_mut(client);
                c.fence = fence;
                c.grant = grant;
                c.pc = Pc::Awaiting;
            }
            Step::Deliver { client } => next.client_mut(client).pc = Pc::Holding,
            Step::Write { client } => {
                self.run_write(&mut next, client);
                next.client_mut(client).pc = Pc::Wrote;
            }
            Step::Release { client } => self.run_release(&mut next, client),
            Step::Tick => {
                let lease = next.lease.as_mut()?;
                lease.ttl -= 1;
                if lease.ttl == 0 {
                    next.lease = None;
                }
            }
            Step::Pause { client } => {
                next.pauses_left -= 1;
                next.client_mut(client).paused = true;
            }
            Step::Resume { client } => next.client_mut(client).paused = false,
            Step::Crash { client } => {
                next.crashes_left -= 1;
                *next.client_mut(client) = Client {
                    pc: Pc::Crashed,
                    ..Client::default()
                };
            }
            Step::Restart => {
                // Without persistence Redis comes back empty: the lock and
                // the fencing counter are gone. Clients keep their beliefs.
                next.restarts_left -= 1;
                next.lease = None;
                next.fence_counter = 0;
            }
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.properties.iter().map(|p| property(*p)).collect()
    }

    /// `acquire c1`, `tick`: how the Explorer lists the steps.
    fn format_action(&self, step: &Step) -> String {
        step.to_string()
    }

    /// The step told, as in a counterexample (for the Explorer).
    fn format_step(&self, last: &World, step: Step) -> Option<String> {
        let next = self.next_state(last, step)?;
        let path = [(last.clone(), Some(step)), (next, None)];
        let told = crate::narrate::Narrator::new(&self.scenario).tell(&path, 1);
        told.first().map(crate::narrate::NarratedStep::line)
    }
}

/// The Stateright property behind a property name.
fn property(name: PropertyName) -> Property<LockModel> {
    let condition: fn(&LockModel, &World) -> bool = match name {
        PropertyName::MutualExclusion => |_, w| w.believer_count() <= 1,
        PropertyName::NoForeignRelease => |_, w| w.foreign_release.is_none(),
        PropertyName::FencedResource => |_, w| !w.stale_accepted,
        PropertyName::EventuallyAcquired => |m, w| {
            w.clients()
                .iter()
                .all(|c| c.pc == Pc::Crashed || m.has_acquired(c))
        },
        PropertyName::SomeoneAcquires => |_, w| w.believer_count() > 0,
        PropertyName::EveryoneFinishes => |_, w| w.clients().iter().all(|c| c.pc == Pc::Done),
    };
    match name.kind() {
        Kind::Always => Property::always(name.name(), condition),
        Kind::Eventually => Property::eventually(name.name(), condition),
        Kind::Sometimes => Property::sometimes(name.name(), condition),
    }
}
