//! The converters: each command's output ([`super::input`]) into what the
//! page shows ([`super::view`]) and into neutral [`Diagram`]s. This is the
//! one file that knows the commands' shapes; when a command's JSON changes
//! (a new protocol with more lanes, a new step or event), this file
//! changes and the drawing and the page do not.
//!
//! Two diagrams per schedule: the model's path, one row per step, and the
//! real run of the same schedule on Redis, one row per recorded moment with
//! its time in µs. Both derive the same bars — the lease on Redis's lane,
//! and on each client's lane whether it believes it holds the lock and
//! whether the key is still its own — so a reader sees the two agree.

use std::collections::BTreeMap;

use locklab_model::{
    Fault, Faults, Kind, LockModel, NarratedStep, PropertyName, Protocol, Scenario, Step, Verdict,
};

use super::diagram::{
    Bar, BarEnd, BarKind, Call, Clock, Diagram, Divider, Lane, LaneKind, Mark, Row, Span,
    SpanKind, Tone,
};
use super::input::{
    BenchOutput, ChaosCell, ChaosOutput, CheckOutput, CheckRow, Input, Inputs, ReplayRow,
    ReproduceOutput,
};
use super::text::{duration, micros, slug, utc};
use super::view::{
    BenchView, Card, CardKind, Cell, ChaosView, Evidence, Fact, FactTone, FixPlay, Made,
    Matrix, MatrixRow, ShrunkView, Table,
};
use crate::bench::svg::{Chart, Series};
use crate::history::{timeline, AcquireOutcome, Event, History, Op, ReleaseOutcome, WriteOutcome};
use crate::output::envelope::Envelope;

/// Everything the page shows, from whatever inputs were given.
pub fn evidence(inputs: &Inputs) -> Evidence {
    let check = inputs.check.as_ref().map(|i| &i.body);
    let reproduce = inputs.reproduce.as_ref().map(|i| &i.body);
    let chaos = inputs.chaos.as_ref().map(|i| &i.body);
    let cards = check.map(|c| cards(c, reproduce)).unwrap_or_default();
    Evidence {
        headline: headline(inputs),
        matrix: check.map(|c| matrix(c, &cards, chaos)),
        chaos: chaos.map(chaos_view),
        bench: inputs.bench.as_ref().map(|b| bench_view(&b.body)),
        made: made(inputs),
        cards,
    }
}

// ---------------------------------------------------------------------------
// The model's path as a diagram.

/// The lanes of a diagram with `clients` clients, one Redis and, when
/// anyone writes, the resource.
fn lanes(clients: &[String], resource: bool) -> Vec<Lane> {
    let mut lanes: Vec<Lane> = clients
        .iter()
        .map(|c| Lane {
            id: c.clone(),
            label: c.clone(),
            kind: LaneKind::Client,
        })
        .collect();
    lanes.push(Lane {
        id: "redis".into(),
        label: "Redis".into(),
        kind: LaneKind::Server,
    });
    if resource {
        lanes.push(Lane {
            id: "resource".into(),
            label: "resource".into(),
            kind: LaneKind::Resource,
        });
    }
    lanes
}

/// Client names in lane order: `c1, c2, …` by number, others after them.
fn client_order(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = names.into_iter().filter(|n| n != "lab").collect();
    let number = |n: &String| {
        n.strip_prefix('c')
            .and_then(|d| d.parse::<u32>().ok())
            .unwrap_or(u32::MAX)
    };
    names.sort_by(|a, b| number(a).cmp(&number(b)).then(a.cmp(b)));
    names.dedup();
    names
}

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

/// What one row leaves behind, for the bars.
#[derive(Clone, Debug, Default, PartialEq)]
struct After {
    /// The lease: owner lane, label, fraction left.
    lease: Option<(usize, String, f64)>,
    /// Client lanes that believe they hold the lock, and whether the key is
    /// their own.
    believers: Vec<(usize, bool)>,
}

/// Bars from the state after each row. `ends[j]` says how a lease that
/// stops at row `j` ended.
fn bars(afters: &[After], server: usize, ends: &[BarEnd]) -> Vec<Bar> {
    let last = afters.len().saturating_sub(1);
    let mut out = Vec::new();
    let mut i = 0;
    while i < afters.len() {
        if let Some((owner, label, _)) = &afters[i].lease {
            let mut j = i;
            let mut left = Vec::new();
            while j < afters.len() {
                match &afters[j].lease {
                    Some((o, l, f)) if o == owner && l == label => left.push(*f),
                    _ => break,
                }
                j += 1;
            }
            out.push(Bar {
                lane: server,
                from: i,
                to: j - 1,
                kind: BarKind::Lease,
                owner: *owner,
                label: label.clone(),
                left,
                end: if j - 1 == last {
                    BarEnd::Open
                } else {
                    ends.get(j).copied().unwrap_or(BarEnd::Released)
                },
            });
            i = j;
        } else {
            i += 1;
        }
    }
    let lanes: Vec<usize> = {
        let mut l: Vec<usize> = afters
            .iter()
            .flat_map(|a| a.believers.iter().map(|(c, _)| *c))
            .collect();
        l.sort_unstable();
        l.dedup();
        l
    };
    for lane in lanes {
        let state = |i: usize| {
            afters[i]
                .believers
                .iter()
                .find(|(c, _)| *c == lane)
                .map(|(_, own)| *own)
        };
        let mut i = 0;
        while i < afters.len() {
            let Some(own) = state(i) else {
                i += 1;
                continue;
            };
            let mut j = i;
            while j < afters.len() && state(j) == Some(own) {
                j += 1;
            }
            out.push(Bar {
                lane,
                from: i,
                to: j - 1,
                kind: if own { BarKind::Holds } else { BarKind::Stale },
                owner: lane,
                label: String::new(),
                left: Vec::new(),
                end: if j - 1 == last {
                    BarEnd::Open
                } else {
                    BarEnd::Released
                },
            });
            i = j;
        }
    }
    out
}

