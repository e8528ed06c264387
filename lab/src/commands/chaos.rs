//! `locklab chaos`: random fault schedules against real Redis, each checked
//! against the model, the first break of each property shrunk to the
//! smallest schedule that still shows it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use locklab_impl::ConnectOptions;
use locklab_model::step::parse_schedule;
use locklab_model::{PropertyName, Scenario, Step, Verdict};
use serde::Serialize;

use super::check::{self, CheckArgs};
use super::target::{self, Target};
use crate::chaos::{run_cell, run_one, CellPlan, CellReport, CHECKED};
use crate::cli::Status;
use crate::output::{print_command_json, progress, table::Table};
use crate::replay::{Clients, KeySpace, Stage};

/// Flags of `locklab chaos`.
#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// A protocol to run (repeatable). Default: all.
    #[arg(long = "protocol", value_name = "P")]
    pub protocols: Vec<String>,
    /// A fault budget (repeatable), e.g. `pause`, `pause,crash`, `none`.
    /// Default: none, pause, delay, crash, restart.
    #[arg(long = "faults", value_name = "F,F")]
    pub faults: Vec<String>,
    /// Random schedules per protocol × fault budget.
    #[arg(long, default_value_t = 200)]
    pub schedules: usize,
    /// The seed; the same seed plays the same schedules.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Contending clients.
    #[arg(long, default_value_t = 3)]
    pub clients: u64,
    /// Rounds per client.
    #[arg(long, default_value_t = 2)]
    pub rounds: u64,
    /// The longest schedule, in steps.
    #[arg(long, default_value_t = 30)]
    pub max_len: usize,
    /// One model tick, in milliseconds of real time (the lease is 3 ticks).
    #[arg(long, default_value_t = 25)]
    pub tick_ms: u64,
    /// Cells run at once.
    #[arg(long, default_value_t = 8)]
    pub parallel: usize,
    /// Play exactly this schedule (as printed for a shrunk failure), e.g.
    /// `acquire c1; pause c1; tick; tick; tick; acquire c2`. Needs one
    /// `--protocol` and one `--faults`.
    #[arg(long, value_name = "STEPS")]
    pub schedule: Option<String>,
    /// Use this Redis instead of one the lab starts (schedules that restart
    /// Redis need the lab's own).
    #[arg(long = "redis", value_name = "URL")]
    pub redis: Option<String>,
    /// Bring your own lock: play this lock client (any `LabLock` the lab
    /// knows, e.g. `rslock` in a build with `--features rslock`) in place of
    /// each protocol's own, judged against the model of `--protocol`
    /// (default: `token`, the single-server algorithm such locks follow).
    #[arg(long, value_name = "NAME")]
    pub lock: Option<String>,
    /// Run the clients inside the lab's process instead of one worker
    /// process each (a pause is then the lab withholding steps, not
    /// SIGSTOP; a delayed reply is read late instead of held by a proxy).
    #[arg(long)]
    pub in_process: bool,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// A validated `chaos`.
#[derive(Debug, Clone)]
pub struct ChaosPlan {
    /// The model check that gives each cell its verdicts.
    pub check: check::CheckPlan,
    /// Schedules per cell.
    pub schedules: usize,
    /// The seed.
    pub seed: u64,
    /// Longest schedule.
    pub max_len: usize,
    /// One tick.
    pub tick: Duration,
    /// Cells at once.
    pub parallel: usize,
    /// A single schedule to play.
    pub schedule: Option<Vec<Step>>,
    /// A user's Redis.
    pub redis: Option<String>,
    /// Where the clients run.
    pub clients: Clients,
    /// A lock played in place of the protocols' own clients.
    pub lock: Option<String>,
    /// JSON output.
    pub json: bool,
}

