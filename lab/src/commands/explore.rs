//! `locklab explore`: the Stateright Explorer in the browser, on one
//! scenario — step through the model by hand, see every state and which
//! properties hold there.

use std::net::{SocketAddr, TcpListener};

use anyhow::{bail, Context};
use clap::Args;
use locklab_model::{Faults, LockModel, Protocol, Scenario};
use stateright::Model;

use crate::cli::Status;

/// Flags of `locklab explore`.
#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// The protocol: naive, naive-unchecked, token, fenced.
    pub protocol: String,
    /// The fault budget, e.g. `pause`, `pause,crash`, `none`.
    #[arg(long, default_value = "none", value_name = "F,F")]
    pub faults: String,
    /// Contending clients.
    #[arg(long, default_value_t = 3)]
    pub clients: u64,
    /// Rounds per client.
    #[arg(long, default_value_t = 1)]
    pub rounds: u64,
    /// The lease, in ticks.
    #[arg(long, default_value_t = 3)]
    pub ttl: u64,
    /// The loopback port to serve on (0: any free port).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
}

/// Serves the Explorer until interrupted.
pub fn run(args: &ExploreArgs) -> anyhow::Result<Status> {
    let protocol: Protocol = args.protocol.parse()?;
    let faults: Faults = args
        .faults
        .parse()
        .with_context(|| format!("--faults {}", args.faults))?;
    let scenario = Scenario::new(protocol, faults).sized(args.clients, args.rounds, args.ttl)?;
    // tiny_http panics on a port it cannot bind: find out first, in one line.
    let addr: SocketAddr = match TcpListener::bind(("127.0.0.1", args.port)) {
        Ok(listener) => listener.local_addr()?,
        Err(e) => bail!(
            "--port {}: cannot listen on 127.0.0.1:{} ({e}); pick another, or 0 for any",
            args.port,
            args.port
        ),
    };
    eprintln!(
        "Stateright Explorer for {protocol} under {faults} ({} clients × {} rounds, lease {} ticks): http://{addr}/  (Ctrl-C to stop)",
        scenario.clients, scenario.rounds, scenario.ttl
    );
    let _checker = LockModel::new(scenario).checker().serve(addr);
    Ok(Status::Agrees)
}
