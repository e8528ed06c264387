//! SIGINT and SIGTERM, handled once for the whole run. By default a signal
//! ends the run at once, on the lab's terms: every child stopped
//! ([`super::children`]), every own temporary directory removed
//! ([`super::scratch`]), one line saying what had been done, and exit
//! 128 + the signal's number (130, 143), as the exit-code table promises —
//! rather than dying of the signal, which a script sees as no exit code and
//! which leaves the directories behind.
//!
//! A command that can stop after the work in hand and print a summary
//! marked partial (`chaos`) asks for that with [`stop_gracefully`]; a second
//! signal then ends the run at once.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use indicatif::ProgressBar;
use nix::sys::signal::Signal;

/// The name of the thread that waits for the signals.
pub const THREAD: &str = "locklab-signals";

/// The longest [`settle`] waits for the handler to end the run.
const SETTLE: Duration = Duration::from_secs(60);

struct State {
    command: &'static str,
    /// Set by [`stop_gracefully`]: the first signal sets this flag
    /// instead of ending the run, and its number goes to `caught`.
    graceful: Option<(Arc<AtomicBool>, Arc<AtomicI32>)>,
    /// What the run has done, for the line an interrupted run prints.
    note: Option<String>,
    bar: Option<(ProgressBar, String)>,
}

static STATE: Mutex<State> = Mutex::new(State {
    command: "locklab",
    graceful: None,
    note: None,
    bar: None,
});
static ENDING: AtomicBool = AtomicBool::new(false);
/// The number of the first signal received, 0 while none came.
static CAUGHT: AtomicI32 = AtomicI32::new(0);

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts the session of `command`: sweeps the directories of dead runs
/// and registers, once, the handlers for SIGINT and SIGTERM.
pub fn begin(command: &'static str) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        state().command = command;
        let swept = super::scratch::sweep();
        if swept > 0 {
            tracing::debug!(swept, "removed the temporary directories of dead runs");
        }
        if let Err(e) = install() {
            tracing::debug!("no handler for SIGINT and SIGTERM: {e}");
        }
    });
}

/// From now on the first signal sets `stop` instead of ending the run;
/// the returned number is the signal's, or 0 while none came.
pub fn stop_gracefully(stop: &Arc<AtomicBool>) -> Arc<AtomicI32> {
    let caught = Arc::new(AtomicI32::new(0));
    state().graceful = Some((Arc::clone(stop), Arc::clone(&caught)));
    caught
}

/// Says what the run is doing, for the line an interrupted run prints
/// (e.g. `[2/4] locklab reproduce --json`).
pub fn note(what: impl Into<String>) {
    state().note = Some(what.into());
}

/// The bar whose count an interrupted run reports (`3/12 replays`).
pub fn track(bar: &ProgressBar, unit: &str) {
    state().bar = Some((bar.clone(), unit.to_owned()));
}

/// Called before the run's exit code is chosen: if a signal is ending the
/// run, waits (bounded) for the handler to exit with its code, so that an
/// error caused by the interruption (a refused start) does not win.
pub fn settle() {
    if ENDING.load(Ordering::SeqCst) {
        std::thread::sleep(SETTLE);
    }
}

/// The signal that interrupted the run, if one did. An error that ends a
/// run after it was interrupted (a start refused while the run was being
/// stopped) is the interruption's outcome, not a failure of its own: the
/// run exits 128 + this number either way.
pub fn caught() -> Option<i32> {
    Some(CAUGHT.load(Ordering::SeqCst)).filter(|&n| n != 0)
}

fn install() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut int, mut term) = {
        let _in_runtime = runtime.enter();
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    std::thread::Builder::new()
        .name(THREAD.into())
        .spawn(move || loop {
            let number = runtime.block_on(async {
                tokio::select! {
                    _ = int.recv() => 2,
                    _ = term.recv() => 15,
                }
            });
            let _ = CAUGHT.compare_exchange(0, number, Ordering::SeqCst, Ordering::SeqCst);
            let graceful = state().graceful.take();
            if let Some((stop, caught)) = graceful {
                caught.store(number, Ordering::SeqCst);
                stop.store(true, Ordering::SeqCst);
                eprintln!(
                    "locklab: interrupted; finishing the work in hand for a partial summary \
                     (again to stop at once)"
                );
                continue;
            }
            end(number);
        })?;
    Ok(())
}

/// Stops every child, removes this run's directories, says what was done
/// and exits with 128 + `number`.
fn end(number: i32) -> ! {
    ENDING.store(true, Ordering::SeqCst);
    let signal = if number == 2 {
        Signal::SIGINT
    } else {
        Signal::SIGTERM
    };
    super::children::stop_all(signal);
    super::scratch::remove_own();
    let (command, done) = {
        let s = state();
        let mut done: Vec<String> = Vec::new();
        if let Some(note) = &s.note {
            done.push(note.clone());
        }
        if let Some((bar, unit)) = s.bar.as_ref().filter(|(bar, _)| !bar.is_finished()) {
            bar.abandon();
            done.push(format!(
                "{}/{} {unit}",
                bar.position(),
                bar.length().unwrap_or(0)
            ));
        }
        (s.command, done)
    };
    let done = if done.is_empty() {
        String::new()
    } else {
        format!(" at {}", done.join(", "))
    };
    eprintln!(
        "locklab: {command} interrupted by {signal}{done}: partial, nothing concluded; \
         nothing it started is left running"
    );
    std::process::exit(128 + number);
}
