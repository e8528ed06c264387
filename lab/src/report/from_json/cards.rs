//! The cards — one per distinct path of the matrix, with the same schedule
//! played on Redis — and the verdict matrix that links to them.

use locklab_model::{Fault, Faults, Kind, NarratedStep, PropertyName, Protocol, Step, Verdict};

use super::model::model_diagram;
use super::real::real_diagram;
use crate::report::input::{ChaosOutput, CheckOutput, CheckRow, ReplayRow, ReproduceOutput};
use crate::report::text::{duration, slug};
use crate::report::view::{Card, CardKind, Cell, FixPlay, Matrix, MatrixRow};

fn faults_of(list: &[Fault]) -> Faults {
    list.iter().fold(Faults::NONE, |f, &k| {
        f.with(k, f.budget(k).saturating_add(1))
    })
}

/// A card being built, with what matches it in `reproduce`.
struct Draft {
    protocol: Protocol,
    /// The matrix row: the protocol, marked `×2` when used re-entrantly.
    label: String,
    faults: Faults,
    steps: Vec<Step>,
    properties: Vec<PropertyName>,
    card: Card,
}

pub(super) fn cards(check: &CheckOutput, reproduce: Option<&ReproduceOutput>) -> Vec<Card> {
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
        let label = row_name(&row.scenario);
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
            .find(|d| d.label == label && d.steps == steps)
        {
            if !d.properties.contains(&v.property) {
                d.properties.push(v.property);
                d.card.statements.push(statement(v.property));
            }
            d.card.cells.push(cell);
            d.card
                .covers
                .push((label.clone(), faults.to_string(), v.property.to_string()));
            continue;
        }
        let title = format!("{label} under {faults}");
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
            label: label.clone(),
            faults,
            steps: steps.clone(),
            properties: vec![v.property],
            card: Card {
                anchor: format!(
                    "cx-{}",
                    slug(&[&label, &faults.to_string(), v.property.name()])
                ),
                title,
                kind,
                cells: vec![cell],
                covers: vec![(label.clone(), faults.to_string(), v.property.to_string())],
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
            let found_in = if row.found_in.is_empty() {
                row.schedule_from.name()
            } else {
                row.found_in.as_str()
            };
            found_in == d.label
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
                protocol,
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

pub(super) fn chaos_anchor(label: &str, faults: Faults) -> String {
    format!("chaos-{}", slug(&[label, &faults.to_string()]))
}

/// A matrix row's name (`naive`, `naive ×2`).
pub(super) fn row_name(s: &locklab_model::Scenario) -> String {
    crate::output::row_name(s)
}

pub(super) fn matrix(check: &CheckOutput, cards: &[Card], chaos: Option<&ChaosOutput>) -> Matrix {
    let mut columns: Vec<PropertyName> = Vec::new();
    let mut keys: Vec<(Protocol, Faults, u8)> = Vec::new();
    for row in &check.verdicts {
        if row.verdict.kind != Kind::Sometimes && !columns.contains(&row.verdict.property) {
            columns.push(row.verdict.property);
        }
        let key = (
            row.scenario.protocol,
            row.scenario.faults,
            row.scenario.depth,
        );
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let rows = keys
        .iter()
        .map(|&(protocol, faults, depth)| {
            let mine: Vec<&CheckRow> = check
                .verdicts
                .iter()
                .filter(|r| {
                    r.scenario.protocol == protocol
                        && r.scenario.faults == faults
                        && r.scenario.depth == depth
                })
                .collect();
            let label = mine
                .first()
                .map_or_else(|| protocol.to_string(), |r| row_name(&r.scenario));
            let missing: Vec<&str> = mine
                .iter()
                .filter(|r| {
                    r.verdict.kind == Kind::Sometimes && r.verdict.verdict != Verdict::Holds
                })
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
                protocol: label,
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
            "{} · symmetry {} · {} unique states in {:.1} s",
            super::sizes(check),
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
    let (faults, depth) = (row.scenario.faults, row.scenario.depth);
    let protocol = row.scenario.protocol;
    let label = row_name(&row.scenario);
    let key = (label.clone(), faults.to_string(), v.property.to_string());
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
        c.runs.iter().find(|r| {
            r.scenario.protocol == protocol
                && r.scenario.faults == faults
                && r.scenario.depth == depth
        })
    });
    if let Some(c) = chaos_cell {
        if let Some(n) = c.violations.get(&v.property) {
            let model = c.model.get(&v.property).copied();
            let differs = c.disagreements.iter().any(|d| d.property == v.property);
            let (line, mark) = match (model, *n > 0) {
                (Some(Verdict::Holds), true) => {
                    disagrees = true;
                    (" — DISAGREES: the model says it holds", " ✗")
                }
                // Too few schedules to hit it: not a disagreement.
                (Some(Verdict::Violated), false) => {
                    (" — not found in this many schedules", " not found")
                }
                _ if differs => {
                    disagrees = true;
                    (" — some schedule DISAGREES with the model", " ✗")
                }
                _ => ("", ""),
            };
            evidence.push(format!(
                "chaos: {n} of {} schedules broke it{line}",
                c.schedules
            ));
            marks.push(format!("chaos {n}/{}{mark}", c.schedules));
        }
    }
    let link = card
        .map(|c| c.anchor.clone())
        .or_else(|| chaos_cell.map(|_| chaos_anchor(&label, faults)));
    Cell {
        verdict: v.verdict.word().to_owned(),
        claimed: v.claimed,
        link,
        evidence,
        marks,
        disagrees,
    }
}
