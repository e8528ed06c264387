//! The renewal properties on a recorded history, read from the events of
//! the contract in [`super::event`]: renewals (a `renew` call with the
//! token of the key it extended) and loss notifications (`lost`).
//!
//! - `no-foreign-extension`: a renewal that extended a key (`renewed`)
//!   extended the renewer's own. The key's token, when the event carries
//!   it, says whose key it was; when it does not (a worker that cannot
//!   tell), the history's latest grant before the renewal does: another
//!   client's grant, not released since, is the key the renewal found.
//! - `loss-told`: a holder whose lease was lost learns it at or before its
//!   next operation. A hold is *lost* on sure evidence only — another
//!   client granted the lock, the lab saw the key gone or restarted Redis,
//!   or a renewal found the key gone and created it again (`reacquired`);
//!   it is *told* by a `lost` event, a renewal that found nothing of its
//!   own (`not-held`) made by the lab's watchdog (whose holder hears its
//!   outcome) — not one a worker reports its library made on its own
//!   timer, which tells the caller nothing unless a `lost` line follows —
//!   or an operation that says so (a write or acquire answered `lost`, a
//!   release answered `not-held`). A write, or a release
//!   that removed a key, by a holder lost and untold breaks it.
//!
//! Invocation order is execution order here, as for the other safety
//! properties (see [`super::checker`]).

use std::collections::HashMap;

use locklab_model::{ClientOp, Outcome, PropertyName};

use super::event::{Event, History, Op};
use super::finding::Finding;

fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

/// Whether `e` is a completed renewal that extended (or re-created) a key.
fn extended(e: &Event) -> bool {
    e.op.is_renewal()
        && e.end_us.is_some()
        && matches!(e.outcome, Some(Outcome::Renewed | Outcome::Reacquired))
}

/// The token of a grant (an acquire's, or a renewal's that created the
/// key again), if its client reported one.
fn grant_token(e: &Event) -> Option<&str> {
    match &e.outcome {
        Some(Outcome::Granted { token, .. }) => token.as_deref(),
        Some(Outcome::Reacquired) => e.token.as_deref(),
        _ => None,
    }
}

/// `no-foreign-extension`: no renewal extended a key another client held.
pub fn no_foreign_extension(history: &History) -> Finding {
    let property = PropertyName::NoForeignExtension;
    let events = &history.events;
    for (r, renewal) in events.iter().enumerate() {
        if !extended(renewal) || renewal.outcome == Some(Outcome::Reacquired) {
            continue;
        }
        let grants = |client: Option<&str>| {
            events[..r]
                .iter()
                .rposition(|e| e.is_grant() && client.is_none_or(|c| e.client == c))
        };
        let own = grants(Some(&renewal.client));
        let own_token = own.and_then(|g| grant_token(&events[g]));
        // `Some(holder)`: the renewal extended another client's key —
        // granted at `holder`, where the history shows that grant.
        let foreign: Option<Option<usize>> = match (renewal.token.as_deref(), own_token) {
            // The key's token says whose key it was.
            (Some(key), Some(mine)) if key != mine => Some(
                events[..r]
                    .iter()
                    .rposition(|e| grant_token(e) == Some(key)),
            ),
            (Some(_), Some(_)) => None,
            // Otherwise: the latest grant, if another client's and not
            // released since.
            _ => grants(None)
                .filter(|g| {
                    let holder = &events[*g];
                    holder.client != renewal.client
                        && !events[g + 1..r].iter().any(|e| {
                            e.client == holder.client
                                && e.op == Op::call(ClientOp::Release)
                                && e.outcome.as_ref().is_some_and(Outcome::removed_a_key)
                        })
                })
                .map(Some),
        };
        if let Some(holder) = foreign {
            let whose = holder.map_or("another client's".to_owned(), |h| {
                format!(
                    "{}'s (granted at {})",
                    events[h].client,
                    ms(events[h].start_us)
                )
            });
            let at = holder.into_iter().chain([r]).collect();
            return Finding::violated(
                property,
                at,
                format!(
                    "{}'s renewal at {} extended a lease that was {whose}, not its own",
                    renewal.client,
                    ms(renewal.start_us)
                ),
            );
        }
    }
    Finding::holds(property)
}

/// Where one client's hold stands, in a pass over the history.
#[derive(Clone, Copy, Debug)]
struct Hold {
    /// The event at which its lease was lost, untold.
    lost: Option<usize>,
}

/// Whether `e` tells its client that its lock is lost.
fn tells(e: &Event) -> bool {
    let said = |o: &Outcome| match e.op {
        Op::Call(call) => match call.op {
            ClientOp::Renew => *o == Outcome::NotHeld && !e.by_timer,
            ClientOp::Release => *o == Outcome::NotHeld,
            ClientOp::Write | ClientOp::Acquire => *o == Outcome::Lost,
            _ => false,
        },
        _ => false,
    };
    e.op == Op::Lost || (e.end_us.is_some() && e.outcome.as_ref().is_some_and(said))
}

/// `loss-told`: every holder whose lease was lost learned it at or before
/// its next operation.
pub fn loss_told(history: &History) -> Finding {
    let property = PropertyName::LossTold;
    let mut holds: HashMap<&str, Hold> = HashMap::new();
    for (i, e) in history.events.iter().enumerate() {
        let client = e.client.as_str();
        if tells(e) || e.op == Op::Crash {
            holds.remove(client);
            continue;
        }
        // Evidence that every other holder's lease is gone.
        let gone_for_all = matches!(e.op, Op::Restart | Op::Down)
            || (e.op == Op::Observed && e.present == Some(false));
        let taken = e.is_grant();
        if gone_for_all || taken {
            for (holder, hold) in holds.iter_mut() {
                if (gone_for_all || *holder != client) && hold.lost.is_none() {
                    hold.lost = Some(i);
                }
            }
        }
        if e.gives_belief() {
            holds.entry(client).or_insert(Hold { lost: None });
            continue;
        }
        if e.op.is_renewal() && e.outcome == Some(Outcome::Reacquired) {
            if let Some(hold) = holds.get_mut(client) {
                hold.lost.get_or_insert(i);
            }
            continue;
        }
        let acts = match e.op {
            Op::Call(call) => match call.op {
                ClientOp::Write => e.end_us.is_some() && e.error.is_none(),
                ClientOp::Release => e.outcome.as_ref().is_some_and(Outcome::removed_a_key),
                _ => false,
            },
            _ => false,
        };
        let released = matches!(e.op, Op::Call(c) if c.op == ClientOp::Release);
        if let Some(lost) = holds.get(client).and_then(|h| h.lost).filter(|_| acts) {
            let cause = &history.events[lost];
            let how = match cause.op {
                Op::Call(_) if cause.op.is_renewal() => {
                    "its renewal found the key gone and created it again".to_owned()
                }
                Op::Call(_) => format!("{} was granted the lock", cause.client),
                _ => "the lock key was gone from Redis".to_owned(),
            };
            return Finding::violated(
                property,
                vec![lost, i],
                format!(
                    "{client}'s {} at {} came after its lease was lost at {} ({how}), and it was never told",
                    e.op.name(),
                    ms(e.start_us),
                    ms(cause.start_us)
                ),
            );
        }
        if released {
            holds.remove(client);
        }
    }
    Finding::holds(property)
}

/// `someone-renews`: some renewal extended a lease.
pub fn someone_renews(history: &History) -> Finding {
    let property = PropertyName::SomeoneRenews;
    if history.events.iter().any(extended) {
        Finding::holds(property)
    } else {
        Finding::violated(property, vec![], "no renewal ever extended a lease".into())
    }
}