impl ChaosArgs {
    /// Turns the flags into a plan, or says in one line what is wrong.
    pub fn plan(&self) -> anyhow::Result<ChaosPlan> {
        if let Some(lock) = &self.lock {
            let known = crate::worker::known_protocols();
            if !known.contains(&lock.as_str()) {
                let hint = if lock == "rslock" {
                    " (rslock needs a build with --features rslock)"
                } else {
                    ""
                };
                bail!("--lock {lock}: known locks are {}{hint}", known.join(", "));
            }
        }
        let protocols = match (&self.lock, self.protocols.is_empty()) {
            (Some(_), true) => vec!["token".to_owned()],
            _ => self.protocols.clone(),
        };
        let check = CheckArgs::scenarios(protocols, self.faults.clone(), self.clients, self.rounds)
            .plan()?;
        let schedules = target::in_range("--schedules", self.schedules, 1..=100_000, "")?;
        let max_len = target::in_range("--max-len", self.max_len, 1..=200, " steps")?;
        let tick_ms = target::in_range(
            "--tick-ms",
            self.tick_ms,
            5..=5000,
            " (a tick must dwarf a Redis round trip)",
        )?;
        let parallel = target::in_range("--parallel", self.parallel, 1..=64, "")?;
        let redis = self.redis.as_deref().map(target::redis_url).transpose()?;
        let schedule = match &self.schedule {
            None => None,
            Some(text) => {
                if check.scenarios.len() != 1 {
                    bail!("--schedule plays one scenario: give exactly one --protocol and one --faults");
                }
                let steps = parse_schedule(text)?;
                let scenario = check.scenarios[0];
                locklab_model::LockModel::new(scenario)
                    .follow(&steps)
                    .with_context(|| {
                        format!(
                            "--schedule for {} under {}",
                            scenario.protocol, scenario.faults
                        )
                    })?;
                Some(steps)
            }
        };
        Ok(ChaosPlan {
            check,
            schedules,
            seed: self.seed,
            max_len,
            tick: Duration::from_millis(tick_ms),
            parallel,
            schedule,
            redis,
            clients: if self.in_process {
                Clients::InProcess
            } else {
                Clients::Workers {
                    binary: crate::worker::locklab_binary(),
                }
            },
            lock: self.lock.clone(),
            json: self.json,
        })
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    seed: u64,
    tick_ms: u128,
    runs: &'a [CellReport],
    disagreements: usize,
    secs: f64,
}

/// Runs `locklab chaos`.
pub fn run(args: &ChaosArgs) -> anyhow::Result<Status> {
    let plan = args.plan()?;
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let connect = ConnectOptions::default();
    let target = Target::open(plan.redis.as_deref(), &runtime, &connect)?;
    let stage = Stage {
        url: target.url.clone(),
        embedded: target.embedded(),
        tick: plan.tick,
        connect,
        keys: KeySpace::new(),
        clients: plan.clients.clone(),
        lock: plan.lock.clone(),
    };

    if let Some(steps) = &plan.schedule {
        let scenario = plan.check.scenarios[0];
        let (verdicts, trouble) = run_one(scenario, steps, &stage, runtime.handle());
        return Ok(report_one(scenario, &verdicts, trouble.as_deref()));
    }

    let outcomes = check::run_plan(&plan.check);
    let cells: Vec<CellPlan> = outcomes
        .iter()
        .map(|o| CellPlan {
            scenario: o.scenario,
            model: CHECKED
                .iter()
                .filter_map(|&p| o.verdict(p).map(|v| (p, v.verdict)))
                .collect(),
            schedules: plan.schedules,
            seed: plan.seed,
            max_len: plan.max_len,
            max_shrink: 200,
            own_lock: plan.lock.is_some(),
        })
        .filter(|c| stage.embedded || c.scenario.faults.restart == 0)
        .collect();
    let reports = run_cells(&cells, &stage, runtime.handle(), plan.parallel)?;
    drop(target);
    let secs = started.elapsed().as_secs_f64();
    let disagreements = reports.iter().filter(|r| !r.agree).count();
    if plan.json {
        print_command_json(
            "chaos",
            &JsonReport {
                seed: plan.seed,
                tick_ms: plan.tick.as_millis(),
                runs: &reports,
                disagreements,
                secs,
            },
        )?;
    } else {
        print!("{}", render(&plan, &reports, secs));
    }
    Ok(if disagreements == 0 {
        Status::Agrees
    } else {
        Status::Broken
    })
}

fn run_cells(
    cells: &[CellPlan],
    stage: &Stage,
    runtime: &tokio::runtime::Handle,
    parallel: usize,
) -> anyhow::Result<Vec<CellReport>> {
    let total: usize = cells.iter().map(|c| c.schedules).sum();
    let bar = progress::bar(total as u64, "schedules");
    let next_cell = AtomicUsize::new(0);
    let next_key = AtomicUsize::new(0);
    let reports: Mutex<Vec<(usize, CellReport)>> = Mutex::new(Vec::new());
    let failure: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..parallel.min(cells.len()).max(1) {
            scope.spawn(|| loop {
                let i = next_cell.fetch_add(1, Ordering::Relaxed);
                let Some(cell) = cells.get(i) else { return };
                let key = || next_key.fetch_add(1, Ordering::Relaxed);
                let tick = || bar.inc(1);
                match run_cell(cell, stage, runtime, &key, &tick) {
                    Ok(report) => {
                        if let Ok(mut r) = reports.lock() {
                            r.push((i, report));
                        }
                    }
                    Err(e) => {
                        if let Ok(mut f) = failure.lock() {
                            f.get_or_insert(e.to_string());
                        }
                        return;
                    }
                }
            });
        }
    });
    bar.finish_and_clear();
    if let Some(e) = failure.into_inner().ok().flatten() {
        bail!("chaos stopped: {e}");
    }
    let mut reports = reports.into_inner().unwrap_or_default();
    reports.sort_by_key(|(i, _)| *i);
    Ok(reports.into_iter().map(|(_, r)| r).collect())
}

