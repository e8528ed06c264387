//! SIGINT and SIGTERM for the subcommands that cannot stop half-way with a
//! partial summary (`chaos` can, and handles them itself): one line on
//! stderr and exit 128 + the signal's number — 130 or 143, as the exit-code
//! table promises — rather than dying of the signal, which a script sees
//! as no exit code at all. Every process the lab started dies with it
//! (see [`crate::process`]).

use std::sync::Once;

/// Starts, once, a thread that waits for SIGINT or SIGTERM and then ends
/// the process with the table's code.
pub fn exit_on_signals(command: &'static str) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("locklab-signals".into())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                let number = runtime.block_on(async {
                    use tokio::signal::unix::{signal, SignalKind};
                    let (Ok(mut int), Ok(mut term)) = (
                        signal(SignalKind::interrupt()),
                        signal(SignalKind::terminate()),
                    ) else {
                        return None;
                    };
                    tokio::select! {
                        _ = int.recv() => Some(2),
                        _ = term.recv() => Some(15),
                    }
                });
                if let Some(number) = number {
                    eprintln!(
                        "locklab: {command} interrupted before it concluded anything; nothing it started is left running"
                    );
                    std::process::exit(128 + number);
                }
            });
        if let Err(e) = spawned {
            tracing::debug!("no signal thread: {e}");
        }
    });
}
