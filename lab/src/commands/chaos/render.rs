//! What `locklab chaos` prints: the table of cells (each with what was
//! judged of what was played), why a cell was not judged, each shrunk
//! break with the command that plays it again exactly, and the
//! disagreements, one block per schedule.

use locklab_model::{PropertyName, Scenario, Verdict};

use super::{own_lock_name, ChaosPlan};
use crate::chaos::{CellReport, CellVerdict, Judged};
use crate::history::{self, timeline};
use crate::output::row_name;
use crate::output::table::Table;
use crate::output::tailed::indented;
use crate::output::wrap::{command, wrap};
use crate::output::Status;
use crate::replay::{Clients, Standing, SLOWEST};

/// Prints the one schedule of `--schedule`, as Redis and the model saw it,
/// and says how it stands: the same exit code as the same behaviour in a
/// chaos cell.
pub(super) fn report_one(
    plan: &ChaosPlan,
    scenario: Scenario,
    judged: &Judged,
    history: &history::History,
) -> Status {
    let mut table = Table::new(["property", "model", "real Redis", "agree"]);
    let on_time = judged.judged();
    for (p, m) in &judged.model {
        let r = judged.real.get(p).copied().unwrap_or(Verdict::Unknown);
        let (real, agree) = match &judged.standing {
            Standing::OnModel => (r.word(), if *m == r { "yes" } else { "NO" }),
            Standing::Diverged(_) => (r.word(), "NO"),
            Standing::Died(_) | Standing::Late(_) => ("not judged", "not judged"),
        };
        table.row([p.name(), m.word(), real, agree].map(str::to_owned));
    }
    let checked: Vec<PropertyName> = judged.model.keys().copied().collect();
    let findings = history::check(history, &checked);
    print!(
        "one schedule, {} under {}\n\n{}\n{}",
        row_name(&scenario),
        scenario.faults,
        table.render(),
        timeline::render(history, &findings)
    );
    match &judged.standing {
        Standing::OnModel => {}
        Standing::Diverged(d) => println!(
            "! DISAGREEMENT: {} diverged from the model at {d} — a disagreement also when the lock is safer than its model",
            lock_name(plan)
        ),
        Standing::Died(d) => {
            println!("~ not judged: {d}");
            print!("{}", indented(&d.stderr_tail, "  "));
        }
        Standing::Late(o) => println!(
            "~ not judged: late (the machine did not keep up even at {}× the tick; raise --tick-ms): {o}",
            SLOWEST
        ),
    }
    if !on_time {
        Status::Inconclusive
    } else if judged.agrees() {
        Status::Agrees
    } else {
        Status::Broken
    }
}

/// The lock played, for messages: the protocol's own client, or the
/// user's.
fn lock_name(plan: &ChaosPlan) -> String {
    if plan.lock.is_some() {
        own_lock_name(plan)
    } else {
        "Redis".to_owned()
    }
}

fn count(r: &CellReport, p: PropertyName) -> String {
    let n = r.violations.get(&p).copied().unwrap_or(0);
    let model = r.model.get(&p).copied().unwrap_or(Verdict::Unknown);
    let first = r
        .first_violation
        .get(&p)
        .map(|i| format!(" (1st at #{i})"))
        .unwrap_or_default();
    let agreed = r.verdict == CellVerdict::Agree;
    match (n, model) {
        (0, _) if r.schedules == 0 => "-".to_owned(),
        (0, Verdict::Holds) if agreed => "0 ✓".to_owned(),
        (0, Verdict::Violated) if agreed => "0 (not reached)".to_owned(),
        (0, _) => "0".to_owned(),
        (n, Verdict::Violated) => format!("{n}{first}"),
        (n, _) => format!("{n} ✗{first}"),
    }
}

/// The command that plays `schedule` again exactly as this run played it:
/// the same lock, scenario, clients' placement, tick and servers.
pub(super) fn replay_command(plan: &ChaosPlan, scenario: &Scenario, schedule: &str) -> String {
    let mut cmd = String::from("locklab chaos");
    match (&plan.lock_cmd, &plan.lock) {
        (Some(lock_cmd), _) => {
            cmd.push_str(" --lock-cmd ");
            cmd.push_str(&quote(lock_cmd.text()));
        }
        (None, Some(lock)) => cmd.push_str(&format!(" --lock {lock}")),
        (None, None) => {}
    }
    cmd.push_str(&format!(
        " --protocol {} --faults {} --clients {} --rounds {}",
        scenario.protocol, scenario.faults, scenario.clients, scenario.rounds
    ));
    if scenario.depth > 1 {
        cmd.push_str(&format!(" --depth {}", scenario.depth));
    }
    if scenario.nodes() > 1 {
        cmd.push_str(&format!(" --nodes {}", scenario.nodes()));
    }
    if scenario.replicas > 0 {
        cmd.push_str(&format!(" --replicas {}", scenario.replicas));
    }
    cmd.push_str(&format!(" --tick-ms {}", plan.tick.as_millis()));
    if plan.clients == Clients::InProcess {
        cmd.push_str(" --in-process");
    }
    for url in &plan.redis {
        cmd.push_str(&format!(" --redis {}", quote(&crate::output::masked(url))));
    }
    cmd.push_str(&format!(" --schedule {}", quote(schedule)));
    cmd
}

