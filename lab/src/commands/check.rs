//! `locklab check`: model-check protocols × fault budgets, print the verdict
//! matrix and the shortest counterexample of every break.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use locklab_model::matrix::{self, Progress};
use locklab_model::{
    CheckOptions, Family, Faults, Kind, NarratedStep, PropertyName, PropertyVerdict, Protocol,
    Scenario, ScenarioOutcome, Verdict,
};
use serde::Serialize;

use super::model_cache;
use super::names;
use super::scope::Scopes;
use crate::output::row_name;
use crate::output::wrap::wrap;
use crate::output::Status;
use crate::output::{print_command_json, progress, table::Table};

/// The most states a check may be asked to visit.
const MAX_STATES_LIMIT: u64 = 2_000_000_000;

/// Flags of `locklab check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A protocol to check (repeatable); `locklab list protocols` lists
    /// them. Default: all.
    #[arg(long = "protocol", value_name = "P")]
    pub protocols: Vec<String>,
    /// A fault budget to check under (repeatable), e.g. `none`, `pause`,
    /// `pause,crash`, `pause=2`. Default: none, then each fault of the
    /// protocol's menu alone (for the lease locks: pause, delay, crash,
    /// restart, retry).
    #[arg(long = "faults", value_name = "F,F")]
    pub faults: Vec<String>,
    /// Contending clients. Default: the protocol's own scenario (3).
    #[arg(long)]
    pub clients: Option<u64>,
    /// Rounds per client. Default: the protocol's own scenario (1).
    #[arg(long)]
    pub rounds: Option<u64>,
    /// The lease, in ticks. Default: the protocol's own scenario (3).
    #[arg(long)]
    pub ttl: Option<u64>,
    /// Acquires before the write, and releases after it (2 or more: the
    /// lock used re-entrantly). Default: the protocol's own scenario (2 for
    /// a re-entrant lock, 1 otherwise).
    #[arg(long)]
    pub depth: Option<u64>,
    /// Units of work the producer writes, for the sync protocols (1 to 4).
    /// Default: the protocol's own scenario (2).
    #[arg(long)]
    pub units: Option<u64>,
    /// Masters of a quorum lock (redlock, redlock-fenced): 3 or more, each
    /// one multiplying the state space. Default: the protocol's own (3).
    /// Single-instance locks are not affected.
    #[arg(long)]
    pub nodes: Option<u64>,
    /// A quorum lock's drift factor, in [0, 1): `factor × ttl` ticks
    /// (rounded down) are taken off every grant's validity. Default 0.01
    /// (0 ticks of a 3-tick lease).
    #[arg(long)]
    pub drift: Option<f64>,
    /// Replicas of the primary (0 to 2): a failover promotes one. Default:
    /// the protocol's own scenario (1 for token-wait), and under
    /// `failover` rows with 1 and with 2.
    #[arg(long)]
    pub replicas: Option<u64>,
    /// `min-replicas-to-write` on the primary (at most the replicas).
    #[arg(long)]
    pub min_replicas_to_write: Option<u64>,
    /// What the primary keeps on disk, so what a `restart` gives back:
    /// none, everysec or always (`appendonly yes` with that `appendfsync`).
    /// Default: none, and under `restart` of a protocol with replicas in
    /// its menu, a row for each.
    #[arg(long)]
    pub persistence: Option<locklab_model::Persistence>,
    /// A renewing lock's renewal period, in ticks: at least 1, below the
    /// lease. Default: a third of the lease (1 tick of a 3-tick lease).
    #[arg(long)]
    pub renew_every: Option<u64>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Check without symmetry reduction.
    #[arg(long)]
    pub no_symmetry: bool,
    /// Also count the states without symmetry reduction (a second run).
    #[arg(long)]
    pub compare_symmetry: bool,
    /// Give up on a scenario (verdict `unknown`) after generating this many
    /// states (revisits included).
    #[arg(long, default_value_t = 200_000_000)]
    pub max_states: u64,
    /// Give up on a scenario (verdict `unknown`) after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// Scenarios checked at once (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Also claim this property in every checked scenario (repeatable), as
    /// a design review would: exit 1 if it breaks.
    #[arg(long = "claim", value_name = "PROPERTY")]
    pub claims: Vec<String>,
}

