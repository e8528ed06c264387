//! [`LockCommand`]: the program a worker runs — `locklab worker --protocol
//! P` for the lab's own locks, or any command a user brings with
//! `--lock-cmd 'CMD'`.
//!
//! # Words, not a shell
//!
//! CMD is split into words as a POSIX shell splits them (quotes and
//! backslashes; the `shlex` crate), and the first word is executed
//! directly — no `sh -c`. The process the lab starts is then the adapter
//! itself, so that the pid the lab SIGSTOPs and SIGKILLs is the lock
//! client's, and the kernel's parent-death signal (which survives `exec`,
//! [`spawn_guarded`](crate::process::spawn_guarded)) reaches it when the
//! lab dies. Under `sh -c CMD` the shell would get both, and a Python or
//! Node child of the shell would go on running — or stay stopped — after
//! the lab is gone. There is no expansion, no variables, no pipes: who
//! needs a shell writes `sh -c 'exec …'` and keeps the `exec`. The lab also
//! signals the worker's whole process group (its own, set at spawn), so a
//! helper process the adapter starts is paused and killed with it.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A worker's command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockCommand {
    text: String,
    argv: Vec<String>,
}

/// Why a `--lock-cmd` cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--lock-cmd {text:?}: {why}")]
pub struct LockCommandError {
    text: String,
    why: String,
}

impl LockCommand {
    /// Splits `text` into words and checks that its program exists and is
    /// executable (a path, or a name on `PATH`), so that a typo is one line
    /// before any work starts.
    pub fn parse(text: &str) -> Result<LockCommand, LockCommandError> {
        let fail = |why: String| LockCommandError {
            text: text.to_owned(),
            why,
        };
        let argv = shlex::split(text)
            .ok_or_else(|| fail("unbalanced quotes or a trailing backslash".into()))?;
        let program = argv
            .first()
            .ok_or_else(|| fail("an empty command; give the adapter's command line".into()))?;
        resolve(program).map_err(fail)?;
        Ok(LockCommand {
            text: text.to_owned(),
            argv,
        })
    }

    /// The lab's own worker: `binary worker --protocol P`.
    pub fn locklab(binary: &Path, protocol: &str) -> LockCommand {
        let argv = vec![
            binary.display().to_string(),
            "worker".to_owned(),
            "--protocol".to_owned(),
            protocol.to_owned(),
        ];
        LockCommand {
            text: shlex::try_join(argv.iter().map(String::as_str))
                .unwrap_or_else(|_| argv.join(" ")),
            argv,
        }
    }

    /// The command as the user gave it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The program (the first word).
    pub fn program(&self) -> &str {
        &self.argv[0]
    }

    /// The arguments after the program.
    pub fn args(&self) -> impl Iterator<Item = OsString> + '_ {
        self.argv[1..].iter().map(OsString::from)
    }

    /// A short name for reports: the file name of the first argument that
    /// names an existing file (the adapter's script), else of the program,
    /// with the plain words after it — one adapter's modes
    /// (`redisson fenced`, `locklab-go redsync --renew`).
    pub fn label(&self) -> String {
        let file_name = |s: &str| {
            Path::new(s)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| s.to_owned())
        };
        let script = self.argv[1..]
            .iter()
            .position(|a| !a.starts_with('-') && Path::new(a).is_file())
            .map_or(0, |i| i + 1);
        let mut words = vec![file_name(&self.argv[script])];
        words.extend(
            self.argv[script + 1..]
                .iter()
                .filter(|a| is_mode_word(a))
                .cloned(),
        );
        words.join(" ")
    }
}

/// A word that names a mode of an adapter (`fenced`, `--renew`): letters,
/// digits, `.`, `_` and `-`, not a path nor a single-dash flag.
fn is_mode_word(word: &str) -> bool {
    let bare = word.strip_prefix("--").unwrap_or(word);
    bare.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !Path::new(word).exists()
}

/// The program's path: `program` itself if it holds a `/`, else the first
/// executable of that name on `PATH`.
fn resolve(program: &str) -> Result<PathBuf, String> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return if is_executable(&path) {
            Ok(path)
        } else if path.exists() {
            Err(format!("{program} is not an executable file"))
        } else {
            Err(format!("no such file {program}"))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
        .ok_or_else(|| format!("no program {program} on PATH"))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_split_as_a_shell_would() {
        let c = LockCommand::parse("sh -c 'exec echo \"a b\"'").unwrap();
        assert_eq!(c.program(), "sh");
        let args: Vec<OsString> = c.args().collect();
        assert_eq!(args, vec![OsString::from("-c"), "exec echo \"a b\"".into()]);
        assert_eq!(c.label(), "sh");
    }

    #[test]
    fn a_label_keeps_the_adapters_mode() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("adapter.py");
        std::fs::write(&script, "").unwrap();
        let text = format!(
            "sh {} fenced --renew -v {}",
            script.display(),
            dir.path().display()
        );
        assert_eq!(
            LockCommand::parse(&text).unwrap().label(),
            "adapter.py fenced --renew"
        );
        assert_eq!(LockCommand::parse("sh").unwrap().label(), "sh");
    }

    #[test]
    fn a_bad_command_is_one_line() {
        let plain = tempfile::NamedTempFile::new().unwrap();
        let plain = plain.path().display().to_string();
        for (text, says) in [
            ("", "empty command"),
            ("'unclosed", "unbalanced"),
            (
                "no-such-program-here --x",
                "no program no-such-program-here on PATH",
            ),
            ("/no/such/file", "no such file"),
            (plain.as_str(), "not an executable"),
        ] {
            let e = LockCommand::parse(text).unwrap_err().to_string();
            assert!(e.contains(says) && !e.contains('\n'), "{text}: {e}");
        }
    }

    #[test]
    fn the_labs_own_worker_is_a_command_too() {
        let c = LockCommand::locklab(Path::new("/opt/locklab"), "token");
        assert_eq!(c.text(), "/opt/locklab worker --protocol token");
    }
}
