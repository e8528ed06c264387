//! `locklab explore`: the Stateright Explorer in the browser, on one
//! scenario — step through the model by hand, see every state and which
//! properties hold there.

use std::net::{SocketAddr, TcpListener};

use anyhow::{bail, Context};
use clap::Args;
use locklab_model::family::{visit, Visit};
use locklab_model::{Checked, Faults, PropertyName, Protocol, Scenario, System};
use serde::Serialize;
use stateright::Model;

use crate::output::Status;

/// Flags of `locklab explore`.
#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// The protocol (see `locklab check --help`).
    pub protocol: String,
    /// The fault budget, e.g. `pause`, `pause,crash`, `none`.
    #[arg(long, default_value = "none", value_name = "F,F")]
    pub faults: String,
    /// Contending clients. Default: the protocol's own scenario.
    #[arg(long)]
    pub clients: Option<u64>,
    /// Rounds per client. Default: the protocol's own scenario.
    #[arg(long)]
    pub rounds: Option<u64>,
    /// The lease, in ticks. Default: the protocol's own scenario.
    #[arg(long)]
    pub ttl: Option<u64>,
    /// Acquires before the write (2 or more: re-entrant use). Default: the
    /// protocol's own scenario.
    #[arg(long)]
    pub depth: Option<u64>,
    /// The loopback port to serve on (0: any free port).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Print one JSON line with the address and the scenario (on stdout)
    /// before serving, instead of the line for people (on stderr).
    #[arg(long)]
    pub json: bool,
}

/// What `--json` prints.
#[derive(Serialize)]
struct Serving<'a> {
    url: String,
    scenario: &'a Scenario,
}

struct Serve(SocketAddr);

impl Visit for Serve {
    type Out = ();
    fn visit<S: System>(self, model: S) {
        let _checker = Checked(model).checker().serve(self.0);
    }
}

fn plural(n: u8, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// Serves the Explorer until interrupted.
pub fn run(args: &ExploreArgs) -> anyhow::Result<Status> {
    let protocol: Protocol = args.protocol.parse()?;
    let faults: Faults = args
        .faults
        .parse()
        .with_context(|| format!("--faults {}", args.faults))?;
    let own = Scenario::new(protocol, faults);
    own.check_faults()?;
    let scenario = own.sized(
        args.clients.unwrap_or(u64::from(own.clients)),
        args.rounds.unwrap_or(u64::from(own.rounds)),
        args.ttl.unwrap_or(u64::from(own.ttl)),
    )?;
    let scenario = match args.depth {
        Some(depth) => scenario.deep(depth)?,
        None => scenario,
    };
    // tiny_http panics on a port it cannot bind: find out first, in one line.
    let addr: SocketAddr = match TcpListener::bind(("127.0.0.1", args.port)) {
        Ok(listener) => listener.local_addr()?,
        Err(e) => bail!(
            "--port {}: cannot listen on 127.0.0.1:{} ({e}); pick another, or 0 for any",
            args.port,
            args.port
        ),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&Serving {
                url: format!("http://{addr}/"),
                scenario: &scenario,
            })?
        );
    } else {
        eprintln!(
            "Stateright Explorer for {} under {faults} ({} × {}, lease {}): http://{addr}/  (Ctrl-C to stop)",
            crate::output::row_name(&scenario),
            plural(scenario.clients, "client"),
            plural(scenario.rounds, "round"),
            plural(scenario.ttl, "tick"),
        );
    }
    visit(scenario, &PropertyName::ALL, Serve(addr));
    Ok(Status::Agrees)
}
