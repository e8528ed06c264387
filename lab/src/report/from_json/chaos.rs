//! Chaos: the summary table, and each shrunk failure drawn as the model
//! tells it, with the command that replays it.

use locklab_model::{PropertyName, Verdict};

use super::cards::chaos_anchor;
use super::model::model_diagram;
use crate::report::input::{ChaosCell, ChaosOutput};
use crate::report::text::slug;
use crate::report::view::{ChaosView, ShrunkView, Table};

fn chaos_count(c: &ChaosCell, p: PropertyName) -> String {
    let n = c.violations.get(&p).copied().unwrap_or(0);
    let first = c
        .first_violation
        .get(&p)
        .map(|i| format!(" (1st at #{i})"))
        .unwrap_or_default();
    match (n, c.model.get(&p).copied().unwrap_or(Verdict::Unknown)) {
        // A verdict is earned: nothing judged, or a cell that disagrees,
        // gets no ✓.
        (0, _) if !c.judged() => "-".into(),
        (0, Verdict::Holds) if c.agree => "0 ✓".into(),
        (0, Verdict::Holds) => "0".into(),
        (0, _) => "0 ✗ not found".into(),
        (n, Verdict::Violated) => format!("{n}{first}"),
        (n, _) => format!("{n} ✗{first}"),
    }
}

pub(super) fn chaos_view(c: &ChaosOutput) -> ChaosView {
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
    header.extend([
        "shrunk to".into(),
        "agree".into(),
        "late".into(),
        "time".into(),
    ]);
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
        let faults = cell.scenario.faults;
        let protocol = super::cards::row_name(&cell.scenario);
        let mut row = vec![
            protocol.clone(),
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
        row.push(
            match (cell.judged(), cell.agree) {
                (false, _) => "not judged",
                (true, true) => "yes",
                (true, false) => "NO",
            }
            .into(),
        );
        row.push(cell.late.to_string());
        row.push(format!("{:.1} s", cell.secs));
        table.rows.push(row);
        row_anchors.push(chaos_anchor(&protocol, faults));
        for (p, s) in &cell.shrunk {
            let title = format!("{protocol} under {faults} — {p}");
            shrunk.push(ShrunkView {
                anchor: format!(
                    "chaos-{}",
                    slug(&[&protocol, &faults.to_string(), p.name()])
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
                command: s.replay.clone().unwrap_or_else(|| {
                    format!(
                        "locklab chaos --protocol {} --faults {faults} --clients {} --rounds {} --tick-ms {} --schedule '{}'",
                        cell.scenario.protocol, cell.scenario.clients, cell.scenario.rounds, c.tick_ms, s.schedule
                    )
                }),
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
