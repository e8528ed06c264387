//! What the report reads: the `--json` output of `check`, `reproduce`,
//! `chaos` and `bench`, told apart by their envelope
//! ([`crate::output::envelope`]). Where a command's JSON is its own private
//! struct, the shape is mirrored here (only the fields the report uses);
//! where it is a public type of the model or the lab (a verdict, a narrated
//! step, a history event), that type is used, so a change to it is a compile
//! error in [`super::from_json`] rather than a silently wrong page.

use std::collections::BTreeMap;
use std::path::Path;

use locklab_model::{Fault, PropertyName, PropertyVerdict, Protocol, Scenario, Verdict};
use serde::Deserialize;

use crate::history::{Event, Finding};
use crate::output::envelope::{self, Envelope, FORMAT};

/// The largest `--from` file read (the default matrix's outputs are a few
/// hundred kB).
pub const MAX_INPUT_BYTES: u64 = 256 << 20;

/// A `--from` file that cannot be used, in one line.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file cannot be read.
    #[error("--from {path}: cannot read it: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Too large to be a locklab output.
    #[error("--from {path}: {bytes} bytes is too large for a locklab JSON output")]
    TooLarge {
        /// The file.
        path: String,
        /// Its size.
        bytes: u64,
    },
    /// Not JSON at all.
    #[error("--from {path}: not JSON ({detail}); give the output of `locklab check|reproduce|chaos|bench --json`")]
    NotJson {
        /// The file.
        path: String,
        /// serde's message.
        detail: String,
    },
    /// JSON, but not locklab's.
    #[error("--from {path}: not locklab's JSON (no \"locklab\" envelope); give the output of `locklab check|reproduce|chaos|bench --json`")]
    Foreign {
        /// The file.
        path: String,
    },
    /// locklab's, in a format this version does not read.
    #[error("--from {path}: written by locklab {version} in JSON format {format}; this locklab reads format {FORMAT}: run `locklab {command} --json` again with this version")]
    Incompatible {
        /// The file.
        path: String,
        /// The writer's version.
        version: String,
        /// The writer's format.
        format: String,
        /// The command that wrote it.
        command: String,
    },
    /// A command whose output the report does not use.
    #[error("--from {path}: the output of `locklab {command}`; the report reads check, reproduce, chaos and bench")]
    UnknownCommand {
        /// The file.
        path: String,
        /// The command.
        command: String,
    },
    /// The right envelope, but the body does not have the command's shape.
    #[error("--from {path}: not a valid `locklab {command} --json` output: {detail}")]
    Malformed {
        /// The file.
        path: String,
        /// The command.
        command: String,
        /// serde's message.
        detail: String,
    },
    /// Two outputs of the same command.
    #[error(
        "--from {path}: a second `{command}` output (the first was {first}); give one per command"
    )]
    Duplicate {
        /// The file.
        path: String,
        /// The command.
        command: String,
        /// The first file.
        first: String,
    },
}

/// Everything the report was given; any part may be missing.
#[derive(Debug, Default)]
pub struct Inputs {
    /// `locklab check --json`.
    pub check: Option<Input<CheckOutput>>,
    /// `locklab reproduce --json`.
    pub reproduce: Option<Input<ReproduceOutput>>,
    /// `locklab chaos --json`.
    pub chaos: Option<Input<ChaosOutput>>,
    /// `locklab bench --json`.
    pub bench: Option<Input<BenchOutput>>,
}

/// One command's output, with where it came from.
#[derive(Debug)]
pub struct Input<T> {
    /// Its envelope.
    pub envelope: Envelope,
    /// Where it was read from (a file, or `ran by the report`).
    pub origin: String,
    /// The output.
    pub body: T,
}

