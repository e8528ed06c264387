//! An error line with the logs that explain it: the binary prints the line
//! (exit 2), then the log lines below it — a Sentinel set that never
//! agreed says so in one line, and its Sentinels' last log lines show why.

/// An error line, and log lines to print below it.
#[derive(Debug, thiserror::Error)]
#[error("{line}")]
pub struct Tailed {
    line: String,
    tail: Option<String>,
}

impl Tailed {
    /// The line, with the log lines if there are any.
    pub fn new(line: impl Into<String>, tail: Option<&str>) -> Tailed {
        Tailed {
            line: line.into(),
            tail: tail.map(str::to_owned),
        }
    }

    /// The log lines.
    pub fn tail(&self) -> Option<&str> {
        self.tail.as_deref()
    }
}

/// A process's stderr tail, indented under the line that names what
/// became of it, or a note that it said nothing.
pub fn indented(tail: &str, indent: &str) -> String {
    if tail.trim().is_empty() {
        return format!("{indent}(its stderr was empty)\n");
    }
    let mut out = format!("{indent}its stderr ended:\n");
    for line in tail.trim_end().lines() {
        out.push_str(&format!("{indent}  {line}\n"));
    }
    out
}
