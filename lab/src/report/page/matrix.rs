//! The verdict matrix: a row per protocol × fault budget, a column per
//! property, each cell a link to its evidence.

use std::fmt::Write as _;

use super::{absent, open_section};
use crate::report::text::esc;
use crate::report::view::Evidence;

pub(super) fn section(s: &mut String, e: &Evidence) {
    let Some(m) = &e.matrix else {
        absent(
            s,
            "matrix",
            "Verdict matrix",
            "give the output of `locklab check --json` with --from",
        );
        return;
    };
    open_section(
        s,
        "matrix",
        "Verdict matrix",
        &format!(
            "Every protocol under every fault budget, checked exhaustively by the model checker ({}). A cell links to its evidence: the counterexample, drawn, and its replay on real Redis; or, where it holds, what chaos found.",
            m.caption
        ),
    );
    s.push_str(r#"<div class="tablewrap"><table class="matrix"><thead><tr><th>protocol</th><th>faults</th>"#);
    for (name, statement) in &m.columns {
        let _ = write!(s, r#"<th title="{}">{}</th>"#, esc(statement), esc(name));
    }
    s.push_str(r#"<th>witnesses</th><th class="num">states</th></tr></thead><tbody>"#);
    let mut i = 0;
    while i < m.rows.len() {
        let protocol = &m.rows[i].protocol;
        let span = m.rows[i..]
            .iter()
            .take_while(|r| &r.protocol == protocol)
            .count();
        for (k, row) in m.rows[i..i + span].iter().enumerate() {
            s.push_str(if k == 0 {
                r#"<tr class="first">"#
            } else {
                "<tr>"
            });
            if k == 0 {
                let _ = write!(
                    s,
                    r#"<th class="proto" rowspan="{span}" title="{}">{}<span class="lesson">{}</span></th>"#,
                    esc(&row.lesson),
                    esc(&row.protocol),
                    esc(&row.lesson)
                );
            }
            let _ = write!(s, r#"<td class="faults">{}</td>"#, esc(&row.faults));
            for cell in &row.cells {
                let Some(c) = cell else {
                    s.push_str(r#"<td class="v na">-</td>"#);
                    continue;
                };
                let mut class = format!("v {}", c.verdict.replace('/', ""));
                if c.claimed {
                    class.push_str(" claimed");
                }
                if c.disagrees {
                    class.push_str(" disagrees");
                }
                let word = match (c.claimed, c.verdict.as_str()) {
                    (true, "holds") => "holds ✓".to_owned(),
                    (true, "violated") => "VIOLATED ✗".to_owned(),
                    (_, w) => w.to_owned(),
                };
                let marks: String = c
                    .marks
                    .iter()
                    .map(|m| format!(r#"<span class="mk">{}</span>"#, esc(m)))
                    .collect();
                let title = c.evidence.join("\n");
                let inner = format!(
                    r#"<span class="word">{}</span><span class="marks">{marks}</span>"#,
                    esc(&word)
                );
                match &c.link {
                    Some(link) => {
                        let _ = write!(
                            s,
                            r##"<td class="{class}"><a href="#{}" title="{}">{inner}</a></td>"##,
                            esc(link),
                            esc(&title)
                        );
                    }
                    None => {
                        let _ = write!(
                            s,
                            r#"<td class="{class}" title="{}">{inner}</td>"#,
                            esc(&title)
                        );
                    }
                }
            }
            let _ = write!(
                s,
                r#"<td class="wit">{}</td><td class="num">{}</td></tr>"#,
                esc(&row.witnesses),
                esc(&row.states)
            );
        }
        i += span;
    }
    s.push_str("</tbody></table></div>");
    s.push_str(r#"<p class="legend"><span class="v holds claimed">holds ✓</span> claimed and holds <span class="v violated claimed">VIOLATED ✗</span> claimed but broken <span class="v violated">violated</span> not claimed: the lesson <span class="v unknown">unknown</span> a budget ran out · under a verdict: the other evidence for it (real Redis, chaos); hover a cell for the details</p></section>"#);
}
