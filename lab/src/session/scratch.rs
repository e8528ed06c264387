//! Temporary directories that name their owner: `locklab-<kind>-<pid>-…`
//! in the system's temporary directory (`$TMPDIR`). A directory is removed
//! by its owner — when its guard drops, or by the signal handler when the
//! run is interrupted — and, when the owner was SIGKILLed and could do
//! neither, by the next run that [`sweep`]s: a directory whose pid is no
//! longer a live process has no owner left to use it.
//!
//! A pid that was reused by an unrelated process keeps its dead owner's
//! directories until that process ends too: the sweep errs on the side of
//! leaving a directory, never of removing a live run's.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;
use tempfile::TempDir;

/// Every lab temporary directory starts with this.
pub const PREFIX: &str = "locklab-";

/// A new temporary directory for `kind` (`redis`, `sentinel`), named after
/// this process; removed when the guard drops. Refused once the run is
/// being stopped, so that nothing is made after the handler cleaned up.
pub fn dir(kind: &str) -> io::Result<TempDir> {
    let Some(_enlisting) = super::children::enlisting() else {
        return Err(io::Error::other("the run is being interrupted"));
    };
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{kind}-{}-", std::process::id()))
        .tempdir()
}

/// The pid a lab directory's name says owns it (`None` for any other name,
/// or an older directory without one).
pub fn owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (_kind, rest) = rest.split_once('-')?;
    let (pid, _random) = rest.split_once('-')?;
    pid.parse().ok()
}

/// Whether a process with this pid exists (of any user).
fn alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    !matches!(kill(Pid::from_raw(raw), None), Err(Errno::ESRCH))
}

/// The lab directories in `dir` whose owner is dead (or is `this`, when
/// removing one's own).
fn owned_by(dir: &Path, keep: impl Fn(u32) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            e.file_name()
                .to_str()
                .and_then(owner)
                .is_some_and(|pid| !keep(pid))
        })
        .map(|e| e.path())
        .collect()
}

/// Removes the lab directories in `$TMPDIR` whose owner process is gone;
/// returns how many.
pub fn sweep() -> usize {
    sweep_in(&std::env::temp_dir())
}

/// [`sweep`] in `dir`.
pub fn sweep_in(dir: &Path) -> usize {
    let me = std::process::id();
    owned_by(dir, |pid| pid == me || alive(pid))
        .into_iter()
        .filter(|path| fs::remove_dir_all(path).is_ok())
        .count()
}

/// Removes this process's own lab directories (the signal handler, once
/// every child is stopped).
pub fn remove_own() {
    let me = std::process::id();
    for path in owned_by(&std::env::temp_dir(), |pid| pid != me) {
        if let Err(e) = fs::remove_dir_all(&path) {
            tracing::debug!(path = %path.display(), error = %e, "could not remove");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::owner;

    #[test]
    fn the_owner_is_read_from_the_name() {
        assert_eq!(owner("locklab-redis-4242-AbC123"), Some(4242));
        assert_eq!(owner("locklab-sentinel-7-x"), Some(7));
        assert_eq!(owner("locklab-redis-AbC123"), None);
        assert_eq!(owner("other-redis-1-x"), None);
    }
}
