//! The live guarded children, by pid, and how each is stopped when the
//! run is interrupted. [`crate::process`] enlists a child when it is
//! spawned and discharges it before reaping it, under one lock, so that a
//! pid in this list always still belongs to the lab's child (a reaped pid
//! may be reused and is never signalled).

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// How an interrupted run stops a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnInterrupt {
    /// SIGKILL to its process group: a server, a Sentinel, a worker.
    Kill,
    /// The same signal the lab got, then time to clean up after itself
    /// before SIGKILL: a `locklab` command that the report runs.
    Forward,
}

/// How long a forwarded child has to stop on its own.
const FORWARD_GRACE: Duration = Duration::from_secs(20);
/// How long the lab waits for killed children to be gone.
const KILL_GRACE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(10);

#[derive(Default)]
struct Registry {
    /// Set once the run is being stopped: no child is started after.
    closing: bool,
    live: Vec<(u32, OnInterrupt)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    closing: false,
    live: Vec::new(),
});

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The lock a spawn holds from "may I start a child" to "it is enlisted".
pub struct Enlisting(MutexGuard<'static, Registry>);

/// Takes the lock for a spawn; `None` once the run is being stopped.
pub fn enlisting() -> Option<Enlisting> {
    let guard = registry();
    (!guard.closing).then_some(Enlisting(guard))
}

impl Enlisting {
    /// Records a spawned child.
    pub fn enlist(mut self, pid: u32, on_interrupt: OnInterrupt) {
        self.0.live.push((pid, on_interrupt));
    }
}

/// Runs `reap` (which may reap `pid`) under the lock, and forgets `pid` if
/// `reap` says it was reaped or is about to be.
pub fn discharging<T>(pid: u32, reap: impl FnOnce() -> (bool, T)) -> T {
    let mut guard = registry();
    let (gone, out) = reap();
    if gone {
        guard.live.retain(|(p, _)| *p != pid);
    }
    out
}

/// Whether the run is being stopped.
pub fn closing() -> bool {
    registry().closing
}

/// Marks the run as stopping (no new child) and stops every live child:
/// forwarded ones get `signal` and [`FORWARD_GRACE`] to end, the rest (and
/// any forwarded one still there) SIGKILL to their process group. Returns
/// when all are reaped, or after a bounded wait.
pub fn stop_all(signal: Signal) {
    let live = {
        let mut guard = registry();
        guard.closing = true;
        std::mem::take(&mut guard.live)
    };
    let forwarded: Vec<Pid> = live
        .iter()
        .filter(|(_, how)| *how == OnInterrupt::Forward)
        .map(|(pid, _)| Pid::from_raw(*pid as i32))
        .collect();
    for pid in &forwarded {
        let _ = kill(*pid, signal);
    }
    reap_within(&forwarded, FORWARD_GRACE);
    let all: Vec<Pid> = live
        .iter()
        .map(|(pid, _)| Pid::from_raw(*pid as i32))
        .collect();
    for pid in &all {
        let _ = killpg(*pid, Signal::SIGKILL);
        let _ = kill(*pid, Signal::SIGKILL);
    }
    reap_within(&all, KILL_GRACE);
}

/// Waits, at most `grace`, until every pid is reaped (here or by its
/// owner's thread).
fn reap_within(pids: &[Pid], grace: Duration) {
    let deadline = Instant::now() + grace;
    let mut waiting: Vec<Pid> = pids.to_vec();
    while !waiting.is_empty() && Instant::now() < deadline {
        waiting.retain(|pid| {
            matches!(
                waitpid(*pid, Some(WaitPidFlag::WNOHANG)),
                Ok(WaitStatus::StillAlive) | Err(Errno::EINTR)
            )
        });
        if !waiting.is_empty() {
            std::thread::sleep(POLL);
        }
    }
}