impl Inputs {
    /// Reads one command's JSON output and files it under its command.
    pub fn add(&mut self, text: &str, origin: &str) -> Result<(), InputError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| InputError::NotJson {
                path: origin.to_owned(),
                detail: e.to_string(),
            })?;
        let Some(raw) = value.get(envelope::FIELD) else {
            return Err(InputError::Foreign {
                path: origin.to_owned(),
            });
        };
        let field = |name: &str| {
            raw.get(name)
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .unwrap_or_else(|| "?".to_owned())
        };
        let incompatible = || InputError::Incompatible {
            path: origin.to_owned(),
            version: field("version"),
            format: field("format"),
            command: field("command"),
        };
        if raw.get("format").and_then(serde_json::Value::as_u64) != Some(u64::from(FORMAT)) {
            return Err(incompatible());
        }
        let envelope: Envelope = serde_json::from_value(raw.clone()).map_err(|_| incompatible())?;
        let command = envelope.command.clone();
        let malformed = |e: serde_json::Error| InputError::Malformed {
            path: origin.to_owned(),
            command: command.clone(),
            detail: e.to_string(),
        };
        fn put<T>(
            slot: &mut Option<Input<T>>,
            input: Input<T>,
            command: &str,
        ) -> Result<(), InputError> {
            if let Some(first) = slot {
                return Err(InputError::Duplicate {
                    path: input.origin,
                    command: command.to_owned(),
                    first: first.origin.clone(),
                });
            }
            *slot = Some(input);
            Ok(())
        }
        let origin = origin.to_owned();
        match command.as_str() {
            "check" => {
                let body = serde_json::from_value(value).map_err(malformed)?;
                put(
                    &mut self.check,
                    Input {
                        envelope,
                        origin,
                        body,
                    },
                    &command,
                )
            }
            "reproduce" => {
                let body = serde_json::from_value(value).map_err(malformed)?;
                put(
                    &mut self.reproduce,
                    Input {
                        envelope,
                        origin,
                        body,
                    },
                    &command,
                )
            }
            "chaos" => {
                let body = serde_json::from_value(value).map_err(malformed)?;
                put(
                    &mut self.chaos,
                    Input {
                        envelope,
                        origin,
                        body,
                    },
                    &command,
                )
            }
            "bench" => {
                let body = serde_json::from_value(value).map_err(malformed)?;
                put(
                    &mut self.bench,
                    Input {
                        envelope,
                        origin,
                        body,
                    },
                    &command,
                )
            }
            _ => Err(InputError::UnknownCommand {
                path: origin,
                command,
            }),
        }
    }

    /// Reads a `--from` file.
    pub fn add_file(&mut self, path: &Path) -> Result<(), InputError> {
        let name = path.display().to_string();
        let read = |source| InputError::Read {
            path: name.clone(),
            source,
        };
        let bytes = std::fs::metadata(path).map_err(read)?.len();
        if bytes > MAX_INPUT_BYTES {
            return Err(InputError::TooLarge { path: name, bytes });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        self.add(&text, &name)
    }

    /// True when nothing was given.
    pub fn is_empty(&self) -> bool {
        self.check.is_none()
            && self.reproduce.is_none()
            && self.chaos.is_none()
            && self.bench.is_none()
    }
}

/// `locklab check --json`.
#[derive(Debug, Deserialize)]
pub struct CheckOutput {
    /// Symmetry reduction on.
    pub symmetry: bool,
    /// One row per scenario × property.
    pub verdicts: Vec<CheckRow>,
    /// The claims' summary.
    pub summary: CheckSummary,
    /// Wall time.
    pub secs: f64,
}

/// One row of the verdict matrix.
#[derive(Debug, Deserialize)]
pub struct CheckRow {
    /// The scenario.
    #[serde(flatten)]
    pub scenario: Scenario,
    /// The verdict, with its counterexample.
    #[serde(flatten)]
    pub verdict: PropertyVerdict,
    /// Unique states of the scenario.
    pub unique_states: usize,
    /// Whether every state was visited.
    pub complete: bool,
}

/// `check`'s summary.
#[derive(Debug, Deserialize)]
pub struct CheckSummary {
    /// Claimed cells that broke.
    pub broken: Vec<String>,
    /// Claimed cells left unknown.
    pub unknown: Vec<String>,
    /// Violated verdicts.
    pub violations: usize,
    /// Unique states over all scenarios.
    pub unique_states: usize,
}

/// `locklab reproduce --json`.
#[derive(Debug, Deserialize)]
pub struct ReproduceOutput {
    /// `embedded` or the user's server.
    pub redis: String,
    /// One tick, ms.
    pub tick_ms: u64,
    /// One row per play × property.
    pub replays: Vec<ReplayRow>,
    /// Rows that agree with the model.
    pub agreed: usize,
    /// Rows that do not.
    pub disagreed: usize,
    /// Wall time.
    pub secs: f64,
}

/// One property on one play of a schedule.
#[derive(Clone, Debug, Deserialize)]
pub struct ReplayRow {
    /// The protocol it was played on.
    pub protocol: Protocol,
    /// The fault budget the schedule was found under.
    pub faults: Vec<Fault>,
    /// The property.
    pub property: PropertyName,
    /// The protocol the schedule was found for.
    pub schedule_from: Protocol,
    /// The matrix row it was found in (`naive ×2`).
    #[serde(default)]
    pub found_in: String,
    /// The model's verdict on the path.
    pub model: Verdict,
    /// Redis's.
    pub real: Verdict,
    /// Whether they agree.
    pub agree: bool,
    /// Where Redis left the model's path.
    #[serde(default)]
    pub divergence: Option<String>,
    /// What stopped the play.
    #[serde(default)]
    pub error: Option<String>,
    /// Steps of the schedule.
    pub steps: usize,
    /// The history checker's finding for the property.
    #[serde(default)]
    pub finding: Option<Finding>,
    /// The recorded history.
    #[serde(default)]
    pub history: Option<Vec<Event>>,
}

/// `locklab chaos --json`.
#[derive(Debug, Deserialize)]
pub struct ChaosOutput {
    /// The seed.
    pub seed: u64,
    /// One tick, ms.
    pub tick_ms: u64,
    /// One report per cell.
    pub runs: Vec<ChaosCell>,
    /// Cells that disagree with the model.
    pub disagreements: usize,
    /// Wall time.
    pub secs: f64,
}

