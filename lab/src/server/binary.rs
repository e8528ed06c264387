//! Finding the `redis-server` binary.

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::ServerError;

/// The environment variable that names the `redis-server` binary to run
/// instead of the one on `PATH`.
pub const REDIS_SERVER_ENV: &str = "LOCKLAB_REDIS_SERVER";

/// The binary to run: the one the config names, else `$LOCKLAB_REDIS_SERVER`,
/// else `redis-server` from `PATH`.
pub(crate) fn resolve(explicit: Option<&Path>) -> Result<PathBuf, ServerError> {
    resolve_from(
        explicit,
        env::var_os(REDIS_SERVER_ENV).as_deref(),
        env::var_os("PATH").as_deref(),
    )
}

/// [`resolve`] with the environment passed in, for testing.
fn resolve_from(
    explicit: Option<&Path>,
    env_override: Option<&OsStr>,
    path_var: Option<&OsStr>,
) -> Result<PathBuf, ServerError> {
    if let Some(path) = explicit {
        return existing_file(path).ok_or_else(|| ServerError::BinaryNotFound {
            detail: format!("{} does not exist", path.display()),
        });
    }
    if let Some(path) = env_override.filter(|v| !v.is_empty()).map(Path::new) {
        return existing_file(path).ok_or_else(|| ServerError::BinaryNotFound {
            detail: format!("{REDIS_SERVER_ENV}={} does not exist", path.display()),
        });
    }
    path_var
        .into_iter()
        .flat_map(env::split_paths)
        .filter(|dir| !dir.as_os_str().is_empty())
        .find_map(|dir| existing_file(&dir.join("redis-server")))
        .ok_or_else(|| ServerError::BinaryNotFound {
            detail: "not on PATH".to_string(),
        })
}

fn existing_file(path: &Path) -> Option<PathBuf> {
    path.is_file().then(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn explicit_path_wins_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("my-redis");
        fs::write(&bin, "").unwrap();
        let got = resolve_from(Some(&bin), Some(OsStr::new("/nope")), None).unwrap();
        assert_eq!(got, bin);

        let err = resolve_from(Some(&dir.path().join("missing")), None, None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("does not exist"), "{msg}");
        assert!(msg.contains("bash scripts/setup.sh"), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
    }

    #[test]
    fn env_override_before_path() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("redis-server");
        fs::write(&bin, "").unwrap();
        let other = tempfile::tempdir().unwrap();
        let path = env::join_paths([other.path(), dir.path()]).unwrap();

        assert_eq!(resolve_from(None, None, Some(&path)).unwrap(), bin);
        assert_eq!(
            resolve_from(None, Some(OsStr::new("")), Some(&path)).unwrap(),
            bin,
            "an empty override counts as unset"
        );
        let err = resolve_from(None, Some(OsStr::new("/no/such/redis")), Some(&path)).unwrap_err();
        assert!(err.to_string().contains(REDIS_SERVER_ENV), "{err}");
    }

    #[test]
    fn not_on_path() {
        let empty = tempfile::tempdir().unwrap();
        let err = resolve_from(None, None, Some(empty.path().as_os_str())).unwrap_err();
        assert!(err.is_binary_not_found());
        assert!(err.to_string().contains("not on PATH"), "{err}");
    }
}