/// A word as a POSIX shell reads it back.
fn quote(word: &str) -> String {
    shlex::try_quote(word)
        .map(|q| q.into_owned())
        .unwrap_or_else(|_| format!("'{}'", word.replace('\'', r"'\''")))
}

/// Schedules told per cell that disagrees; `--json` has the first 20.
const DISAGREEMENTS_TOLD: usize = 3;

/// A cell's disagreements, one block per schedule with every property it
/// disagrees on.
fn render_disagreements(plan: &ChaosPlan, r: &CellReport, who: &str) -> String {
    let mut schedules: Vec<(&str, Option<&str>, Vec<String>)> = Vec::new();
    for d in &r.disagreements {
        let verdicts = format!("{} (model {}, Redis {})", d.property, d.model, d.real);
        match schedules.iter_mut().find(|(s, _, _)| *s == d.schedule) {
            Some((_, _, v)) => v.push(verdicts),
            None => schedules.push((&d.schedule, d.divergence.as_deref(), vec![verdicts])),
        }
    }
    let mut out = String::new();
    for (schedule, divergence, verdicts) in schedules.iter().take(DISAGREEMENTS_TOLD) {
        let how = match divergence {
            Some(d) => format!("diverged at {d}"),
            None => "the history differs from the model's verdict".to_owned(),
        };
        out.push('\n');
        out.push_str(&wrap(
            &format!("DISAGREEMENT {who} under {} — {how}", r.scenario.faults),
            "",
            "  ",
        ));
        out.push_str(&wrap(&verdicts.join(", "), "  on: ", "      "));
        out.push_str(&command(
            "  replay: ",
            &replay_command(plan, &r.scenario, schedule),
        ));
    }
    let more = r.disagreement_count.saturating_sub(
        schedules
            .iter()
            .take(DISAGREEMENTS_TOLD)
            .map(|(_, _, v)| v.len())
            .sum(),
    );
    if more > 0 {
        out.push_str(&format!(
            "  … and {more} more property checks that disagree (--json lists the first 20)\n"
        ));
    }
    out
}

