//! The fault menu, shared by the model and the lab, and fault budgets.
//!
//! A scenario does not say *when* a fault strikes — the checker tries every
//! moment — only how many of each kind may strike. Budgets keep the state
//! space finite and make "holds under one pause" a precise statement.

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
    /// A grant's reply is held in flight and delivered late, after the lease
    /// it grants may have run out.
    Delay,
    /// A client stops for good, holding the lock or not.
    Crash,
    /// Redis crashes and restarts without persistence: it forgets its keys
    /// (the lock and the fencing counter). The protected resource is
    /// another system and keeps its state.
    Restart,
}

impl Fault {
    /// Every fault this model knows, in the order tables list them.
    pub const ALL: [Fault; 4] = [Fault::Pause, Fault::Delay, Fault::Crash, Fault::Restart];

    /// The fault's name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Pause => "pause",
            Fault::Delay => "delay",
            Fault::Crash => "crash",
            Fault::Restart => "restart",
        }
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
    #[error("unknown fault `{0}`; known faults: pause, delay, crash, restart (or `none`), each optionally `=N` for a budget of N")]
    Unknown(String),
    /// A budget that is not a number in range.
    #[error("bad budget in `{0}`: give a number from 1 to {MAX_BUDGET}, e.g. `pause=2`")]
    BadBudget(String),
}

/// How many faults of each kind a scenario allows. The default allows none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Faults {
    /// Client pauses allowed.
    pub pause: u8,
    /// Delayed grant replies allowed.
    pub delay: u8,
    /// Client crashes allowed.
    pub crash: u8,
    /// Redis crash-restarts allowed.
    pub restart: u8,
}

impl Faults {
    /// No faults at all.
    pub const NONE: Faults = Faults {
        pause: 0,
        delay: 0,
        crash: 0,
        restart: 0,
    };

    /// A budget of one fault of the given kind.
    pub fn one(fault: Fault) -> Faults {
        Faults::NONE.with(fault, 1)
    }

    /// This budget, with `fault` allowed `n` times.
    pub fn with(mut self, fault: Fault, n: u8) -> Faults {
        *self.slot(fault) = n;
        self
    }

    /// How many faults of this kind are allowed.
    pub fn budget(self, fault: Fault) -> u8 {
        match fault {
            Fault::Pause => self.pause,
            Fault::Delay => self.delay,
            Fault::Crash => self.crash,
            Fault::Restart => self.restart,
        }
    }

    fn slot(&mut self, fault: Fault) -> &mut u8 {
        match fault {
            Fault::Pause => &mut self.pause,
            Fault::Delay => &mut self.delay,
            Fault::Crash => &mut self.crash,
            Fault::Restart => &mut self.restart,
        }
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

    /// The fault sets of the default verdict matrix: none, then each fault
    /// alone with a budget of one.
    pub fn default_sets() -> Vec<Faults> {
        std::iter::once(Faults::NONE)
            .chain(Fault::ALL.into_iter().map(Faults::one))
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
        let mut faults = Faults::NONE;
        for part in s.split([',', '+']).map(str::trim) {
            if part == "none" {
                continue;
            }
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
            faults = faults.with(fault, budget);
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
    }

    #[test]
    fn refuses_unknown_names_and_bad_budgets() {
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
    }
}
