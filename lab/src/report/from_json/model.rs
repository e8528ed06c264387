//! A model path — a counterexample, a witness, a shrunk chaos schedule —
//! as a diagram: one row per step, told in the model's words, each step
//! marked with the properties the model says it breaks.

use locklab_model::{
    ClientFault, ClientOp, NarratedStep, NodeFault, PropertyName, Reply, Scenario, Step,
};

use super::bars::{bars, client_order, lanes, spans, After};
use crate::report::diagram::{BarEnd, Call, Clock, Diagram, Divider, Mark, Row, Tone};

/// A command shortened to fit an arrow: `EVALSHA acquire-fenced 2 lock
/// lock:fence <c1's token> <3 ticks>` → `acquire-fenced lock <token> 3
/// ticks`. The full command is in the story.
fn short_command(command: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in command.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c == ' ' && depth == 0 {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    let words: Vec<String> = words
        .into_iter()
        .map(|w| {
            if w.ends_with("'s token>") {
                "<token>".to_owned()
            } else if w.ends_with("'s data>") {
                "<data>".to_owned()
            } else if w.starts_with('<') && w.ends_with(" ticks>") {
                w.trim_matches(['<', '>']).to_owned()
            } else {
                w
            }
        })
        .collect();
    match words.as_slice() {
        [evalsha, name, numkeys, rest @ ..] if evalsha == "EVALSHA" => {
            let keys = numkeys.parse::<usize>().unwrap_or(0).min(rest.len());
            let mut out = vec![name.clone()];
            out.extend(rest.first().filter(|_| keys > 0).cloned());
            out.extend(rest[keys..].iter().cloned());
            out.join(" ")
        }
        _ => words.join(" "),
    }
}

/// The lock key and the believers after a step, in words.
fn model_state(step: &NarratedStep) -> String {
    let key = match &step.key {
        None => "lock: absent".to_owned(),
        Some(k) => {
            let fence = k.fence.map(|f| format!(", fence {f}")).unwrap_or_default();
            let s = if k.ticks_left == 1 { "" } else { "s" };
            format!("lock: {}'s{fence}, {} tick{s} left", k.owner, k.ticks_left)
        }
    };
    let holders = if step.holders.is_empty() {
        "nobody".to_owned()
    } else {
        step.holders.join(", ")
    };
    format!("{key} · believe they hold it: {holders}")
}

/// The safety properties each step newly breaks, as the model judges the
/// state after it (so the marks are the model's, not the drawing's).
fn model_breaks(scenario: &Scenario, steps: &[Step]) -> Vec<Vec<String>> {
    let script = locklab_model::path::script(*scenario, steps);
    let mut before: &[PropertyName] = &[];
    script
        .steps
        .iter()
        .map(|s| {
            let new = s
                .broken
                .iter()
                .filter(|p| !before.contains(p))
                .map(|p| p.name().to_owned())
                .collect();
            before = &s.broken;
            new
        })
        .collect()
}

/// A model path of `scenario` (and what it leads to) as a diagram; each
/// step is marked with the properties it breaks.
pub fn model_diagram(
    title: &str,
    subtitle: &str,
    scenario: &Scenario,
    path: &[NarratedStep],
    aftermath: &[NarratedStep],
) -> Diagram {
    let all: Vec<&NarratedStep> = path.iter().chain(aftermath).collect();
    let breaks = model_breaks(scenario, &all.iter().map(|s| s.step).collect::<Vec<_>>());
    let names = client_order(all.iter().flat_map(|s| {
        s.step
            .client()
            .map(|c| c.to_string())
            .into_iter()
            .chain(s.holders.iter().cloned())
            .chain(s.key.iter().map(|k| k.owner.clone()))
    }));
    let resource = all
        .iter()
        .any(|s| s.step.call().is_some_and(|c| c.op.carries_data()));
    let lanes = lanes(&names, resource);
    let lane_of = |name: &str| names.iter().position(|n| n == name);
    let server = names.len();
    let resource_lane = server + 1;
    let mut rows = Vec::new();
    let mut afters = Vec::new();
    let mut ends = Vec::new();
    for (i, s) in all.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| all[p]);
        let prev_owner = prev.and_then(|p| p.key.as_ref()).map(|k| k.owner.as_str());
        let client = s.step.client().map(|c| c.to_string());
        let actor_name = client.as_deref();
        let actor = match s.step {
            Step::Tick => None,
            Step::Node {
                fault: NodeFault::Restart | NodeFault::Failover,
                ..
            }
            | Step::Replicate { .. }
            | Step::Fsync => Some(server),
            _ => actor_name.and_then(lane_of),
        };
        let mark = match s.step {
            Step::Deliver { .. } => Mark::Deliver,
            Step::Replicate { .. }
            | Step::Node {
                fault: NodeFault::Failover,
                ..
            } => Mark::Note,
            Step::Tick => Mark::Tick,
            Step::Client { fault, .. } => match fault {
                ClientFault::Pause => Mark::Pause,
                ClientFault::Resume => Mark::Resume,
                ClientFault::Crash => Mark::Crash,
                ClientFault::Stall | ClientFault::Wake => Mark::Note,
            },
            Step::Node {
                fault: NodeFault::Restart,
                ..
            } => Mark::Restart,
            // A client's operation sends a command; the rest (the
            // environment's, a node's) are drawn as notes.
            Step::Op { .. } => Mark::Call,
            _ => Mark::Note,
        };
        let breaks_here = breaks.get(i).cloned().unwrap_or_default();
        let mut calls = Vec::new();
        if let (Mark::Call, Some(command)) = (mark, &s.command) {
            let reply = s.reply.clone();
            let op = s.step.call().map(|c| c.op);
            let (to, tone) = match op {
                Some(op) if op.carries_data() => {
                    let tone = if reply.as_deref() == Some("refused") {
                        Tone::Good
                    } else if breaks_here
                        .iter()
                        .any(|b| b == PropertyName::FencedResource.name())
                    {
                        Tone::Bad
                    } else {
                        Tone::Plain
                    };
                    (resource_lane, tone)
                }
                Some(ClientOp::Release) => {
                    let foreign = prev_owner.is_some_and(|o| Some(o) != actor_name);
                    let tone = match (reply.as_deref(), foreign) {
                        (Some("1"), true) => Tone::Bad,
                        (Some("0"), true) => Tone::Good,
                        _ => Tone::Plain,
                    };
                    (server, tone)
                }
                _ => {
                    let ignored = reply.as_deref() == Some("(nil)")
                        && actor_name.is_some_and(|c| s.holders.iter().any(|h| h == c));
                    (server, if ignored { Tone::Bad } else { Tone::Plain })
                }
            };
            let held = match s.step {
                Step::Op {
                    client,
                    reply: Reply::Held,
                    ..
                } => Some(client),
                _ => None,
            };
            let reply_row = held.and_then(|client| {
                all[i + 1..]
                    .iter()
                    .position(|x| x.step == Step::Deliver { client })
                    .map(|p| i + 1 + p)
            });
            let held = held.is_some();
            calls.push(Call {
                to,
                label: short_command(command),
                reply: if held && reply_row.is_none() {
                    None
                } else {
                    reply
                },
                reply_row,
                tone,
            });
        }
        rows.push(Row {
            n: s.n,
            at_us: None,
            actor,
            mark,
            calls,
            says: s.says.clone(),
            command: s.command.as_ref().map(|c| match &s.reply {
                Some(r) => format!("{c} → {r}"),
                None => c.clone(),
            }),
            state: Some(model_state(s)),
            breaks: breaks_here,
        });
        afters.push(After {
            lease: s.key.as_ref().and_then(|k| {
                let owner = lane_of(&k.owner)?;
                let label = match k.fence {
                    Some(f) => format!("{} · fence {f}", k.owner),
                    None => k.owner.clone(),
                };
                let ttl = all
                    .iter()
                    .filter_map(|x| x.key.as_ref().map(|k| k.ticks_left))
                    .max()
                    .unwrap_or(1)
                    .max(1);
                Some((owner, label, f64::from(k.ticks_left) / f64::from(ttl)))
            }),
            believers: s
                .holders
                .iter()
                .filter_map(|h| {
                    let own = s.key.as_ref().is_some_and(|k| &k.owner == h);
                    lane_of(h).map(|l| (l, own))
                })
                .collect(),
        });
        ends.push(match s.step {
            Step::Tick => BarEnd::Expired,
            Step::Node {
                fault: NodeFault::Restart,
                ..
            } => BarEnd::Lost,
            Step::Op {
                op: ClientOp::Release,
                ..
            } if prev_owner.is_some_and(|o| Some(o) != actor_name) => BarEnd::Removed,
            _ => BarEnd::Released,
        });
    }
    let marks: Vec<(Mark, Option<usize>)> = rows.iter().map(|r| (r.mark, r.actor)).collect();
    Diagram {
        title: title.to_owned(),
        subtitle: subtitle.to_owned(),
        clock: Clock::Steps,
        bars: bars(&afters, server, &ends),
        spans: spans(&marks),
        dividers: if aftermath.is_empty() {
            Vec::new()
        } else {
            vec![Divider {
                before: path.len(),
                label: "and what it lets happen next".into(),
            }]
        },
        lanes,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_shortened_for_arrows() {
        assert_eq!(
            short_command("EVALSHA acquire-fenced 2 lock lock:fence <c1's token> <3 ticks>"),
            "acquire-fenced lock <token> 3 ticks"
        );
        assert_eq!(
            short_command("EVALSHA compare-and-delete 1 lock <c2's token>"),
            "compare-and-delete lock <token>"
        );
        assert_eq!(
            short_command("SET lock 1 NX PX <3 ticks>"),
            "SET lock 1 NX PX 3 ticks"
        );
        assert_eq!(short_command("DEL lock"), "DEL lock");
    }
}