/// A validated `check`: what to run and how.
#[derive(Debug, Clone)]
pub struct CheckPlan {
    /// The scenarios, in table order.
    pub scenarios: Vec<Scenario>,
    /// Checker options.
    pub options: CheckOptions,
    /// Scenarios checked at once.
    pub workers: usize,
    /// JSON instead of tables.
    pub json: bool,
    /// Properties claimed in every scenario, beyond the protocols' own claims.
    pub extra_claims: Vec<PropertyName>,
}

impl CheckArgs {
    /// The flags of a check of these protocols and fault budgets at these
    /// sizes, every other flag at its default: the check behind `reproduce`
    /// and `chaos`.
    pub fn scenarios(
        protocols: Vec<String>,
        faults: Vec<String>,
        clients: Option<u64>,
        rounds: Option<u64>,
    ) -> CheckArgs {
        CheckArgs {
            protocols,
            faults,
            clients,
            rounds,
            ttl: None,
            depth: None,
            units: None,
            nodes: None,
            drift: None,
            replicas: None,
            min_replicas_to_write: None,
            persistence: None,
            renew_every: None,
            json: true,
            no_symmetry: false,
            compare_symmetry: false,
            max_states: 200_000_000,
            timeout_secs: 600,
            workers: None,
            claims: vec![],
        }
    }

    /// A scenario with the sizes the flags override. `--nodes` and
    /// `--drift` apply to the quorum locks only.
    fn resize(&self, s: Scenario) -> anyhow::Result<Scenario> {
        let mut s = s.sized(
            self.clients.unwrap_or(u64::from(s.clients)),
            self.rounds.unwrap_or(u64::from(s.rounds)),
            self.ttl.unwrap_or(u64::from(s.ttl)),
        )?;
        if let Some(depth) = self.depth {
            s = s.deep(depth)?;
        }
        if let Some(units) = self.units {
            s = s.with_units(units)?;
        }
        if let Some(replicas) = self.replicas {
            s = s.replicated(replicas)?;
        }
        if let Some(n) = self.min_replicas_to_write {
            s = s.min_replicas(n)?;
        }
        if let Some(p) = self.persistence {
            s = s.persisting(p);
        }
        if let Some(period) = self.renew_every.filter(|_| s.protocol.caps().renews()) {
            s = s.renewing_every(period)?;
        }
        if crate::family::entry(s.protocol).quorum_flags {
            if let Some(nodes) = self.nodes {
                s = s.with_nodes(nodes)?;
            }
            if let Some(drift) = self.drift {
                s = s.with_drift(drift)?;
            }
        }
        Ok(s)
    }

    /// Refuses a `--nodes` or `--drift` that no quorum lock could take,
    /// whichever protocols are checked.
    fn check_quorum_flags(&self) -> anyhow::Result<()> {
        let Some(quorum) = Protocol::all()
            .iter()
            .copied()
            .find(|p| crate::family::entry(*p).quorum_flags)
        else {
            return Ok(());
        };
        let s = Scenario::new(quorum, Faults::NONE);
        if let Some(nodes) = self.nodes {
            s.with_nodes(nodes)?;
        }
        if let Some(drift) = self.drift {
            s.with_drift(drift)?;
        }
        Ok(())
    }

