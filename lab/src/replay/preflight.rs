//! Before a run on a lock of the user's (`--lock`, `--lock-cmd`): one
//! client started as the run starts its clients, pinged, asked which
//! operations it cannot do and whether it follows a failover
//! ([`Support`]), and let go — so that a client
//! that cannot even start is one line before any schedule is played, and
//! the cells that need an operation it lacks are skipped with a note
//! rather than played into a divergence.
//!
//! What a protocol needs is asked of its model, not of its name: the
//! operations its clients perform on a path the model allows
//! ([`needed_ops`]). A lock that answers one of them with a definite error
//! cannot stand in for that protocol (a lock played as a sync pattern has
//! no `read`), which is bad input, not a disagreement.

use locklab_impl::{LockKey, ResourceKey, Ttl};
use locklab_model::path::walker;
use locklab_model::{Call, ClientOp, Scenario};

use super::seat::{Seat, SeatSpec};
use super::stage::Stage;
use super::topology::socket_addr;
use crate::client::{error_line, Support};

/// Operations every lock client has: the worker protocol requires them,
/// and probing a release without a grant would get a definite error from
/// any lock.
const REQUIRED: [Call; 3] = [
    Call::now(ClientOp::Acquire),
    Call::now(ClientOp::Write),
    Call::now(ClientOp::Release),
];

/// Steps walked, at most, to learn a scenario's operations.
const WALK: usize = 64;

/// The operations the clients of `scenario` perform, as its model walks a
/// path: at each state the first enabled step of a client, if any, else
/// the first step (a tick, the environment's). Beyond those every client
/// has ([`REQUIRED`]).
pub fn needed_ops(scenario: Scenario) -> Vec<Call> {
    let walker = walker(scenario);
    let mut path = Vec::new();
    let mut ops = Vec::new();
    while path.len() < WALK {
        let Some(enabled) = walker.enabled(&path) else {
            break;
        };
        let Some(&step) = enabled
            .iter()
            .find(|s| s.client().is_some() && s.call().is_some())
            .or(enabled.first())
        else {
            break;
        };
        if let (Some(_), Some(op)) = (step.client(), step.call()) {
            if !REQUIRED.contains(&op) && !ops.contains(&op) {
                ops.push(op);
            }
        }
        path.push(step);
    }
    ops
}

/// The operations the clients of any of `scenarios` perform, each once
/// ([`needed_ops`]).
pub fn needed_ops_of(scenarios: &[Scenario]) -> Vec<Call> {
    let mut ops = Vec::new();
    for op in scenarios.iter().flat_map(|s| needed_ops(*s)) {
        if !ops.contains(&op) {
            ops.push(op);
        }
    }
    ops
}

/// Why the lock `support` describes cannot play `scenario`'s protocol,
/// if it cannot: the first operation its model needs that the lock
/// refused.
pub fn lacks_for_protocol(support: &Support, scenario: Scenario) -> Option<String> {
    needed_ops(scenario).into_iter().find_map(|op| {
        support.cannot.get(&op).map(|said| {
            format!(
                "{} needs `{}`, which the lock cannot do ({said})",
                scenario.protocol,
                op.name()
            )
        })
    })
}

/// Starts one client of `lock` as `stage` would, pings it and probes it:
/// the operations every probe asks ([`Support::probe`]), then each of
/// `ops` beyond those every lock has. Its keys are deleted afterwards.
/// `Err`: one line saying why the client cannot be used at all.
pub async fn preflight(stage: &Stage, lock: &str, ops: &[Call]) -> Result<Support, String> {
    let base = format!("{}:preflight", stage.keys.prefix());
    let lock_key = LockKey::new(format!("{base}:lock")).map_err(|e| error_line(&e))?;
    let resource_key = ResourceKey::new(format!("{base}:resource")).map_err(|e| error_line(&e))?;
    let ttl = Ttl::new(stage.tick * 3).map_err(|e| error_line(&e))?;
    // Every lock node the stage has: a quorum lock's operations on master
    // n (`ask`) can only be probed with its masters.
    let urls = stage.node_urls();
    let addrs = urls
        .iter()
        .map(|url| socket_addr(url).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seat = Seat::open(
        &stage.clients,
        SeatSpec {
            name: "c1".to_owned(),
            lock,
            lock_urls: &urls,
            lock_addrs: &addrs,
            resource_url: &stage.url,
            lock_key: &lock_key,
            resource_key: &resource_key,
            ttl,
            connect: &stage.connect,
            redlock: None,
        },
    )
    .await?;
    let stays_on_one_server = seat.stays_on_one_server();
    let probed = match seat.client() {
        Some(client) => match client.ping().await {
            Ok(()) => {
                let mut support = Support {
                    stays_on_one_server,
                    ..Support::probe(client).await
                };
                for &op in ops.iter().filter(|op| !REQUIRED.contains(op)) {
                    if let Err(e) = client.perform(op, "").await {
                        if e.definite {
                            support.cannot.insert(op, e.message);
                        }
                    }
                }
                Ok(support)
            }
            Err(e) => Err(format!("a ping failed: {e}")),
        },
        None => Err("no client".to_owned()),
    };
    seat.close().await;
    for url in &urls {
        if let Ok(conn) = locklab_impl::connect(url, &stage.connect).await {
            let _ = stage.keys.delete(&conn, &format!("{base}:*")).await;
        }
    }
    probed
}
