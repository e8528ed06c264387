//! Guarded child processes: every process the lab starts (`redis-server`,
//! `redis-sentinel`, worker processes, proxies) is started by
//! [`spawn_guarded`], so that none of them outlives the lab — whether the lab
//! returns normally, fails, panics, is interrupted with Ctrl-C or is killed
//! with SIGKILL.
//!
//! Two mechanisms, one for each way the lab can end:
//!
//! - **The lab runs its destructors** (normal exit, an error, a panic that
//!   unwinds): [`GuardedChild`] sends SIGKILL to its process and reaps it on
//!   `Drop`.
//! - **The lab dies without running them** (SIGKILL, Ctrl-C's default
//!   action, `std::process::exit`, a panic with `panic = "abort"`): the kernel
//!   sends SIGKILL to every child, because each child asked for it with
//!   `prctl(PR_SET_PDEATHSIG, SIGKILL)` between `fork` and `exec`.
//!
//! # Why one spawner thread
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits,
//! not when the process does. A child forked from a test's thread, a tokio
//! `spawn_blocking` thread or a scoped thread would be killed as soon as that
//! thread ends, while the lab is still using it. So every child is forked by
//! one dedicated thread, `locklab-spawner`, started on first use and never
//! stopped: it lives exactly as long as the process, which makes "the parent
//! thread died" mean "the lab died". Callers hand it a [`Command`] over a
//! channel and get the [`Child`] back; waiting for and signalling a child
//! work from any thread.
//!
//! # The fork–prctl race
//!
//! If the lab dies after `fork` but before the child's `prctl`, the child is
//! already an orphan and the death signal would never come. The child
//! therefore checks, after `prctl`, that its parent is still the lab
//! (`getppid()` equals the pid the spawner recorded before forking); if not,
//! it gives up before `exec`.
//!
//! # Process groups
//!
//! Each child is put in its own process group (`setpgid(0, 0)`). A Ctrl-C in
//! the terminal sends SIGINT to the terminal's foreground process group;
//! without this the servers and workers would get it at the same moment as
//! the lab, and Redis would shut down on its own terms (or a worker would die)
//! before the lab decided anything. With their own groups only the lab gets
//! the SIGINT; if it dies of it, the death signal takes the children down, and
//! if it handles it, it stops them itself. It also lets the lab signal a
//! child's whole group later (a worker and anything it starts).
//!
//! A child that itself forks (Redis's background save or AOF rewrite) is
//! not covered by this module: its children are the child's business. The
//! lab runs Redis with persistence off unless a scenario asks for it.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::{getpid, getppid, Pid};

pub use crate::session::children::OnInterrupt;
pub use nix::sys::signal::Signal;

use crate::session::children;

/// How often [`GuardedChild::wait_timeout`] looks at the child.
const WAIT_POLL: Duration = Duration::from_millis(5);

/// Starts `cmd` as a guarded child: in its own process group, killed by the
/// kernel if the lab dies, and killed and reaped when the returned guard is
/// dropped.
///
/// The command is run by the lab's spawner thread (see the module docs); this
/// call blocks until the child is forked and has exec'd (or failed to).
/// Any process group the caller set on `cmd` is replaced by a new one.
pub fn spawn_guarded(cmd: Command) -> io::Result<GuardedChild> {
    spawn_guarded_as(cmd, OnInterrupt::Kill)
}

/// [`spawn_guarded`], with how an interrupted run stops this child (see
/// [`crate::session::children`]). Refused once the run is being stopped.
pub fn spawn_guarded_as(mut cmd: Command, on_interrupt: OnInterrupt) -> io::Result<GuardedChild> {
    cmd.process_group(0);
    let Some(enlisting) = children::enlisting() else {
        return Err(io::Error::other("the run is being interrupted"));
    };
    let spawner = spawner()?;
    let (reply_tx, reply_rx) = mpsc::sync_channel(1);
    spawner
        .send(SpawnRequest {
            cmd,
            reply: reply_tx,
        })
        .map_err(|_| spawner_gone())?;
    let child = reply_rx.recv().map_err(|_| spawner_gone())??;
    enlisting.enlist(child.id(), on_interrupt);
    tracing::debug!(pid = child.id(), "spawned guarded child");
    Ok(GuardedChild {
        child,
        status: None,
    })
}

/// A child process the lab started with [`spawn_guarded`]. Dropping it sends
/// SIGKILL to the process (if it has not been reaped yet) and reaps it.
#[derive(Debug)]
pub struct GuardedChild {
    child: Child,
    /// Set once the process has been reaped; from then on its pid may belong
    /// to another process and is never signalled again.
    status: Option<ExitStatus>,
}

