//! What the subcommands share for reporting: aligned tables for people,
//! JSON for scripts, progress bars on stderr for long work.

pub mod envelope;
pub mod progress;
pub mod table;

pub use envelope::print_command_json;

use std::io::Write;

use serde::Serialize;

/// Prints a value as pretty JSON on stdout, with a final newline.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}
