//! The server's log file: Redis's stdout and stderr, appended across
//! restarts, with a marker line from the lab before each start.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// How many lines of the log go into an error.
pub const ERROR_TAIL_LINES: usize = 20;

/// At most this many bytes from the end of the log are read for a tail.
const TAIL_BYTES: u64 = 64 * 1024;

/// The log file of one server.
#[derive(Debug)]
pub(crate) struct LogFile {
    path: PathBuf,
}

impl LogFile {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the lab's marker line for a new start and returns the offset
    /// where this start's output begins, plus two append handles for the
    /// child's stdout and stderr.
    pub(crate) fn begin(&self, marker: &str) -> io::Result<(u64, File, File)> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        writeln!(file, "=== locklab: {marker} ===")?;
        let offset = file.seek(SeekFrom::End(0))?;
        let err = file.try_clone()?;
        Ok((offset, file, err))
    }

    /// The last `n` lines of the whole log (empty if there is no log yet).
    pub(crate) fn tail(&self, n: usize) -> String {
        let text = self.read_from_end(TAIL_BYTES).unwrap_or_default();
        last_lines(&text, n)
    }

    /// The last `n` lines written since `offset` (one start's output).
    pub(crate) fn tail_since(&self, offset: u64, n: usize) -> String {
        last_lines(&self.read_since(offset).unwrap_or_default(), n)
    }

    /// Everything written since `offset`, up to [`TAIL_BYTES`] of it.
    pub(crate) fn read_since(&self, offset: u64) -> io::Result<String> {
        let mut file = File::open(&self.path)?;
        let len = file.metadata()?.len();
        let start = offset.max(len.saturating_sub(TAIL_BYTES));
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn read_from_end(&self, max: u64) -> io::Result<String> {
        let len = std::fs::metadata(&self.path)?.len();
        self.read_since(len.saturating_sub(max))
    }
}

/// The last `n` lines of `text`, newline-terminated.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].iter().fold(String::new(), |mut out, line| {
        out.push_str(line);
        out.push('\n');
        out
    })
}

/// The last non-empty line of `text`, without Redis's
/// `pid:role date time level` prefix: Redis's last word before it exited.
pub(crate) fn last_message(text: &str) -> String {
    let Some(line) = text.lines().map(str::trim).rfind(|l| !l.is_empty()) else {
        return String::new();
    };
    strip_redis_prefix(line).to_string()
}

/// `12345:M 01 Jan 2025 00:00:00.000 # Failed …` → `Failed …`; other lines
/// unchanged.
fn strip_redis_prefix(line: &str) -> &str {
    let Some((pid_role, rest)) = line.split_once(':') else {
        return line;
    };
    if pid_role.is_empty() || !pid_role.bytes().all(|b| b.is_ascii_digit()) {
        return line;
    }
    for level in [" # ", " * ", " - ", " . "] {
        if let Some(i) = rest.find(level) {
            return &rest[i + level.len()..];
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(last_lines("a\nb", 5), "a\nb\n");
        assert_eq!(last_lines("", 3), "");
    }

    #[test]
    fn last_message_strips_the_redis_prefix() {
        let log = "7:C 01 Jan 2025 00:00:00.000 * oO0OoO0OoO0Oo Redis is starting\n\
                   7:M 01 Jan 2025 00:00:00.001 # Failed listening on port 1 (TCP), aborting.\n\n";
        assert_eq!(
            last_message(log),
            "Failed listening on port 1 (TCP), aborting."
        );
        let fatal = "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n\
                     >>> 'nope \"x\"'\nBad directive or wrong number of arguments\n";
        assert_eq!(
            last_message(fatal),
            "Bad directive or wrong number of arguments"
        );
        assert_eq!(last_message(""), "");
    }

    #[test]
    fn tails_since_an_offset() {
        let dir = tempfile::tempdir().unwrap();
        let log = LogFile::new(dir.path().join("redis.log"));
        assert_eq!(log.tail(5), "");
        let (_, mut out, _) = log.begin("first").unwrap();
        writeln!(out, "old").unwrap();
        let (offset, mut out, _) = log.begin("second").unwrap();
        writeln!(out, "new").unwrap();
        assert_eq!(log.tail_since(offset, 5), "new\n");
        assert_eq!(log.tail(2), "=== locklab: second ===\nnew\n");
    }
}
