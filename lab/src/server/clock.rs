//! A wall clock the lab can shift under a running `redis-server`: the real
//! side of a clock jump on one node.
//!
//! Redis 7.0 expires keys by the wall clock (`mstime()` reads
//! `gettimeofday`), so a node whose clock jumps ahead ends every lease it
//! holds early. A server started with [`ServerConfig::skewable_clock`] runs
//! with locklab's clock shim in `LD_PRELOAD` (`lab/clockshim/shim.rs`, built
//! by `lab/build.rs` and embedded in the lab): the lab writes the shim and a
//! small clock file into the server's temporary directory, and the shim adds
//! the offset in that file to every wall-clock read of the server. The
//! monotonic clocks, which Redis's event loop runs on, are left alone.
//! [`RedisServer::set_clock_offset`] rewrites the file, and the running
//! server sees the new time on its next clock read.
//!
//! The offset belongs to the node, not to the process: a
//! [`restart`](RedisServer::restart) keeps it, as a process restarted on a
//! machine whose clock jumped still reads the jumped clock. Set
//! [`ClockOffset::ZERO`] to take it back. Why libfaketime is not used, and
//! the shim's limits: `docs/clock.md`.
//!
//! [`ServerConfig::skewable_clock`]: super::ServerConfig::skewable_clock

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::log::ERROR_TAIL_LINES;
use super::{RedisServer, ServerError};

#[path = "../../clockshim/layout.rs"]
mod layout;

use layout::{CLOCK_FILE_ENV, FILE_LEN, GENERATION_AT, SLOT_AT};

/// The clock shim, built by `build.rs` for this target.
#[cfg(locklab_clockshim)]
const SHIM: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("OUT_DIR"),
    "/liblocklab_clockshim.so"
)));
#[cfg(not(locklab_clockshim))]
const SHIM: Option<&[u8]> = None;

/// The names of the shim and of the clock file in the server's directory.
const SHIM_FILE: &str = "locklab-clockshim.so";
const CLOCK_FILE: &str = "clock";

/// How far a server's wall clock is from the machine's: ahead (positive) or
/// behind, to the nanosecond, at most ±292 years (constructors saturate).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockOffset {
    nanos: i64,
}

impl ClockOffset {
    /// The machine's clock.
    pub const ZERO: Self = Self { nanos: 0 };

    /// A clock `by` ahead of the machine's: its leases end early.
    pub fn ahead(by: Duration) -> Self {
        Self {
            nanos: i64::try_from(by.as_nanos()).unwrap_or(i64::MAX),
        }
    }

    /// A clock `by` behind the machine's: its leases last longer.
    pub fn behind(by: Duration) -> Self {
        Self {
            nanos: -Self::ahead(by).nanos,
        }
    }

    /// The offset in nanoseconds, negative when behind.
    pub fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// How far from the machine's clock, either way.
    pub fn magnitude(self) -> Duration {
        Duration::from_nanos(self.nanos.unsigned_abs())
    }

    /// Whether the clock is behind the machine's.
    pub fn is_behind(self) -> bool {
        self.nanos < 0
    }
}

/// `+3s`, `-250ms`, `0ns`.
impl fmt::Display for ClockOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.nanos {
            0 => "",
            n if n < 0 => "-",
            _ => "+",
        };
        write!(f, "{sign}{:?}", self.magnitude())
    }
}

/// The shim and the clock file of one server, and the offset last written.
#[derive(Debug)]
pub(super) struct Clock {
    shim: PathBuf,
    file_path: PathBuf,
    file: File,
    written: Mutex<Written>,
}

/// What the clock file holds: the generation whose slot is current, and the
/// offset in it. The lab is the file's only writer.
#[derive(Debug, Clone, Copy)]
struct Written {
    generation: u8,
    offset: ClockOffset,
}

impl Clock {
    /// Writes the shim and a zeroed clock file (offset 0) into `dir`.
    pub(super) fn install(dir: &Path) -> Result<Self, ServerError> {
        let shim_bytes = SHIM.ok_or(ServerError::ClockUnsupported {
            target: env!("LOCKLAB_BUILD_TARGET"),
        })?;
        let io_err = |action: String| {
            move |source| ServerError::Io {
                action,
                source,
                log_tail: String::new(),
            }
        };
        // Canonical, so that the path matches /proc/PID/maps even when the
        // temporary directory is reached through a symbolic link.
        let dir = fs::canonicalize(dir).map_err(io_err(format!("resolve {}", dir.display())))?;
        let shim = dir.join(SHIM_FILE);
        if shim.to_string_lossy().contains([' ', ':']) {
            return Err(ServerError::ClockShim {
                detail: format!(
                    "cannot preload {}: LD_PRELOAD splits paths at spaces and colons; \
                     set TMPDIR to a directory without them",
                    shim.display()
                ),
                log_tail: String::new(),
            });
        }
        fs::write(&shim, shim_bytes).map_err(io_err(format!("write {}", shim.display())))?;
        let file_path = dir.join(CLOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&file_path)
            .and_then(|file| file.set_len(FILE_LEN as u64).map(|()| file))
            .map_err(io_err(format!("create {}", file_path.display())))?;
        Ok(Self {
            shim,
            file_path,
            file,
            written: Mutex::new(Written {
                generation: 0,
                offset: ClockOffset::ZERO,
            }),
        })
    }

