//! How it was made: for each input, the exact command line, the version,
//! when, how long, the seed and the machine.

use std::fmt::Write as _;

use super::{open_section, PageMeta};
use crate::report::text::esc;
use crate::report::view::Evidence;

pub(super) fn section(s: &mut String, e: &Evidence, meta: &PageMeta) {
    let redis = meta
        .redis
        .as_deref()
        .map(|v| format!(", against redis-server {v}"))
        .unwrap_or_default();
    open_section(
        s,
        "made",
        "How it was made",
        &format!(
            "This page was written {} by locklab {} ({}{redis}). Each part comes from the JSON output of one command:",
            meta.written, meta.version, meta.how
        ),
    );
    s.push_str(r#"<div class="made">"#);
    for m in &e.made {
        let _ = write!(
            s,
            r#"<div class="input"><h3>{}</h3><pre><code>$ {}</code></pre><dl>"#,
            esc(&m.command),
            esc(&m.argv)
        );
        for (k, v) in &m.facts {
            let _ = write!(s, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
        }
        let _ = write!(s, "<dt>from</dt><dd>{}</dd></dl></div>", esc(&m.origin));
    }
    s.push_str("</div></section>");
}