    /// The properties claimed with `--claim`, each of which must apply to
    /// some scenario checked: a claim nothing checks would be dropped and
    /// "every claim holds" printed over it.
    fn claimed(&self, scenarios: &[Scenario]) -> anyhow::Result<Vec<PropertyName>> {
        let mut claimed = Vec::new();
        for name in &self.claims {
            let property = names::property(name).with_context(|| format!("--claim {name}"))?;
            let applies = |s: &Scenario| {
                property.kind() != Kind::Sometimes && s.protocol.judges(property, s.depth, s.faults)
            };
            if !scenarios.iter().any(applies) {
                let fits: Vec<String> = Protocol::all()
                    .iter()
                    .filter(|p| matrix::default_scenarios(&[**p]).iter().any(applies))
                    .map(|p| p.name().to_owned())
                    .collect();
                let checked: Vec<String> = dedup_names(scenarios);
                bail!(
                    "--claim {property}: it applies to none of the protocols checked ({}); it applies to {}",
                    checked.join(", "),
                    if fits.is_empty() {
                        "no protocol as a claim: it is a witness (someone reaches it), which every model checks by itself".to_owned()
                    } else {
                        fits.join(", ")
                    }
                );
            }
            if !claimed.contains(&property) {
                claimed.push(property);
            }
        }
        Ok(claimed)
    }

    /// Refuses a `--renew-every` that no renewing lock could take at the
    /// lease asked for, whichever protocols are checked.
    fn check_renewal_flag(&self) -> anyhow::Result<()> {
        let (Some(period), Some(renewing)) = (
            self.renew_every,
            Protocol::all().iter().copied().find(|p| p.caps().renews()),
        ) else {
            return Ok(());
        };
        let s = Scenario::new(renewing, Faults::NONE);
        let ttl = self.ttl.unwrap_or(u64::from(s.ttl));
        s.sized(u64::from(s.clients), u64::from(s.rounds), ttl)?
            .renewing_every(period)?;
        Ok(())
    }

