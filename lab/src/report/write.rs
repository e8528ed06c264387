//! Files written whole or not at all: the content goes to a temporary file
//! in the target's own folder, which is renamed over the target once
//! complete, so a reader never sees half a report — also when the lab is
//! interrupted. The temporary file is made before any work starts, so a
//! target that cannot be written is refused at once.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// A target that cannot be written, in one line.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Its folder does not exist.
    #[error("{flag} {path}: the folder {dir} does not exist; create it or give another path")]
    NoFolder {
        /// The flag.
        flag: &'static str,
        /// The target.
        path: String,
        /// Its folder.
        dir: String,
    },
    /// Its folder is a file.
    #[error("{flag} {path}: {dir} is not a folder")]
    NotAFolder {
        /// The flag.
        flag: &'static str,
        /// The target.
        path: String,
        /// Its "folder".
        dir: String,
    },
    /// The target is a folder.
    #[error("{flag} {path} is a folder; give a file name, e.g. {path}/locklab-report.html")]
    IsAFolder {
        /// The flag.
        flag: &'static str,
        /// The target.
        path: String,
    },
    /// The folder cannot be written.
    #[error("{flag} {path}: cannot write in {dir}: {source}")]
    Unwritable {
        /// The flag.
        flag: &'static str,
        /// The target.
        path: String,
        /// Its folder.
        dir: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A file being written: reserved next to its target, renamed into place
/// by [`Pending::commit`], removed if dropped uncommitted.
#[derive(Debug)]
pub struct Pending {
    tmp: NamedTempFile,
    path: PathBuf,
    flag: &'static str,
}

/// The folder a file path is in (`.` for a bare name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

impl Pending {
    /// Reserves `path` (named by `flag` in errors): checks its folder and
    /// makes the temporary file there.
    pub fn reserve(path: &Path, flag: &'static str) -> Result<Pending, WriteError> {
        let shown = path.display().to_string();
        if path.is_dir() {
            return Err(WriteError::IsAFolder { flag, path: shown });
        }
        let dir = folder_of(path);
        let dir_shown = dir.display().to_string();
        match std::fs::metadata(&dir) {
            Err(_) => {
                return Err(WriteError::NoFolder {
                    flag,
                    path: shown,
                    dir: dir_shown,
                })
            }
            Ok(m) if !m.is_dir() => {
                return Err(WriteError::NotAFolder {
                    flag,
                    path: shown,
                    dir: dir_shown,
                })
            }
            Ok(_) => {}
        }
        let tmp = tempfile::Builder::new()
            .prefix(".locklab-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|source| WriteError::Unwritable {
                flag,
                path: shown,
                dir: dir_shown,
                source,
            })?;
        Ok(Pending {
            tmp,
            path: path.to_path_buf(),
            flag,
        })
    }

    /// Writes `bytes` and renames the file over its target.
    pub fn commit(mut self, bytes: &[u8]) -> Result<PathBuf, WriteError> {
        let dir = folder_of(&self.path).display().to_string();
        let unwritable = |source| WriteError::Unwritable {
            flag: self.flag,
            path: self.path.display().to_string(),
            dir: dir.clone(),
            source,
        };
        self.tmp.write_all(bytes).map_err(unwritable)?;
        // A temporary file is private (0600); the report is for reading.
        {
            use std::os::unix::fs::PermissionsExt;
            let file = self.tmp.as_file();
            file.set_permissions(std::fs::Permissions::from_mode(0o644))
                .map_err(unwritable)?;
        }
        self.tmp.flush().map_err(unwritable)?;
        self.tmp.as_file().sync_all().map_err(unwritable)?;
        let path = self.path.clone();
        self.tmp.persist(&path).map_err(|e| unwritable(e.error))?;
        Ok(path)
    }
}

/// Writes `bytes` to `path` whole or not at all.
pub fn atomically(path: &Path, bytes: &[u8], flag: &'static str) -> Result<PathBuf, WriteError> {
    Pending::reserve(path, flag)?.commit(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_folder_or_a_file_as_folder_is_refused_and_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let e = Pending::reserve(&dir.path().join("no/such/r.html"), "--out").unwrap_err();
        assert!(matches!(e, WriteError::NoFolder { .. }), "{e}");
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let e = Pending::reserve(&file.join("r.html"), "--out").unwrap_err();
        assert!(matches!(e, WriteError::NotAFolder { .. }), "{e}");
        let e = Pending::reserve(dir.path(), "--out").unwrap_err();
        assert!(matches!(e, WriteError::IsAFolder { .. }), "{e}");
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn the_file_appears_whole_and_an_abandoned_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("r.html");
        let pending = Pending::reserve(&target, "--out").unwrap();
        assert!(!target.exists(), "nothing at the target before the commit");
        pending.commit(b"<html></html>").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "<html></html>");
        drop(Pending::reserve(&dir.path().join("other.html"), "--out").unwrap());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["r.html"], "no temporary file left behind");
    }
}
