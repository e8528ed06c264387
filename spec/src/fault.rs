//! The fault menu, shared by the model and the lab, and fault budgets.
//!
//! A scenario does not say *when* a fault strikes — the checker tries every
//! moment — only how many of each kind may strike. Budgets keep the state
//! space finite and make "holds under one pause" a precise statement. Which
//! faults a protocol's model can take is part of its declaration.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A kind of fault, named as in DESIGN.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// A client takes no steps while time passes (GC, swap, SIGSTOP): its
    /// lease can run out while it still believes it holds.
    Pause,
    /// A client's watchdog alone is starved (a thread that gets no CPU, a
    /// blocked event loop) while the client itself works on: it renews
    /// nothing until it runs again.
    Stall,
    /// A grant's (or a renewal's) reply is held in flight and delivered late, after the lease
    /// it grants may have run out.
    Delay,
    /// A client stops for good, holding the lock or not.
    Crash,
    /// A Redis node crashes and restarts without persistence: it forgets its
    /// keys (the lock and the fencing counter). The protected resource is
    /// another system and keeps its state.
    Restart,
    /// A node crashes and comes back empty only after every lease it held
    /// has ended (the Redis distlock page's fix for `restart`).
    DelayedRestart,
    /// A request sent again: a client whose reply was lost re-sends the
    /// same acquire, and Redis runs it twice.
    Retry,
    /// One node's clock jumps ahead: its leases end early.
    ClockJump,
    /// A replica is promoted with whatever it has replicated so far.
    Failover,
    /// The network is cut in two: the primary with some clients and
    /// replicas on one side, the rest and a majority of the Sentinels on
    /// the other, until it heals. The far side's Sentinels may promote a
    /// replica there while the old primary still takes writes on its own.
    Partition,
}

/// How far one `clock-jump` moves a node's clock ahead, in ticks: every
/// lease on the node loses this much of what it has left. One tick — a
/// third of the default lease — is the smallest jump a model can take; it
/// is larger than the drift allowance of the default scenario (0 ticks), so
/// it is a fault, not drift.
pub const CLOCK_JUMP_TICKS: u8 = 1;

/// How many kinds of fault there are.
pub const KINDS: usize = 10;

impl Fault {
    /// Every fault, in the order tables list them.
    pub const ALL: [Fault; KINDS] = [
        Fault::Pause,
        Fault::Stall,
        Fault::Delay,
        Fault::Crash,
        Fault::Restart,
        Fault::DelayedRestart,
        Fault::Retry,
        Fault::ClockJump,
        Fault::Failover,
        Fault::Partition,
    ];

    /// The fault's name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Pause => "pause",
            Fault::Stall => "stall",
            Fault::Delay => "delay",
            Fault::Crash => "crash",
            Fault::Restart => "restart",
            Fault::DelayedRestart => "delayed-restart",
            Fault::Retry => "retry",
            Fault::ClockJump => "clock-jump",
            Fault::Failover => "failover",
            Fault::Partition => "partition",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The most faults of one kind a scenario may allow: each one multiplies the
/// state space, and one or two already show every effect these protocols have.
pub const MAX_BUDGET: u8 = 3;

/// A fault list that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// A name that is not a fault.
    #[error("unknown fault `{0}`; known faults: {known} (or `none`), each optionally `=N` for a budget of N", known = known_names())]
    Unknown(String),
    /// A budget that is not a number in range.
    #[error("bad budget in `{0}`: give a number from 1 to {MAX_BUDGET}, e.g. `pause=2`")]
    BadBudget(String),
    /// The same fault twice in one set.
    #[error("`{0}` is given twice in one fault set; write `{0}=2` for a budget of two")]
    Twice(String),
    /// `none` beside a fault.
    #[error("`none` cannot be combined with other faults in one set (`{0}`)")]
    NoneAndSome(String),
}

fn known_names() -> String {
    Fault::ALL.map(Fault::name).join(", ")
}

/// How many faults of each kind a scenario allows. The default allows none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Faults {
    budgets: [u8; KINDS],
}

impl Faults {
    /// No faults at all.
    pub const NONE: Faults = Faults {
        budgets: [0; KINDS],
    };

    /// A budget of one fault of the given kind.
    pub fn one(fault: Fault) -> Faults {
        Faults::NONE.with(fault, 1)
    }

    /// This budget, with `fault` allowed `n` times.
    pub fn with(mut self, fault: Fault, n: u8) -> Faults {
        self.budgets[fault.index()] = n;
        self
    }

    /// How many faults of this kind are allowed.
    pub fn budget(self, fault: Fault) -> u8 {
        self.budgets[fault.index()]
    }

    /// The kinds of fault this budget allows at least once.
    pub fn kinds(self) -> Vec<Fault> {
        Fault::ALL
            .into_iter()
            .filter(|f| self.budget(*f) > 0)
            .collect()
    }