/// What chaos found in one cell.
#[derive(Debug, Deserialize)]
pub struct ChaosCell {
    /// The scenario.
    #[serde(flatten)]
    pub scenario: Scenario,
    /// Schedules played and judged.
    pub schedules: usize,
    /// Schedules played too late to judge.
    pub late: usize,
    /// Schedules on which a `--lock` left its protocol's model.
    #[serde(default)]
    pub diverged: usize,
    /// Per property: schedules that broke it.
    pub violations: BTreeMap<PropertyName, usize>,
    /// Per property: the first schedule that broke it.
    pub first_violation: BTreeMap<PropertyName, usize>,
    /// The model's verdicts.
    pub model: BTreeMap<PropertyName, Verdict>,
    /// Whether chaos agrees with the model.
    pub agree: bool,
    /// `agree`, `disagree` or `not judged` (older outputs lack it).
    #[serde(default)]
    pub verdict: Option<String>,
    /// Schedules on which they differ.
    #[serde(default)]
    pub disagreements: Vec<ChaosDisagreement>,
    /// Per property: its first violation, shrunk.
    pub shrunk: BTreeMap<PropertyName, ChaosShrunk>,
    /// The cell's seed.
    pub seed: u64,
    /// Wall time.
    pub secs: f64,
}

impl ChaosCell {
    /// Whether the cell was judged: enough of its schedules were.
    pub fn judged(&self) -> bool {
        self.schedules > 0 && self.verdict.as_deref() != Some("not judged")
    }
}

/// A schedule on which chaos and the model differ.
#[derive(Debug, Deserialize)]
pub struct ChaosDisagreement {
    /// The property.
    pub property: PropertyName,
    /// The model's verdict.
    pub model: Verdict,
    /// Redis's.
    pub real: Verdict,
    /// Where Redis left the model's path.
    #[serde(default)]
    pub divergence: Option<String>,
    /// An error.
    #[serde(default)]
    pub error: Option<String>,
    /// The schedule.
    pub schedule: String,
}

/// A shrunk failure.
#[derive(Debug, Deserialize)]
pub struct ChaosShrunk {
    /// Steps before shrinking.
    pub from_len: usize,
    /// Steps after.
    pub len: usize,
    /// Replays spent shrinking.
    pub shrink_steps: usize,
    /// The schedule as `--schedule` reads it.
    pub schedule: String,
    /// The schedule, told.
    pub steps: Vec<locklab_model::NarratedStep>,
    /// The command that plays it again exactly (older outputs lack it).
    #[serde(default)]
    pub replay: Option<String>,
}

/// `locklab bench --json`.
#[derive(Debug, Deserialize)]
pub struct BenchOutput {
    /// The median PING, µs.
    pub rtt_us: f64,
    /// Its 99th percentile.
    pub rtt_p99_us: f64,
    /// `embedded` or `given`.
    pub servers: String,
    /// The lease, ms.
    pub ttl_ms: u64,
    /// Seconds per run.
    pub duration_secs: f64,
    /// A `--quick` run.
    pub quick: bool,
    /// One client per variant.
    pub uncontended: Vec<BenchRow>,
    /// Every run.
    pub contended: Vec<BenchRow>,
    /// Rows that lost mutual exclusion when they should not.
    pub broken: Vec<String>,
}

/// One bench run.
#[derive(Debug, Deserialize)]
pub struct BenchRow {
    /// `token/fifo`.
    pub variant: String,
    /// A peer crate.
    pub peer: bool,
    /// Clients on the key.
    pub clients: usize,
    /// Masters.
    pub masters: usize,
    /// Grants per second.
    pub grants_per_s: f64,
    /// Most over fewest grants of a client.
    pub fairness_max_over_min: Option<f64>,
    /// Clients with no grant.
    pub starved: u64,
    /// Hand-off median / RTT.
    pub handoff_p50_rtt: f64,
    /// Hand-off p99 / RTT.
    pub handoff_p99_rtt: f64,
    /// Overlapping grants.
    pub overlaps: u64,
    /// The history checker's verdict.
    pub mutual_exclusion: Verdict,
    /// Errors.
    pub errors: u64,
    /// Acquire median / RTT (uncontended rows).
    #[serde(default)]
    pub acquire_p50_rtt: Option<f64>,
    /// Acquire p99 / RTT.
    #[serde(default)]
    pub acquire_p99_rtt: Option<f64>,
    /// Release median / RTT.
    #[serde(default)]
    pub release_p50_rtt: Option<f64>,
    /// Acquire 99.9th percentile, µs.
    #[serde(default)]
    pub acquire_p999_us: Option<f64>,
    /// Acquire latency at the bench's percentiles, µs.
    #[serde(default)]
    pub acquire_percentiles_us: Option<Vec<f64>>,
}