    /// The environment that puts the shim into a server.
    pub(super) fn env(&self) -> [(&'static str, &Path); 2] {
        [
            ("LD_PRELOAD", &self.shim),
            (CLOCK_FILE_ENV, &self.file_path),
        ]
    }

    pub(super) fn offset(&self) -> ClockOffset {
        self.lock().offset
    }

    /// Writes `offset` into the slot the shim is not reading, then flips the
    /// generation byte to it. Each write is its own system call, which takes
    /// and releases the file's lock in the kernel: the slot is in the page
    /// before the new generation is, for every reader.
    pub(super) fn set(&self, offset: ClockOffset) -> io::Result<()> {
        let mut written = self.lock();
        let generation = written.generation.wrapping_add(1);
        let slot = SLOT_AT[usize::from(generation & 1)];
        self.file
            .write_all_at(&offset.as_nanos().to_ne_bytes(), slot as u64)?;
        self.file
            .write_all_at(&[generation], GENERATION_AT as u64)?;
        *written = Written { generation, offset };
        Ok(())
    }

    /// Whether process `pid` has the shim mapped: the dynamic loader only
    /// warns (and goes on without it) when it cannot preload a library, e.g.
    /// from a file system mounted `noexec`.
    fn is_loaded_in(&self, pid: u32) -> io::Result<bool> {
        let maps = fs::read_to_string(format!("/proc/{pid}/maps"))?;
        let shim = self.shim.to_string_lossy();
        Ok(maps.lines().any(|line| line.ends_with(&*shim)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Written> {
        // The guarded value is two plain fields, valid after any panic.
        self.written.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RedisServer {
    /// Sets how far the server's wall clock is from the machine's. The
    /// running server reads the new time from its next clock read on (a
    /// paused one when it resumes); key expiry, `TIME`, `PTTL` and blocking
    /// timeouts follow it. Kept across [`restart`](Self::restart).
    ///
    /// Fails with [`ServerError::ClockNotSkewable`] unless the server was
    /// started with [`ServerConfig::skewable_clock`](super::ServerConfig::skewable_clock).
    pub fn set_clock_offset(&self, offset: ClockOffset) -> Result<(), ServerError> {
        let clock = self
            .clock
            .as_ref()
            .ok_or(ServerError::ClockNotSkewable { port: self.port() })?;
        clock.set(offset).map_err(|source| ServerError::Io {
            action: format!("write the clock file {}", clock.file_path.display()),
            source,
            log_tail: self.log_tail(ERROR_TAIL_LINES),
        })?;
        tracing::debug!(port = self.port(), %offset, "clock offset set");
        Ok(())
    }

    /// How far the server's wall clock is from the machine's
    /// ([`ClockOffset::ZERO`] for a server without a skewable clock).
    pub fn clock_offset(&self) -> ClockOffset {
        self.clock.as_ref().map_or(ClockOffset::ZERO, Clock::offset)
    }

    /// After a start: fails, and kills the server, if it was to have the
    /// clock shim and does not.
    pub(super) fn check_clock_shim(&mut self) -> Result<(), ServerError> {
        let Some(clock) = &self.clock else {
            return Ok(());
        };
        let pid = self.pid();
        let detail = match clock.is_loaded_in(pid) {
            Ok(true) => return Ok(()),
            Ok(false) => format!(
                "redis-server (pid {pid}) on 127.0.0.1:{} runs without {}; if its \
                 directory is on a file system mounted noexec, set TMPDIR to another",
                self.port(),
                clock.shim.display()
            ),
            Err(e) => format!("cannot read /proc/{pid}/maps: {e}"),
        };
        let _ = self.kill();
        Err(ServerError::ClockShim {
            detail,
            log_tail: self.log_tail(ERROR_TAIL_LINES),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_saturate_and_print_with_a_sign() {
        assert_eq!(
            ClockOffset::ahead(Duration::from_secs(3)).to_string(),
            "+3s"
        );
        assert_eq!(
            ClockOffset::behind(Duration::from_millis(250)).to_string(),
            "-250ms"
        );
        assert_eq!(ClockOffset::ZERO.to_string(), "0ns");
        assert_eq!(ClockOffset::ahead(Duration::MAX).as_nanos(), i64::MAX);
        assert_eq!(ClockOffset::behind(Duration::MAX).as_nanos(), -i64::MAX);
        assert!(ClockOffset::behind(Duration::from_secs(1)).is_behind());
        assert_eq!(
            ClockOffset::behind(Duration::from_secs(1)).magnitude(),
            Duration::from_secs(1)
        );
    }

    /// The layout the shim reads: the generation selects the slot just
    /// written, in native byte order.
    #[cfg(locklab_clockshim)]
    #[test]
    fn a_write_goes_to_the_other_slot_then_flips_the_generation() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::install(dir.path()).unwrap();
        let read = || fs::read(&clock.file_path).unwrap();
        assert_eq!(read(), vec![0; FILE_LEN]);

        clock
            .set(ClockOffset::ahead(Duration::from_secs(3)))
            .unwrap();
        clock
            .set(ClockOffset::behind(Duration::from_nanos(7)))
            .unwrap();
        let bytes = read();
        assert_eq!(bytes.len(), FILE_LEN);
        assert_eq!(bytes[GENERATION_AT], 2);
        let slot =
            |i: usize| i64::from_ne_bytes(bytes[SLOT_AT[i]..SLOT_AT[i] + 8].try_into().unwrap());
        assert_eq!(slot(0), -7);
        assert_eq!(slot(1), 3_000_000_000);
        assert_eq!(clock.offset(), ClockOffset::behind(Duration::from_nanos(7)));
    }
}
