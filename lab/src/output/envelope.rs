//! The envelope every `--json` output carries: which locklab wrote it, with
//! which command line, when and on what machine. `locklab report --from`
//! reads it to tell one command's output from another's and to refuse JSON
//! that is not locklab's or comes from an incompatible version; and the
//! report's "how it was made" is printed from it.
//!
//! It is one extra top-level field, `"locklab"`, so a script reading the
//! rest of the object is not disturbed. A command adds it by printing with
//! [`print_command_json`] instead of [`super::print_json`].

use std::io::Write;

use serde::{Deserialize, Serialize};

/// The version of the JSON's shape. Raise it when a change to a command's
/// JSON would make an older `locklab report` misread it.
pub const FORMAT: u32 = 1;

/// The top-level field that holds the envelope.
pub const FIELD: &str = "locklab";

/// Who wrote a JSON output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The locklab version (the crate's).
    pub version: String,
    /// [`FORMAT`] of the writer.
    pub format: u32,
    /// The subcommand: `check`, `reproduce`, `chaos`, `bench`.
    pub command: String,
    /// The command line, program name first.
    pub argv: Vec<String>,
    /// When the output was written, seconds since the Unix epoch.
    pub at_unix: u64,
    /// The machine it ran on.
    pub machine: Machine,
}

/// What the figures of a run depend on about its machine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// `linux`, …
    pub os: String,
    /// `x86_64`, …
    pub arch: String,
    /// Cores available to the process.
    pub cores: usize,
    /// The CPU's model name, where the OS tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// The kernel release, where the OS tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
}

impl Machine {
    /// This machine.
    pub fn this() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        Machine {
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu: read("/proc/cpuinfo").and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            }),
            kernel: read("/proc/sys/kernel/osrelease").map(|s| s.trim().to_owned()),
        }
    }
}

impl Envelope {
    /// The envelope of an output this process writes now.
    pub fn now(command: &str) -> Envelope {
        Envelope {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            format: FORMAT,
            command: command.to_owned(),
            argv: std::env::args().collect(),
            at_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            machine: Machine::this(),
        }
    }
}

#[derive(Serialize)]
struct Enveloped<'a, T> {
    locklab: Envelope,
    #[serde(flatten)]
    body: &'a T,
}

/// Prints a command's JSON output on stdout, with the envelope as its first
/// field. `value` must serialize as an object.
pub fn print_command_json<T: Serialize>(command: &str, value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(
        &mut out,
        &Enveloped {
            locklab: Envelope::now(command),
            body: value,
        },
    )?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_is_the_first_field_and_the_body_stays_flat() {
        #[derive(Serialize)]
        struct Body {
            verdicts: Vec<u8>,
            secs: f64,
        }
        let text = serde_json::to_string(&Enveloped {
            locklab: Envelope::now("check"),
            body: &Body {
                verdicts: vec![1],
                secs: 0.5,
            },
        })
        .unwrap();
        assert!(text.starts_with(r#"{"locklab":{"version":"#), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["verdicts"][0], 1);
        let e: Envelope = serde_json::from_value(v[FIELD].clone()).unwrap();
        assert_eq!((e.command.as_str(), e.format), ("check", FORMAT));
        assert!(e.machine.cores >= 1);
    }
}