    /// Turns the flags into a plan, or says in one line what is wrong.
    pub fn plan(&self) -> anyhow::Result<CheckPlan> {
        self.check_quorum_flags()?;
        self.check_renewal_flag()?;
        let protocols = protocols(&self.protocols)?;
        let scenarios = if self.faults.is_empty() {
            matrix::default_scenarios(&protocols)
        } else {
            let mut sets = Vec::new();
            for text in &self.faults {
                let f = names::faults(text).with_context(|| format!("--faults {text}"))?;
                if !sets.contains(&f) {
                    sets.push(f);
                }
            }
            let mut scenarios = Vec::new();
            for &p in &protocols {
                for &f in &sets {
                    let s = Scenario::new(p, f);
                    match s.check_faults() {
                        Ok(()) => scenarios.push(s),
                        // A protocol named on purpose must take every fault
                        // asked for; the default list skips what it cannot.
                        Err(e) if !self.protocols.is_empty() => return Err(e.into()),
                        Err(_) => {}
                    }
                }
            }
            if scenarios.is_empty() {
                bail!(
                    "no protocol can be checked under {}",
                    self.faults.join(" and ")
                );
            }
            scenarios
        };
        let mut resized: Vec<Scenario> = Vec::new();
        for s in scenarios {
            let s = self.resize(s)?;
            if !resized.contains(&s) {
                resized.push(s);
            }
        }
        let scenarios = resized;
        if self.max_states == 0 || self.max_states > MAX_STATES_LIMIT {
            bail!(
                "--max-states {}: give 1 to {MAX_STATES_LIMIT}",
                self.max_states
            );
        }
        if self.timeout_secs == 0 || self.timeout_secs > 24 * 3600 {
            bail!(
                "--timeout-secs {}: give 1 to 86400 seconds",
                self.timeout_secs
            );
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = match self.workers {
            Some(0) => bail!("--workers 0: give at least 1"),
            Some(n) if n > 256 => bail!("--workers {n}: give at most 256"),
            Some(n) => n,
            None => cores,
        };
        let extra_claims = self.claimed(&scenarios)?;
        Ok(CheckPlan {
            extra_claims,
            scenarios,
            options: CheckOptions {
                symmetry: !self.no_symmetry,
                compare_symmetry: self.compare_symmetry && !self.no_symmetry,
                max_states: usize::try_from(self.max_states).unwrap_or(usize::MAX),
                timeout: Some(Duration::from_secs(self.timeout_secs)),
                threads: 1,
            },
            workers,
            json: self.json,
        })
    }
}

/// Runs `locklab check`.
pub fn run(args: &CheckArgs) -> anyhow::Result<Status> {
    let plan = args.plan()?;
    let started = Instant::now();
    let outcomes = run_plan(&plan);
    let secs = started.elapsed().as_secs_f64();
    let summary = Summary::of(&outcomes);
    if plan.json {
        print_command_json("check", &JsonReport::new(&plan, &outcomes, &summary, secs))?;
    } else {
        print!("{}", render(&plan, &outcomes, &summary, secs));
    }
    Ok(summary.status())
}

/// The protocols named (in table order, each once), or all of them.
pub fn protocols(names: &[String]) -> anyhow::Result<Vec<Protocol>> {
    if names.is_empty() {
        return Ok(Protocol::all().to_vec());
    }
    let mut protocols = Vec::new();
    for name in names {
        let p = names::protocol(name)?;
        if !protocols.contains(&p) {
            protocols.push(p);
        }
    }
    Ok(protocols)
}

/// The protocols of these scenarios, each once, in order.
fn dedup_names(scenarios: &[Scenario]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for s in scenarios {
        let name = s.protocol.name().to_owned();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Checks every scenario of the plan, with a progress bar on stderr; an
/// outcome the report's stages share ([`model_cache`]) is not checked again.
pub fn run_plan(plan: &CheckPlan) -> Vec<ScenarioOutcome> {
    let cache = model_cache::dir();
    let mut kept: Vec<Option<ScenarioOutcome>> = plan
        .scenarios
        .iter()
        .map(|s| {
            cache
                .as_deref()
                .and_then(|d| model_cache::load(d, s, &plan.options))
        })
        .collect();
    let missing: Vec<Scenario> = plan
        .scenarios
        .iter()
        .zip(&kept)
        .filter(|(_, k)| k.is_none())
        .map(|(s, _)| *s)
        .collect();
    let bar = progress::bar(missing.len() as u64, "scenarios");
    let states: std::sync::Mutex<HashMap<usize, usize>> = Default::default();
    let report = |event: Progress| match event {
        Progress::States { scenario, unique } => {
            if let Ok(mut states) = states.lock() {
                states.insert(scenario, unique);
                let total: usize = states.values().sum();
                bar.set_message(format!("· {total} states"));
            }
        }
        Progress::Finished { .. } => bar.inc(1),
    };
    let mut checked = matrix::run(&missing, &plan.options, plan.workers, &report).into_iter();
    bar.finish_and_clear();
    let mut outcomes = Vec::with_capacity(kept.len());
    for k in &mut kept {
        let outcome = match k.take() {
            Some(o) => Some(o),
            None => {
                let o = checked.next();
                if let (Some(d), Some(o)) = (cache.as_deref(), &o) {
                    model_cache::store(d, &plan.options, o);
                }
                o
            }
        };
        outcomes.extend(outcome);
    }
    for o in &mut outcomes {
        settle(plan, o);
    }
    outcomes
}

/// One scenario's outcome, from the report's shared outcomes or checked
/// here (no progress bar: the caller has its own), settled as
/// [`run_plan`] settles it.
pub fn outcome_of(plan: &CheckPlan, scenario: Scenario) -> ScenarioOutcome {
    let cache = model_cache::dir();
    let kept = cache
        .as_deref()
        .and_then(|d| model_cache::load(d, &scenario, &plan.options));
    let mut outcome = kept.unwrap_or_else(|| {
        let o = locklab_model::check(scenario, &plan.options, &|_| {});
        if let Some(d) = cache.as_deref() {
            model_cache::store(d, &plan.options, &o);
        }
        o
    });
    settle(plan, &mut outcome);
    outcome
}

/// The checker's outcome as the lab reports it: `not modelled` where the
/// property could mean something, and the plan's extra claims marked.
fn settle(plan: &CheckPlan, o: &mut ScenarioOutcome) {
    let s = o.scenario;
    for v in &mut o.verdicts {
        // The checker says `n/a` for every property its model does not
        // check; where the property could mean something here, that is
        // the lab not modelling it, which the matrix must not pass off
        // as "cannot apply".
        let could = s.protocol.judges(v.property, s.depth, s.faults);
        if v.verdict == Verdict::NotApplicable && could && v.kind != Kind::Sometimes {
            v.verdict = Verdict::NotModelled;
        }
        if plan.extra_claims.contains(&v.property) && v.verdict != Verdict::NotApplicable {
            v.claimed = true;
        }
    }
}

/// What the run found, against the claims.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Claimed cells whose verdict is `violated`: `protocol/faults/property`.
    pub broken: Vec<String>,
    /// Claimed cells left `unknown` by a budget.
    pub unknown: Vec<String>,
    /// Claimed cells the lab's model does not check (`not modelled`).
    pub not_judged: Vec<String>,
    /// Verdicts that are `violated`, claimed or not.
    pub violations: usize,
    /// Unique states over all scenarios.
    pub unique_states: usize,
}

impl Summary {
    /// The exit status: a broken claim is 1; a claim a budget left
    /// unsettled, 3 (inconclusive); otherwise 0.
    pub fn status(&self) -> Status {
        if !self.broken.is_empty() {
            Status::Broken
        } else if !self.unknown.is_empty() || !self.not_judged.is_empty() {
            Status::Inconclusive
        } else {
            Status::Agrees
        }
    }

    fn of(outcomes: &[ScenarioOutcome]) -> Summary {
        let mut summary = Summary::default();
        for o in outcomes {
            summary.unique_states += o.unique_states;
            for v in &o.verdicts {
                let cell = || {
                    format!(
                        "{}/{}/{}",
                        row_name(&o.scenario),
                        o.scenario.faults,
                        v.property
                    )
                };
                if v.verdict == Verdict::Violated && v.kind != Kind::Sometimes {
                    summary.violations += 1;
                }
                if v.breaks_claim() {
                    summary.broken.push(cell());
                }
                if v.claimed && v.verdict == Verdict::Unknown {
                    summary.unknown.push(cell());
                }
                if v.claimed && v.verdict == Verdict::NotModelled {
                    summary.not_judged.push(cell());
                }
            }
        }
        summary
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    symmetry: bool,
    verdicts: Vec<JsonRow<'a>>,
    summary: &'a Summary,
    secs: f64,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    #[serde(flatten)]
    scenario: &'a Scenario,
    #[serde(flatten)]
    verdict: &'a PropertyVerdict,
    unique_states: usize,
    unique_states_without_symmetry: Option<usize>,
    without_symmetry_complete: Option<bool>,
    complete: bool,
    secs: f64,
}

impl<'a> JsonReport<'a> {
    fn new(
        plan: &CheckPlan,
        outcomes: &'a [ScenarioOutcome],
        summary: &'a Summary,
        secs: f64,
    ) -> JsonReport<'a> {
        JsonReport {
            symmetry: plan.options.symmetry,
            verdicts: outcomes
                .iter()
                .flat_map(|o| {
                    o.verdicts.iter().map(move |v| JsonRow {
                        scenario: &o.scenario,
                        verdict: v,
                        unique_states: o.unique_states,
                        unique_states_without_symmetry: o.unique_states_without_symmetry,
                        without_symmetry_complete: o.without_symmetry_complete,
                        complete: o.complete,
                        secs: o.secs,
                    })
                })
                .collect(),
            summary,
            secs,
        }
    }
}

/// The safety and liveness properties some row checks, one column each.
fn columns(outcomes: &[&ScenarioOutcome]) -> Vec<PropertyName> {
    PropertyName::ALL
        .into_iter()
        .filter(|p| p.kind() != Kind::Sometimes)
        .filter(|p| {
            outcomes.iter().any(|o| {
                o.verdict(*p)
                    .is_some_and(|v| v.verdict != Verdict::NotApplicable)
            })
        })
        .collect()
}

/// A cell: the verdict, marked ✓ where the protocol claims it and it holds,
/// ✗ where it claims it and it is broken, ? where it claims it and a budget
/// left it unsettled.
fn cell(v: Option<&PropertyVerdict>) -> String {
    match v {
        None => "-".to_owned(),
        Some(v) => match (v.claimed, v.verdict) {
            (_, Verdict::NotApplicable) => "n/a".to_owned(),
            (_, Verdict::NotModelled) => "not modelled".to_owned(),
            (true, Verdict::Holds) => "holds ✓".to_owned(),
            (true, Verdict::Violated) => "VIOLATED ✗".to_owned(),
            (true, Verdict::Unknown) => "unknown ?".to_owned(),
            (_, verdict) => verdict.word().to_owned(),
        },
    }
}

/// The `sometimes` witnesses: `ok`, or which were never reached (a "holds"
/// next to a missing witness may be vacuous).
fn witnesses(o: &ScenarioOutcome) -> String {
    let missing: Vec<&str> = o
        .verdicts
        .iter()
        .filter(|v| {
            v.kind == Kind::Sometimes
                && !matches!(v.verdict, Verdict::Holds | Verdict::NotApplicable)
        })
        .map(|v| v.property.name())
        .collect();
    if missing.is_empty() {
        "ok".to_owned()
    } else {
        format!("MISSING {}", missing.join(", "))
    }
}

fn render(plan: &CheckPlan, outcomes: &[ScenarioOutcome], summary: &Summary, secs: f64) -> String {
    let mut out = format!(
        "locklab check — symmetry {}\n",
        if plan.options.symmetry { "on" } else { "off" }
    );
    // One table per model family, each with the scope its rows share.
    let mut families: Vec<Family> = Vec::new();
    for o in outcomes {
        if !families.contains(&o.scenario.protocol.family()) {
            families.push(o.scenario.protocol.family());
        }
    }
    for family in families {
        let rows: Vec<&ScenarioOutcome> = outcomes
            .iter()
            .filter(|o| o.scenario.protocol.family() == family)
            .collect();
        out.push_str(&render_table(plan, &rows));
    }
    out.push_str(&wrap(
        "✓ claimed and holds · ✗ claimed but broken · ? claimed, budget ran out · unmarked: not claimed (the lesson) · n/a: cannot apply here · not modelled: could apply, the lab's model does not check it (docs/model.md, \"n/a and not modelled\") · witn: every witness of a `sometimes` property reached (ok), or which were not",
        "",
        "",
    ));
    if outcomes.iter().any(|o| o.scenario.depth > 1) {
        out.push_str("×2: each client acquires twice before it writes, and releases twice (the lock used re-entrantly)\n");
    }

    out.push_str(&render_paths(outcomes));

    out.push_str(&format!(
        "\n{} scenarios, {} unique states, {} violations found, {:.2}s\n",
        outcomes.len(),
        summary.unique_states,
        summary.violations,
        secs
    ));
    if !summary.broken.is_empty() {
        out.push_str(&format!("CLAIMS BROKEN: {}\n", summary.broken.join(", ")));
    }
    if !summary.unknown.is_empty() {
        out.push_str(&format!(
            "NOT PROVEN: a budget ran out before these claimed cells were settled: {} — raise --max-states or --timeout-secs (exit 3)\n",
            summary.unknown.join(", ")
        ));
    }
    if !summary.not_judged.is_empty() {
        out.push_str(&format!(
            "NOT JUDGED: the lab's model does not check these claimed cells: {} (exit 3)\n",
            summary.not_judged.join(", ")
        ));
    }
    if summary.status() == Status::Agrees {
        out.push_str("every claim holds\n");
    }
    out
}

/// One family's table: its scope line, then a row per scenario (with a
/// `scope` column when the rows' scopes differ).
fn render_table(plan: &CheckPlan, outcomes: &[&ScenarioOutcome]) -> String {
    let scenarios: Vec<Scenario> = outcomes.iter().map(|o| o.scenario).collect();
    let scopes = Scopes::of(&scenarios);
    let columns = columns(outcomes);
    let mut header: Vec<String> = vec!["protocol".into(), "faults".into()];
    if scopes.differ() {
        header.push("scope".into());
    }
    header.extend(columns.iter().map(|p| abbreviation(*p)));
    header.extend(["witn".into(), "states".into()]);
    if plan.options.compare_symmetry {
        header.push("w/o symmetry".into());
    }
    header.push("time".into());
    let mut table = Table::new(header).key_columns(2);
    for (o, scope) in outcomes.iter().zip(&scopes.rows) {
        let mut row = vec![row_name(&o.scenario), o.scenario.faults.to_string()];
        if scopes.differ() {
            row.push(scope.clone());
        }
        row.extend(columns.iter().map(|p| cell(o.verdict(*p))));
        row.push(witnesses(o));
        row.push(if o.complete {
            o.unique_states.to_string()
        } else {
            format!("{}+", o.unique_states)
        });
        if plan.options.compare_symmetry {
            row.push(
                match (
                    o.unique_states_without_symmetry,
                    o.without_symmetry_complete,
                ) {
                    (Some(n), Some(true)) => n.to_string(),
                    (Some(n), _) => format!("{n}+"),
                    (None, _) => "-".into(),
                },
            );
        }
        row.push(format!("{:.2}s", o.secs));
        table.row(row);
    }
    let protocols = dedup_names(&scenarios).join(", ");
    let legend: Vec<String> = columns
        .iter()
        .map(|p| format!("{} {}", abbreviation(*p), p.name()))
        .collect();
    format!(
        "\n{}{}{}",
        wrap(&format!("{protocols} — {}", scopes.shared), "", "  "),
        wrap(&legend.join(" · "), "", ""),
        table.render()
    )
}

/// A property's column title: the initials of its words
/// (`mutual-exclusion`: `ME`), spelled out in the legend above the table,
/// so that a family's matrix fits a terminal.
fn abbreviation(property: PropertyName) -> String {
    property
        .name()
        .split('-')
        .filter_map(|word| word.chars().next())
        .flat_map(char::to_uppercase)
        .collect()
}

/// The counterexamples (and fencing witnesses), each told once: when a
/// scenario's paths were all told for an earlier fault budget of the same
/// protocol, it is referred back to.
fn render_paths(outcomes: &[ScenarioOutcome]) -> String {
    let mut out = String::new();
    let mut seen: HashMap<(String, PropertyName, Vec<NarratedStep>), Faults> = HashMap::new();
    for o in outcomes {
        let row = row_name(&o.scenario);
        let title = format!("{row} under {}", o.scenario.faults);
        let broken: Vec<&PropertyVerdict> = o
            .verdicts
            .iter()
            .filter(|v| v.counterexample.is_some())
            .collect();
        let told_before: Vec<Faults> = broken
            .iter()
            .filter_map(|v| {
                let steps = v.counterexample.clone()?;
                seen.get(&(row.clone(), v.property, steps)).copied()
            })
            .collect();
        if !broken.is_empty() && told_before.len() == broken.len() {
            let names: Vec<&str> = broken.iter().map(|v| v.property.name()).collect();
            out.push('\n');
            out.push_str(&wrap(
                &format!(
                    "{title} — {} violated: the same counterexamples as under {}",
                    names.join(", "),
                    told_before[0]
                ),
                "",
                "  ",
            ));
            continue;
        }
        for v in &o.verdicts {
            if let Some(steps) = &v.counterexample {
                seen.entry((row.clone(), v.property, steps.clone()))
                    .or_insert(o.scenario.faults);
                let shortest = if v.shortest == Some(false) {
                    " (not known to be shortest: the search ran out of budget)"
                } else {
                    ", shortest counterexample"
                };
                out.push('\n');
                out.push_str(&wrap(
                    &format!(
                        "{title} — {} violated{shortest} (the property: {})",
                        v.property,
                        v.property.statement()
                    ),
                    "",
                    "  ",
                ));
                push_steps(&mut out, steps);
                if let Some(after) = &v.aftermath {
                    out.push_str("  and what the release lets happen next:\n");
                    push_steps(&mut out, after);
                }
            }
            if let Some(steps) = &v.witness {
                out.push('\n');
                out.push_str(&wrap(
                    &format!(
                        "{title} — {} holds although mutual-exclusion does not; fencing at work:",
                        v.property
                    ),
                    "",
                    "  ",
                ));
                push_steps(&mut out, steps);
            }
        }
    }
    out
}

fn push_steps(out: &mut String, steps: &[NarratedStep]) {
    for step in steps {
        out.push_str(&wrap(&step.line(), "  ", "        "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> CheckArgs {
        CheckArgs {
            protocols: vec![],
            faults: vec![],
            clients: None,
            rounds: None,
            ttl: None,
            persistence: None,
            renew_every: None,
            depth: None,
            units: None,
            nodes: None,
            drift: None,
            replicas: None,
            min_replicas_to_write: None,
            json: false,
            no_symmetry: false,
            compare_symmetry: false,
            max_states: 1000,
            timeout_secs: 10,
            workers: Some(1),
            claims: vec![],
        }
    }

    #[test]
    fn the_default_plan_is_every_protocol_under_every_single_fault() {
        let plan = args().plan().unwrap();
        // 6 lease protocols × (none + 5 faults), the four locks that a
        // re-entrant lock fixes, used re-entrantly, 5 sync protocols ×
        // (none + 4 faults), 2 quorum protocols × (none + 6 faults), token
        // and fenced under a failover with 1 and with 2 replicas, and
        // token-wait under none, pause, crash and (with 1 and 2 replicas) a
        // failover; token, fenced and token-wait under a restart of a
        // primary with a replica, once per persistence setting, and under a
        // partition, with 1 and 2 replicas, each without and with
        // min-replicas-to-write 1; and the 3 renewing locks under none, 5
        // faults and (with 1 and 2 replicas) a failover, and a restart of a
        // primary with a replica per persistence setting.
        assert_eq!(
            plan.scenarios.len(),
            6 * 6 + 4 + 5 * 5 + 2 * 7 + 2 * 2 + 5 + 3 * 3 + 3 * 4 + 3 * 8 + 3 * 3
        );
    }

    #[test]
    fn bad_input_is_refused_with_the_reason() {
        let err = |a: CheckArgs| format!("{:#}", a.plan().unwrap_err());
        assert_eq!(
            err(CheckArgs {
                protocols: vec!["redlok".into()],
                ..args()
            }),
            format!(
                "unknown protocol `redlok` (did you mean `redlock`?); known protocols: {}",
                Protocol::all()
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        );
        assert!(err(CheckArgs {
            faults: vec!["gc".into()],
            ..args()
        })
        .starts_with("--faults gc: unknown fault `gc`"));
        assert!(err(CheckArgs {
            clients: Some(50),
            ..args()
        })
        .starts_with("--clients 50: give 1 to 8"));
        assert!(err(CheckArgs {
            rounds: Some(0),
            ..args()
        })
        .starts_with("--rounds 0"));
        for period in [0, 3] {
            assert_eq!(
                err(CheckArgs {
                    renew_every: Some(period),
                    ..args()
                }),
                format!("--renew-every {period}: give a renewal period of 1 tick up to, not including, the lease (3 ticks)")
            );
        }
        assert!(err(CheckArgs {
            ttl: Some(0),
            ..args()
        })
        .starts_with("--ttl 0"));
        assert!(err(CheckArgs {
            depth: Some(0),
            ..args()
        })
        .starts_with("--depth 0"));
        assert!(err(CheckArgs {
            depth: Some(40),
            ..args()
        })
        .starts_with("--depth 40"));
        assert!(err(CheckArgs {
            max_states: 0,
            ..args()
        })
        .starts_with("--max-states 0"));
        for units in [0, 5, 1_000_000] {
            let e = err(CheckArgs {
                units: Some(units),
                ..args()
            });
            assert!(
                e.starts_with(&format!("--units {units}: give 1 to 4")),
                "{e}"
            );
        }
    }
}
