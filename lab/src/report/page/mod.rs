//! The report's page: one HTML file with its stylesheet, script and every
//! drawing inlined, so it opens from a file on a machine with no network.
//! Each section lays out part of the [`Evidence`]; nothing here knows a
//! protocol or a property.

mod bench;
mod cards;
mod chaos;
mod made;
mod matrix;

use std::fmt::Write as _;

use super::sequence;
use super::text::esc;
use super::view::{Evidence, FactTone, Table};

/// The page's own stylesheet.
const PAGE_CSS: &str = include_str!("../assets/page.css");
/// The page's script: step sliders, keys, hover.
const PAGE_JS: &str = include_str!("../assets/page.js");

/// Facts about the page itself.
#[derive(Clone, Debug)]
pub struct PageMeta {
    /// locklab's version.
    pub version: String,
    /// When the page was written (`2026-11-01 09:40 UTC`).
    pub written: String,
    /// How the inputs were obtained (`ran here`, `read from 3 files`).
    pub how: String,
    /// The `redis-server` version the commands ran against, when the
    /// report ran them.
    pub redis: Option<String>,
}

/// The whole page.
pub fn html(e: &Evidence, meta: &PageMeta) -> String {
    let mut s = String::with_capacity(1 << 20);
    let _ = write!(
        s,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/><title>locklab report</title><style>{PAGE_CSS}{}</style></head><body>"#,
        sequence::CSS
    );
    header(&mut s, e, meta);
    s.push_str("<main>");
    matrix::section(&mut s, e);
    cards::section(&mut s, e);
    chaos::section(&mut s, e);
    bench::section(&mut s, e);
    made::section(&mut s, e, meta);
    s.push_str("</main>");
    let _ = writeln!(s, "<script>{PAGE_JS}</script></body></html>");
    s
}

fn header(s: &mut String, e: &Evidence, meta: &PageMeta) {
    let _ = write!(
        s,
        r#"<header class="top"><div class="wrap"><h1><span class="logo">locklab</span> report</h1><p class="meta">written {} by locklab {} · {}</p><ul class="facts">"#,
        esc(&meta.written),
        esc(&meta.version),
        esc(&meta.how)
    );
    for f in &e.headline {
        let class = match f.tone {
            FactTone::Good => "good",
            FactTone::Bad => "bad",
            FactTone::Neutral => "neutral",
        };
        let _ = write!(s, r#"<li class="{class}">{}</li>"#, esc(&f.text));
    }
    s.push_str("</ul><nav>");
    let links = [
        ("matrix", "Verdict matrix", e.matrix.is_some()),
        ("counterexamples", "Counterexamples", !e.cards.is_empty()),
        ("chaos", "Chaos", e.chaos.is_some()),
        ("bench", "Bench", e.bench.is_some()),
        ("made", "How it was made", true),
    ];
    for (id, label, present) in links {
        if present {
            let _ = write!(s, r##"<a href="#{id}">{label}</a>"##);
        }
    }
    s.push_str(r#"<span class="keys">focus a diagram, then ← → (or the slider) to step; hover a row for its reply and the key's state</span></nav></div></header>"#);
}

/// A section's opening, with its heading and a line under it.
fn open_section(s: &mut String, id: &str, title: &str, lead: &str) {
    let _ = write!(
        s,
        r#"<section id="{id}"><h2>{}</h2><p class="lead">{}</p>"#,
        esc(title),
        esc(lead)
    );
}

/// A section for which no input was given.
fn absent(s: &mut String, id: &str, title: &str, how: &str) {
    open_section(s, id, title, "");
    let _ = write!(
        s,
        r#"<p class="absent">Not in this report: {}</p></section>"#,
        esc(how)
    );
}

/// A table of text.
fn table(s: &mut String, t: &Table, class: &str) {
    let _ = write!(
        s,
        r#"<div class="tablewrap"><table class="{class}"><thead><tr>"#
    );
    for (i, h) in t.header.iter().enumerate() {
        let num = if t.numeric.contains(&i) {
            r#" class="num""#
        } else {
            ""
        };
        let _ = write!(s, "<th{num}>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        s.push_str("<tr>");
        for (i, c) in row.iter().enumerate() {
            let num = if t.numeric.contains(&i) {
                r#" class="num""#
            } else {
                ""
            };
            let _ = write!(s, "<td{num}>{}</td>", esc(c));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div>");
}

/// An SVG written as a standalone document, made fit to inline: the page
/// is HTML, where the SVG namespace is implied.
fn inline_svg(svg: &str) -> String {
    svg.replacen(r#" xmlns="http://www.w3.org/2000/svg""#, "", 1)
}
