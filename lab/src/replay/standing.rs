//! Whether a played run can be judged, and when it cannot, why.
//!
//! A run is compared with the model step by step, and three things can
//! stop that comparison. They ask different things of the user, so they
//! are never folded into one another:
//!
//! - the lock **diverged**: at some step it (or Redis) did what the model
//!   cannot do there — a grant the model refuses, a refusal of a grant the
//!   model gives, a key that is not where the model puts it. The run *is*
//!   judged: model and Redis disagree (exit 1), also when the lock is safer
//!   than its model;
//! - a worker **died**: the lock's process exited without the lab killing
//!   it. Nothing after that step describes the lock, so the run is not
//!   judged; the user needs its stderr;
//! - the run was **late**: the machine fell behind the ticks before
//!   anything diverged, so the timing the model assumes did not hold. Not
//!   judged; a longer tick may help.
//!
//! Which came first decides: a step that overran its tick explains a
//! divergence at that step or later (a lease can run out early on a slow
//! machine), never one before it. A death is named whatever the timing.

use std::fmt;
use std::time::Duration;

use locklab_model::ClientOp;
use serde::Serialize;

/// The lock or Redis did what the model cannot do at this step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// The step, 1-based.
    pub step: usize,
    /// The step as a schedule writes it (`acquire c1`).
    pub played: String,
    /// What the model says and what happened instead.
    pub what: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {} ({}): {}", self.step, self.played, self.what)
    }
}

/// A worker process that exited while the lab did not kill it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Death {
    /// The step at which the lab found it gone, 1-based.
    pub step: usize,
    /// The step as a schedule writes it.
    pub played: String,
    /// The client (`c1`).
    pub client: String,
    /// The operation it was asked for, if the step asked one.
    pub op: Option<ClientOp>,
    /// What the lab got instead of a reply (the exit, as the worker
    /// handle saw it).
    pub reply: String,
    /// The last lines the worker wrote to stderr.
    pub stderr_tail: String,
}

impl fmt::Display for Death {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step {} ({}): worker {} died",
            self.step, self.played, self.client
        )?;
        if let Some(op) = self.op {
            write!(f, " on `{op}`")?;
        }
        write!(f, ": {}", self.reply)
    }
}

/// A step the machine played later than its tick allows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Overrun {
    /// The step, 1-based.
    pub step: usize,
    /// The step as a schedule writes it.
    pub played: String,
    /// How far past the end of its tick it ended (or the lab looked).
    #[serde(rename = "by_ms", serialize_with = "millis")]
    pub by: Duration,
    /// The tick it was played at.
    #[serde(rename = "tick_ms", serialize_with = "millis")]
    pub tick: Duration,
    /// What ran late: the step itself, or the lab's look at a key.
    pub what: Lateness,
}

/// What ran past its tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Lateness {
    /// The step ended after the tick the model is in.
    Step,
    /// The lab looked for a key only after its lease had run out.
    Look {
        /// The key, in words (`the lock key`).
        key: &'static str,
    },
    /// The step ended after a renewing holder's own deadline could have
    /// passed, where the model's had not.
    Deadline {
        /// The holder's number (`c1` is 1).
        holder: usize,
    },
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e4).round() / 10.0)
}

impl fmt::Display for Overrun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by = self.by.as_secs_f64() * 1000.0;
        let tick = self.tick.as_millis();
        match self.what {
            Lateness::Step => write!(
                f,
                "step {} ({}) ended {by:.1} ms past its tick (1 tick = {tick} ms)",
                self.step, self.played
            ),
            Lateness::Look { key } => write!(
                f,
                "step {} ({}): the lab looked for {key} {by:.1} ms after its lease had run out (1 tick = {tick} ms)",
                self.step, self.played
            ),
            Lateness::Deadline { holder } => write!(
                f,
                "step {} ({}) ended {by:.1} ms after c{holder}'s own deadline could have passed (1 tick = {tick} ms)",
                self.step, self.played
            ),
        }
    }
}

