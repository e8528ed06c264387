//! The bench: its tables and plots, every figure a multiple of the Redis
//! round trip measured in the same run.

use std::fmt::Write as _;

use super::{absent, inline_svg, open_section, table};
use crate::report::text::esc;
use crate::report::view::Evidence;

pub(super) fn section(s: &mut String, e: &Evidence) {
    let Some(b) = &e.bench else {
        absent(
            s,
            "bench",
            "Bench",
            "give the output of `locklab bench --json` with --from",
        );
        return;
    };
    open_section(s, "bench", "Bench", &b.caption);
    if !b.broken.is_empty() {
        let _ = write!(
            s,
            r#"<p class="bad">Lost mutual exclusion in a fault-free run: {}</p>"#,
            esc(&b.broken.join(", "))
        );
    }
    s.push_str(r#"<div class="charts">"#);
    for (title, svg) in &b.charts {
        let _ = write!(
            s,
            r#"<figure class="chart" aria-label="{}">{}</figure>"#,
            esc(title),
            inline_svg(svg)
        );
    }
    s.push_str("</div>");
    for (title, t) in &b.tables {
        let _ = write!(s, "<h3>{}</h3>", esc(title));
        table(s, t, "bench");
    }
    s.push_str("</section>");
}