/// Spans from pause/resume and crash rows: `marks[i]` is row `i`'s mark and
/// lane.
fn spans(marks: &[(Mark, Option<usize>)]) -> Vec<Span> {
    let last = marks.len().saturating_sub(1);
    let mut out = Vec::new();
    for (i, (mark, lane)) in marks.iter().enumerate() {
        let Some(lane) = *lane else { continue };
        match mark {
            Mark::Pause => {
                let resume = marks[i + 1..]
                    .iter()
                    .position(|(m, l)| *m == Mark::Resume && *l == Some(lane))
                    .map(|p| i + p);
                out.push(Span {
                    lane,
                    from: i,
                    to: resume.unwrap_or(last),
                    kind: SpanKind::Paused,
                });
            }
            Mark::Crash => out.push(Span {
                lane,
                from: i,
                to: last,
                kind: SpanKind::Crashed,
            }),
            Mark::Restart => out.push(Span {
                lane,
                from: i,
                to: i,
                kind: SpanKind::Down,
            }),
            _ => {}
        }
    }
    out
}

/// The safety properties each step newly breaks, as the model judges the
/// state after it (so the marks are the model's, not the drawing's).
fn model_breaks(scenario: &Scenario, steps: &[Step]) -> Vec<Vec<String>> {
    let model = LockModel::new(*scenario);
    let states = model.walk(steps).states;
    let safety: Vec<PropertyName> = PropertyName::ALL
        .into_iter()
        .filter(|p| p.kind() == Kind::Always)
        .collect();
    let broken = |i: usize, p: PropertyName| {
        states
            .get(i)
            .is_some_and(|s| model.verdict_on(std::slice::from_ref(s), p) == Verdict::Violated)
    };
    (0..steps.len())
        .map(|i| {
            safety
                .iter()
                .filter(|&&p| broken(i + 1, p) && !broken(i, p))
                .map(|p| p.name().to_owned())
                .collect()
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
    let resource = all.iter().any(|s| matches!(s.step, Step::Write { .. }));
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
            Step::Restart => Some(server),
            _ => actor_name.and_then(lane_of),
        };
        let mark = match s.step {
            Step::Acquire { .. }
            | Step::AcquireDelayed { .. }
            | Step::Write { .. }
            | Step::Release { .. } => Mark::Call,
            Step::Deliver { .. } => Mark::Deliver,
            Step::Tick => Mark::Tick,
            Step::Pause { .. } => Mark::Pause,
            Step::Resume { .. } => Mark::Resume,
            Step::Crash { .. } => Mark::Crash,
            Step::Restart => Mark::Restart,
        };
        let breaks_here = breaks.get(i).cloned().unwrap_or_default();
        let mut calls = Vec::new();
        if let (Mark::Call, Some(command)) = (mark, &s.command) {
            let reply = s.reply.clone();
            let (to, tone) = match s.step {
                Step::Write { .. } => {
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
                Step::Release { .. } => {
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
            let reply_row = match s.step {
                Step::AcquireDelayed { client } => all[i + 1..]
                    .iter()
                    .position(|x| x.step == Step::Deliver { client })
                    .map(|p| i + 1 + p),
                _ => None,
            };
            let held = matches!(s.step, Step::AcquireDelayed { .. });
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
            Step::Restart => BarEnd::Lost,
            Step::Release { .. } if prev_owner.is_some_and(|o| Some(o) != actor_name) => {
                BarEnd::Removed
            }
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

// ---------------------------------------------------------------------------
// A real run as a diagram.

/// The short reply of an operation, for an arrow.
fn reply_word(op: &Op) -> Option<String> {
    Some(match op {
        Op::Acquire { outcome, fence, .. } => match outcome {
            AcquireOutcome::Granted => match fence {
                Some(f) => format!("granted · fence {f}"),
                None => "granted".into(),
            },
            AcquireOutcome::Busy => "busy".into(),
            AcquireOutcome::Believed => "refused (ignored)".into(),
            AcquireOutcome::Failed(_) => "failed".into(),
        },
        Op::Release { outcome } => match outcome {
            ReleaseOutcome::Released => "released".into(),
            ReleaseOutcome::Deleted => "removed a key".into(),
            ReleaseOutcome::NotHeld => "not held".into(),
            ReleaseOutcome::NothingToDelete => "no key".into(),
            ReleaseOutcome::Failed(_) => "failed".into(),
        },
        Op::Write { outcome, .. } => match outcome {
            WriteOutcome::Accepted => "accepted".into(),
            WriteOutcome::Refused { .. } => "refused".into(),
            WriteOutcome::Failed(_) => "failed".into(),
        },
        _ => return None,
    })
}

/// One row of a real run: an event's invocation, or the moment a reply
/// held in flight was read.
#[derive(Clone, Copy, Debug)]
enum Moment {
    Invoked,
    Replied,
}

/// A recorded history as a diagram on real time, its breaking rows marked
/// by the history checker; `lease_us` is the lease in real time (for how
/// much of it is left).
pub fn real_diagram(title: &str, subtitle: &str, events: &[Event], lease_us: u64) -> Diagram {
    let findings = crate::history::check(&History {
        events: events.to_vec(),
    });
    let names = client_order(events.iter().map(|e| e.client.clone()));
    let resource = events.iter().any(|e| matches!(e.op, Op::Write { .. }));
    let lanes = lanes(&names, resource);
    let lane_of = |name: &str| names.iter().position(|n| n == name);
    let server = names.len();
    let held = |k: usize| {
        let e = &events[k];
        e.end_us.is_some_and(|end| {
            events[k + 1..]
                .iter()
                .any(|o| o.start_us > e.start_us && o.start_us < end)
        })
    };
    let mut moments: Vec<(u64, u8, usize, Moment)> = Vec::new();
    for (k, e) in events.iter().enumerate() {
        moments.push((e.start_us, 1, k, Moment::Invoked));
        if let (true, Some(end)) = (held(k), e.end_us) {
            moments.push((end, 0, k, Moment::Replied));
        }
    }
    moments.sort_by_key(|&(t, pri, k, _)| (t, pri, k));
    let reply_row = |k: usize| {
        moments
            .iter()
            .position(|(_, _, j, m)| *j == k && matches!(m, Moment::Replied))
    };
    // The breaking events: all but the first event each finding names.
    let mut breaks: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.verdict == Verdict::Violated) {
        let mut ev = f.events.clone();
        ev.sort_unstable();
        let skip = usize::from(ev.len() > 1);
        for k in ev.into_iter().skip(skip) {
            let list = breaks.entry(k).or_default();
            if !list.iter().any(|p| p == f.property.name()) {
                list.push(f.property.name().to_owned());
            }
        }
    }
    let mut rows = Vec::new();
    let mut afters = Vec::new();
    let mut ends = Vec::new();
    let mut lease: Option<(usize, u64, Option<u64>)> = None;
    let mut believers: Vec<usize> = Vec::new();
    for (i, &(at, _, k, moment)) in moments.iter().enumerate() {
        let e = &events[k];
        let client = lane_of(&e.client);
        let mut end = BarEnd::Released;
        let row = match moment {
            Moment::Replied => {
                if e.gives_belief() {
                    believers.extend(client.filter(|c| !believers.contains(c)));
                }
                Row {
                    n: i + 1,
                    at_us: Some(at),
                    actor: client,
                    mark: Mark::Deliver,
                    says: format!(
                        "{} reads the reply held in flight: {}",
                        e.client,
                        timeline::outcome(&e.op)
                    ),
                    ..Row::default()
                }
            }
            Moment::Invoked => {
                let is_held = held(k);
                let (mark, actor) = match e.op {
                    Op::Acquire { .. } | Op::Release { .. } | Op::Write { .. } => {
                        (Mark::Call, client)
                    }
                    Op::Expired => (Mark::Expired, Some(server)),
                    Op::Restart => (Mark::Restart, Some(server)),
                    Op::Pause => (Mark::Pause, client),
                    Op::Resume => (Mark::Resume, client),
                    Op::Crash => (Mark::Crash, client),
                };
                let breaks_here = breaks.get(&k).cloned().unwrap_or_default();
                let mut calls = Vec::new();
                if mark == Mark::Call {
                    let to = if matches!(e.op, Op::Write { .. }) {
                        server + 1
                    } else {
                        server
                    };
                    let tone = match &e.op {
                        Op::Write {
                            outcome: WriteOutcome::Refused { .. },
                            ..
                        } => Tone::Good,
                        Op::Acquire {
                            outcome: AcquireOutcome::Believed,
                            ..
                        } => Tone::Bad,
                        _ if !breaks_here.is_empty() => Tone::Bad,
                        _ => Tone::Plain,
                    };
                    let label = match &e.op {
                        Op::Write { fence: Some(f), .. } => format!("write · token {f}"),
                        op => op.name().to_owned(),
                    };
                    calls.push(Call {
                        to,
                        label,
                        reply: e.end_us.and_then(|_| reply_word(&e.op)),
                        reply_row: if is_held { reply_row(k) } else { None },
                        tone,
                    });
                }
                let says = match e.op {
                    Op::Expired => "Redis expired the key: `lock` is gone".to_owned(),
                    Op::Restart => "redis-server killed and restarted, empty".to_owned(),
                    _ => {
                        let mut says = format!("{} {}", e.client, e.op.name());
                        if mark == Mark::Call {
                            says.push_str(": ");
                            says.push_str(&timeline::outcome(&e.op));
                        }
                        if is_held {
                            says.push_str(" — the reply is held in flight");
                        } else if e.end_us.is_none() && mark == Mark::Call {
                            says.push_str(" — no reply read");
                        }
                        says
                    }
                };
                let command = match (mark, e.end_us) {
                    (Mark::Call, Some(end)) => Some(format!(
                        "{} → {} ({})",
                        micros(e.start_us),
                        micros(end),
                        duration(end.saturating_sub(e.start_us))
                    )),
                    _ => None,
                };
                // What the event does to the lease and the believers.
                match &e.op {
                    Op::Acquire { outcome, fence, .. } => {
                        if *outcome == AcquireOutcome::Granted {
                            lease = client.map(|c| (c, e.start_us, *fence));
                        }
                        if e.gives_belief() && e.end_us.is_some() && !is_held {
                            believers.extend(client.filter(|c| !believers.contains(c)));
                        }
                    }
                    Op::Release { outcome } => {
                        believers.retain(|c| Some(*c) != client);
                        if outcome.removed_a_key() {
                            end = match lease {
                                Some((owner, _, _)) if Some(owner) != client => BarEnd::Removed,
                                _ => BarEnd::Released,
                            };
                            lease = None;
                        }
                    }
                    Op::Expired => {
                        lease = None;
                        end = BarEnd::Expired;
                    }
                    Op::Restart => {
                        lease = None;
                        end = BarEnd::Lost;
                    }
                    Op::Crash => believers.retain(|c| Some(*c) != client),
                    _ => {}
                }
                Row {
                    n: i + 1,
                    at_us: Some(at),
                    actor,
                    mark,
                    calls,
                    says,
                    command,
                    state: None,
                    breaks: breaks_here,
                }
            }
        };
        let owner_of = |c: usize| names.get(c).cloned().unwrap_or_default();
        let left = |granted: u64| {
            if lease_us == 0 {
                1.0
            } else {
                (1.0 - at.saturating_sub(granted) as f64 / lease_us as f64).clamp(0.0, 1.0)
            }
        };
        let state = {
            let key = match lease {
                None => "lock: absent".to_owned(),
                Some((o, granted, fence)) => format!(
                    "lock: {}'s{}, granted {} ago",
                    owner_of(o),
                    fence.map(|f| format!(", fence {f}")).unwrap_or_default(),
                    duration(at.saturating_sub(granted))
                ),
            };
            let who: Vec<String> = believers.iter().map(|&c| owner_of(c)).collect();
            let who = if who.is_empty() {
                "nobody".to_owned()
            } else {
                who.join(", ")
            };
            format!("{key} · believe they hold it: {who}")
        };
        rows.push(Row {
            state: Some(state),
            ..row
        });
        ends.push(end);
        afters.push(After {
            lease: lease.map(|(o, granted, fence)| {
                let label = match fence {
                    Some(f) => format!("{} · fence {f}", owner_of(o)),
                    None => owner_of(o),
                };
                (o, label, left(granted))
            }),
            believers: believers
                .iter()
                .map(|&c| (c, lease.is_some_and(|(o, _, _)| o == c)))
                .collect(),
        });
    }
    let marks: Vec<(Mark, Option<usize>)> = rows.iter().map(|r| (r.mark, r.actor)).collect();
    Diagram {
        title: title.to_owned(),
        subtitle: subtitle.to_owned(),
        clock: Clock::Micros,
        bars: bars(&afters, server, &ends),
        spans: spans(&marks),
        dividers: Vec::new(),
        lanes,
        rows,
    }
}

// ---------------------------------------------------------------------------
// The cards: one per distinct path of the matrix.

fn faults_of(list: &[Fault]) -> Faults {
    list.iter()
        .fold(Faults::NONE, |f, &k| f.with(k, f.budget(k).saturating_add(1)))
}

/// A card being built, with what matches it in `reproduce`.
struct Draft {
    protocol: Protocol,
    faults: Faults,
    steps: Vec<Step>,
    properties: Vec<PropertyName>,
    card: Card,
}

fn cards(check: &CheckOutput, reproduce: Option<&ReproduceOutput>) -> Vec<Card> {
    let mut drafts: Vec<Draft> = Vec::new();
    for row in &check.verdicts {
        let v = &row.verdict;
        let (kind, path, after): (CardKind, &[NarratedStep], &[NarratedStep]) =
            match (&v.counterexample, &v.witness) {
                (Some(ce), _) if v.verdict == Verdict::Violated && v.kind != Kind::Sometimes => (
                    CardKind::Counterexample,
                    ce,
                    v.aftermath.as_deref().unwrap_or(&[]),
                ),
                (_, Some(w)) => (CardKind::Witness, w, &[]),
                _ => continue,
            };
        let protocol = row.scenario.protocol;
        let faults = row.scenario.faults;
        let steps: Vec<Step> = path.iter().chain(after).map(|s| s.step).collect();
        let cell = format!(
            "{} · {} {}",
            faults,
            v.property,
            if kind == CardKind::Witness {
                "holds — fencing at work"
            } else {
                "violated"
            }
        );
        if let Some(d) = drafts
            .iter_mut()
            .find(|d| d.protocol == protocol && d.steps == steps)
        {
            if !d.properties.contains(&v.property) {
                d.properties.push(v.property);
                d.card.statements.push(statement(v.property));
            }
            d.card.cells.push(cell);
            d.card
                .covers
                .push((protocol.to_string(), faults.to_string(), v.property.to_string()));
            continue;
        }
        let title = format!("{protocol} under {faults}");
        let (what, path_is) = match kind {
            CardKind::Counterexample => (
                format!("{} violated", v.property),
                "the model's shortest path that breaks it",
            ),
            CardKind::Witness => (
                "fencing at work".to_owned(),
                "the model's shortest path to a stale write the resource refuses",
            ),
        };
        let model = model_diagram(
            &format!("{title}: {what}"),
            &format!(
                "{path_is} · one row per step · the lease is {} ticks",
                row.scenario.ttl
            ),
            &row.scenario,
            path,
            after,
        );
        drafts.push(Draft {
            protocol,
            faults,
            steps: steps.clone(),
            properties: vec![v.property],
            card: Card {
                anchor: format!(
                    "cx-{}",
                    slug(&[protocol.name(), &faults.to_string(), v.property.name()])
                ),
                title,
                kind,
                cells: vec![cell],
                covers: vec![(protocol.to_string(), faults.to_string(), v.property.to_string())],
                statements: vec![statement(v.property)],
                model,
                real: None,
                real_says: Vec::new(),
                real_checks: Vec::new(),
                fixes: Vec::new(),
                schedule: locklab_model::step::format_schedule(&steps),
            },
        });
    }
    if let Some(r) = reproduce {
        for d in &mut drafts {
            attach_replays(d, r);
        }
    }
    drafts.into_iter().map(|d| d.card).collect()
}

fn statement(p: PropertyName) -> String {
    format!("{}: {}", p.name(), p.statement())
}

/// The rows of `reproduce` that played a draft's schedule.
fn replays_of<'a>(d: &Draft, r: &'a ReproduceOutput) -> Vec<&'a ReplayRow> {
    r.replays
        .iter()
        .filter(|row| {
            row.schedule_from == d.protocol
                && faults_of(&row.faults) == d.faults
                && row.steps == d.steps.len()
                && d.properties.contains(&row.property)
        })
        .collect()
}

fn verdict_line(row: &ReplayRow) -> String {
    let mut line = format!(
        "{}: model {}, Redis {} — {}",
        row.property,
        row.model,
        row.real,
        if row.agree { "agree" } else { "DISAGREE" }
    );
    if let Some(d) = &row.divergence {
        line.push_str(&format!("; Redis left the model's path at {d}"));
    }
    if let Some(e) = &row.error {
        line.push_str(&format!("; {e}"));
    }
    line
}

fn attach_replays(d: &mut Draft, r: &ReproduceOutput) {
    let rows = replays_of(d, r);
    let lease_us = 3 * r.tick_ms * 1000;
    let mut played: Vec<Protocol> = Vec::new();
    for row in &rows {
        if !played.contains(&row.protocol) {
            played.push(row.protocol);
        }
    }
    for protocol in played {
        let mine: Vec<&&ReplayRow> = rows.iter().filter(|x| x.protocol == protocol).collect();
        let diagram = mine.iter().find_map(|x| x.history.as_ref()).map(|h| {
            real_diagram(
                &format!("real redis-server, played on {protocol}"),
                &format!(
                    "the same schedule, step by step · 1 tick = {} ms · lease {} · µs since the start",
                    r.tick_ms,
                    duration(lease_us)
                ),
                h,
                lease_us,
            )
        });
        let verdicts: Vec<String> = mine.iter().map(|x| verdict_line(x)).collect();
        let agree = mine.iter().all(|x| x.agree);
        if protocol == d.protocol {
            d.card.real = diagram;
            d.card.real_says = verdicts;
            d.card.real_checks = mine
                .iter()
                .map(|x| (x.property.to_string(), x.real.to_string(), x.agree))
                .collect();
        } else {
            d.card.fixes.push(FixPlay {
                protocol: protocol.to_string(),
                verdicts,
                agree,
                diagram,
            });
        }
    }
}

// ---------------------------------------------------------------------------
// The matrix.

fn chaos_anchor(protocol: Protocol, faults: Faults) -> String {
    format!("chaos-{}", slug(&[protocol.name(), &faults.to_string()]))
}

fn matrix(check: &CheckOutput, cards: &[Card], chaos: Option<&ChaosOutput>) -> Matrix {
    let mut columns: Vec<PropertyName> = Vec::new();
    let mut keys: Vec<(Protocol, Faults)> = Vec::new();
    for row in &check.verdicts {
        if row.verdict.kind != Kind::Sometimes && !columns.contains(&row.verdict.property) {
            columns.push(row.verdict.property);
        }
        let key = (row.scenario.protocol, row.scenario.faults);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let rows = keys
        .iter()
        .map(|&(protocol, faults)| {
            let mine: Vec<&CheckRow> = check
                .verdicts
                .iter()
                .filter(|r| r.scenario.protocol == protocol && r.scenario.faults == faults)
                .collect();
            let missing: Vec<&str> = mine
                .iter()
                .filter(|r| r.verdict.kind == Kind::Sometimes && r.verdict.verdict != Verdict::Holds)
                .map(|r| r.verdict.property.name())
                .collect();
            let states = mine.first().map_or(String::new(), |r| {
                if r.complete {
                    r.unique_states.to_string()
                } else {
                    format!("{}+", r.unique_states)
                }
            });
            MatrixRow {
                protocol: protocol.to_string(),
                lesson: protocol.lesson().to_owned(),
                faults: faults.to_string(),
                cells: columns
                    .iter()
                    .map(|&p| {
                        let row = mine.iter().find(|r| r.verdict.property == p)?;
                        Some(cell(row, cards, chaos))
                    })
                    .collect(),
                witnesses: if missing.is_empty() {
                    "ok".to_owned()
                } else {
                    format!("MISSING {}", missing.join(", "))
                },
                states,
            }
        })
        .collect();
    Matrix {
        caption: format!(
            "{} clients × {} round{} · lease {} ticks · symmetry {} · {} unique states in {:.1} s",
            check.clients,
            check.rounds,
            if check.rounds == 1 { "" } else { "s" },
            check.ttl,
            if check.symmetry { "on" } else { "off" },
            check.summary.unique_states,
            check.secs
        ),
        columns: columns
            .iter()
            .map(|p| (p.name().to_owned(), p.statement().to_owned()))
            .collect(),
        rows,
    }
}

fn cell(row: &CheckRow, cards: &[Card], chaos: Option<&ChaosOutput>) -> Cell {
    let v = &row.verdict;
    let (protocol, faults) = (row.scenario.protocol, row.scenario.faults);
    let key = (
        protocol.to_string(),
        faults.to_string(),
        v.property.to_string(),
    );
    let card = cards.iter().find(|c| c.covers.contains(&key));
    let mut evidence = Vec::new();
    let mut marks = Vec::new();
    let mut disagrees = false;
    match (v.verdict, &v.counterexample) {
        (Verdict::Violated, Some(ce)) => evidence.push(format!(
            "model: violated — {} counterexample, {} steps",
            if v.shortest == Some(false) {
                "a"
            } else {
                "shortest"
            },
            ce.len()
        )),
        (Verdict::Holds, _) => evidence.push(format!(
            "model: holds on every reachable state ({})",
            row.unique_states
        )),
        (Verdict::Unknown, _) => evidence.push("model: unknown — the budget ran out".into()),
        (verdict, _) => evidence.push(format!("model: {verdict}")),
    }
    if v.witness.is_some() {
        evidence.push("a fencing witness: a stale write refused".into());
        marks.push("witness".to_owned());
    }
    if let Some(card) = card {
        for (_, real, agree) in card.real_checks.iter().filter(|(p, _, _)| *p == key.2) {
            disagrees |= !agree;
            evidence.push(format!(
                "real Redis: {real} — {}",
                if *agree { "agrees" } else { "DISAGREES" }
            ));
            marks.push(format!("Redis {}", if *agree { "✓" } else { "✗" }));
        }
    }
    let chaos_cell = chaos.and_then(|c| {
        c.runs
            .iter()
            .find(|r| r.scenario.protocol == protocol && r.scenario.faults == faults)
    });
    if let Some(c) = chaos_cell {
        if let Some(n) = c.violations.get(&v.property) {
            let model = c.model.get(&v.property).copied();
            let found = *n > 0;
            let agrees = match model {
                Some(Verdict::Violated) => found,
                Some(Verdict::Holds) => !found,
                _ => true,
            };
            disagrees |= !agrees;
            evidence.push(format!(
                "chaos: {n} of {} schedules broke it{}",
                c.schedules,
                if agrees { "" } else { " — DISAGREES" }
            ));
            marks.push(format!(
                "chaos {n}/{}{}",
                c.schedules,
                if agrees { "" } else { " ✗" }
            ));
        }
    }
    let link = card.map(|c| c.anchor.clone()).or_else(|| {
        chaos_cell.map(|_| chaos_anchor(protocol, faults))
    });
    Cell {
        verdict: v.verdict.word().to_owned(),
        claimed: v.claimed,
        link,
        evidence,
        marks,
        disagrees,
    }
}

// ---------------------------------------------------------------------------
// Chaos.

fn chaos_count(c: &ChaosCell, p: PropertyName) -> String {
    let n = c.violations.get(&p).copied().unwrap_or(0);
    let first = c
        .first_violation
        .get(&p)
        .map(|i| format!(" (1st at #{i})"))
        .unwrap_or_default();
    match (n, c.model.get(&p).copied().unwrap_or(Verdict::Unknown)) {
        (0, Verdict::Holds) => "0 ✓".into(),
        (0, _) => "0 ✗ not found".into(),
        (n, Verdict::Violated) => format!("{n}{first}"),
        (n, _) => format!("{n} ✗{first}"),
    }
}

fn chaos_view(c: &ChaosOutput) -> ChaosView {
    let mut properties: Vec<PropertyName> = Vec::new();
    for cell in &c.runs {
        for p in cell.violations.keys() {
            if !properties.contains(p) {
                properties.push(*p);
            }
        }
    }
    let mut header = vec!["protocol".to_owned(), "faults".into(), "schedules".into()];
    header.extend(properties.iter().map(|p| p.name().to_owned()));
    header.extend(["shrunk to".into(), "agree".into(), "late".into(), "time".into()]);
    let mut table = Table {
        header,
        rows: Vec::new(),
        numeric: vec![2],
    };
    let mut row_anchors = Vec::new();
    let mut shrunk = Vec::new();
    let mut disagreements = Vec::new();
    let schedules: usize = c.runs.iter().map(|r| r.schedules).sum();
    for cell in &c.runs {
        let (protocol, faults) = (cell.scenario.protocol, cell.scenario.faults);
        let mut row = vec![
            protocol.to_string(),
            faults.to_string(),
            cell.schedules.to_string(),
        ];
        row.extend(properties.iter().map(|&p| chaos_count(cell, p)));
        let lens: Vec<String> = cell
            .shrunk
            .values()
            .map(|s| format!("{}→{}", s.from_len, s.len))
            .collect();
        row.push(if lens.is_empty() {
            "-".into()
        } else {
            lens.join(" ")
        });
        row.push(if cell.agree { "yes" } else { "NO" }.into());
        row.push(cell.late.to_string());
        row.push(format!("{:.1} s", cell.secs));
        table.rows.push(row);
        row_anchors.push(chaos_anchor(protocol, faults));
        for (p, s) in &cell.shrunk {
            let title = format!("{protocol} under {faults} — {p}");
            shrunk.push(ShrunkView {
                anchor: format!(
                    "chaos-{}",
                    slug(&[protocol.name(), &faults.to_string(), p.name()])
                ),
                caption: format!(
                    "found {} times in {} schedules; shrunk from {} to {} steps in {} replays",
                    cell.violations.get(p).copied().unwrap_or(0),
                    cell.schedules,
                    s.from_len,
                    s.len,
                    s.shrink_steps
                ),
                diagram: model_diagram(
                    &format!("chaos, shrunk: {title}"),
                    &format!(
                        "a random schedule that broke it on real Redis, shrunk; told by the model · the lease is {} ticks",
                        cell.scenario.ttl
                    ),
                    &cell.scenario,
                    &s.steps,
                    &[],
                ),
                command: format!(
                    "locklab chaos --protocol {protocol} --faults {faults} --clients {} --rounds {} --tick-ms {} --schedule '{}'",
                    cell.scenario.clients, cell.scenario.rounds, c.tick_ms, s.schedule
                ),
                title,
            });
        }
        for d in &cell.disagreements {
            disagreements.push(format!(
                "{protocol} under {faults} — {}: model {}, Redis {}{}{} · schedule: {}",
                d.property,
                d.model,
                d.real,
                d.divergence
                    .as_deref()
                    .map(|x| format!("; diverged at {x}"))
                    .unwrap_or_default(),
                d.error
                    .as_deref()
                    .map(|x| format!("; error: {x}"))
                    .unwrap_or_default(),
                d.schedule
            ));
        }
    }
    ChaosView {
        caption: format!(
            "{} cells · {schedules} random schedules in all (seed {}) · played on real redis-server · 1 tick = {} ms · {:.0} s",
            c.runs.len(),
            c.seed,
            c.tick_ms,
            c.secs
        ),
        table,
        row_anchors,
        shrunk,
        disagreements,
    }
}

// ---------------------------------------------------------------------------
// The bench.

fn x(ratio: f64) -> String {
    if ratio >= 100.0 {
        format!("{ratio:.0}×")
    } else if ratio >= 10.0 {
        format!("{ratio:.1}×")
    } else {
        format!("{ratio:.2}×")
    }
}

fn bench_view(b: &BenchOutput) -> BenchView {
    let rtt = b.rtt_us.max(1e-9);
    let mut uncontended = Table {
        header: [
            "variant",
            "acquire p50",
            "acquire p99",
            "acquire p99.9",
            "release p50",
            "mutual-exclusion",
        ]
        .map(String::from)
        .to_vec(),
        rows: Vec::new(),
        numeric: vec![1, 2, 3, 4],
    };
    for r in &b.uncontended {
        let opt = |v: Option<f64>| v.map_or("-".to_owned(), x);
        uncontended.rows.push(vec![
            r.variant.clone(),
            opt(r.acquire_p50_rtt),
            opt(r.acquire_p99_rtt),
            opt(r.acquire_p999_us.map(|us| us / rtt)),
            opt(r.release_p50_rtt),
            r.mutual_exclusion.word().to_owned(),
        ]);
    }
    let mut contended = Table {
        header: [
            "variant",
            "clients",
            "grants/s",
            "grants per RTT",
            "hand-off p50",
            "hand-off p99",
            "fairness max/min",
            "starved",
            "overlaps",
            "mutual-exclusion",
            "errors",
        ]
        .map(String::from)
        .to_vec(),
        rows: Vec::new(),
        numeric: vec![1, 2, 3, 4, 5, 6, 7, 8, 10],
    };
    for r in &b.contended {
        contended.rows.push(vec![
            if r.masters == 1 {
                r.variant.clone()
            } else {
                format!("{} ×{}", r.variant, r.masters)
            },
            r.clients.to_string(),
            format!("{:.0}", r.grants_per_s),
            format!("{:.3}", r.grants_per_s * rtt / 1e6),
            x(r.handoff_p50_rtt),
            x(r.handoff_p99_rtt),
            r.fairness_max_over_min
                .map_or("-".into(), |f| format!("{f:.2}")),
            r.starved.to_string(),
            r.overlaps.to_string(),
            r.mutual_exclusion.word().to_owned(),
            r.errors.to_string(),
        ]);
    }
    BenchView {
        caption: format!(
            "every figure is a multiple of this run's Redis round trip: PING p50 {:.1} µs (p99 {:.1} µs) · {} s per run{} · lease {} ms · servers: {}",
            b.rtt_us,
            b.rtt_p99_us,
            b.duration_secs,
            if b.quick { " (--quick)" } else { "" },
            b.ttl_ms,
            b.servers
        ),
        tables: vec![
            (
                "One client, no contention: latency as multiples of the RTT".into(),
                uncontended,
            ),
            (
                "Clients contending for one key (hand-off: release → the next holder's grant, as multiples of the RTT)".into(),
                contended,
            ),
        ],
        charts: bench_charts(b)
            .into_iter()
            .map(|c| (c.title.clone(), c.render()))
            .collect(),
        broken: b.broken.clone(),
    }
}

fn bench_charts(b: &BenchOutput) -> Vec<Chart> {
    let rtt = b.rtt_us.max(1e-9);
    let reference = Some((1.0, format!("1 RTT = {:.0} µs", b.rtt_us)));
    let latency = Chart {
        title: "Uncontended acquire latency by percentile, × RTT".into(),
        x_caption: "percentile".into(),
        y_caption: "acquire latency / RTT (log)".into(),
        x_labels: crate::bench::report::PERCENTILES
            .iter()
            .map(|q| format!("p{}", (q * 100.0 * 100.0).round() / 100.0))
            .collect(),
        series: b
            .uncontended
            .iter()
            .filter(|r| r.masters == 1)
            .filter_map(|r| {
                let p = r.acquire_percentiles_us.as_ref()?;
                Some(Series {
                    name: r.variant.clone(),
                    values: p.iter().map(|v| Some(v / rtt)).collect(),
                })
            })
            .collect(),
        reference: reference.clone(),
    };
    let mut clients: Vec<usize> = b.contended.iter().map(|r| r.clients).collect();
    clients.sort_unstable();
    clients.dedup();
    let mut lines: Vec<(String, usize)> = Vec::new();
    for r in &b.contended {
        if !lines.contains(&(r.variant.clone(), r.masters)) {
            lines.push((r.variant.clone(), r.masters));
        }
    }
    let by_clients = |f: &dyn Fn(&super::input::BenchRow) -> f64| -> Vec<Series> {
        lines
            .iter()
            .map(|(variant, masters)| Series {
                name: if *masters == 1 {
                    variant.clone()
                } else {
                    format!("{variant} ×{masters}")
                },
                values: clients
                    .iter()
                    .map(|c| {
                        b.contended
                            .iter()
                            .find(|r| &r.variant == variant && r.masters == *masters && r.clients == *c)
                            .map(f)
                    })
                    .collect(),
            })
            .collect()
    };
    let x_labels: Vec<String> = clients.iter().map(ToString::to_string).collect();
    vec![
        latency,
        Chart {
            title: "Hand-off time (release → next holder's grant), median, × RTT".into(),
            x_caption: "clients on one key".into(),
            y_caption: "hand-off p50 / RTT (log)".into(),
            x_labels: x_labels.clone(),
            series: by_clients(&|r| r.handoff_p50_rtt),
            reference,
        },
        Chart {
            title: "Grants per RTT on one key".into(),
            x_caption: "clients on one key".into(),
            y_caption: "grants per round trip (log)".into(),
            x_labels,
            series: by_clients(&|r| r.grants_per_s * rtt / 1e6),
            reference: None,
        },
    ]
}

// ---------------------------------------------------------------------------
// The headline and how it was made.

fn headline(inputs: &Inputs) -> Vec<Fact> {
    let mut facts = Vec::new();
    let fact = |text: String, tone| Fact { text, tone };
    if let Some(c) = &inputs.check {
        let s = &c.body.summary;
        let scenarios = {
            let mut keys: Vec<(Protocol, Faults)> = c
                .body
                .verdicts
                .iter()
                .map(|r| (r.scenario.protocol, r.scenario.faults))
                .collect();
            keys.dedup();
            keys.len()
        };
        facts.push(if s.broken.is_empty() {
            fact(
                format!(
                    "model checker: {scenarios} scenarios, {} violations found, every claim holds",
                    s.violations
                ),
                FactTone::Good,
            )
        } else {
            fact(
                format!("model checker: claims broken: {}", s.broken.join(", ")),
                FactTone::Bad,
            )
        });
    }
    if let Some(r) = &inputs.reproduce {
        let total = r.body.agreed + r.body.disagreed;
        facts.push(fact(
            format!(
                "real Redis: {} of {total} replayed property checks agree with the model",
                r.body.agreed
            ),
            if r.body.disagreed == 0 {
                FactTone::Good
            } else {
                FactTone::Bad
            },
        ));
    }
    if let Some(c) = &inputs.chaos {
        let schedules: usize = c.body.runs.iter().map(|r| r.schedules).sum();
        facts.push(fact(
            format!(
                "chaos: {schedules} random schedules in {} cells; {} of them disagree with the model",
                c.body.runs.len(),
                c.body.disagreements
            ),
            if c.body.disagreements == 0 {
                FactTone::Good
            } else {
                FactTone::Bad
            },
        ));
    }
    if let Some(b) = &inputs.bench {
        facts.push(if b.body.broken.is_empty() {
            fact(
                format!(
                    "bench: RTT {:.0} µs; every lock that must keep mutual exclusion kept it",
                    b.body.rtt_us
                ),
                FactTone::Neutral,
            )
        } else {
            fact(
                format!(
                    "bench: mutual exclusion lost by {}",
                    b.body.broken.join(", ")
                ),
                FactTone::Bad,
            )
        });
    }
    facts
}

/// A command line as a shell would take it back.
fn shell_line(argv: &[String]) -> String {
    let quote = |a: &String| {
        if !a.is_empty()
            && a
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c))
        {
            a.clone()
        } else {
            format!("'{}'", a.replace('\'', r"'\''"))
        }
    };
    let mut parts: Vec<String> = argv.iter().map(quote).collect();
    if let Some(first) = parts.first_mut() {
        // The program as people type it, not the path it ran from.
        if let Some(name) = std::path::Path::new(first.as_str())
            .file_name()
            .and_then(|n| n.to_str())
        {
            *first = name.to_owned();
        }
    }
    parts.join(" ")
}

fn made_of<T>(input: &Input<T>, extra: Vec<(String, String)>, secs: f64) -> Made {
    let e: &Envelope = &input.envelope;
    let m = &e.machine;
    let mut machine = format!("{} {}, {} cores", m.os, m.arch, m.cores);
    if let Some(cpu) = &m.cpu {
        machine.push_str(&format!(", {cpu}"));
    }
    if let Some(k) = &m.kernel {
        machine.push_str(&format!(", kernel {k}"));
    }
    let mut facts = vec![
        (
            "locklab".to_owned(),
            format!("{} (JSON format {})", e.version, e.format),
        ),
        ("written".into(), utc(e.at_unix)),
        ("took".into(), format!("{secs:.1} s")),
        ("machine".into(), machine),
    ];
    facts.extend(extra);
    Made {
        command: e.command.clone(),
        argv: shell_line(&e.argv),
        origin: input.origin.clone(),
        facts,
    }
}

fn made(inputs: &Inputs) -> Vec<Made> {
    let mut out = Vec::new();
    if let Some(c) = &inputs.check {
        let b = &c.body;
        out.push(made_of(
            c,
            vec![(
                "scenarios".into(),
                format!(
                    "{} clients × {} rounds, lease {} ticks, symmetry {}; {} unique states",
                    b.clients,
                    b.rounds,
                    b.ttl,
                    if b.symmetry { "on" } else { "off" },
                    b.summary.unique_states
                ),
            )],
            b.secs,
        ));
    }
    if let Some(r) = &inputs.reproduce {
        let b = &r.body;
        out.push(made_of(
            r,
            vec![
                ("redis".into(), b.redis.clone()),
                ("tick".into(), format!("{} ms (the lease is 3 ticks)", b.tick_ms)),
            ],
            b.secs,
        ));
    }
    if let Some(c) = &inputs.chaos {
        let b = &c.body;
        out.push(made_of(
            c,
            vec![
                ("seed".into(), b.seed.to_string()),
                ("tick".into(), format!("{} ms", b.tick_ms)),
            ],
            b.secs,
        ));
    }
    if let Some(bench) = &inputs.bench {
        let b = &bench.body;
        let runs = b.contended.len();
        out.push(made_of(
            bench,
            vec![
                ("RTT".into(), format!("{:.1} µs (p99 {:.1} µs)", b.rtt_us, b.rtt_p99_us)),
                ("servers".into(), b.servers.clone()),
            ],
            b.duration_secs * runs as f64,
        ));
    }
    out
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

    #[test]
    fn command_lines_read_back_in_a_shell() {
        let argv: Vec<String> = ["/x/target/release/locklab", "chaos", "--schedule", "acquire c1; tick"]
            .map(String::from)
            .to_vec();
        assert_eq!(shell_line(&argv), "locklab chaos --schedule 'acquire c1; tick'");
    }
}
