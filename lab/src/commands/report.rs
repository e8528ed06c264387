//! `locklab report`: one self-contained HTML page with the verdict matrix,
//! every counterexample drawn beside its real run, chaos, the bench and how
//! it was made (see [`crate::report`]).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use clap::Args;

use super::target;
use crate::output::Status;
use crate::report::view::FactTone;
use crate::report::write::{self, Pending};
use crate::report::{collect, figures, from_json, page, text, Inputs, PageMeta};

/// Flags of `locklab report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Where to write the page.
    #[arg(long, value_name = "FILE", default_value = "locklab-report.html")]
    pub out: PathBuf,
    /// Build the page from these `--json` outputs of check, reproduce,
    /// chaos and bench (repeatable; any subset) instead of running them.
    #[arg(long = "from", value_name = "JSON")]
    pub from: Vec<PathBuf>,
    /// Random schedules per cell of the chaos run the report makes itself.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub chaos_schedules: usize,
    /// Only these protocols (repeatable), in each command the report runs
    /// itself. Default: every protocol, as each command has it.
    #[arg(long = "protocol", value_name = "P")]
    pub protocols: Vec<String>,
    /// Also write each diagram as a standalone SVG into DIR (created if
    /// missing), for the docs; prints one `figure<TAB>path<TAB>title` line
    /// per file.
    #[arg(long, value_name = "DIR")]
    pub svg_dir: Option<PathBuf>,
    /// With --svg-dir: only the diagram of this name (repeatable), e.g.
    /// `naive-pause-no-foreign-release` or `…-real`.
    #[arg(long = "figure", value_name = "NAME", requires = "svg_dir")]
    pub figures: Vec<String>,
}

/// Runs `locklab report`.
pub fn run(args: &ReportArgs) -> anyhow::Result<Status> {
    let started = Instant::now();
    let chaos_schedules =
        target::in_range("--chaos-schedules", args.chaos_schedules, 1..=100_000, "")?;
    // Refuse an unwritable target before any work.
    let out = Pending::reserve(&args.out, "--out")?;
    for name in &args.protocols {
        name.parse::<locklab_model::Protocol>()?;
    }
    let mut inputs = Inputs::default();
    let ran = args.from.is_empty();
    let how = if ran {
        collect::run_all(
            &crate::worker::locklab_binary(),
            &collect::default_runs(chaos_schedules, &args.protocols),
            &mut inputs,
        )?;
        "made by running check, reproduce, chaos and bench".to_owned()
    } else {
        for path in &args.from {
            inputs.add_file(path)?;
        }
        let n = args.from.len();
        format!("read from {n} JSON file{}", if n == 1 { "" } else { "s" })
    };
    let evidence = from_json::evidence(&inputs);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let meta = PageMeta {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        written: text::utc(now),
        how,
        redis: if ran { collect::redis_version() } else { None },
    };
    let figures = match &args.svg_dir {
        None => Vec::new(),
        Some(_) => {
            let all = figures(&evidence);
            for name in &args.figures {
                if !all.iter().any(|f| &f.name == name) {
                    let names: Vec<&str> = all.iter().map(|f| f.name.as_str()).collect();
                    bail!(
                        "--figure {name}: no such diagram in this report; it has: {}",
                        if names.is_empty() {
                            "none".to_owned()
                        } else {
                            names.join(", ")
                        }
                    );
                }
            }
            all.into_iter()
                .filter(|f| args.figures.is_empty() || args.figures.contains(&f.name))
                .collect()
        }
    };
    let html = page::html(&evidence, &meta);
    let path = out.commit(html.as_bytes())?;
    if let Some(dir) = &args.svg_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("--svg-dir {}: cannot create it: {e}", dir.display()))?;
        for f in &figures {
            let file = dir.join(format!("{}.svg", f.name));
            write::atomically(&file, f.svg.as_bytes(), "--svg-dir")?;
            println!("figure\t{}\t{}", file.display(), f.title);
        }
    }
    println!(
        "wrote {} ({:.0} kB) in {:.1} s",
        path.display(),
        html.len() as f64 / 1024.0,
        started.elapsed().as_secs_f64()
    );
    let broken = evidence.headline.iter().any(|f| f.tone == FactTone::Bad);
    Ok(if broken {
        Status::Broken
    } else {
        Status::Agrees
    })
}
