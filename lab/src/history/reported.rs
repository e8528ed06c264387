//! A worker's own reports in the history: the renewals its library made on
//! its own timer and the losses it told its caller (version 2's event
//! lines), recorded as the renewal contract of [`super::event`] says —
//! a renewal as a `renew` call, a loss as [`Op::Lost`] — so that the
//! checker judges them as it judges the lab's own watchdog.
//!
//! An event is placed when the lab read it: after everything recorded
//! before. The worker wrote it before the reply the lab read with it, so
//! it happened no later than that; the order is what the lab can vouch for.

use std::time::Instant;

use locklab_model::ClientOp;

use super::event::{Op, Recorder};
use crate::client::OpError;
use crate::worker::event::WorkerEvent;

impl Recorder {
    /// Records `event`, which `client`'s worker reported and the lab read at
    /// `read`.
    pub fn reported(&mut self, client: &str, read: Instant, event: &WorkerEvent) {
        let last = self.events().last().map_or(0, |e| e.start_us);
        let at = self.us_of(read).max(last);
        match event {
            WorkerEvent::Renewal { ok, token, err } => {
                let i = self.invoke(client, Op::call(ClientOp::Renew));
                let result = match (ok, err) {
                    (Some(found), _) => Ok(found.outcome()),
                    (None, err) => Err(OpError::indefinite(
                        err.clone().unwrap_or_else(|| "the renewal failed".into()),
                    )),
                };
                self.complete(i, result);
                self.extends(i, token.clone());
                self.place(i, at);
                self.by_timer(i);
            }
            WorkerEvent::Lost { said } => {
                let e = self.instant(client, Op::Lost);
                e.said = said.clone();
                e.start_us = at;
                e.end_us = Some(at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{check, renewal};
    use crate::worker::event::Renewed;
    use locklab_model::PropertyName;
    use locklab_model::{Outcome, Verdict};

    fn granted(rec: &mut Recorder, client: &str, token: &str) {
        let i = rec.invoke(client, Op::call(ClientOp::Acquire));
        rec.complete(
            i,
            Ok(Outcome::Granted {
                token: Some(token.into()),
                fence: None,
                count: None,
            }),
        );
    }

    #[test]
    fn a_reported_renewal_of_another_clients_key_is_a_foreign_extension() {
        let mut rec = Recorder::new();
        granted(&mut rec, "c1", "t1");
        granted(&mut rec, "c2", "t2");
        let renewal = WorkerEvent::Renewal {
            ok: Some(Renewed::Renewed),
            token: Some("t2".into()),
            err: None,
        };
        rec.reported("c1", Instant::now(), &renewal);
        let finding = renewal::no_foreign_extension(&rec.finish());
        assert_eq!(finding.verdict, Verdict::Violated, "{finding:?}");
        let says = finding.says.unwrap_or_default();
        assert!(says.contains("c1's renewal"), "{says}");
    }

    #[test]
    fn a_reported_loss_tells_the_holder() {
        let mut rec = Recorder::new();
        granted(&mut rec, "c1", "t1");
        granted(&mut rec, "c2", "t2");
        rec.reported("c1", Instant::now(), &WorkerEvent::Lost { said: None });
        let w = rec.invoke("c1", Op::call(ClientOp::Write));
        rec.complete(w, Ok(Outcome::Accepted));
        let history = rec.finish();
        assert_eq!(history.events[2].op, Op::Lost);
        let told = check(&history, &[PropertyName::LossTold]);
        assert_eq!(told[0].verdict, Verdict::Holds, "{told:?}");
    }

    #[test]
    fn a_reported_renewal_that_found_nothing_tells_the_caller_nothing() {
        // python-redis-lock's renewal thread finds the key gone and tells
        // its caller nothing: the write that follows breaks loss-told.
        let mut rec = Recorder::new();
        granted(&mut rec, "c1", "t1");
        rec.instant("lab", Op::Restart);
        let renewal = WorkerEvent::Renewal {
            ok: Some(Renewed::NotHeld),
            token: Some("t1".into()),
            err: None,
        };
        rec.reported("c1", Instant::now(), &renewal);
        let w = rec.invoke("c1", Op::call(ClientOp::Write));
        rec.complete(w, Ok(Outcome::Accepted));
        let told = check(&rec.finish(), &[PropertyName::LossTold]);
        assert_eq!(told[0].verdict, Verdict::Violated, "{told:?}");
    }
}