/// How a played run stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "standing", rename_all = "kebab-case")]
pub enum Standing {
    /// On time, and every step did what the model says: judged.
    OnModel,
    /// Judged: model and Redis disagree from this step on.
    Diverged(Divergence),
    /// Not judged: the lock's worker died.
    Died(Death),
    /// Not judged: the machine fell behind first.
    Late(Overrun),
}

impl Standing {
    /// What the conductor saw, in the order that decides (see the module
    /// docs).
    pub fn of(
        divergence: Option<Divergence>,
        overrun: Option<Overrun>,
        death: Option<Death>,
    ) -> Standing {
        if let Some(death) = death {
            return Standing::Died(death);
        }
        match (divergence, overrun) {
            (Some(d), Some(o)) if o.step <= d.step => Standing::Late(o),
            (Some(d), _) => Standing::Diverged(d),
            (None, Some(o)) => Standing::Late(o),
            (None, None) => Standing::OnModel,
        }
    }

    /// Whether the run's history says anything about the lock.
    pub fn judged(&self) -> bool {
        matches!(self, Standing::OnModel | Standing::Diverged(_))
    }

    /// The divergence, if the run diverged.
    pub fn divergence(&self) -> Option<&Divergence> {
        match self {
            Standing::Diverged(d) => Some(d),
            _ => None,
        }
    }

    /// The overrun, if the run was late.
    pub fn overrun(&self) -> Option<&Overrun> {
        match self {
            Standing::Late(o) => Some(o),
            _ => None,
        }
    }

    /// The death, if a worker died.
    pub fn death(&self) -> Option<&Death> {
        match self {
            Standing::Died(d) => Some(d),
            _ => None,
        }
    }

    /// Why the run is not judged, in one line; `None` when it is.
    pub fn not_judged(&self) -> Option<String> {
        match self {
            Standing::OnModel | Standing::Diverged(_) => None,
            Standing::Died(d) => Some(d.to_string()),
            Standing::Late(o) => Some(format!("late: {o}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn divergence(step: usize) -> Divergence {
        Divergence {
            step,
            played: "acquire c2".into(),
            what: "the model says busy, Redis said granted".into(),
        }
    }

    fn overrun(step: usize) -> Overrun {
        Overrun {
            step,
            played: "tick".into(),
            by: Duration::from_micros(12_340),
            tick: Duration::from_millis(25),
            what: Lateness::Step,
        }
    }

    #[test]
    fn the_first_of_a_divergence_and_an_overrun_decides() {
        let late_first = Standing::of(Some(divergence(5)), Some(overrun(3)), None);
        assert_eq!(late_first, Standing::Late(overrun(3)));
        let same_step = Standing::of(Some(divergence(3)), Some(overrun(3)), None);
        assert!(!same_step.judged(), "a late step explains its own reply");
        let diverged_first = Standing::of(Some(divergence(2)), Some(overrun(3)), None);
        assert_eq!(diverged_first, Standing::Diverged(divergence(2)));
        assert!(diverged_first.judged());
    }

    #[test]
    fn a_death_is_named_whatever_the_timing() {
        let death = Death {
            step: 1,
            played: "acquire c1".into(),
            client: "c1".into(),
            op: Some(ClientOp::Acquire),
            reply: "exited (exit status: 3)".into(),
            stderr_tail: "boom\n".into(),
        };
        let s = Standing::of(Some(divergence(1)), Some(overrun(1)), Some(death.clone()));
        assert_eq!(s, Standing::Died(death));
        assert_eq!(
            s.not_judged().as_deref(),
            Some("step 1 (acquire c1): worker c1 died on `acquire`: exited (exit status: 3)")
        );
    }

    #[test]
    fn an_overrun_says_which_step_and_by_how_much() {
        assert_eq!(
            overrun(4).to_string(),
            "step 4 (tick) ended 12.3 ms past its tick (1 tick = 25 ms)"
        );
    }
}