/// The whole run, as tables and findings.
pub(super) fn render(
    plan: &ChaosPlan,
    reports: &[CellReport],
    skipped: &[String],
    partial: bool,
    secs: f64,
) -> String {
    let clients = match plan.clients {
        Clients::InProcess => "clients in the lab's process",
        Clients::Workers { .. } | Clients::Command { .. } => "one worker process per client",
    };
    let mut out = wrap(
        &format!(
            "locklab chaos — {} random schedules per cell (seed {}), real redis-server, {clients}; 1 tick = {} ms; a cell needs {} judged",
            plan.schedules,
            plan.seed,
            plan.tick.as_millis(),
            plan.min_judged,
        ),
        "",
        "  ",
    );
    out.push('\n');
    let columns: Vec<PropertyName> = PropertyName::ALL
        .into_iter()
        .filter(|p| reports.iter().any(|r| r.model.contains_key(p)))
        .collect();
    let died = reports.iter().any(|r| r.died > 0);
    let diverged = plan.lock.is_some() || reports.iter().any(|r| r.diverged > 0);
    let mut header = vec![
        "protocol".to_owned(),
        "faults".to_owned(),
        "judged".to_owned(),
    ];
    header.extend(columns.iter().map(|p| p.name().to_owned()));
    header.extend([
        "shrunk to".to_owned(),
        "agree".to_owned(),
        "sched/min".to_owned(),
        "late".to_owned(),
    ]);
    if died {
        header.push("died".to_owned());
    }
    if diverged {
        header.push("diverged".to_owned());
    }
    let mut table = Table::new(header).key_columns(2);
    for r in reports {
        let protocol = match &plan.lock {
            Some(lock) => format!("{lock} (as {})", row_name(&r.scenario)),
            None => row_name(&r.scenario),
        };
        let mut row = vec![
            protocol,
            r.scenario.faults.to_string(),
            format!("{}/{}", r.schedules, r.played),
        ];
        row.extend(columns.iter().map(|&p| {
            if r.model.contains_key(&p) {
                count(r, p)
            } else {
                "n/a".to_owned()
            }
        }));
        let shrunk: Vec<String> = r
            .shrunk
            .values()
            .map(|s| format!("{}→{}", s.from_len, s.len))
            .collect();
        row.push(if shrunk.is_empty() {
            "-".into()
        } else {
            shrunk.join(" ")
        });
        row.push(r.verdict.word().to_owned());
        row.push(format!("{:.0}", r.played as f64 / r.secs.max(1e-9) * 60.0));
        row.push(match (r.late, r.slowed) {
            (0, 0) => "-".to_owned(),
            (late, 0) => late.to_string(),
            (late, slowed) => format!("{late} ({slowed} slowed)"),
        });
        if died {
            row.push(r.died.to_string());
        }
        if diverged {
            row.push(r.diverged.to_string());
        }
        table.row(row);
    }
    out.push_str(&table.render());
    out.push_str(&wrap("judged: schedules judged of those played · counts: judged schedules whose history broke the property · ✓ none, as the model says · ✗ a break the model does not have · not reached: the model breaks it, no schedule of the sample did (a warning: more --schedules) · n/a: the property does not apply · -: nothing judged", "", ""));
    out.push_str(&wrap("late: schedules the machine played later than their ticks allow even at 4× the tick, not judged (raise --tick-ms if many); slowed: judged on a run at 2× or 4× the tick after a faster one was late", "", ""));
    if died {
        out.push_str("died: schedules on which a worker process exited by itself; not judged (its stderr below)\n");
    }
    if diverged {
        out.push_str("diverged: schedules on which the lock did at some step what its model cannot do there — a disagreement, also when the lock is safer than its model (examples below)\n");
    }

    for r in reports {
        let who = match &plan.lock {
            Some(lock) => format!("{lock} (as {})", row_name(&r.scenario)),
            None => row_name(&r.scenario),
        };
        if let Some(why) = &r.not_judged {
            out.push_str(&format!(
                "\nNOT JUDGED: {who} under {} — {why}\n",
                r.scenario.faults
            ));
            if let Some(died) = r.died_examples.first() {
                out.push_str(&indented(&died.death.stderr_tail, "  "));
                out.push_str(&command(
                    "  replay: ",
                    &replay_command(plan, &r.scenario, &died.schedule),
                ));
            }
        } else {
            for died in r.died_examples.iter().take(1) {
                out.push_str(&format!(
                    "\n{who} under {} — a worker died, not judged: {}\n",
                    r.scenario.faults, died.death
                ));
                out.push_str(&indented(&died.death.stderr_tail, "  "));
            }
        }
        for (p, s) in &r.shrunk {
            let confirmed = match s.confirmed {
                Verdict::Violated => "confirmed on Redis",
                Verdict::Unknown => "its confirmation was not judged (late, or a worker died)",
                _ => "NOT confirmed on Redis",
            };
            let model = match (s.model_len, &s.longer) {
                (Some(m), Some(why)) => {
                    format!("; longer than the model's shortest, {m} steps: {why}")
                }
                (Some(m), None) => format!("; the model's shortest: {m} steps"),
                (None, _) => String::new(),
            };
            out.push('\n');
            out.push_str(&wrap(
                &format!(
                    "{who} under {} — {} broken, shrunk from {} to {} steps ({} candidates, {confirmed}{model}):",
                    r.scenario.faults, p, s.from_len, s.len, s.shrink_steps
                ),
                "",
                "  ",
            ));
            for step in &s.steps {
                out.push_str(&wrap(&step.line(), "  ", "        "));
            }
            let replay = s
                .replay
                .clone()
                .unwrap_or_else(|| replay_command(plan, &r.scenario, &s.schedule));
            out.push_str(&command("  replay: ", &replay));
        }
        out.push_str(&render_disagreements(plan, r, &who));
        if !r.unreached.is_empty() && r.verdict != CellVerdict::NotJudged {
            let names: Vec<&str> = r.unreached.iter().map(|p| p.name()).collect();
            out.push('\n');
            out.push_str(&wrap(
                &format!(
                    "not reached: {who} under {} — the model breaks {}, but none of {} judged schedules did (raise --schedules)",
                    r.scenario.faults,
                    names.join(", "),
                    r.schedules
                ),
                "",
                "  ",
            ));
        }
    }
    for why in skipped {
        out.push_str(&format!("\nskipped: {why}\n"));
    }
    let judged: usize = reports.iter().map(|r| r.schedules).sum();
    let played: usize = reports.iter().map(|r| r.played).sum();
    let tally = |v: CellVerdict| reports.iter().filter(|r| r.verdict == v).count();
    let unreached = reports
        .iter()
        .filter(|r| !r.unreached.is_empty() && r.verdict != CellVerdict::NotJudged)
        .count();
    out.push('\n');
    out.push_str(&wrap(
        &format!(
            "{}{} cells, {judged} of {played} schedules judged in {:.1}s; {} cells agree with the model, {} disagree, {} not judged, {} with a break not reached",
            if partial { "PARTIAL (interrupted): " } else { "" },
            reports.len(),
            secs,
            tally(CellVerdict::Agree),
            tally(CellVerdict::Disagree),
            tally(CellVerdict::NotJudged),
            unreached
        ),
        "",
        "  ",
    ));
    out
}
