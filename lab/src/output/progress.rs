//! Progress on stderr: a bar on a terminal; elsewhere (piped, CI) a line
//! every few seconds, so a long run is never silent and never floods a log.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// A bar counting `len` units of work, with a message for the detail.
pub fn bar(len: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let template =
        format!("{{spinner}} [{{elapsed_precise}}] {{bar:30}} {{pos}}/{{len}} {unit} {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    crate::session::signals::track(&bar, unit);
    if !std::io::stderr().is_terminal() {
        lines(bar.clone(), unit.to_owned());
    }
    bar
}

/// Prints the bar's progress as a line every [`LINE_EVERY`] until it is
/// finished (at most a day of lines: the thread never outlives a run).
fn lines(bar: ProgressBar, unit: String) {
    let started = Instant::now();
    let _ = std::thread::Builder::new()
        .name("progress-lines".into())
        .spawn(move || {
            for _ in 0..(24 * 3600 / LINE_EVERY.as_secs()) {
                std::thread::sleep(LINE_EVERY);
                if bar.is_finished() {
                    return;
                }
                let msg = bar.message();
                eprintln!(
                    "locklab: {}/{} {unit} after {:.0} s {msg}",
                    bar.position(),
                    bar.length().unwrap_or(0),
                    started.elapsed().as_secs_f64()
                );
            }
        });
}
