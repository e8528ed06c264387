//! The converters: each command's output ([`super::input`]) into what the
//! page shows ([`super::view`]) and into neutral
//! [`Diagram`](super::Diagram)s. This folder is the one place that knows
//! the commands' shapes; when a command's JSON changes (a new protocol with
//! more lanes, a new step or event), it changes and the drawing and the
//! page do not: `model` and `real` make the diagrams, `bars` the bars and
//! spans both share, `cards` the counterexample cards and the matrix,
//! `chaos` and `bench` their sections.
//!
//! Two diagrams per schedule: the model's path, one row per step, and the
//! real run of the same schedule on Redis, one row per recorded moment with
//! its time in µs. Both derive the same bars — the lease on Redis's lane,
//! and on each client's lane whether it believes it holds the lock and
//! whether the key is still its own — so a reader sees the two agree.

mod bars;
mod bench;
mod cards;
mod chaos;
mod model;
mod real;

use locklab_model::{Faults, Protocol, Verdict};

use super::input::{Input, Inputs};
use super::text::utc;
use super::view::{Evidence, Fact, FactTone, Made};
use crate::output::envelope::Envelope;

pub use model::model_diagram;
pub use real::real_diagram;

/// Everything the page shows, from whatever inputs were given.
pub fn evidence(inputs: &Inputs) -> Evidence {
    let check = inputs.check.as_ref().map(|i| &i.body);
    let reproduce = inputs.reproduce.as_ref().map(|i| &i.body);
    let chaos = inputs.chaos.as_ref().map(|i| &i.body);
    let cards = check
        .map(|c| cards::cards(c, reproduce))
        .unwrap_or_default();
    Evidence {
        headline: headline(inputs),
        matrix: check.map(|c| cards::matrix(c, &cards, chaos)),
        chaos: chaos.map(chaos::chaos_view),
        bench: inputs.bench.as_ref().map(|b| bench::bench_view(&b.body)),
        made: made(inputs),
        cards,
    }
}

fn headline(inputs: &Inputs) -> Vec<Fact> {
    let mut facts = Vec::new();
    let fact = |text: String, tone| Fact { text, tone };
    if let Some(c) = &inputs.check {
        let s = &c.body.summary;
        let scenarios = {
            let mut keys: Vec<(Protocol, Faults, u8)> = c
                .body
                .verdicts
                .iter()
                .map(|r| (r.scenario.protocol, r.scenario.faults, r.scenario.depth))
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
        let runs = &c.body.runs;
        let schedules: usize = runs.iter().map(|r| r.schedules).sum();
        // A cell disagrees when Redis broke what the model says holds, or
        // some schedule's verdicts differ; a break the model has that these
        // few schedules did not hit is only not found.
        let differs = |r: &&super::input::ChaosCell| {
            !r.disagreements.is_empty()
                || r.model.iter().any(|(p, m)| {
                    *m == Verdict::Holds && r.violations.get(p).copied().unwrap_or(0) > 0
                })
        };
        let disagree = runs.iter().filter(differs).count();
        let not_found = runs.iter().filter(|r| !r.agree && !differs(r)).count();
        let mut text = format!(
            "chaos: {schedules} random schedules in {} cells, {disagree} disagreeing with the model",
            runs.len()
        );
        if not_found > 0 {
            text.push_str(&format!(
                "; in {not_found} a break the model has was not hit by so few schedules"
            ));
        }
        facts.push(fact(
            text,
            if disagree > 0 {
                FactTone::Bad
            } else if not_found > 0 {
                FactTone::Neutral
            } else {
                FactTone::Good
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
            && a.chars()
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
                    "{}, symmetry {}; {} unique states",
                    sizes(b),
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
                (
                    "tick".into(),
                    format!("{} ms (the lease is 3 ticks)", b.tick_ms),
                ),
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
                (
                    "RTT".into(),
                    format!("{:.1} µs (p99 {:.1} µs)", b.rtt_us, b.rtt_p99_us),
                ),
                ("servers".into(), b.servers.clone()),
            ],
            b.duration_secs * runs as f64,
        ));
    }
    out
}

/// The scenario sizes of a check, in words (each protocol's own shape; the
/// first row's sizes, and the re-entry depths there are).
pub(crate) fn sizes(check: &super::input::CheckOutput) -> String {
    let Some(first) = check.verdicts.first() else {
        return "no scenario".to_owned();
    };
    let s = &first.scenario;
    let depths: std::collections::BTreeSet<u8> =
        check.verdicts.iter().map(|r| r.scenario.depth).collect();
    let depth = if depths.len() > 1 || s.depth > 1 {
        let d: Vec<String> = depths.iter().map(|d| format!("×{d}")).collect();
        format!(", acquired {}", d.join("/"))
    } else {
        String::new()
    };
    format!(
        "{} clients × {} round{}, lease {} ticks{depth}",
        s.clients,
        s.rounds,
        if s.rounds == 1 { "" } else { "s" },
        s.ttl
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_read_back_in_a_shell() {
        let argv: Vec<String> = [
            "/x/target/release/locklab",
            "chaos",
            "--schedule",
            "acquire c1; tick",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            shell_line(&argv),
            "locklab chaos --schedule 'acquire c1; tick'"
        );
    }
}
