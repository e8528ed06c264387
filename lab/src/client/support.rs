//! [`Support`]: which operations a client can do at all, learned by asking
//! it once before a run.
//!
//! Every client acquires, writes and releases; the retry fault needs two
//! operations more (a request whose reply is lost, then the same request
//! sent again), which a library without a way to re-send a request cannot
//! do. A client says so with a *definite* error (nothing happened), and the
//! lab then skips the fault cells and schedules that need the operation,
//! with a note naming it — a client that cannot be put through a fault is
//! not one that disagrees with the model under it.

use std::collections::BTreeMap;

use locklab_model::{Call, ClientOp, Fault, Faults, Reply, Step};
use serde::Serialize;

use super::LabClient;

/// The operations the lab asks about: those not every client has.
pub const PROBED: [Call; 2] = [
    Call {
        op: ClientOp::Acquire,
        reply: Reply::Lost,
    },
    Call {
        op: ClientOp::Acquire,
        reply: Reply::Resent,
    },
];

/// What a client cannot do, with what it answered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Support {
    /// Each operation the client refused definitely, with its error line.
    pub cannot: BTreeMap<Call, String>,
    /// Why it cannot follow a Sentinel failover, if it cannot (a worker
    /// whose `ready` did not say it follows one): the lab then keeps it
    /// off the scenarios with replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stays_on_one_server: Option<String>,
}

/// The operations a fault needs beyond acquire, write and release.
pub fn fault_ops(fault: Fault) -> &'static [Call] {
    match fault {
        Fault::Retry => &PROBED,
        _ => &[],
    }
}

/// The operations a step performs.
pub fn step_ops(step: Step) -> &'static [Call] {
    match step.call() {
        Some(call) if PROBED.contains(&call) => &PROBED,
        _ => &[],
    }
}

impl Support {
    /// Asks `client`, on a free lock it may take: each probed operation in
    /// turn (a lost acquire, then its resend). Only a definite error says
    /// it cannot; anything else — a grant, busy, an error that may have
    /// happened — says it can. The client may hold the lock afterwards:
    /// drop it, or reset it, and delete its keys.
    pub async fn probe(client: &mut dyn LabClient) -> Support {
        let mut cannot = BTreeMap::new();
        for call in PROBED {
            if let Err(e) = client.perform(call, "").await {
                if e.definite {
                    cannot.insert(call, e.message);
                }
            }
        }
        Support {
            cannot,
            stays_on_one_server: None,
        }
    }

    /// Why a scenario under `faults` cannot be played on this client, if
    /// it cannot: the first fault it cannot be put through.
    pub fn lacks_for_faults(&self, faults: Faults) -> Option<String> {
        faults.kinds().into_iter().find_map(|fault| {
            self.lacking(fault_ops(fault)).map(|(op, said)| {
                format!("{fault} needs `{op}`, which the lock cannot do ({said})")
            })
        })
    }

    /// Why a scenario with replicas (a Sentinel set, which may fail over)
    /// cannot be played on this client, if it cannot.
    pub fn lacks_for_replicas(&self, replicas: u8) -> Option<&str> {
        self.stays_on_one_server.as_deref().filter(|_| replicas > 0)
    }

    /// Why `steps` cannot be played on this client, if they cannot.
    pub fn lacks_for_steps(&self, steps: &[Step]) -> Option<String> {
        steps.iter().find_map(|&step| {
            self.lacking(step_ops(step)).map(|(op, said)| {
                format!(
                    "its `{}` step needs `{op}`, which the lock cannot do ({said})",
                    step.kind()
                )
            })
        })
    }

    fn lacking(&self, ops: &[Call]) -> Option<(Call, &str)> {
        ops.iter()
            .find_map(|op| self.cannot.get(op).map(|said| (*op, said.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_without_resends_is_kept_out_of_retry_only() {
        let support = Support {
            cannot: BTreeMap::from([(PROBED[0], "no such op".to_owned())]),
            stays_on_one_server: None,
        };
        let retry: Faults = "retry".parse().unwrap();
        let why = support.lacks_for_faults(retry).unwrap();
        assert!(
            why.contains("retry") && why.contains("acquire-lost"),
            "{why}"
        );
        assert_eq!(support.lacks_for_faults("pause".parse().unwrap()), None);
        assert_eq!(Support::default().lacks_for_faults(retry), None);
        let steps: Vec<Step> =
            locklab_model::step::parse_schedule("acquire c1; acquire-resent c2").unwrap();
        assert!(support.lacks_for_steps(&steps).is_some());
        assert_eq!(support.lacks_for_steps(&steps[..1]), None);
        assert_eq!(support.lacks_for_replicas(1), None);
    }

    #[test]
    fn a_client_that_stays_on_one_server_is_kept_off_replicas_only() {
        let support = Support {
            stays_on_one_server: Some("it said nothing".to_owned()),
            ..Support::default()
        };
        assert_eq!(support.lacks_for_replicas(0), None);
        assert_eq!(support.lacks_for_replicas(2), Some("it said nothing"));
    }
}
