//! SIGINT and SIGTERM for the subcommands that cannot stop half-way with a
//! partial summary (`chaos` can, and handles them itself): one line on
//! stderr and exit 128 + the signal's number — 130 or 143, as the exit-code
//! table promises — rather than dying of the signal, which a script sees
//! as no exit code at all. Every process the lab started dies with it
//! (see [`crate::process`]).
//!
//! The handlers are registered before [`exit_on_signals`] returns, so from
//! the moment the thread named [`THREAD`] exists a signal is caught.

use std::sync::Once;

/// The name of the thread that waits for the signals.
pub const THREAD: &str = "locklab-signals";

/// Registers, once, handlers for SIGINT and SIGTERM, and a thread that
/// ends the process with the table's code when one comes.
pub fn exit_on_signals(command: &'static str) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Err(e) = install(command) {
            tracing::debug!("no handler for SIGINT and SIGTERM: {e}");
        }
    });
}

fn install(command: &'static str) -> std::io::Result<()> {
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
        .spawn(move || {
            let number = runtime.block_on(async {
                tokio::select! {
                    _ = int.recv() => 2,
                    _ = term.recv() => 15,
                }
            });
            eprintln!(
                "locklab: {command} interrupted before it concluded anything; nothing it started is left running"
            );
            std::process::exit(128 + number);
        })?;
    Ok(())
}
