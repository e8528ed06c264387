//! Model-check outcomes shared by the stages of one `report`: its stages
//! are separate processes (check, reproduce, chaos) that check many of the
//! same scenarios, and an outcome is the same whichever process computes
//! it. The report makes a directory of its own (removed with it) and names
//! it to its children in [`ENV`]; without it nothing is read or written.
//!
//! Only a complete outcome is kept (a budget that ran out depends on the
//! machine), under a key of the lab's version, the scenario and the
//! check's options, which is written in the file and compared on reading:
//! a file never stands in for another scenario, and one that cannot be
//! read is checked again, never trusted.

use std::path::{Path, PathBuf};

use locklab_model::{CheckOptions, Scenario, ScenarioOutcome};
use serde::{Deserialize, Serialize};

/// The environment variable naming the directory.
pub const ENV: &str = "LOCKLAB_MODEL_CACHE";

#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    outcome: ScenarioOutcome,
}

/// The cache this process was given, if any.
pub fn dir() -> Option<PathBuf> {
    std::env::var_os(ENV)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

fn key(scenario: &Scenario, options: &CheckOptions) -> String {
    let scenario = serde_json::to_string(scenario).unwrap_or_default();
    format!(
        "{} {scenario} symmetry={} compare={} max_states={} timeout={:?}",
        env!("CARGO_PKG_VERSION"),
        options.symmetry,
        options.compare_symmetry,
        options.max_states,
        options.timeout
    )
}

/// The file of a key: its FNV-1a hash, so any key makes a file name.
fn file(dir: &Path, key: &str) -> PathBuf {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    dir.join(format!("{hash:016x}.json"))
}

/// The outcome kept for this scenario and these options, if there is one.
pub fn load(dir: &Path, scenario: &Scenario, options: &CheckOptions) -> Option<ScenarioOutcome> {
    let key = key(scenario, options);
    let text = std::fs::read_to_string(file(dir, &key)).ok()?;
    let entry: Entry = serde_json::from_str(&text).ok()?;
    (entry.key == key && entry.outcome.scenario == *scenario).then_some(entry.outcome)
}

/// Keeps a complete outcome; anything that fails is only a later miss.
pub fn store(dir: &Path, options: &CheckOptions, outcome: &ScenarioOutcome) {
    if !outcome.complete {
        return;
    }
    let key = key(&outcome.scenario, options);
    let path = file(dir, &key);
    let entry = Entry {
        key,
        outcome: outcome.clone(),
    };
    let Ok(text) = serde_json::to_string(&entry) else {
        return;
    };
    if let Err(e) = crate::report::write::atomically(&path, text.as_bytes(), ENV) {
        tracing::debug!("model cache: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use locklab_model::{Faults, Protocol};

    #[test]
    fn an_outcome_comes_back_whole_and_only_for_its_own_scenario() {
        let dir = tempfile::tempdir().unwrap();
        let options = CheckOptions::default();
        let s = Scenario::new(Protocol::all()[0], Faults::NONE);
        let outcome = locklab_model::check(s, &options, &|_| {});
        assert!(outcome.complete);
        store(dir.path(), &options, &outcome);
        assert_eq!(load(dir.path(), &s, &options), Some(outcome));
        let other = CheckOptions {
            symmetry: false,
            ..options
        };
        assert_eq!(load(dir.path(), &s, &other), None);
        let bigger = s.sized(4, 1, u64::from(s.ttl)).unwrap();
        assert_eq!(load(dir.path(), &bigger, &options), None);
    }
}