impl GuardedChild {
    /// The child's process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to the child. Fails with `ESRCH` ("No such process")
    /// once the child has been reaped, so that a recycled pid is never hit.
    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        if self.status.is_some() {
            return Err(Errno::ESRCH.into());
        }
        kill(self.nix_pid(), signal).map_err(io::Error::from)
    }

    /// Sends `signal` to the child's process group (the child and whatever
    /// it started without moving to another group).
    pub fn signal_group(&self, signal: Signal) -> io::Result<()> {
        if self.status.is_some() {
            return Err(Errno::ESRCH.into());
        }
        nix::sys::signal::killpg(self.nix_pid(), signal).map_err(io::Error::from)
    }

    /// The exit status if the child has exited (reaping it), `None` while it
    /// runs (a stopped child counts as running).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let pid = self.pid();
        let child = &mut self.child;
        let status = children::discharging(pid, || match child.try_wait() {
            Ok(status) => (status.is_some(), Ok(status)),
            Err(e) => (false, Err(e)),
        })?;
        self.status = status;
        Ok(status)
    }

    /// Waits up to `timeout` for the child to exit (reaping it); `None` if
    /// it is still running then.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            thread::sleep(WAIT_POLL.min(deadline - now));
        }
    }

    /// Sends SIGKILL (unless the child was already reaped) and reaps it.
    /// Idempotent: later calls return the same status. SIGKILL also ends a
    /// stopped (SIGSTOPped) process.
    pub fn kill_and_wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        match self.child.kill() {
            Ok(()) => {}
            // Already exited (a zombie cannot be signalled on some systems).
            Err(e) if e.raw_os_error() == Some(Errno::ESRCH as i32) => {}
            Err(e) => return Err(e),
        }
        // Forgotten before it is reaped: its pid is then free for reuse.
        children::discharging(self.pid(), || (true, ()));
        let status = self.child.wait()?;
        self.status = Some(status);
        tracing::debug!(pid = self.pid(), %status, "killed and reaped guarded child");
        Ok(status)
    }

    /// Asks the child to stop with SIGTERM, waits up to `grace` for it to
    /// exit, then kills it with SIGKILL. Returns its exit status.
    pub fn terminate(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        // SIGCONT first: a stopped process does not act on SIGTERM.
        let _ = self.signal(Signal::SIGTERM);
        let _ = self.signal(Signal::SIGCONT);
        match self.wait_timeout(grace)? {
            Some(status) => Ok(status),
            None => self.kill_and_wait(),
        }
    }

    /// Takes the child's stdin, if it was set to [`std::process::Stdio::piped`].
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// Takes the child's stdout, if it was set to [`std::process::Stdio::piped`].
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Takes the child's stderr, if it was set to [`std::process::Stdio::piped`].
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    fn nix_pid(&self) -> Pid {
        // A pid always fits in pid_t; std hands it out as u32.
        Pid::from_raw(self.child.id() as i32)
    }
}

impl Drop for GuardedChild {
    fn drop(&mut self) {
        if let Err(e) = self.kill_and_wait() {
            tracing::warn!(pid = self.pid(), error = %e, "could not kill and reap child");
        }
    }
}

/// One request to the spawner thread.
struct SpawnRequest {
    cmd: Command,
    reply: mpsc::SyncSender<io::Result<Child>>,
}

/// The spawner thread's inbox, started on first use. `None` if the thread
/// could not be started.
static SPAWNER: OnceLock<Option<mpsc::Sender<SpawnRequest>>> = OnceLock::new();

fn spawner() -> io::Result<&'static mpsc::Sender<SpawnRequest>> {
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<SpawnRequest>();
            thread::Builder::new()
                .name("locklab-spawner".into())
                .spawn(move || run_spawner(rx))
                .ok()
                .map(|_| tx)
        })
        .as_ref()
        .ok_or_else(|| io::Error::other("could not start the locklab-spawner thread"))
}

fn spawner_gone() -> io::Error {
    io::Error::other("the locklab-spawner thread is gone")
}

/// The spawner thread's loop. It never returns while the process has
/// callers: the `Sender` lives in a static, so the channel never closes.
fn run_spawner(requests: mpsc::Receiver<SpawnRequest>) {
    let lab = getpid();
    for SpawnRequest { mut cmd, reply } in requests {
        guard_before_exec(&mut cmd, lab);
        let result = cmd.spawn();
        if let Err(mpsc::SendError(Ok(mut child))) = reply.send(result) {
            // The caller is gone; do not leave its child behind.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Makes the child ask for SIGKILL when the spawner thread (and so the lab)
/// dies, and give up if the lab already died before it could ask.
#[allow(unsafe_code)]
fn guard_before_exec(cmd: &mut Command, lab: Pid) {
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe operations are allowed. It makes two system calls,
    // prctl(2) and getppid(2), both async-signal-safe, and builds its error
    // from a raw errno (`io::Error::from_raw_os_error`), which does not
    // allocate. It takes no locks, touches no allocator and no state shared
    // with other threads; `lab` is a copied integer.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            if getppid() != lab {
                // The lab died between fork and prctl: we are an orphan
                // that no death signal will reach. std reports this error
                // and the child exits without exec.
                return Err(Errno::ESRCH.into());
            }
            Ok(())
        });
    }
}