fn report_one(
    scenario: Scenario,
    verdicts: &BTreeMap<PropertyName, (Verdict, Verdict)>,
    trouble: Option<&str>,
) -> Status {
    let mut table = Table::new(["property", "model", "real Redis", "agree"]);
    let mut agree = trouble.is_none();
    for (p, (m, r)) in verdicts {
        agree &= m == r;
        table.row([
            p.name().to_owned(),
            m.word().to_owned(),
            r.word().to_owned(),
            if m == r { "yes" } else { "NO" }.to_owned(),
        ]);
    }
    print!(
        "one schedule, {} under {}\n\n{}",
        scenario.protocol,
        scenario.faults,
        table.render()
    );
    if let Some(t) = trouble {
        println!("! {t}");
    }
    if agree {
        Status::Agrees
    } else {
        Status::Broken
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
    match (n, model) {
        (0, Verdict::Holds) => "0 ✓".to_owned(),
        (0, _) => "0 ✗ not found".to_owned(),
        (n, Verdict::Violated) => format!("{n}{first}"),
        (n, _) => format!("{n} ✗{first}"),
    }
}

fn render(plan: &ChaosPlan, reports: &[CellReport], secs: f64) -> String {
    let clients = match plan.clients {
        Clients::InProcess => "clients in the lab's process",
        Clients::Workers { .. } => "one worker process per client",
    };
    let mut out = format!(
        "locklab chaos — {} random schedules per cell (seed {}), real redis-server, {clients}; 1 tick = {} ms\n\n",
        plan.schedules,
        plan.seed,
        plan.tick.as_millis()
    );
    let mut header = vec![
        "protocol".to_owned(),
        "faults".to_owned(),
        "schedules".to_owned(),
    ];
    header.extend(CHECKED.iter().map(|p| p.name().to_owned()));
    header.extend([
        "shrunk to".to_owned(),
        "agree".to_owned(),
        "sched/min".to_owned(),
        "late".to_owned(),
    ]);
    if plan.lock.is_some() {
        header.push("diverged".to_owned());
    }
    let mut table = Table::new(header);
    for r in reports {
        let protocol = match &plan.lock {
            Some(lock) => format!("{lock} (as {})", r.scenario.protocol),
            None => r.scenario.protocol.to_string(),
        };
        let mut row = vec![
            protocol,
            r.scenario.faults.to_string(),
            r.schedules.to_string(),
        ];
        row.extend(CHECKED.iter().map(|&p| count(r, p)));
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
        row.push(if r.agree { "yes" } else { "NO" }.to_owned());
        row.push(format!(
            "{:.0}",
            (r.schedules + r.late + r.diverged) as f64 / r.secs.max(1e-9) * 60.0
        ));
        row.push(if r.late == 0 {
            "-".to_owned()
        } else {
            r.late.to_string()
        });
        if plan.lock.is_some() {
            row.push(r.diverged.to_string());
        }
        table.row(row);
    }
    out.push_str(&table.render());
    out.push_str("counts: schedules whose history broke the property · ✓ none, as the model says · ✗ differs from the model\n");
    out.push_str("late: schedules the machine played later than their ticks allow, not judged (raise --tick-ms if many)\n");
    if plan.lock.is_some() {
        out.push_str("diverged: schedules on which the lock did something else than the model of its protocol at some step; not judged (examples below)\n");
    }

    let lock_flag = plan
        .lock
        .as_ref()
        .map(|l| format!(" --lock {l}"))
        .unwrap_or_default();
    for r in reports {
        let who = match &plan.lock {
            Some(lock) => format!("{lock} (as {})", r.scenario.protocol),
            None => r.scenario.protocol.to_string(),
        };
        for (p, s) in &r.shrunk {
            out.push_str(&format!(
                "\n{who} under {} — {} broken, shrunk from {} to {} steps in {} replays:\n",
                r.scenario.faults, p, s.from_len, s.len, s.shrink_steps
            ));
            for step in &s.steps {
                out.push_str(&format!("  {}\n", step.line()));
            }
            out.push_str(&format!(
                "  replay: locklab chaos{lock_flag} --protocol {} --faults {} --clients {} --rounds {} --schedule '{}'\n",
                r.scenario.protocol, r.scenario.faults, r.scenario.clients, r.scenario.rounds, s.schedule
            ));
        }
        for example in r.diverged_examples.iter().take(2) {
            out.push_str(&format!(
                "\n{who} under {} diverged: {example}\n",
                r.scenario.faults
            ));
        }
        for d in &r.disagreements {
            out.push_str(&format!(
                "\nDISAGREEMENT {who} under {} — {}: model {}, Redis {}{}{}\n  schedule: {}\n",
                r.scenario.faults,
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
    let schedules: usize = reports.iter().map(|r| r.schedules).sum();
    let disagree = reports.iter().filter(|r| !r.agree).count();
    out.push_str(&format!(
        "\n{} cells, {} schedules in {:.1}s; {} cells agree with the model, {} disagree\n",
        reports.len(),
        schedules,
        secs,
        reports.len() - disagree,
        disagree
    ));
    out
}
