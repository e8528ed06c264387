//! The counterexamples: for each distinct path of the matrix, the model's
//! diagram with its story and, beside it, the real run of the same
//! schedule on Redis; below, the same schedule played on the fixes.

use std::fmt::Write as _;

use super::{absent, open_section};
use crate::report::diagram::Diagram;
use crate::report::layout::Options;
use crate::report::sequence;
use crate::report::text::esc;
use crate::report::view::{CardKind, Evidence};

pub(super) fn section(s: &mut String, e: &Evidence) {
    if e.cards.is_empty() {
        absent(
            s,
            "counterexamples",
            "Counterexamples",
            "no violated cell (or no `locklab check --json` given with --from)",
        );
        return;
    }
    let with_real = e.cards.iter().filter(|c| c.real.is_some()).count();
    open_section(
        s,
        "counterexamples",
        "Counterexamples",
        &format!(
            "{} distinct paths: each shortest counterexample of the matrix (and each fencing witness), as the model tells it, and beside it the same schedule played step by step on a real redis-server ({} of them replayed here). Lanes: one per client, one for Redis, one for the protected resource. The lease is the bar on Redis's lane, narrowing as its ticks run out; a client's bar shows it believes it holds the lock — hatched red once the key is no longer its own.",
            e.cards.len(),
            with_real
        ),
    );
    s.push_str(r#"<nav class="toc">"#);
    for c in &e.cards {
        let kind = match c.kind {
            CardKind::Counterexample => "",
            CardKind::Witness => " witness",
        };
        let _ = write!(
            s,
            r##"<a class="chip{kind}" href="#{}">{}: {}</a>"##,
            esc(&c.anchor),
            esc(&c.title),
            esc(&c
                .statements
                .iter()
                .map(|x| x.split(':').next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(", "))
        );
    }
    s.push_str("</nav>");
    for c in &e.cards {
        let kind = match c.kind {
            CardKind::Counterexample => r#"<span class="tag bad">counterexample</span>"#,
            CardKind::Witness => r#"<span class="tag good">fencing witness</span>"#,
        };
        let _ = write!(
            s,
            r#"<article class="card" id="{}"><header><h3>{} {kind}</h3><ul class="cells">"#,
            esc(&c.anchor),
            esc(&c.title)
        );
        for cell in &c.cells {
            let _ = write!(s, "<li>{}</li>", esc(cell));
        }
        s.push_str("</ul>");
        for st in &c.statements {
            let _ = write!(s, r#"<p class="statement">{}</p>"#, esc(st));
        }
        s.push_str(r#"</header><div class="pair">"#);
        figure(
            s,
            &c.model,
            &format!("{}-model", c.anchor),
            Options::model(),
            "the model",
        );
        match &c.real {
            Some(real) => figure(s, real, &format!("{}-real", c.anchor), Options::compact(), "real Redis"),
            None => s.push_str(r#"<div class="missing">Not replayed here: give the output of <code>locklab reproduce --json</code> with --from to see this schedule on real Redis.</div>"#),
        }
        s.push_str("</div>");
        if !c.real_says.is_empty() {
            s.push_str(r#"<ul class="agree">"#);
            for line in &c.real_says {
                let class = if line.contains("DISAGREE") {
                    "bad"
                } else {
                    "good"
                };
                let _ = write!(s, r#"<li class="{class}">{}</li>"#, esc(line));
            }
            s.push_str("</ul>");
        }
        if !c.fixes.is_empty() {
            let names: Vec<String> = c
                .fixes
                .iter()
                .map(|f| {
                    format!(
                        "{}{}",
                        f.protocol,
                        if f.agree { "" } else { " (DISAGREES)" }
                    )
                })
                .collect();
            let _ = write!(
                s,
                r#"<details class="fixes"><summary>The same schedule on {}</summary>"#,
                esc(&names.join(", "))
            );
            for f in &c.fixes {
                let _ = write!(
                    s,
                    r#"<div class="fix"><h4>played on {}</h4><ul class="agree">"#,
                    esc(&f.protocol)
                );
                for line in &f.verdicts {
                    let class = if line.contains("DISAGREE") {
                        "bad"
                    } else {
                        "good"
                    };
                    let _ = write!(s, r#"<li class="{class}">{}</li>"#, esc(line));
                }
                s.push_str("</ul>");
                if let Some(d) = &f.diagram {
                    figure(
                        s,
                        d,
                        &format!("{}-{}", c.anchor, f.protocol),
                        Options::compact(),
                        &format!("real Redis, {}", f.protocol),
                    );
                }
                s.push_str("</div>");
            }
            s.push_str("</details>");
        }
        let _ = write!(
            s,
            r#"<p class="schedule">schedule: <code>{}</code></p></article>"#,
            esc(&c.schedule)
        );
    }
    s.push_str("</section>");
}

/// A diagram with its step slider, play button and the panel that shows
/// the current or hovered row's command, reply and state.
pub(super) fn figure(s: &mut String, d: &Diagram, id: &str, options: Options, caption: &str) {
    let rows = d.rows.len().max(1);
    let _ = write!(
        s,
        r#"<figure class="diagram" tabindex="0" data-id="{id}" data-step="{rows}"><figcaption>{caption} · {rows} {unit}</figcaption><div class="controls"><button class="play" type="button" title="play the steps">▶</button><input class="step" type="range" min="1" max="{rows}" value="{rows}" aria-label="step"/><output class="pos">{rows} / {rows}</output></div><div class="scroll">{svg}</div><div class="info" aria-live="polite">Hover a row, or step with ← →.</div></figure>"#,
        id = esc(id),
        caption = esc(caption),
        unit = if rows == 1 { "row" } else { "rows" },
        svg = sequence::inline(d, id, options),
    );
}
