//! The `locklab` command line. Parsing, planning and running live in the
//! library; this file only maps the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    locklab::cli::main()
}
