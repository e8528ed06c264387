//! `locklab report`: one self-contained HTML page a person reads instead of
//! the terminal — the verdict matrix, every counterexample drawn as a
//! sequence diagram beside the real run of the same schedule, chaos's
//! shrunk failures, the bench's tables and plots, and how it was all made.
//!
//! The page is built from the commands' `--json` outputs only (read with
//! `--from`, or made by running the commands), so a page and the files it
//! came from can never disagree. The flow:
//!
//! - [`input`]: reads and tells apart the outputs (by their envelope);
//! - [`from_json`]: the converters, the one place that knows the outputs'
//!   shapes, into [`view`] (what the page shows) and [`diagram`] (a small
//!   neutral sequence diagram);
//! - [`layout`] and [`sequence`]: draw a diagram as SVG, inline for the
//!   page or standalone for the docs ([`figures`]);
//! - [`page`]: the HTML, with its stylesheet and script inlined;
//! - [`collect`]: runs the commands when no `--from` is given;
//! - [`write`](mod@write): writes files whole or not at all.

pub mod collect;
pub mod diagram;
pub mod from_json;
pub mod input;
pub mod layout;
pub mod page;
pub mod sequence;
pub mod text;
pub mod view;
pub mod write;

pub use diagram::Diagram;
pub use input::Inputs;
pub use page::PageMeta;

use layout::Options;
use view::Evidence;

/// The page for these inputs.
pub fn html(inputs: &Inputs, meta: &PageMeta) -> String {
    page::html(&from_json::evidence(inputs), meta)
}

/// One diagram as a standalone `.svg` document, for the docs or anywhere
/// else. `id` prefixes the ids inside it (its hatch patterns).
pub fn diagram_svg(d: &Diagram, id: &str) -> String {
    sequence::standalone(d, id, Options::model())
}

/// A diagram of the report as a standalone SVG.
#[derive(Clone, Debug)]
pub struct Figure {
    /// The file's stem: `naive-pause-no-foreign-release`, `…-real`.
    pub name: String,
    /// What it shows.
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// Every diagram of the report as a standalone SVG: each counterexample
/// (model, its real run, the fixes' runs) and each shrunk chaos failure.
pub fn figures(e: &Evidence) -> Vec<Figure> {
    let mut out = Vec::new();
    let mut add = |name: String, d: &Diagram, options: Options| {
        out.push(Figure {
            svg: sequence::standalone(d, &name, options),
            title: d.title.clone(),
            name,
        });
    };
    for c in &e.cards {
        let name = c.anchor.trim_start_matches("cx-").to_owned();
        add(name.clone(), &c.model, Options::model());
        if let Some(real) = &c.real {
            add(format!("{name}-real"), real, Options::compact());
        }
        for f in &c.fixes {
            if let Some(d) = &f.diagram {
                add(format!("{name}-on-{}", f.protocol), d, Options::compact());
            }
        }
    }
    if let Some(chaos) = &e.chaos {
        for s in &chaos.shrunk {
            add(s.anchor.clone(), &s.diagram, Options::compact());
        }
    }
    out
}

#[cfg(test)]
mod tests;
