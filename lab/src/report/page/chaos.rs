//! Chaos: per cell, the schedules run and the violations found, and each
//! shrunk failure drawn like a counterexample, with the one-line command
//! that replays it.

use std::fmt::Write as _;

use super::cards::figure;
use super::{absent, open_section};
use crate::report::layout::Options;
use crate::report::text::esc;
use crate::report::view::Evidence;

pub(super) fn section(s: &mut String, e: &Evidence) {
    let Some(c) = &e.chaos else {
        absent(
            s,
            "chaos",
            "Chaos",
            "give the output of `locklab chaos --json` with --from",
        );
        return;
    };
    open_section(
        s,
        "chaos",
        "Chaos",
        &format!(
            "Random fault schedules drawn from the model, played on real Redis with real faults, each history checked against the model's verdict on that very path ({}). Counts are schedules whose history broke the property: ✓ none, as the model says; ✗ differs from the model.",
            c.caption
        ),
    );
    s.push_str(r#"<div class="tablewrap"><table class="chaos"><thead><tr>"#);
    for h in &c.table.header {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for (row, anchor) in c.table.rows.iter().zip(&c.row_anchors) {
        let _ = write!(s, r#"<tr id="{}">"#, esc(anchor));
        for cell in row {
            let class = if cell.contains('✗') || cell == "NO" {
                r#" class="bad""#
            } else if cell.ends_with('✓') {
                r#" class="good""#
            } else {
                ""
            };
            let _ = write!(s, "<td{class}>{}</td>", esc(cell));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div>");
    if !c.disagreements.is_empty() {
        s.push_str(r#"<h3 class="bad">Disagreements with the model</h3><ul class="agree">"#);
        for d in &c.disagreements {
            let _ = write!(s, r#"<li class="bad">{}</li>"#, esc(d));
        }
        s.push_str("</ul>");
    }
    if !c.shrunk.is_empty() {
        s.push_str(r#"<h3>Shrunk failures</h3><div class="grid">"#);
        for sh in &c.shrunk {
            let _ = write!(
                s,
                r#"<article class="shrunk" id="{}"><h4>{}</h4><p class="lead">{}</p>"#,
                esc(&sh.anchor),
                esc(&sh.title),
                esc(&sh.caption)
            );
            figure(
                s,
                &sh.diagram,
                &format!("{}-diagram", sh.anchor),
                Options::compact(),
                "shrunk schedule",
            );
            let _ = write!(
                s,
                r#"<div class="replay"><span>replay it:</span><code class="copy" title="click to select">{}</code></div></article>"#,
                esc(&sh.command)
            );
        }
        s.push_str("</div>");
    }
    s.push_str("</section>");
}