    /// True when this budget allows only faults of the given kinds.
    pub fn only(self, allowed: &[Fault]) -> bool {
        self.kinds().iter().all(|f| allowed.contains(f))
    }

    /// True when no fault is allowed.
    pub fn is_none(self) -> bool {
        self == Faults::NONE
    }

    /// The fault sets of a default verdict matrix over `menu`: none, then
    /// each fault alone with a budget of one.
    pub fn default_sets(menu: &[Fault]) -> Vec<Faults> {
        std::iter::once(Faults::NONE)
            .chain(menu.iter().copied().map(Faults::one))
            .collect()
    }
}

impl fmt::Display for Faults {
    /// `none`, or the kinds joined by `+`, with `=N` where the budget is
    /// more than one: `pause`, `pause=2+crash`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .kinds()
            .into_iter()
            .map(|k| match self.budget(k) {
                1 => k.name().to_owned(),
                n => format!("{k}={n}"),
            })
            .collect();
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join("+"))
        }
    }
}

impl FromStr for Faults {
    type Err = FaultError;

    /// Reads `none`, or a list of faults separated by `,` or `+`, each
    /// optionally with a budget: `pause`, `pause,crash`, `pause=2`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split([',', '+']).map(str::trim).collect();
        if parts.contains(&"none") {
            return if parts.len() == 1 {
                Ok(Faults::NONE)
            } else {
                Err(FaultError::NoneAndSome(s.to_owned()))
            };
        }
        let mut faults = Faults::NONE;
        for part in parts {
            let (name, budget) = match part.split_once('=') {
                Some((name, n)) => {
                    let n: u8 = n
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_BUDGET).contains(n))
                        .ok_or_else(|| FaultError::BadBudget(part.to_owned()))?;
                    (name, n)
                }
                None => (part, 1),
            };
            let fault = Fault::ALL
                .into_iter()
                .find(|f| f.name() == name)
                .ok_or_else(|| FaultError::Unknown(name.to_owned()))?;
            if faults.budget(fault) > 0 {
                return Err(FaultError::Twice(name.to_owned()));
            }
            faults = faults.with(fault, budget);
        }
        Ok(faults)
    }
}

/// Faults serialize as an array of fault names, one entry per fault the
/// budget allows: `[]`, `["pause"]`, `["pause", "pause", "crash"]`.
impl Serialize for Faults {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.kinds()
                .into_iter()
                .flat_map(|k| std::iter::repeat_n(k, usize::from(self.budget(k)))),
        )
    }
}

impl<'de> Deserialize<'de> for Faults {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Faults, D::Error> {
        let names = Vec::<Fault>::deserialize(d)?;
        let mut faults = Faults::NONE;
        for kind in names {
            faults = faults.with(kind, faults.budget(kind).saturating_add(1));
        }
        Ok(faults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_budgets() {
        assert_eq!("none".parse(), Ok(Faults::NONE));
        assert_eq!("pause".parse(), Ok(Faults::one(Fault::Pause)));
        assert_eq!(
            "pause=2,crash".parse(),
            Ok(Faults::NONE.with(Fault::Pause, 2).with(Fault::Crash, 1))
        );
        assert_eq!(
            "pause=2,crash".parse::<Faults>().unwrap().to_string(),
            "pause=2+crash"
        );
        assert_eq!(
            "clock-jump+delayed-restart"
                .parse::<Faults>()
                .unwrap()
                .kinds(),
            [Fault::DelayedRestart, Fault::ClockJump]
        );
    }

    #[test]
    fn refuses_unknown_names_bad_budgets_and_doubles() {
        assert_eq!(
            "paws".parse::<Faults>(),
            Err(FaultError::Unknown("paws".into()))
        );
        assert_eq!(
            "pause=0".parse::<Faults>(),
            Err(FaultError::BadBudget("pause=0".into()))
        );
        assert_eq!(
            "pause=99".parse::<Faults>(),
            Err(FaultError::BadBudget("pause=99".into()))
        );
        assert_eq!("".parse::<Faults>(), Err(FaultError::Unknown("".into())));
        assert_eq!(
            "pause,pause".parse::<Faults>(),
            Err(FaultError::Twice("pause".into()))
        );
        assert_eq!(
            "none,pause".parse::<Faults>(),
            Err(FaultError::NoneAndSome("none,pause".into()))
        );
    }

    #[test]
    fn serializes_as_a_list_of_names() {
        let f = Faults::NONE.with(Fault::Pause, 2).with(Fault::Retry, 1);
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, r#"["pause","pause","retry"]"#);
        assert_eq!(serde_json::from_str::<Faults>(&json).unwrap(), f);
    }
}
